"""The ``/_sim/...`` admin routes: stats, faults, reset, tokens. No auth; faults never apply."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ._errors import ApiError, FaultConfigError
from ._faults import parse_faults
from ._http import SimHandler

if TYPE_CHECKING:
    from ._simulator import Simulator

_ROUTES = {
    "/_sim/stats": ("GET",),
    "/_sim/faults": ("GET", "POST"),
    "/_sim/reset": ("POST",),
    "/_sim/tokens": ("POST",),
}


def serve_admin(sim: Simulator, handler: SimHandler, method: str, path: str, body: bytes) -> None:
    """Answer one admin request."""
    route = path.rstrip("/")
    if route not in _ROUTES:
        known = ", ".join(_ROUTES)
        handler.send_payload(404, {"message": f"no admin route {path} (known: {known})"})
        return
    if method not in _ROUTES[route]:
        allowed = ", ".join(_ROUTES[route])
        handler.send_payload(
            405, {"message": f"{method} is not allowed on {route}"}, {"Allow": allowed}
        )
        return
    try:
        if route == "/_sim/stats":
            handler.send_payload(200, sim.stats())
        elif route == "/_sim/faults" and method == "GET":
            handler.send_payload(200, sim.faults)
        elif route == "/_sim/faults":
            _set_faults(sim, handler, body)
        elif route == "/_sim/reset":
            sim.reset()
            handler.send_payload(200, {})
        else:
            _add_token(sim, handler, body)
    except ApiError as exc:
        handler.send_payload(exc.status, {"message": exc.message}, exc.headers)


def _set_faults(sim: Simulator, handler: SimHandler, body: bytes) -> None:
    raw = _json_object(body, "faults")
    try:
        parsed = parse_faults(raw)
    except FaultConfigError as exc:
        raise ApiError(400, str(exc)) from None
    if parsed.down_for_s:
        # The answer still goes out on this connection; then it closes like the others.
        handler.close_connection = True
    settings = sim.apply_faults(raw, keep=handler.connection)
    handler.send_payload(200, settings)


def _add_token(sim: Simulator, handler: SimHandler, body: bytes) -> None:
    raw = _json_object(body, "tokens")
    token = raw.get("token")
    if not isinstance(token, str) or not token.strip():
        raise ApiError(400, "tokens.token: required, a non-empty string")
    sim.add_token(token)
    handler.send_payload(200, {})


def _json_object(body: bytes, where: str) -> dict[str, Any]:
    try:
        value = json.loads(body.decode("utf-8") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, f"{where}: request body is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ApiError(400, f"{where}: expected a JSON object")
    return value
