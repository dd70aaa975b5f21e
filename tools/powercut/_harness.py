"""Run a workload under the interposer, SIGKILL it, rebuild the power-cut image, check, repeat.

Each *cut* is one round: snapshot the data directory, start the workload child with the
interposer preloaded, let it report a random number of completed operations (it prints
``S <key>`` after ``submit`` returned and ``A <key>`` after an acknowledgement was recorded),
kill it with SIGKILL a random few milliseconds later, rebuild the image a power cut at that
moment could have left, write it over the data directory, and let the workload's checker open
it as a restarted station would. The next round continues from that image, so recovery from a
previous cut is itself exercised by the following ones.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ._replay import CutStats, DirModel, Snapshot, read_log, reconstruct, write_image

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class CutResult:
    """The outcome of one cut."""

    index: int
    printed: int
    stats: CutStats
    problems: list[str]
    refused_images: list[str] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        """True when the only problem is that the image was refused as corrupt on open.

        A refusal loses nothing silently (the station stops and says why), but after a power
        cut with nothing promised lost it is a false alarm that needs a person to recover.
        """
        return bool(self.problems) and all(p.startswith(REFUSED) for p in self.problems)


REFUSED = "refused on open: "
"""Prefix of a checker problem that means "open raised CorruptJournalError"."""


@dataclass
class Outcome:
    """Everything a run of cuts produced."""

    cuts: list[CutResult] = field(default_factory=list)
    submitted: list[str] = field(default_factory=list)
    acked: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failures(self) -> list[CutResult]:
        """Cuts after which something promised was lost or silently damaged."""
        return [c for c in self.cuts if c.problems and not c.refused]

    @property
    def refusals(self) -> list[str]:
        """Every image refused as corrupt on open (including re-drawn ones)."""
        return [p for c in self.cuts for p in c.refused_images + (c.problems if c.refused else [])]


Checker = Callable[[Path, Sequence[str], Sequence[str]], list[str]]
ArgvFactory = Callable[[Path, int], list[str]]


def _run_child(
    argv: list[str], env: dict[str, str], target: int, rng: random.Random, limit_s: float
) -> list[str]:
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=str(ROOT),
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + limit_s
    try:
        while len(lines) < target and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
        time.sleep(rng.uniform(0.0, 0.02))
    finally:
        if proc.poll() is None:
            proc.kill()  # SIGKILL
        out, err = proc.communicate(timeout=30)
    lines.extend(x.strip() for x in out.splitlines() if x.strip())
    if proc.returncode not in (-signal.SIGKILL, 0) and not lines:
        raise RuntimeError(f"workload child failed ({proc.returncode}): {err.strip()[-2000:]}")
    return lines


def run_cuts(
    data_dir: Path,
    work_dir: Path,
    interposer: Path,
    argv_for: ArgvFactory,
    check: Checker,
    *,
    cuts: int,
    seed: int,
    max_ops: int = 40,
    dir_model: DirModel = "ext4",
    child_limit_s: float = 30.0,
    reroll_refused: int = 0,
    progress: Callable[[CutResult], None] | None = None,
    prepare: Callable[[Path, int], None] | None = None,
) -> Outcome:
    """Run ``cuts`` power cuts of the workload against ``data_dir`` (which must be resolved).

    A cut whose image the checker refuses as corrupt ends the run, unless ``reroll_refused``
    allows drawing that many other outcomes of the same cut (each refusal is counted).
    ``prepare(data_dir, i)`` runs before each round's snapshot (what it writes is durable).
    """
    rng = random.Random(seed)
    out = Outcome()
    started = time.monotonic()
    data_dir = data_dir.resolve()
    for i in range(cuts):
        if prepare is not None:
            prepare(data_dir, i)
        snap = Snapshot.take(data_dir)
        log = work_dir / f"cut-{i}.log"
        log.unlink(missing_ok=True)
        env = dict(os.environ)
        env.update(
            LD_PRELOAD=str(interposer),
            POWERCUT_DIR=str(data_dir),
            POWERCUT_LOG=str(log),
            PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]),
        )
        argv = [sys.executable, *argv_for(data_dir, 1_000_000 * i)]
        try:
            lines = _run_child(argv, env, rng.randint(0, max_ops), rng, child_limit_s)
        except RuntimeError as exc:
            # The workload could not even start on the previous image: that image is the finding.
            out.cuts.append(CutResult(i, 0, CutStats(), [f"restart failed: {exc}"]))
            if progress is not None:
                progress(out.cuts[-1])
            break

        for line in lines:
            tag, _, key = line.partition(" ")
            if tag == "S":
                out.submitted.append(key)
            elif tag == "A":
                out.acked.append(key)
        mapped = {
            p.relative_to(data_dir).as_posix(): p.read_bytes()
            for p in data_dir.rglob("*-shm")
            if p.is_file()
        }
        records = read_log(log)
        refused: list[str] = []
        for _roll in range(1 + reroll_refused):
            image, stats = reconstruct(
                data_dir, snap, records, rng, dir_model=dir_model, mapped=mapped
            )
            write_image(data_dir, image)
            problems = check(data_dir, out.submitted, out.acked)
            result = CutResult(i, len(lines), stats, problems, refused_images=refused)
            if not result.refused:
                break
            # Draw another outcome of the same cut so the run can go on; count the refusal.
            refused = [*refused, problems[0]]
        log.unlink(missing_ok=True)
        out.cuts.append(result)
        if progress is not None:
            progress(result)
        if result.refused:
            break  # the next restart would be refused too
    out.seconds = time.monotonic() - started
    return out
