"""``python -m tools.torture.corruption --trials N``: the corruption sweep, with its figures."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from ._corruption import OUTCOMES, sweep


def main(argv: list[str] | None = None) -> int:
    """Run the sweep; exit 1 if any damage went undetected or crashed the journal."""
    ap = argparse.ArgumentParser(prog="python -m tools.torture.corruption", description=__doc__)
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="corruption-") as tmp:
        result = sweep(Path(tmp), args.trials, args.seed)
    print(f"trials={result.trials} seed={args.seed} seconds={time.monotonic() - started:.1f}")
    print("outcomes: " + ", ".join(f"{k}={result.outcomes.get(k, 0)}" for k in OUTCOMES))
    for (file, kind, outcome), n in sorted(result.by_target.items()):
        print(f"  {file:16} {kind:9} {outcome:16} {n}")
    for outcome, message in sorted(result.examples.items()):
        print(f"example {outcome}: {message.splitlines()[0] if message else ''}")
    for damage, outcome, message in result.bad:
        print(f"BAD {outcome}: {damage} {message}")
    return 1 if result.bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
