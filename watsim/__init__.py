"""watsim: a WATS-compatible server simulator with fault injection, for tests and the demo.

Standard library only. Start it from Python::

    from watsim import Simulator

    with Simulator(token="secret", seed=1) as sim:
        ...  # talk HTTP to sim.base_url with "Authorization: Basic secret"
        assert sim.stats()["distinct_reports"] == 1

or from the command line: ``python -m watsim --port 8080 --token TOKEN``.
The endpoints, faults and stats are documented in ``docs/simulator.md``.

The real server's documented report rules are a plain function too, for local checks::

    from watsim import validate_report

    for refusal in validate_report(wsjf_dict):
        print(refusal)  # "root -> step X -> loop Y: num is required to be one more than ..."
"""

from __future__ import annotations

from ._api import DEFAULT_PROCESSES
from ._errors import FaultConfigError
from ._faults import FAULT_NAMES
from ._simulator import Simulator
from ._validation import Refusal, validate_report

__all__ = [
    "DEFAULT_PROCESSES",
    "FAULT_NAMES",
    "FaultConfigError",
    "Refusal",
    "Simulator",
    "validate_report",
]
