"""Alias kept for ``python -m tools.watsim`` from a checkout: the simulator is the top-level
``watsim`` package now (installed with wats-sync). New code imports ``watsim``."""

from __future__ import annotations

from watsim import *  # noqa: F403
from watsim import __all__ as __all__
