"""The one seam between pywats and httpx.

httpx is imported here and nowhere else. ``_send()`` is the single choke point that executes a
request and turns httpx exceptions into the pywats tree; ``request_json()`` also checks the status
and parses the body. Repositories are its only callers.
"""

from __future__ import annotations

import email.utils
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import httpx

from ._errors import (
    AuthenticationError,
    AuthorizationError,
    ConflictError,
    ConnectError,
    ConnectionDropped,
    InvalidResponseError,
    NotFoundError,
    PyWATSError,
    RateLimitedError,
    RequestTimeout,
    ServerError,
    TransportError,
    UnexpectedStatusError,
    ValidationError,
)

#: What ``Client(transport=...)`` accepts: any httpx transport, e.g. ``httpx.MockTransport``.
HTTPTransport = httpx.BaseTransport

# Response headers that carry a request/correlation id, most specific first.
_CORRELATION_HEADERS = (
    "x-correlation-id",
    "correlation-id",
    "x-request-id",
    "request-id",
    "x-ms-request-id",
    "traceparent",
)


class _NotFound:
    """The type of :data:`NOT_FOUND`."""

    def __repr__(self) -> str:
        return "NOT_FOUND"


#: What ``request_json(lenient_404=True)`` returns for a 404 in lenient mode (never a JSON value,
#: so a ``null`` body cannot be mistaken for "not found").
NOT_FOUND: Any = _NotFound()

_URL_CACHE = 64
_MESSAGE_KEYS = ("message", "Message", "error", "errors", "detail", "title")
_MAX_SNIPPET = 500
#: A 4xx refusal's text is kept whole up to this size: the real server answers a refused report
#: with one path-prefixed line per broken rule (WATS-API-NOTES.md section 4), and the journal,
#: ``inspect`` and the operator guidance need every line, not the first 500 bytes.
MAX_REFUSAL_MESSAGE = 64 * 1024


@dataclass(frozen=True)
class Timeout:
    """HTTP time limits in seconds, each applied separately (httpx semantics).

    ``connect``: opening the connection; ``read``: waiting for each chunk of the answer;
    ``write``: sending each chunk of the request; ``pool``: waiting for a free connection.
    """

    connect: float = 5.0
    read: float = 30.0
    write: float = 30.0
    pool: float = 5.0

    def __post_init__(self) -> None:
        for name in ("connect", "read", "write", "pool"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"Timeout.{name} must be a number of seconds, got {value!r}")
            if not value > 0 or math.isinf(value):
                raise ValueError(f"Timeout.{name} must be a finite number > 0, got {value!r}")


class Transport:
    """An httpx client bound to one server and token. Used only by repositories."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: Timeout,
        transport: HTTPTransport | None,
        user_agent: str,
        lenient: bool,
    ) -> None:
        self.base_url = base_url
        self.lenient = lenient
        self._http = httpx.Client(
            base_url=base_url,
            headers={
                "Authorization": f"Basic {token}",
                "Accept": "application/json",
                "User-Agent": user_agent,
            },
            timeout=httpx.Timeout(
                connect=timeout.connect,
                read=timeout.read,
                write=timeout.write,
                pool=timeout.pool,
            ),
            transport=transport,
            follow_redirects=True,
        )
        self._urls: dict[str, httpx.URL] = {}

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def _url(self, path: str) -> httpx.URL | str:
        """The absolute URL of ``path`` under the base URL, parsed once per path.

        httpx would parse and merge the path on every request (a visible share of an upload's
        CPU). The merge is httpx's own: the base URL's path, then ``path`` without its leading
        slash. Paths that carry ids are many; the cache stops growing at a bound.
        """
        url = self._urls.get(path)
        if url is not None:
            return url
        if "?" in path or "#" in path or len(self._urls) >= _URL_CACHE:
            return path
        base = self._http.base_url
        url = base.copy_with(raw_path=base.raw_path + httpx.URL(path).raw_path.lstrip(b"/"))
        self._urls[path] = url
        return url

    def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping[str, str | int] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        idempotency_key: str | None = None,
    ) -> Answer:
        """Execute a request and return the raw 2xx :class:`Answer`, or raise for any other status.

        A 404 is returned (not raised) only to :meth:`request_json`, which decides on lenient mode.
        """
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else {}
        if content is not None:
            # Already-encoded JSON, sent as it is (no parse and re-encode).
            headers["Content-Type"] = "application/json"
        response = self._send(
            method,
            path,
            operation=operation,
            params=params,
            json_body=json_body,
            content=content,
            headers=headers,
        )
        if response.history and response.request.method != method.upper():
            raise method_changed_error(response, method, operation)
        if not 200 <= response.status_code < 300:
            raise status_error(response, operation)
        return Answer(
            operation=operation,
            status_code=response.status_code,
            correlation_id=correlation_id(response.headers),
            content=response.content,
            content_type=response.headers.get("content-type", ""),
        )

    def request_json(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping[str, str | int] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        idempotency_key: str | None = None,
        allow_empty: bool = False,
        empty_value: Any = None,
        lenient_404: bool = False,
    ) -> Any:
        """Execute a request, check the status, return the parsed JSON body or raise.

        ``lenient_404`` makes a 404 return :data:`NOT_FOUND` when the client is lenient.
        ``allow_empty`` makes an empty 2xx body return ``empty_value`` instead of raising
        InvalidResponseError.
        """
        try:
            answer = self.request(
                method,
                path,
                operation=operation,
                params=params,
                json_body=json_body,
                content=content,
                idempotency_key=idempotency_key,
            )
        except NotFoundError:
            if lenient_404 and self.lenient:
                return NOT_FOUND
            raise
        if allow_empty and not answer.content.strip():
            return empty_value
        return answer.json()

    def _send(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping[str, str | int] | None,
        json_body: Any,
        headers: Mapping[str, str],
        content: bytes | None = None,
    ) -> httpx.Response:
        try:
            return self._http.request(
                method,
                self._url(path),
                params=params,
                json=json_body,
                content=content,
                headers=headers,
            )
        except httpx.TimeoutException as exc:
            # A connect or pool timeout means nothing was sent; read/write may have been received.
            sent = not isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
            raise RequestTimeout(
                f"{type(exc).__name__}: {exc}", operation=operation, may_have_reached_server=sent
            ) from exc
        except httpx.ConnectError as exc:
            raise ConnectError(
                f"cannot connect to {self.base_url}: {exc}",
                operation=operation,
                may_have_reached_server=False,
            ) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise ConnectionDropped(
                f"connection dropped ({type(exc).__name__}: {exc})",
                operation=operation,
                may_have_reached_server=True,
            ) from exc
        except (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError) as exc:
            raise TransportError(
                f"{type(exc).__name__}: {exc}", operation=operation, may_have_reached_server=False
            ) from exc
        except httpx.TooManyRedirects as exc:
            raise InvalidResponseError(f"too many redirects: {exc}", operation=operation) from exc
        except httpx.DecodingError as exc:
            raise InvalidResponseError(f"undecodable answer: {exc}", operation=operation) from exc
        except httpx.TransportError as exc:
            # Any other network failure: we cannot tell how far the request got.
            raise TransportError(
                f"{type(exc).__name__}: {exc}", operation=operation, may_have_reached_server=True
            ) from exc


@dataclass(frozen=True)
class Answer:
    """A 2xx answer as it came: status, correlation id and the undecoded body."""

    operation: str
    status_code: int
    correlation_id: str | None
    content: bytes
    content_type: str

    def invalid(self, what: str) -> InvalidResponseError:
        """The error for this answer not being what the API promised (``what`` says how)."""
        return InvalidResponseError(
            f"HTTP {self.status_code}: {what}",
            operation=self.operation,
            status_code=self.status_code,
            correlation_id=self.correlation_id,
        )

    def snippet(self) -> str:
        """The start of the body as text, for messages and records (bounded)."""
        return _snippet(self.content)

    def json(self) -> Any:
        """The body parsed as JSON, or InvalidResponseError saying why it is not."""
        if not self.content.strip():
            raise self.invalid("empty body where JSON was expected")
        try:
            return json.loads(self.content)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise self.invalid(f"body is not JSON ({exc}): {self.snippet()}") from exc


_STATUS_CLASSES: dict[int, type[PyWATSError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: AuthorizationError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
}


def status_error(response: httpx.Response, operation: str) -> PyWATSError:
    """The exception for a non-2xx ``response`` (not raised; the caller raises it)."""
    status = response.status_code
    limit = MAX_REFUSAL_MESSAGE if 400 <= status < 500 else _MAX_SNIPPET
    server_message = server_message_of(response.content, limit)
    corr = correlation_id(response.headers)
    message = f"HTTP {status} {response.reason_phrase}".rstrip()
    if status == 429:
        return RateLimitedError(
            message,
            operation=operation,
            status_code=status,
            server_message=server_message,
            correlation_id=corr,
            retry_after=parse_retry_after(
                response.headers.get("retry-after"), response.headers.get("date")
            ),
        )
    cls = ServerError if status >= 500 else _STATUS_CLASSES.get(status, UnexpectedStatusError)
    return cls(
        message,
        operation=operation,
        status_code=status,
        server_message=server_message,
        correlation_id=corr,
        retryable=True if status == 408 else None,
    )


def method_changed_error(
    response: httpx.Response, method: str, operation: str
) -> UnexpectedStatusError:
    """The error for a request that a 301/302/303 redirect turned into a ``GET``.

    httpx follows such a redirect as browsers do, dropping the body: a ``POST`` of a report
    would end as a ``GET`` whose 2xx answer (a proxy's login page, an index) says nothing
    about the report. It was not carried out, so it must not count as an answer.
    """
    first = response.history[0]
    return UnexpectedStatusError(
        f"HTTP {first.status_code} redirected {method.upper()} to {response.request.method} "
        f"{response.request.url}: the request was not carried out; configure the final "
        "server URL",
        operation=operation,
        status_code=first.status_code,
        correlation_id=correlation_id(first.headers),
    )


def server_message_of(content: bytes, limit: int = _MAX_SNIPPET) -> str | None:
    """The server's error text from a body: probe the usual keys, else the plain text.

    At most ``limit`` bytes of it (UTF-8); a longer text ends in ``... (N more bytes)``.
    """
    if not content.strip():
        return None
    try:
        body: Any = json.loads(content)
    except ValueError:
        return _snippet(content, limit)
    if isinstance(body, str):
        return _bounded(body, limit) or None
    if isinstance(body, Mapping):
        for key in _MESSAGE_KEYS:
            value = body.get(key)
            if value in (None, "", [], {}):
                continue
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            return _bounded(text, limit)
    return _snippet(content, limit)


def correlation_id(headers: Mapping[str, str]) -> str | None:
    """The first correlation/request id header present in ``headers`` (case-insensitive)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in _CORRELATION_HEADERS:
        value = lowered.get(name)
        if value:
            return value
    return None


def parse_retry_after(value: str | None, date: str | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP-date.

    An HTTP-date is measured from the answer's ``Date`` header when present (so clock skew
    between us and the server does not matter), else from our clock. Never negative; None when
    missing or unreadable.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    when = _http_date(value)
    if when is None:
        return None
    now = _http_date(date) if date else None
    if now is None:
        now = datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def _http_date(value: str) -> datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def _snippet(content: bytes, limit: int = _MAX_SNIPPET) -> str:
    head = content[:limit].decode("utf-8", errors="replace")
    return head if len(content) <= limit else f"{head} ... ({len(content) - limit} more bytes)"


def _bounded(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return _snippet(data, limit)
