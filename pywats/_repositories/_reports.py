"""Reports: submit WSJF, fetch WSJF by id, query headers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .._errors import InvalidResponseError
from .._models._domain import ReportHeader
from .._models._report import ReportBase, UURReport, UUTReport, parse_report
from .._paging import DEFAULT_PAGE_SIZE
from .._query import Filter
from .._transport import NOT_FOUND
from ._base import Repository, odata_params, paged, parse_with, segment

_ID_KEYS = ("ID", "id", "Id", "uuid")


class ReportRepository(Repository):
    """``client.reports``: submit, fetch and query test (UUT) and repair (UUR) reports."""

    def submit(
        self,
        report: UUTReport | UURReport | Mapping[str, Any] | bytes,
        *,
        idempotency_key: str | None = None,
    ) -> str:
        """Submit (upsert by id) a report; return the id the server stored it under.

        A model is sent as ``to_wsjf(for_submit=True)``. A mapping is sent exactly as given, not
        validated. ``bytes`` are a WSJF document already encoded as UTF-8 JSON, sent byte for
        byte (the sync engine sends its journal's stored text this way); then
        ``idempotency_key`` is required. The ``Idempotency-Key`` header is ``idempotency_key``
        or, by default, the report id.
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
        answer = self._t.request_json(
            "POST",
            "/api/Report/WSJF",
            operation="reports.submit",
            json_body=body,
            content=content,
            idempotency_key=key,
        )
        return _stored_id(answer)

    def get(self, report_id: str) -> UUTReport | UURReport | None:
        """The report with ``report_id`` (None when lenient and it does not exist)."""
        data = self._t.request_json(
            "GET",
            f"/api/Report/Wsjf/{segment(report_id, 'report_id')}",
            operation="reports.get",
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
        report_type: str = "U",
        top: int | None = None,
        orderby: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        expand: str | None = None,
    ) -> Iterator[ReportHeader]:
        """Lazily iterate report headers matching ``filter``, fetching page by page.

        ``report_type`` is ``"U"`` (UUT) or ``"R"`` (UUR); ``top`` caps the total; ``orderby``
        is OData (``"start desc"``); ``page_size`` 1..1000 (default 100).
        """
        if report_type not in ("U", "R"):
            raise ValueError(f"report_type must be 'U' or 'R', got {report_type!r}")
        params = odata_params(filter, orderby, reportType=report_type)
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


def _stored_id(answer: Any) -> str:
    """The id from any answer shape the server is known to use."""
    candidate: Any = answer
    if isinstance(candidate, list) and len(candidate) == 1:
        candidate = candidate[0]
    if isinstance(candidate, dict):
        candidate = next((candidate[k] for k in _ID_KEYS if candidate.get(k)), None)
    if isinstance(candidate, str) and candidate.strip():
        return candidate
    raise InvalidResponseError(
        f"submit answer carries no report id: {str(answer)[:200]}", operation="reports.submit"
    )
