"""Refuse to run on someone else's ``pywats``.

The WATS vendor's own client library (``pywats-api`` on PyPI) is imported as ``pywats`` too. If
it is installed in the same Python environment as wats-sync, one ``pywats`` shadows the other,
and wats-sync would fail later with an obscure ``ImportError`` or, worse, run against the wrong
code. wats-sync must live in its own virtual environment (docs/deployment.md); this check makes
the mistake a clear message at start instead.

Ours is the ``pywats`` next to this ``syncengine`` (the two are installed together by the
``wats-sync`` distribution), has wats-sync's model modules, and its ``__init__.py`` carries the
line ``__wats_sync__ = True``. ``pip install pywats-api`` into our environment overwrites that
``__init__.py`` and leaves our other files behind, so the marker is what tells the two apart.
These checks read files (``importlib.util.find_spec``, the text of ``__init__.py``) and import
nothing. Only then is ``pywats`` imported, and an ``ImportError`` from that import (a damaged
or half-replaced package, a missing dependency) becomes the same clear message.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import re
import sys
from pathlib import Path

from ._errors import SyncEngineError

_OURS = Path(__file__).resolve().parent.parent
_MARKERS = ("_client.py", os.path.join("_models", "_report.py"))
_INIT_MARKER = re.compile(r"^__wats_sync__ = True\b", re.MULTILINE)


class ForeignPywatsError(SyncEngineError, ImportError):
    """Raised at import when the ``pywats`` Python would import is not wats-sync's, or
    importing it raises ``ImportError``.

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
    try:
        init = (where / "__init__.py").read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"the 'pywats' at {where} cannot be read ({exc.strerror or exc})"
    if not _INIT_MARKER.search(init):
        return (
            f"the 'pywats' at {where} is not wats-sync's (its __init__.py is another "
            "package's); another package (the vendor's pywats-api?) was installed over it"
        )
    return None


def unimportable_pywats() -> str | None:
    """Why importing ``pywats`` (checked to be ours) fails, or None when it imports."""
    try:
        importlib.import_module("pywats")
    except ImportError as exc:
        text = " ".join(str(exc).split())  # one line, whatever the package raised
        return (
            f"the 'pywats' at {_OURS / 'pywats'} cannot be imported ({type(exc).__name__}: {text})"
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

    Also when ``pywats`` looks like ours but importing it raises ``ImportError``. The
    ``syncengine`` command prints one line and exits 3 (a configuration error: the
    environment is wrong); any other importer gets :class:`ForeignPywatsError`.
    """
    problem = foreign_pywats() or unimportable_pywats()
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
