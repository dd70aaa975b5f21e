"""Production: units, serial numbers, unit verification."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._errors import InvalidResponseError
from .._models._domain import Unit, UnitsSaved, UnitVerification
from .._transport import NOT_FOUND
from ._base import Repository, parse_model, segment


class ProductionRepository(Repository):
    """``client.production``: units, serial numbers and unit verification."""

    def get_unit(self, serial_number: str, part_number: str) -> Unit | None:
        """The unit (None when lenient and unknown)."""
        path = (
            f"/api/Production/Unit/{segment(serial_number, 'serial_number')}"
            f"/{segment(part_number, 'part_number')}"
        )
        data = self._t.request_json("GET", path, operation="production.get_unit", lenient_404=True)
        return None if data is NOT_FOUND else parse_model(Unit, data, "production.get_unit")

    def save_units(
        self, units: Sequence[Unit], *, idempotency_key: str | None = None
    ) -> UnitsSaved:
        """Create or update units (by serial and part number) in one call.

        ``idempotency_key`` is sent as the ``Idempotency-Key`` header when given.
        """
        if isinstance(units, Unit) or not all(isinstance(u, Unit) for u in units):
            raise TypeError("save_units needs a sequence of Unit")
        data = self._t.request_json(
            "PUT",
            "/api/Production/Units",
            operation="production.save_units",
            json_body=[u.to_json_dict() for u in units],
            allow_empty=True,
            idempotency_key=idempotency_key,
        )
        return parse_model(UnitsSaved, data or {}, "production.save_units")

    def take_serial_numbers(
        self,
        quantity: int,
        *,
        serial_number_type: str = "Default",
        ref_sn: str | None = None,
        ref_pn: str | None = None,
        station_name: str | None = None,
        idempotency_key: str | None = None,
    ) -> list[str]:
        """Allocate ``quantity`` new serial numbers of a type; never handed out twice.

        This POST is not idempotent: pass an ``idempotency_key`` (sent as ``Idempotency-Key``)
        if you may re-send it after a transport error, so the server can spot the repeat.
        """
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ValueError(f"quantity must be an int >= 1, got {quantity!r}")
        params: dict[str, str | int] = {
            "serialNumberType": serial_number_type,
            "quantity": quantity,
        }
        for key, val in (("refSN", ref_sn), ("refPN", ref_pn), ("stationName", station_name)):
            if val is not None:
                params[key] = val
        data: Any = self._t.request_json(
            "POST",
            "/api/Production/SerialNumbers/Take",
            operation="production.take_serial_numbers",
            params=params,
            idempotency_key=idempotency_key,
        )
        if not isinstance(data, list) or not all(isinstance(s, str) for s in data):
            raise InvalidResponseError(
                "serial numbers answer is not a list of strings",
                operation="production.take_serial_numbers",
            )
        return data

    def verify_unit(
        self, serial_number: str, part_number: str, revision: str | None = None
    ) -> UnitVerification | None:
        """The unit's grade from its test history (None when lenient and no report exists)."""
        params: dict[str, str | int] = {"serialNumber": serial_number, "partNumber": part_number}
        if revision is not None:
            params["revision"] = revision
        data = self._t.request_json(
            "GET",
            "/api/Production/UnitVerification",
            operation="production.verify_unit",
            params=params,
            lenient_404=True,
        )
        if data is NOT_FOUND:
            return None
        return parse_model(UnitVerification, data, "production.verify_unit")
