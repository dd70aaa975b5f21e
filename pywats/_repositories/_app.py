"""App: server version (the connectivity probe) and the process list."""

from __future__ import annotations

from typing import Any

from .._errors import InvalidResponseError
from .._models._domain import Process
from ._base import Repository, parse_model


class AppRepository(Repository):
    """``client.app``: server metadata."""

    def version(self) -> str:
        """The server version text; a cheap authenticated round trip, never cached (the probe)."""
        data: Any = self._t.request_json("GET", "/api/App/Version", operation="app.version")
        if isinstance(data, dict):
            data = data.get("version", data.get("Version"))
        if isinstance(data, (str, int, float)) and not isinstance(data, bool) and str(data):
            return str(data)
        raise InvalidResponseError("version answer carries no version", operation="app.version")

    def processes(
        self,
        *,
        test: bool = True,
        repair: bool = True,
        wip: bool = True,
        inactive: bool = False,
    ) -> list[Process]:
        """The processes (operations) the server knows; ``code`` is a report's processCode."""
        params: dict[str, str | int] = {
            "includeTestOperations": _flag(test),
            "includeRepairOperations": _flag(repair),
            "includeWipOperations": _flag(wip),
            "includeInactiveProcesses": _flag(inactive),
        }
        data = self._t.request_json(
            "GET", "/api/App/Processes", operation="app.processes", params=params
        )
        if not isinstance(data, list):
            raise InvalidResponseError("process list is not a list", operation="app.processes")
        return [parse_model(Process, item, "app.processes") for item in data]


def _flag(value: bool) -> str:
    return "true" if value else "false"
