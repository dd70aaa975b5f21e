"""Refuse to run on someone else's ``pywats``.

The WATS vendor's own client library (``pywats-api`` on PyPI) is imported as ``pywats`` too. If
it is installed in the same Python environment as wats-sync, one ``pywats`` shadows the other,
and wats-sync would fail later with an obscure ``ImportError`` or, worse, run against the wrong
code. wats-sync must live in its own virtual environment (docs/deployment.md); this check makes
the mistake a clear message at start instead.

Ours is the ``pywats`` next to this ``syncengine`` (the two are installed together by the
``wats-sync`` distribution) and has wats-sync's model modules. The check only looks at files
(``importlib.util.find_spec``); it imports nothing.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import sys
from pathlib import Path

from ._errors import SyncEngineError

_OURS = Path(__file__).resolve().parent.parent
_MARKERS = ("_client.py", os.path.join("_models", "_report.py"))


class ForeignPywatsError(SyncEngineError, ImportError):
    """Raised at import when the ``pywats`` Python would import is not wats-sync's.

    An ``ImportError`` (it is raised while ``syncengine`` is imported) and a
    :class:`SyncEngineError` (the package has one error root).
    """


def foreign_pywats() -> str | None:
    """Why the importable ``pywats`` is not ours, or None when it is."""
    try:
        spec = importlib.util.find_spec("pywats")
    except (ImportError, ValueError) as exc:
        return f"'pywats' cannot be found ({exc})"
    if spec is None or not spec.submodule_search_locations:
        return "'pywats' is not installed"
    where = Path(next(iter(spec.submodule_search_locations))).resolve()
    if where.parent != _OURS:
        return (
            f"the 'pywats' Python imports is {where}, not wats-sync's (expected "
            f"{_OURS / 'pywats'}); another package (the vendor's pywats-api?) shadows it"
        )
    missing = [m for m in _MARKERS if not (where / m).is_file()]
    if missing:
        return (
            f"the 'pywats' at {where} is not wats-sync's (no {', '.join(missing)}); another "
            "package (the vendor's pywats-api?) was installed over it"
        )
    return None


def _running_the_cli() -> bool:
    program = Path(sys.argv[0] if sys.argv and sys.argv[0] else "").name.lower()
    if program in ("syncengine", "syncengine.exe", "syncengine-script.py"):
        return True
    # python -m syncengine: the package is imported before runpy sets argv[0]
    orig = list(getattr(sys, "orig_argv", []))
    return any(a == "-m" and b == "syncengine" for a, b in itertools.pairwise(orig))


def refuse_foreign_pywats() -> None:
    """Stop with a clear message if ``pywats`` is not ours.

    The ``syncengine`` command prints one line and exits 3 (a configuration error: the
    environment is wrong); any other importer gets :class:`ForeignPywatsError`.
    """
    problem = foreign_pywats()
    if problem is None:
        return
    message = (
        f"{problem}. Install wats-sync in a virtual environment of its own "
        "(see docs/deployment.md); the vendor's pywats-api belongs in another one."
    )
    if _running_the_cli():
        sys.stderr.write(f"syncengine: error: environment: {message}\n")
        raise SystemExit(3)
    raise ForeignPywatsError(message)


refuse_foreign_pywats()  # on import, before anything in syncengine imports pywats
