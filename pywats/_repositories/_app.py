"""App: server version (the connectivity probe) and the process list."""

from __future__ import annotations

from typing import Any

from .._errors import InvalidResponseError
from .._models._domain import Process
from ._base import Repository, flag, parse_model


class AppRepository(Repository):
    """``client.app``: server metadata."""

    def version(self) -> str:
        """The server version text; a cheap authenticated round trip, never cached (the probe).

        The spec answers a JSON string; an object with ``version``/``Version`` (older servers and
        the first simulator) is read too.
        """
        answer = self._t.request("GET", "/api/App/Version", operation="app.version")
        data: Any = answer.json()
        if isinstance(data, dict):
            data = data.get("version", data.get("Version"))
        if isinstance(data, (str, int, float)) and not isinstance(data, bool) and str(data):
            return str(data)
        raise answer.invalid(f"the version answer carries no version: {answer.snippet()}")

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
            "includeTestOperations": flag(test),
            "includeRepairOperations": flag(repair),
            "includeWipOperations": flag(wip),
            "includeInactiveProcesses": flag(inactive),
        }
        data = self._t.request_json(
            "GET", "/api/App/Processes", operation="app.processes", params=params
        )
        if not isinstance(data, list):
            raise InvalidResponseError("process list is not a list", operation="app.processes")
        return [parse_model(Process, item, "app.processes") for item in data]
