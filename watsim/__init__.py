"""watsim: a WATS-compatible server simulator with fault injection, for tests and the demo.

Standard library only. Start it from Python::

    from watsim import Simulator

    with Simulator(token="secret", seed=1) as sim:
        ...  # talk HTTP to sim.base_url with "Authorization: Basic secret"
        assert sim.stats()["distinct_reports"] == 1

or from the command line: ``python -m watsim --port 8080 --token TOKEN``.
The endpoints, faults and stats are documented in ``docs/simulator.md``.
"""

from __future__ import annotations

from ._api import DEFAULT_PROCESSES
from ._errors import FaultConfigError
from ._faults import FAULT_NAMES
from ._simulator import Simulator

__all__ = ["DEFAULT_PROCESSES", "FAULT_NAMES", "FaultConfigError", "Simulator"]
