"""The converter worker process: ``python -m syncengine.converters._worker``.

It speaks JSON lines with the pool over its original stdin/stdout. Before any plugin code runs,
those two descriptors are duplicated for the protocol and fd 0/1 are pointed at devnull/stderr,
so a converter that prints or reads stdin cannot corrupt the conversation. ``faulthandler`` puts
a Python traceback on stderr if a converter segfaults; the pool quotes that in the sidecar.

First line in: ``{"paths": [...], "memory_mb": int | null, "entry_points": bool}``; first line
out: ``{"ready": true, "discovery": {...}, "memory_limit": "..."}``. Then one request line per
file, ``{"path", "converter", "options", "station_name"}``, answered by ``{"ok": true,
"converter", "version", "reports"}`` or ``{"ok": false, "kind", "converter", "error",
"details"}``.
"""

from __future__ import annotations

import contextlib
import faulthandler
import fnmatch
import json
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import IO, Any

from ._api import ConversionContext, ConversionError, Converter
from ._discovery import Discovery, discover


def _apply_memory_limit(memory_mb: int | None) -> str:
    """Cap this process's address space where the platform allows it; say what happened."""
    if memory_mb is None:
        return "no memory limit configured"
    try:
        import resource
    except ImportError:
        return "memory limit not available on this platform (no resource module); not applied"
    limit = int(memory_mb) * 1024 * 1024
    try:
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY and hard < limit:
            limit = hard
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError) as exc:
        return f"memory limit could not be applied: {exc}"
    return f"address space limited to {limit // (1024 * 1024)} MB (RLIMIT_AS)"


def _matches(conv: Converter, name: str) -> bool:
    lowered = name.lower()
    return any(fnmatch.fnmatchcase(lowered, p.lower()) for p in conv.patterns)


def _select(found: Discovery, path: Path, wanted: str) -> tuple[Converter | None, str]:
    """The converter to use and, if none, why."""
    if wanted != "auto":
        conv = found.converters.get(wanted)
        if conv is not None:
            return conv, ""
        refused = [r.reason for r in found.refused if r.name == wanted]
        if refused:
            return None, f"converter {wanted!r} was refused: {refused[0]}"
        known = ", ".join(sorted(found.converters)) or "none"
        return None, f"converter {wanted!r} not found (available: {known})"
    scores: list[tuple[float, int, Converter]] = []
    notes: list[str] = []
    for order, conv in enumerate(found.converters.values()):
        if not _matches(conv, path.name):
            continue
        validate = getattr(conv, "validate", None)
        if validate is None:
            score = 0.1
        else:
            try:
                score = float(validate(path))
            except Exception as exc:
                notes.append(f"{conv.name}.validate raised {type(exc).__name__}: {exc}")
                score = 0.0
        notes.append(f"{conv.name}={score:.2f}")
        scores.append((score, -order, conv))
    if not scores:
        return None, f"no converter's patterns match the file name {path.name!r}"
    score, _order, best = max(scores, key=lambda s: (s[0], s[1]))
    if score <= 0:
        return None, "no converter recognised the file (confidences: " + "; ".join(notes) + ")"
    return best, ""


def _convert(found: Discovery, request: dict[str, Any]) -> dict[str, Any]:
    path = Path(request["path"])
    with contextlib.suppress(OSError):
        if path.stat().st_size == 0:  # one wording for every converter, and for auto
            return {
                "ok": False,
                "kind": "invalid_file",
                "converter": request.get("converter") or None,
                "error": f"{path.name}: the file is empty",
            }
    conv, why = _select(found, path, request.get("converter") or "auto")
    if conv is None:
        return {"ok": False, "kind": "no_converter", "converter": None, "error": why}
    context = ConversionContext(
        station_name=request.get("station_name"),
        options=dict(request.get("options") or {}),
        logger=logging.getLogger(f"syncengine.plugin.{conv.name}"),
    )
    try:
        reports = conv.convert(path, context)
    except ConversionError as exc:
        # The converter's own verdict on a malformed file: one line, no traceback to read.
        return {"ok": False, "kind": "invalid_file", "converter": conv.name, "error": str(exc)}
    except BaseException as exc:  # SystemExit and MemoryError too: the file failed, not us
        if isinstance(exc, KeyboardInterrupt):
            raise
        return {
            "ok": False,
            "kind": "exception",
            "converter": conv.name,
            "error": f"{type(exc).__name__}: {exc}",
            "details": traceback.format_exc(limit=20),
        }
    if not isinstance(reports, (list, tuple)) or not all(isinstance(r, dict) for r in reports):
        got = type(reports).__name__
        return {
            "ok": False,
            "kind": "bad_output",
            "converter": conv.name,
            "error": f"convert() must return a list of report dicts, got {got}",
        }
    return {"ok": True, "converter": conv.name, "version": conv.version, "reports": list(reports)}


def _encode(response: dict[str, Any]) -> bytes:
    try:
        text = json.dumps(response, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        text = json.dumps(
            {
                "ok": False,
                "kind": "bad_output",
                "converter": response.get("converter"),
                "error": f"reports are not JSON-serialisable: {exc}",
            }
        )
    return text.encode("utf-8") + b"\n"


def _take_protocol_streams() -> tuple[IO[bytes], IO[bytes]]:
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return proto_in, proto_out


def main() -> int:
    """Serve conversion requests until stdin closes."""
    proto_in, proto_out = _take_protocol_streams()
    faulthandler.enable(file=sys.stderr)
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    hello = json.loads(proto_in.readline() or b"{}")
    memory_note = _apply_memory_limit(hello.get("memory_mb"))
    found = discover(hello.get("paths", ()), entry_points=hello.get("entry_points", True))
    ready = {"ready": True, "discovery": found.report.to_json(), "memory_limit": memory_note}
    proto_out.write(_encode(ready))
    proto_out.flush()
    for line in proto_in:
        response = _convert(found, json.loads(line))
        proto_out.write(_encode(response))
        proto_out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
