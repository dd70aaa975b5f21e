"""Each request leaves in one ``send``: header and body coalesced (pywats/_transport.py).

Against the real simulator on 127.0.0.1: the bytes the server receives are the same, every
request is answered, a large body is still sent whole, and a connection the server drops or a
pooled connection it closed still ends as before (ConnectionDropped / a fresh connection).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpcore
import pytest

import pywats
from pywats._transport import coalescing
from watsim import Simulator

from . import samples

FAST = pywats.Timeout(connect=2, read=5, write=5, pool=2)


@pytest.fixture
def api(sim: Simulator, sim_token: str) -> Iterator[pywats.Client]:
    with pywats.Client(sim.base_url, sim_token, timeout=FAST) as client:
        yield client


@pytest.fixture
def sends(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sizes of the writes httpcore's socket stream makes (one per ``send`` batch)."""
    sizes: list[int] = []
    real = httpcore._backends.sync.SyncStream.write

    def counting(self: Any, buffer: bytes, timeout: float | None = None) -> None:
        sizes.append(len(buffer))
        real(self, buffer, timeout)

    monkeypatch.setattr(httpcore._backends.sync.SyncStream, "write", counting)
    return sizes


def new_uut(**fields: Any) -> dict[str, Any]:
    doc = samples.example_uut()
    doc.update(id=str(uuid.uuid4()), **fields)
    return doc


def test_the_shipped_httpx_and_httpcore_get_the_coalescing_backend(api: pywats.Client) -> None:
    assert coalescing(api._transport._http)


def test_each_submit_is_one_write_and_arrives_whole(
    api: pywats.Client, sim: Simulator, sends: list[int]
) -> None:
    docs = [new_uut(sn=f"SN-{i}") for i in range(5)]
    for doc in docs:
        body = json.dumps(doc).encode()
        assert api.reports.submit(body, idempotency_key=doc["id"]).id == doc["id"]
        assert sends[-1] > len(body)  # head and body in the same write
    assert len(sends) == 5
    for doc in docs:
        back = api.reports.get(doc["id"])
        assert back is not None and back.to_wsjf() == doc


def test_a_body_beyond_the_hold_limit_is_sent_whole(api: pywats.Client, sends: list[int]) -> None:
    doc = new_uut(sn="SN-big")
    doc["comment"] = "x" * 200_000
    body = json.dumps(doc).encode()
    assert api.reports.submit(body, idempotency_key=doc["id"]).id == doc["id"]
    assert sum(sends) > len(body)
    back = api.reports.get(doc["id"])
    assert back is not None and back.to_wsjf() == doc


def test_a_dropped_connection_is_still_connection_dropped_then_the_next_works(
    api: pywats.Client, sim: Simulator
) -> None:
    sim.set_faults(drop_before_store_rate=1.0)
    with pytest.raises(pywats.ConnectionDropped):
        api.reports.submit(new_uut())
    sim.set_faults(drop_before_store_rate=0.0)
    doc = new_uut()
    assert api.reports.submit(doc).id == doc["id"]
    assert sim.stats()["distinct_reports"] == 1


def test_a_user_transport_is_left_alone(sim_token: str) -> None:
    import httpx

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"uuid": "u-1", "ID": "u-1"})

    with pywats.Client(
        "http://127.0.0.1:9", sim_token, transport=httpx.MockTransport(answer)
    ) as client:
        assert not coalescing(client._transport._http)
        assert client.reports.submit(b"{}", idempotency_key="k").id == "u-1"
