"""``python -m tools.torture.fuzz --per-target N``: fuzz parse_report and the converters."""

from __future__ import annotations

from ._fuzz import main

if __name__ == "__main__":
    raise SystemExit(main())
