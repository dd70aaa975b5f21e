"""Reports: submit WSJF, fetch WSJF by id, query headers."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from .._models._domain import ReportHeader, SubmitResult
from .._models._report import ReportBase, UURReport, UUTReport, parse_report
from .._paging import DEFAULT_PAGE_SIZE
from .._query import Filter, Q
from .._transport import NOT_FOUND, Answer
from ._base import Repository, filter_text, flag, odata_params, paged, parse_with, segment

log = logging.getLogger("pywats")

#: Where a stored id may sit in a submit answer: the spec's InsertReportResult has ``uuid`` (the
#: destination id) and ``ID`` (the source id); older servers answered ``id`` or ``Id``.
_ID_KEYS = ("uuid", "ID", "id", "Id")
#: The header fields the spec documents ``$orderby`` for (its text writes ``timestamp``).
ORDERBY_FIELDS = {
    "start": "start",
    "uuid": "uuid",
    "serialnumber": "serialNumber",
    "timestamp": "timeStamp",
}
_REPORT_TYPES = {"T": "T", "U": "T", "R": "R"}


class ReportRepository(Repository):
    """``client.reports``: submit, fetch and query test (UUT) and repair (UUR) reports."""

    def submit(
        self,
        report: UUTReport | UURReport | Mapping[str, Any] | bytes,
        *,
        idempotency_key: str | None = None,
    ) -> SubmitResult:
        """Submit (upsert by id) a report; return what the server answered as a SubmitResult.

        A model is sent as ``to_wsjf(for_submit=True)``. A mapping is sent exactly as given, not
        validated. ``bytes`` are a WSJF document already encoded as UTF-8 JSON, sent byte for
        byte (the sync engine sends its journal's stored text this way); then
        ``idempotency_key`` is required. The ``Idempotency-Key`` header is ``idempotency_key``
        or, by default, the report id.

        The answer is the spec's ``InsertReportResult`` (``{"ID", "uuid", "Report_ID"}``); older
        shapes (``[{"ID": ..}]``, ``{"id": ..}``, a bare string) are read too. A 2xx answer without
        a usable id does not raise: the server took the report, so the result has ``id=None`` and
        the start of the answer in ``raw_answer``, and a warning is logged.
        """
        report_id: Any = None
        body: Any = None
        content: bytes | None = None
        if isinstance(report, ReportBase):
            body = report.to_wsjf(for_submit=True)
            report_id = report.id
        elif isinstance(report, Mapping):
            body = report
            report_id = report.get("id")
        elif isinstance(report, bytes):
            content = report
        else:
            raise TypeError(
                f"submit needs a report model, a dict or JSON bytes, got {type(report).__name__}"
            )
        key = idempotency_key if idempotency_key is not None else report_id
        if not isinstance(key, str) or not key:
            raise ValueError("the report has no 'id' to use as Idempotency-Key; pass one")
        answer = self._t.request(
            "POST",
            "/api/Report/WSJF",
            operation="reports.submit",
            json_body=body,
            content=content,
            idempotency_key=key,
        )
        return submit_result(answer)

    def get(
        self,
        report_id: str,
        *,
        detail_level: int | None = None,
        include_chartdata: bool | None = None,
        include_attachments: bool | None = None,
    ) -> UUTReport | UURReport | None:
        """The report with ``report_id`` (None when lenient and it does not exist).

        The spec's options, sent only when given (the server's defaults are the full report with
        charts and attachments): ``detail_level`` 0 (identifying data) to 7 (full report),
        ``include_chartdata``, ``include_attachments``.
        """
        params: dict[str, str | int] = {}
        if detail_level is not None:
            if isinstance(detail_level, bool) or detail_level not in range(8):
                raise ValueError(f"detail_level must be an int 0..7, got {detail_level!r}")
            params["detailLevel"] = detail_level
        if include_chartdata is not None:
            params["includeChartdata"] = flag(include_chartdata)
        if include_attachments is not None:
            params["includeAttachments"] = flag(include_attachments)
        data = self._t.request_json(
            "GET",
            f"/api/Report/Wsjf/{segment(report_id, 'report_id')}",
            operation="reports.get",
            params=params or None,
            lenient_404=True,
        )
        if data is NOT_FOUND:
            return None
        if isinstance(data, dict) and "type" not in data and "uur" in data:
            data = {**data, "type": "R"}  # old exports mark a UUR by its "uur" key only
        return parse_with(parse_report, data, "reports.get")

    def headers(
        self,
        filter: Filter | str | None = None,
        *,
        report_type: str | None = "T",
        top: int | None = None,
        orderby: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        expand: str | None = None,
    ) -> Iterator[ReportHeader]:
        """Lazily iterate report headers matching ``filter``, fetching page by page.

        ``report_type`` is ``"T"`` (UUT, the default; ``"U"`` is accepted for it), ``"R"`` (UUR)
        or None (both); it becomes a ``reportType eq '..'`` clause of ``$filter``, because the spec
        gives this operation no ``reportType`` parameter. ``top`` caps the total; ``orderby`` is
        OData on the fields the spec allows (``start``, ``uuid``, ``serialNumber``, ``timeStamp``,
        each optionally ``asc``/``desc``); ``page_size`` 1..1000 (default 100).
        """
        if report_type is not None and report_type not in _REPORT_TYPES:
            raise ValueError(f"report_type must be 'T', 'R' or None, got {report_type!r}")
        text = filter_text(filter)
        if report_type is not None:
            clause = str(Q.report_type == _REPORT_TYPES[report_type])
            text = clause if not text else f"({clause}) and ({text})"
        params = odata_params(text, header_orderby(orderby) if orderby else None)
        if expand:
            params["$expand"] = expand
        return paged(
            self._t,
            "/api/Report/Query/Header",
            ReportHeader,
            operation="reports.headers",
            params=params,
            page_size=page_size,
            top=top,
        )


def header_orderby(orderby: str) -> str:
    """``orderby`` checked against the fields the spec allows, with their spelling fixed.

    ValueError names the allowed fields, before anything is sent.
    """
    parts = []
    for part in orderby.split(","):
        words = part.split()
        if (
            not words
            or len(words) > 2
            or (len(words) == 2 and words[1].lower() not in ("asc", "desc"))
        ):
            raise ValueError(f"orderby must be 'field [asc|desc]', got {part.strip()!r}")
        field = ORDERBY_FIELDS.get(words[0].lower())
        if field is None:
            allowed = ", ".join(ORDERBY_FIELDS.values())
            raise ValueError(f"report headers can be ordered only by {allowed}; got {words[0]!r}")
        parts.append(" ".join([field, *(w.lower() for w in words[1:])]))
    return ",".join(parts)


def submit_result(answer: Answer) -> SubmitResult:
    """A SubmitResult from a 2xx submit answer of any known shape.

    An empty body, or JSON without a usable id, is taken as stored (``id=None``). A body that is
    not JSON at all (a proxy's or login portal's HTML page answering 200) is not the WATS server
    speaking: InvalidResponseError, which the engine retries. Retrying is safe either way, since
    the server upserts by report id, while taking such a page as "stored" could lose the report.
    """
    try:
        body: Any = json.loads(answer.content) if answer.content.strip() else None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise answer.invalid(
            f"the answer is not JSON, so not the WATS server's ({exc}): {answer.snippet()}"
        ) from exc
    candidate: Any = body
    if isinstance(candidate, list) and len(candidate) == 1:
        candidate = candidate[0]
    stored = source = None
    if isinstance(candidate, dict):
        found = {k: candidate.get(k) for k in _ID_KEYS if _usable(candidate.get(k))}
        stored = next(iter(found.values()), None)
        source = found.get("ID") or found.get("id") or found.get("Id")
    elif _usable(candidate):
        stored = candidate
    if stored is None:
        raw = answer.snippet()
        log.warning(
            "%s: HTTP %s answer carries no report id; the report is taken as stored "
            "(answer: %r, correlation id %s)",
            answer.operation,
            answer.status_code,
            raw,
            answer.correlation_id,
        )
        return SubmitResult(
            id=None,
            status_code=answer.status_code,
            correlation_id=answer.correlation_id,
            raw_answer=raw,
        )
    return SubmitResult(
        id=stored,
        status_code=answer.status_code,
        correlation_id=answer.correlation_id,
        source_id=source,
    )


def _usable(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and value.strip("0-") != ""
