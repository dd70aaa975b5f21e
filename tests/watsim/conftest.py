"""Fixtures for the simulator's own tests: an httpx client bound to the ``sim`` fixture."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from watsim import Simulator


@pytest.fixture
def http(sim: Simulator, sim_token: str) -> Iterator[httpx.Client]:
    """An httpx client for ``sim`` that sends the valid token."""
    with httpx.Client(
        base_url=sim.base_url,
        headers={"Authorization": f"Basic {sim_token}"},
        timeout=10.0,
        verify=False,  # plain HTTP on 127.0.0.1; skips loading the CA bundle (~60 ms)
    ) as client:
        yield client


@pytest.fixture
def anon(sim: Simulator) -> Iterator[httpx.Client]:
    """An httpx client for ``sim`` without credentials."""
    with httpx.Client(base_url=sim.base_url, timeout=10.0, verify=False) as client:
        yield client
