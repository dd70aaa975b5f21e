"""Lazy $top/$skip pagination: requests only as the iterator advances, bounded memory."""

from __future__ import annotations

import gc
import itertools
import tracemalloc
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

import pywats

from .conftest import Recorder


class PagingServer:
    """A fake header endpoint over ``total`` rows, built on demand (nothing stored)."""

    def __init__(self, total: int, *, ignore_skip: bool = False, ignore_top: bool = False):
        self.total = total
        self.ignore_skip = ignore_skip
        self.ignore_top = ignore_top
        self.calls: list[tuple[int, int]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        q = parse_qs(request.url.query.decode())
        top, skip = int(q["$top"][0]), int(q["$skip"][0])
        self.calls.append((skip, top))
        if self.ignore_skip:
            skip = 0
        if self.ignore_top:
            top = self.total
        rows = [self.row(i) for i in range(skip, min(skip + top, self.total))]
        return httpx.Response(200, json=rows)

    @staticmethod
    def row(i: int) -> dict[str, Any]:
        return {"uuid": f"id-{i}", "serialNumber": f"SN{i}", "receiveCount": 1}


def _client(server: PagingServer) -> pywats.Client:
    return pywats.Client("http://127.0.0.1:9", "t", transport=httpx.MockTransport(server))


def test_no_request_before_iteration() -> None:
    server = PagingServer(10)
    with _client(server) as client:
        client.reports.headers()
    assert server.calls == []


def test_pages_are_requested_only_as_the_iterator_advances() -> None:
    server = PagingServer(25)
    with _client(server) as client:
        it = client.reports.headers(page_size=10)
        next(it)
        assert server.calls == [(0, 10)]
        list(itertools.islice(it, 9))
        assert server.calls == [(0, 10)]
        next(it)
        assert server.calls == [(0, 10), (10, 10)]


def test_iteration_stops_on_a_short_page() -> None:
    server = PagingServer(25)
    with _client(server) as client:
        rows = list(client.reports.headers(page_size=10))
    assert [r.serial_number for r in rows] == [f"SN{i}" for i in range(25)]
    assert server.calls == [(0, 10), (10, 10), (20, 10)]


def test_exact_multiple_ends_with_one_empty_page() -> None:
    server = PagingServer(20)
    with _client(server) as client:
        assert len(list(client.reports.headers(page_size=10))) == 20
    assert server.calls[-1] == (20, 10)


def test_top_caps_total_and_shrinks_the_last_page() -> None:
    server = PagingServer(100)
    with _client(server) as client:
        rows = list(client.reports.headers(page_size=10, top=15))
    assert len(rows) == 15
    assert server.calls == [(0, 10), (10, 5)]


def test_top_zero_makes_no_request() -> None:
    server = PagingServer(10)
    with _client(server) as client:
        assert list(client.reports.headers(top=0)) == []
    assert server.calls == []


def test_default_page_size_is_100() -> None:
    server = PagingServer(5)
    with _client(server) as client:
        list(client.reports.headers())
    assert server.calls == [(0, pywats.DEFAULT_PAGE_SIZE)]
    assert pywats.DEFAULT_PAGE_SIZE == 100


@pytest.mark.parametrize("size", [0, pywats.MAX_PAGE_SIZE + 1])
def test_page_size_out_of_range_is_rejected(size: int) -> None:
    with _client(PagingServer(1)) as client, pytest.raises(ValueError, match="page_size"):
        client.reports.headers(page_size=size)


def test_server_ignoring_skip_is_detected_not_looped() -> None:
    server = PagingServer(50, ignore_skip=True)
    with _client(server) as client, pytest.raises(pywats.InvalidResponseError, match="skip"):
        list(client.reports.headers(page_size=10))
    assert len(server.calls) == 2


def test_server_ignoring_top_yields_each_row_once() -> None:
    server = PagingServer(25, ignore_top=True)
    with _client(server) as client:
        rows = list(client.reports.headers(page_size=10))
    assert [r.uuid for r in rows] == [f"id-{i}" for i in range(25)]


def test_odata_value_wrapper_is_accepted(recorder: Recorder, client: pywats.Client) -> None:
    recorder.answer(200, {"value": [PagingServer.row(0)]})
    assert [h.uuid for h in client.reports.headers()] == ["id-0"]


def test_page_that_is_not_a_list_is_invalid_response(
    recorder: Recorder, client: pywats.Client
) -> None:
    recorder.answer(200, {"rows": []})
    with pytest.raises(pywats.InvalidResponseError, match="list"):
        list(client.reports.headers())


def test_iterating_100k_headers_holds_one_page_at_a_time() -> None:
    total, page = 100_000, 1000
    server = PagingServer(total)
    with _client(server) as client:
        gc.collect()
        tracemalloc.start()
        count = 0
        for header in client.reports.headers(page_size=page):
            count += 1
            del header
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert count == total
    # 100k parsed headers would need well over 100 MB; one page of 1000 is a few MB.
    assert peak < 20 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
