"""Station process for the disk-full scenario (run under the powercut interposer's ENOSPC flag).

``python -m tools.torture._diskfull_station CONFIG_TOML COUNT`` submits ``COUNT`` reports, each
retried until it commits: it prints ``E <exception class>: <message>`` for every refused
attempt and ``S <id>`` once ``submit`` returned; then waits for the engine to drain and prints
``IDLE True|False`` before a graceful stop.
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
    """Submit, riding out a full disk, then drain."""
    config = EngineConfig.model_validate(tomllib.loads(Path(argv[0]).read_text()))
    count = int(argv[1])
    engine = SyncEngine(config)
    engine.start()
    for i in range(count):
        report = report_for("diskfull", i)
        for _attempt in range(600):
            try:
                engine.submit(report)
            except Exception as exc:
                print(f"E {type(exc).__name__}: {exc}", flush=True)
                time.sleep(0.1)
                continue
            print(f"S {report['id']}", flush=True)
            break
    print(f"IDLE {engine.wait_idle(60.0)}", flush=True)
    engine.stop(grace=2.0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
