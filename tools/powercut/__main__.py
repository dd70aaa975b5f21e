"""``python -m tools.powercut --cuts N``: power-cut the journal N times and print the figures."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from ._build import InterposerUnavailable, build_interposer
from ._harness import CutResult, run_cuts
from ._workloads import workload


def main(argv: list[str] | None = None) -> int:
    """Run the harness; exit 1 if any cut broke a promise, 2 if it cannot run here."""
    ap = argparse.ArgumentParser(prog="python -m tools.powercut", description=__doc__)
    ap.add_argument("--cuts", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-ops", type=int, default=40, help="operations per round, at most")
    ap.add_argument("--workload", choices=("journal", "ingest", "sqlite"), default="journal")
    ap.add_argument("--synchronous", default="FULL", help="FULL, NORMAL (journal) or OFF (sqlite)")
    ap.add_argument("--dir-model", choices=("ext4", "strict"), default="ext4")
    ap.add_argument(
        "--reroll-refused",
        type=int,
        default=0,
        help="on a refused image, draw up to this many other outcomes of the same cut",
    )
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    wl = workload(args.workload, args.synchronous)
    with tempfile.TemporaryDirectory(prefix="powercut-") as tmp:
        root = Path(tmp).resolve()
        try:
            lib = build_interposer(root / "build")
        except InterposerUnavailable as exc:
            print(f"cannot run: {exc}", file=sys.stderr)
            return 2
        data = root / "data"
        data.mkdir()

        def progress(c: CutResult) -> None:
            if args.verbose or c.problems or c.refused_images:
                print(f"cut {c.index}: printed {c.printed}, {c.stats}, problems {c.problems}")

        out = run_cuts(
            data,
            root,
            lib,
            wl.argv,
            wl.check,
            cuts=args.cuts,
            seed=args.seed,
            max_ops=args.max_ops,
            dir_model=args.dir_model,
            progress=progress,
            reroll_refused=args.reroll_refused,
            prepare=wl.prepare,
        )
    st = [c.stats for c in out.cuts]
    print(
        f"workload={args.workload} synchronous={args.synchronous} dir_model={args.dir_model} "
        f"seed={args.seed}\n"
        f"cuts={len(out.cuts)} failed_cuts={len(out.failures)} refused={len(out.refusals)} "
        f"submitted={len(out.submitted)} acked={len(out.acked)} seconds={out.seconds:.1f}\n"
        f"unsynced_ops={sum(s.unsynced_ops for s in st)} "
        f"kept_unsynced={sum(s.kept_unsynced for s in st)} torn={sum(s.torn for s in st)} "
        f"unsynced_metadata={sum(s.meta_unsynced for s in st)} "
        f"kept_metadata={sum(s.meta_kept for s in st)}"
    )
    return 1 if out.failures or out.refusals else 0


if __name__ == "__main__":
    raise SystemExit(main())
