"""Production: units, serial numbers, unit verification."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree

from .._errors import UnitsRejectedError
from .._models._domain import Unit, UnitsSaved, UnitVerification
from .._transport import Answer
from ._base import Repository, flag, parse_model, segment


class ProductionRepository(Repository):
    """``client.production``: units, serial numbers and unit verification."""

    def get_unit(self, serial_number: str, part_number: str) -> Unit | None:
        """The unit (None when lenient and unknown)."""
        path = (
            f"/api/Production/Unit/{segment(serial_number, 'serial_number')}"
            f"/{segment(part_number, 'part_number')}"
        )
        return self._get(Unit, path, operation="production.get_unit")

    def save_units(
        self, units: Sequence[Unit], *, idempotency_key: str | None = None
    ) -> UnitsSaved:
        """Create or update units (by serial and part number) in one call.

        The answer counts inserts, updates and errors; a non-zero ``errorCount`` raises
        :class:`~pywats.UnitsRejectedError` naming the failed units. ``idempotency_key`` is sent
        as the ``Idempotency-Key`` header when given (the PUT is an upsert either way).
        """
        if isinstance(units, Unit) or not all(isinstance(u, Unit) for u in units):
            raise TypeError("save_units needs a sequence of Unit")
        sent = [u.to_json_dict() for u in units]
        answer = self._t.request(
            "PUT",
            "/api/Production/Units",
            operation="production.save_units",
            json_body=sent,
            idempotency_key=idempotency_key,
        )
        data: Any = answer.json() if answer.content.strip() else {}
        if not isinstance(data, dict):
            raise answer.invalid(f"the units answer is not an object: {answer.snippet()}")
        saved = parse_model(UnitsSaved, data, "production.save_units")
        if saved.error_count:
            raise units_rejected(answer, saved.error_count, data, sent)
        return saved

    def take_serial_numbers(
        self,
        quantity: int,
        *,
        serial_number_type: str = "Default",
        ref_sn: str | None = None,
        ref_pn: str | None = None,
        station_name: str | None = None,
        only_in_sequence: bool | None = None,
        format: str = "XML",
    ) -> list[str]:
        """Allocate up to ``quantity`` new serial numbers of a type; never handed out twice.

        The server answers XML (``<SN id=".."/>`` elements) or CSV (one number a line), as
        ``format`` asks, as a JSON string (we ask for JSON, like every call) or as the bare
        document; all are parsed into a list. It takes all that are free when fewer than
        ``quantity`` are, so the list may be shorter. ``only_in_sequence=True`` takes only numbers
        without gaps. This POST is **not idempotent** and the server has no way to spot a repeat:
        after an error that may have reached the server, numbers may have been taken; find them
        by ``ref_sn``/``ref_pn`` on the server rather than taking again blindly.
        """
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ValueError(f"quantity must be an int >= 1, got {quantity!r}")
        fmt = format.upper() if isinstance(format, str) else format
        if fmt not in ("XML", "CSV"):
            raise ValueError(f"format must be 'XML' or 'CSV', got {format!r}")
        params: dict[str, str | int] = {
            "serialNumberType": serial_number_type,
            "quantity": quantity,
            "format": fmt,
        }
        for key, val in (("refSN", ref_sn), ("refPN", ref_pn), ("stationName", station_name)):
            if val is not None:
                params[key] = val
        if only_in_sequence is not None:
            params["onlyInSequence"] = flag(only_in_sequence)
        answer = self._t.request(
            "POST",
            "/api/Production/SerialNumbers/Take",
            operation="production.take_serial_numbers",
            params=params,
        )
        serials = parse_serial_numbers(answer)
        if len(serials) > quantity:
            raise answer.invalid(f"{len(serials)} serial numbers answered, {quantity} asked")
        return serials

    def verify_unit(
        self, serial_number: str, part_number: str | None = None
    ) -> UnitVerification | None:
        """The unit's grade from its test history (None when lenient and no report exists).

        The spec takes ``serialNumber`` and, optionally, ``partNumber``; nothing else.
        """
        params: dict[str, str | int] = {"serialNumber": serial_number}
        if part_number is not None:
            params["partNumber"] = part_number
        return self._get(
            UnitVerification,
            "/api/Production/UnitVerification",
            operation="production.verify_unit",
            params=params,
        )


def units_rejected(
    answer: Answer, error_count: int, data: Mapping[str, Any], sent: list[dict[str, Any]]
) -> UnitsRejectedError:
    """The error for an answer with ``errorCount > 0``, naming the failed units."""
    named = tuple(_named_units(data))
    units = named or tuple(_unit_name(u) for u in sent)
    listed = ", ".join(units[:20]) + (f" and {len(units) - 20} more" if len(units) > 20 else "")
    which = "failed" if named else "sent (the answer names none)"
    return UnitsRejectedError(
        f"the server reported {error_count} unit error(s) of {len(sent)} unit(s); "
        f"{which}: {listed}",
        operation=answer.operation,
        status_code=answer.status_code,
        server_message=answer.snippet(),
        correlation_id=answer.correlation_id,
        error_count=error_count,
        failed_units=units,
        named_by_server=bool(named),
    )


def _named_units(data: Mapping[str, Any]) -> list[str]:
    """Units an answer lists under an error-like key: dicts with a serial number, or texts."""
    found: list[str] = []
    for key, value in data.items():
        if not isinstance(value, list) or not any(w in key.lower() for w in _ERROR_WORDS):
            continue
        for item in value:
            if isinstance(item, Mapping):
                inner = item.get("unit")
                name = _unit_name(inner if isinstance(inner, Mapping) else item)
                reason = next((str(item[k]) for k in _REASON_KEYS if item.get(k)), "")
                found.append(f"{name} ({reason})" if reason else name)
            elif isinstance(item, str) and item:
                found.append(item)
    return found


def _unit_name(unit: Mapping[str, Any]) -> str:
    sn = unit.get("serialNumber", unit.get("SerialNumber", "?"))
    pn = unit.get("partNumber", unit.get("PartNumber", "?"))
    return f"{sn}/{pn}"


_ERROR_WORDS = ("error", "fail", "reject", "invalid")
_REASON_KEYS = ("message", "Message", "error", "Error", "reason")


def parse_serial_numbers(answer: Answer) -> list[str]:
    """Serial numbers from a Take answer: XML ``<SN id>``, CSV lines, or (older) a JSON list."""
    text = _answer_text(answer)
    if isinstance(text, list):
        return text
    stripped = text.strip().lstrip("\ufeff")
    if not stripped:
        return []
    if stripped.startswith("<"):
        return _serials_from_xml(answer, stripped)
    return _serials_from_csv(answer, stripped)


def _answer_text(answer: Answer) -> str | list[str]:
    """The answer as text; a JSON string is unwrapped, a JSON list of strings returned as is."""
    try:
        text = answer.content.decode("utf-8")
    except UnicodeDecodeError:
        raise answer.invalid(
            f"the serial numbers answer is not UTF-8: {answer.snippet()}"
        ) from None
    if not text.lstrip().startswith(("[", '"', "{")):
        return text
    try:
        data: Any = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, str):
        return data
    if isinstance(data, list) and all(isinstance(s, str) and s for s in data):
        return list(data)
    raise answer.invalid(f"the serial numbers answer is neither XML nor CSV: {answer.snippet()}")


def _serials_from_xml(answer: Answer, text: str) -> list[str]:
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        # Entity declarations have no place in this answer (and could expand without bound).
        raise answer.invalid("the serial numbers XML declares a DOCTYPE or entities")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise answer.invalid(f"the serial numbers XML does not parse ({exc})") from None
    serials = []
    for element in root.iter():
        if _local(element.tag) != "SN":
            continue
        value = element.get("id") or element.get("Id") or (element.text or "").strip()
        if not value:
            raise answer.invalid("the serial numbers XML has an <SN> without an id")
        serials.append(value)
    if not serials and _local(root.tag) == "string" and (root.text or "").lstrip().startswith("<"):
        # A string serialised by the server's XML formatter: the document is its text.
        return _serials_from_xml(answer, (root.text or "").strip())
    if not serials and _local(root.tag) != "SerialNumbers":
        raise answer.invalid(f"the serial numbers XML has no <SN> elements: {answer.snippet()}")
    return serials


def _serials_from_csv(answer: Answer, text: str) -> list[str]:
    rows = [row for row in csv.reader(io.StringIO(text)) if row and row[0].strip()]
    if rows and rows[0][0].strip().lower().replace(" ", "") in _CSV_HEADERS:
        rows = rows[1:]
    serials = [row[0].strip() for row in rows]
    if any(c in s for s in serials for c in "<>{}"):
        raise answer.invalid(
            f"the serial numbers answer is neither XML nor CSV: {answer.snippet()}"
        )
    return serials


_CSV_HEADERS = frozenset({"sn", "serial", "serialnumber", "id"})


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
