"""``python -m tools.torture --kill-points N --reports M``: kill torture of the real engine.

Feeds exactly M reports (half through ``SyncEngine.submit``, half as watch-folder files) over N
SIGKILLed rounds; every third round also SIGKILLs a concurrent ``syncengine journal archive``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from ._run import run_torture


def main(argv: list[str] | None = None) -> int:
    """Run the torture and print its figures; exit 1 if anything was lost or left behind."""
    ap = argparse.ArgumentParser(prog="python -m tools.torture", description=__doc__)
    ap.add_argument("--kill-points", type=int, default=40, help="rounds, each ended by SIGKILL")
    ap.add_argument("--reports", type=int, default=400, help="reports fed, exactly")
    ap.add_argument("--seed", type=int, default=1, help="seed of every random choice")
    ap.add_argument("--work", type=Path, help="keep the run's files here (default: a temp dir)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    if args.work is not None:
        result = run_torture(
            args.work, kill_points=args.kill_points, reports=args.reports, seed=args.seed, log=log
        )
    else:
        with tempfile.TemporaryDirectory(prefix="torture-") as tmp:
            result = run_torture(
                Path(tmp),
                kill_points=args.kill_points,
                reports=args.reports,
                seed=args.seed,
                log=log,
            )
    print(result.summary())
    if result.lost:
        print(f"LOST: {sorted(result.lost)[:20]}")
    if result.unexpected:
        print(f"UNEXPECTED: {sorted(result.unexpected)[:20]}")
    for problem in result.journal_problems + result.accounting_problems:
        print(f"PROBLEM: {problem}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
