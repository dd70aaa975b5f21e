"""Compile the interposer (``interpose.c``) into a shared library, once per destination."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

SOURCE = Path(__file__).with_name("interpose.c")


class InterposerUnavailable(RuntimeError):
    """Raised when the interposer cannot be built or used here; the message says why."""


def build_interposer(dest_dir: Path) -> Path:
    """Build ``libpowercut.so`` in ``dest_dir`` and return its path.

    Raises :class:`InterposerUnavailable` off Linux (LD_PRELOAD and glibc symbol names are
    Linux-specific) or when no C compiler is installed.
    """
    if not sys.platform.startswith("linux"):
        raise InterposerUnavailable(f"the LD_PRELOAD interposer needs Linux, not {sys.platform}")
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        raise InterposerUnavailable("no C compiler (cc, gcc or clang) on PATH")
    dest_dir.mkdir(parents=True, exist_ok=True)
    out = dest_dir / "libpowercut.so"
    if out.exists() and out.stat().st_mtime >= SOURCE.stat().st_mtime:
        return out
    cmd = [cc, "-O2", "-shared", "-fPIC", "-o", str(out), str(SOURCE), "-ldl", "-lpthread"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise InterposerUnavailable(f"compiling {SOURCE.name} failed: {proc.stderr.strip()}")
    return out
