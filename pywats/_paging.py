"""Lazy ``$top``/``$skip`` pagination shared by every list endpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from ._errors import InvalidResponseError

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def check_page_args(page_size: int, top: int | None) -> None:
    """Raise ValueError/TypeError for a page size or ``top`` the caller got wrong."""
    if isinstance(page_size, bool) or not isinstance(page_size, int):
        raise TypeError(f"page_size must be an int, got {page_size!r}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}, got {page_size}")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 0):
        raise ValueError(f"top must be an int >= 0 or None, got {top!r}")


def paginate(
    fetch: Callable[[int, int], Any],
    parse: Callable[[Any], T],
    *,
    page_size: int,
    top: int | None,
    operation: str,
) -> Iterator[T]:
    """Yield parsed items page by page; a page is requested only when the previous is used up.

    ``fetch(skip, count)`` returns the decoded JSON of one page (a list, or an OData
    ``{"value": [...]}`` object). Iteration stops on a short page or after ``top`` items.
    Only one page is held at a time.
    """
    skip = 0
    previous: list[Any] | None = None
    while top is None or skip < top:
        count = page_size if top is None else min(page_size, top - skip)
        page = _items(fetch(skip, count), operation)
        if page and page == previous:
            raise InvalidResponseError(
                f"the page at $skip={skip} repeats the previous one; the server ignores $skip",
                operation=operation,
            )
        for raw in page[:count]:
            yield parse(raw)
        if len(page) < count:
            return
        skip += count
        previous = page


def _items(body: Any, operation: str) -> list[Any]:
    if isinstance(body, dict) and isinstance(body.get("value"), list):
        body = body["value"]
    if not isinstance(body, list):
        raise InvalidResponseError(
            f"expected a JSON list page, got {type(body).__name__}", operation=operation
        )
    return body
