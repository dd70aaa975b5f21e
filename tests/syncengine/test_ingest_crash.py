"""A real process killed between the journal commit and the move of the source file: the file
stays, and converting it again is the same submission (nothing lost, nothing duplicated)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from journal import Journal
from syncengine._config import WatchFolder
from syncengine._ingest import Ingestor
from syncengine.converters import WorkerPool

from .converters.harness import MetricsDouble, wsjf_text

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from journal import Journal
    from syncengine._config import WatchFolder
    from syncengine._ingest import Ingestor
    from syncengine.converters import WorkerPool

    class Metrics:
        def inc(self, *a, **k): pass
        def observe(self, *a, **k): pass

    inbox, db = Path(sys.argv[1]), Path(sys.argv[2])
    journal = Journal(db)

    def commit_then_die(items):
        keys = [s.key for s in journal.submit_many(items)]
        print(" ".join(keys), flush=True)
        # Die the hardest way right after the commit, before ingest can move the file.
        if hasattr(signal, "SIGKILL"):
            os.kill(os.getpid(), signal.SIGKILL)
        os._exit(9)

    pool = WorkerPool(workers=1)
    Ingestor(pool, commit_then_die, Metrics()).ingest(inbox / "r.json", WatchFolder(path=inbox))
    """
)


def test_kill_between_commit_and_move_is_harmless(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "r.json").write_text(wsjf_text("SN-CRASH"))
    db = tmp_path / "journal.db"
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(inbox), str(db)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode != 0, child.stderr
    committed = child.stdout.split()
    assert len(committed) == 1 and (inbox / "r.json").exists()

    with Journal(db) as journal:
        with WorkerPool(workers=1) as pool:
            submit = lambda items: [s.key for s in journal.submit_many(items)]  # noqa: E731
            result = Ingestor(pool, submit, MetricsDouble()).ingest(
                inbox / "r.json", WatchFolder(path=inbox)
            )
        assert result.outcome == "done" and list(result.keys) == committed
        assert journal.counts()["pending"] == 1
    assert (inbox / "done" / "r.json").exists() and not (inbox / "r.json").exists()
