"""Fixtures for the pywats unit tests: a Client wired to an httpx.MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

import pywats

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that records requests and answers from a settable function."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.handler: Handler = lambda request: httpx.Response(200, json={})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    def answer(self, status: int = 200, body: Any = None, **kwargs: Any) -> None:
        """Answer every request with ``status`` and JSON ``body`` (or raw ``content=``)."""
        if body is not None:
            kwargs["json"] = body
        self.handler = lambda request: httpx.Response(status, **kwargs)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def last_json(self) -> Any:
        return json.loads(self.last.content)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(recorder: Recorder) -> Iterator[pywats.Client]:
    with pywats.Client("http://127.0.0.1:9", "tok", transport=httpx.MockTransport(recorder)) as c:
        yield c


@pytest.fixture
def lenient_client(recorder: Recorder) -> Iterator[pywats.Client]:
    with pywats.Client(
        "http://127.0.0.1:9", "tok", transport=httpx.MockTransport(recorder), lenient=True
    ) as c:
        yield c
