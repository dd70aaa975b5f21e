"""The station page: a local web page where operators see and resolve every report.

Served by the engine's loopback server when ``[ui] enabled = true`` (see
``syncengine/_health_http.py`` and docs/operations.md, "The station page"). Templates and
static files are package data; nothing is loaded from another origin.
"""

from __future__ import annotations

from ._app import StationPage, load_corrected

__all__ = ["StationPage", "load_corrected"]
