"""Shared fixtures: a real WATS simulator on 127.0.0.1 (``watsim``).

- ``sim_token``: the token the ``sim`` fixture accepts (``"test-token"``).
- ``sim``: a started :class:`watsim.Simulator` (seed 1234, in-memory state), stopped after
  the test. Use ``sim.base_url``, ``sim.stats()``, ``sim.set_faults(...)``, ``sim.report(id)``.
- ``sim_factory``: ``sim_factory(**kwargs) -> Simulator`` starts extra simulators with other
  settings (``db=``, ``faults=``, ``seed=``, ``port=``, ``token=``); all are stopped after the test.

See docs/simulator.md for the endpoints, faults and stats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from watsim import Simulator

SIM_TOKEN = "test-token"
SIM_SEED = 1234


@pytest.fixture
def sim_token() -> str:
    """The API token the ``sim`` fixture accepts (send ``Authorization: Basic <token>``)."""
    return SIM_TOKEN


@pytest.fixture
def sim(sim_token: str) -> Iterator[Simulator]:
    """A started simulator on a free 127.0.0.1 port, stopped (threads joined) after the test."""
    with Simulator(token=sim_token, seed=SIM_SEED) as simulator:
        yield simulator


@pytest.fixture
def sim_factory() -> Iterator[Callable[..., Simulator]]:
    """Start simulators with custom settings; every one is stopped after the test."""
    started: list[Simulator] = []

    def make(**kwargs: Any) -> Simulator:
        kwargs.setdefault("token", SIM_TOKEN)
        kwargs.setdefault("seed", SIM_SEED)
        simulator = Simulator(**kwargs).start()
        started.append(simulator)
        return simulator

    yield make
    for simulator in reversed(started):
        simulator.stop()
