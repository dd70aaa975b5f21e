"""A station process for the torture harness: the real ``SyncEngine`` plus station code.

``python -m tools.torture._station CONFIG_TOML START COUNT`` starts the engine (its watch folder
included), prints ``R started``, and submits ``COUNT`` reports through ``SyncEngine.submit``,
printing ``B <id>`` before each call and ``S <id>`` after it returned, then ``D done``; then it
keeps the engine running until killed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

from syncengine import EngineConfig, SyncEngine

from ._reports import report_for


def main(argv: list[str]) -> int:
    """Run until killed (the harness sends SIGKILL)."""
    config = EngineConfig.model_validate(tomllib.loads(Path(argv[0]).read_text()))
    start, count = int(argv[1]), int(argv[2])
    engine = SyncEngine(config)
    engine.start()
    print("R started", flush=True)
    for i in range(start, start + count):
        report = report_for("api", i)
        print(f"B {report['id']}", flush=True)
        engine.submit(report)
        print(f"S {report['id']}", flush=True)
    print("D done", flush=True)
    while True:
        time.sleep(1.0)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
