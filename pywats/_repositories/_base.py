"""What every repository shares: the transport, model parsing, path quoting."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import pydantic

from .._errors import InvalidResponseError
from .._models._domain import ApiModel
from .._paging import check_page_args, paginate
from .._query import Filter
from .._transport import NOT_FOUND, Transport

M = TypeVar("M", bound=pydantic.BaseModel)
A = TypeVar("A", bound=ApiModel)
T = TypeVar("T")


class Repository:
    """Base of the repositories; holds the shared transport."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def _list(
        self,
        cls: type[M],
        path: str,
        *,
        operation: str,
        filter: Filter | str | None,
        orderby: str | None,
        page_size: int,
        top: int | None,
    ) -> Iterator[M]:
        """A lazy iterator over an OData list endpoint (``$filter``, ``$orderby``, paging)."""
        return paged(
            self._t,
            path,
            cls,
            operation=operation,
            params=odata_params(filter, orderby),
            page_size=page_size,
            top=top,
        )

    def _get(
        self,
        cls: type[M],
        path: str,
        *,
        operation: str,
        params: Mapping[str, str | int] | None = None,
    ) -> M | None:
        """GET one object parsed into ``cls``; None when lenient and the server answers 404."""
        data = self._t.request_json(
            "GET", path, operation=operation, params=params, lenient_404=True
        )
        return None if data is NOT_FOUND else parse_model(cls, data, operation)

    def _put(
        self,
        cls: type[A],
        path: str,
        obj: object,
        what: str,
        *,
        operation: str,
        idempotency_key: str | None,
    ) -> A:
        """PUT ``obj`` (TypeError unless it is a ``cls``); returns what the server stored."""
        if not isinstance(obj, cls):
            article = "an" if cls.__name__[0] in "AEIOU" else "a"
            raise TypeError(f"{what} must be {article} {cls.__name__}, got {type(obj).__name__}")
        data = self._t.request_json(
            "PUT",
            path,
            operation=operation,
            json_body=obj.to_json_dict(),
            idempotency_key=idempotency_key,
        )
        return parse_model(cls, data, operation)


def segment(value: str, name: str) -> str:
    """``value`` quoted as one URL path segment (so ``/`` or ``?`` cannot change the route)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    if value in (".", ".."):
        # A dot segment survives quoting and is then resolved away by the URL: ".." would
        # send the request to the parent route (get_unit("..", "X") -> /api/Production/X).
        raise ValueError(f"{name} cannot be {value!r}: a URL path cannot carry it as a value")
    return quote(value, safe="")


def flag(value: bool) -> str:
    """A boolean query parameter as the spec's ``boolean`` type is written (``true``/``false``)."""
    return "true" if value else "false"


def parse_model(cls: type[M], data: Any, operation: str) -> M:
    """Validate server JSON into ``cls``; a mismatch is the server's fault: InvalidResponseError."""
    return parse_with(cls.model_validate, data, operation)


def parse_with(parser: Callable[[Any], T], data: Any, operation: str) -> T:
    """Run ``parser`` on server JSON, turning any validation failure into InvalidResponseError."""
    try:
        return parser(data)
    except (pydantic.ValidationError, ValueError, TypeError) as exc:
        raise InvalidResponseError(
            f"answer does not match the model: {exc}", operation=operation
        ) from exc


def filter_text(value: Filter | str | None) -> str | None:
    """The ``$filter`` text from a built Filter or a raw OData string (caller-escaped)."""
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, Filter):
        return str(value)
    raise TypeError(f"filter must be a Filter, a str or None, got {type(value).__name__}")


def odata_params(
    filter: Filter | str | None, orderby: str | None, **extra: str | int
) -> dict[str, str | int]:
    """Query parameters of a list call: ``extra``, then ``$filter`` and ``$orderby`` if given."""
    params: dict[str, str | int] = dict(extra)
    text = filter_text(filter)
    if text:
        params["$filter"] = text
    if orderby:
        params["$orderby"] = orderby
    return params


def paged(
    transport: Transport,
    path: str,
    cls: type[M],
    *,
    operation: str,
    params: Mapping[str, str | int],
    page_size: int,
    top: int | None,
) -> Iterator[M]:
    """A lazy iterator over a ``$top``/``$skip`` list endpoint, parsing each item into ``cls``."""
    check_page_args(page_size, top)

    def fetch(skip: int, count: int) -> Any:
        return transport.request_json(
            "GET", path, operation=operation, params={**params, "$top": count, "$skip": skip}
        )

    return paginate(
        fetch,
        lambda raw: parse_model(cls, raw, operation),
        page_size=page_size,
        top=top,
        operation=operation,
    )
