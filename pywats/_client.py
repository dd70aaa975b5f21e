"""The Client: one server, one token, the repositories."""

from __future__ import annotations

import base64
from types import TracebackType
from urllib.parse import urlsplit

from ._repositories._app import AppRepository
from ._repositories._assets import AssetRepository
from ._repositories._production import ProductionRepository
from ._repositories._products import ProductRepository
from ._repositories._reports import ReportRepository
from ._transport import HTTPTransport, Timeout, Transport
from ._version import __version__


def make_token(user: str, key: str) -> str:
    """The WATS API token for ``user`` and API key (or password): base64 of ``user:key``."""
    if not isinstance(user, str) or not isinstance(key, str):
        raise TypeError("make_token needs two strings")
    if not user or ":" in user:
        raise ValueError("user must be non-empty and must not contain ':'")
    return base64.b64encode(f"{user}:{key}".encode()).decode("ascii")


def normalise_base_url(base_url: str) -> str:
    """``base_url`` without trailing ``/`` and ``/api`` (routes add ``/api/...`` themselves)."""
    if not isinstance(base_url, str):
        raise TypeError(f"base_url must be a str, got {type(base_url).__name__}")
    url = base_url.strip()
    if "@" in urlsplit(url).netloc:
        # Not echoed: the part before "@" is a secret. httpx would also send it as Basic auth
        # instead of the token, and every error message would print it with the URL.
        raise ValueError(
            "base_url must not carry a user name or key (user:key@host): give them as the "
            "token (make_token(user, key))"
        )
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
    url = url.rstrip("/")
    if url.lower().endswith("/api"):
        url = url[: -len("/api")].rstrip("/")
    return url


class Client:
    """A stateless WATS REST API client.

    No disk, threads, globals, retries, sleeping or caching: each call is one HTTP request (a
    lazy list makes one per page) and either returns parsed models or raises a
    :class:`~pywats.PyWATSError`. ``lenient=True`` makes get-style calls return None on 404.
    ``transport`` lets tests inject e.g. ``httpx.MockTransport``. Close it (or use ``with``).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: Timeout = Timeout(),  # noqa: B008 - frozen, so one shared default is safe
        transport: HTTPTransport | None = None,
        user_agent: str = f"pywats/{__version__}",
        lenient: bool = False,
    ) -> None:
        if not isinstance(token, str) or not token or any(c in token for c in "\r\n"):
            raise ValueError("token must be a non-empty single-line string")
        if not isinstance(timeout, Timeout):
            raise TypeError(f"timeout must be a pywats.Timeout, got {type(timeout).__name__}")
        self.base_url = normalise_base_url(base_url)
        self.timeout = timeout
        self.lenient = lenient
        self._transport = Transport(
            self.base_url,
            token,
            timeout=timeout,
            transport=transport,
            user_agent=user_agent,
            lenient=lenient,
        )
        #: Reports: submit, get, headers.
        self.reports = ReportRepository(self._transport)
        #: Server version (the probe) and processes.
        self.app = AppRepository(self._transport)
        #: Products and revisions.
        self.products = ProductRepository(self._transport)
        #: Units, serial numbers, unit verification.
        self.production = ProductionRepository(self._transport)
        #: Assets.
        self.assets = AssetRepository(self._transport)

    def close(self) -> None:
        """Close the connection pool. The client cannot be used afterwards."""
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "lenient" if self.lenient else "strict"
        return f"Client({self.base_url!r}, {mode})"
