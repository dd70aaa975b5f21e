"""What keeps the station page safe on a shared computer: checks and headers.

Binding to loopback is not enough: a web page open in the operator's browser can reach
127.0.0.1 through DNS rebinding (its own name, resolved to 127.0.0.1) or with a cross-site
form. Against the first, the server answers only requests whose ``Host`` names it (see
``_health_http.allowed_hosts``). Against the second, every POST must carry this process's CSRF
token and an ``Origin`` (or, failing that, a ``Referer``) equal to the page's own origin;
anything else is refused with 403 before any work is done. The optional ``[ui] token`` adds a
password, kept as a per-process session cookie (``HttpOnly``, ``SameSite=Strict``).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

from .._health_http import Request

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
)
"""Sent with every answer of a server that serves the page."""

SESSION_COOKIE = "wats_sync_session"


class Guard:
    """Per-process secrets and the checks every request passes."""

    def __init__(self, password: str | None) -> None:
        self.csrf = secrets.token_urlsafe(32)
        self._password = password
        self._session = secrets.token_urlsafe(32)

    @property
    def needs_login(self) -> bool:
        """True when ``[ui] token`` is set."""
        return self._password is not None

    def post_refusal(self, request: Request, form: Mapping[str, str]) -> str | None:
        """Why this POST must be refused (cross-site, forged), or None when it may proceed."""
        own = "http://" + request.headers.get("Host", "")
        origin = request.headers.get("Origin")
        if origin is not None:
            if origin != own:
                return f"the request came from another site ({origin})"
        else:
            referer = request.headers.get("Referer")
            if not referer:
                return "the request names no origin"
            parts = urlsplit(referer)
            if f"{parts.scheme}://{parts.netloc}" != own:
                return "the request came from another site"
        if not hmac.compare_digest(form.get("csrf", "").encode(), self.csrf.encode()):
            return "the form is stale or forged (reload the page and try again)"
        return None

    def signed_in(self, request: Request) -> bool:
        """True when no password is set or the request carries this process's session."""
        if self._password is None:
            return True
        try:
            cookie = SimpleCookie(request.headers.get("Cookie", ""))
        except CookieError:
            return False
        morsel = cookie.get(SESSION_COOKIE)
        return morsel is not None and hmac.compare_digest(
            morsel.value.encode(), self._session.encode()
        )

    def sign_in(self, password: str) -> str | None:
        """The ``Set-Cookie`` value for a right password, None for a wrong one."""
        if self._password is None or not hmac.compare_digest(
            password.encode(), self._password.encode()
        ):
            return None
        return f"{SESSION_COOKIE}={self._session}; Path=/; HttpOnly; SameSite=Strict"

    @staticmethod
    def sign_out() -> str:
        """The ``Set-Cookie`` value that forgets the session in the browser."""
        return f"{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
