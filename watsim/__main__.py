"""``python -m watsim --port PORT --token TOKEN [--db PATH] [--seed N] [--faults JSON]``.

Serves until SIGTERM or SIGINT (Ctrl+C), then stops cleanly and exits 0. Prints
``listening on http://127.0.0.1:PORT`` (flushed) once connections are accepted.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._errors import FaultConfigError
from ._simulator import Simulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m watsim",
        description="WATS-compatible server simulator on 127.0.0.1 (see docs/simulator.md).",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0 = any free)")
    parser.add_argument("--token", required=True, help="API token accepted as 'Basic <token>'")
    parser.add_argument("--db", type=Path, help="SQLite file for the state (default: memory)")
    parser.add_argument("--seed", type=int, help="seed for fault decisions (reproducible runs)")
    parser.add_argument(
        "--faults",
        help="initial faults as a JSON object, or @FILE to read it from a file",
    )
    parser.add_argument(
        "--no-rules",
        action="store_true",
        help="store reports the real server's documented rules would refuse",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser


def _load_faults(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    if text.startswith("@"):
        text = Path(text[1:]).read_text(encoding="utf-8")
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("--faults: expected a JSON object")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator until a stop signal; returns the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s watsim %(message)s",
    )
    try:
        faults = _load_faults(args.faults)
        sim = Simulator(
            args.token,
            db=args.db,
            seed=args.seed,
            faults=faults,
            port=args.port,
            enforce_rules=not args.no_rules,
        )
    except (OSError, ValueError, FaultConfigError) as exc:
        print(f"watsim: error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    if hasattr(signal, "SIGBREAK"):  # Ctrl+Break on Windows
        signal.signal(signal.SIGBREAK, _on_signal)
    try:
        sim.start()
    except OSError as exc:
        print(f"watsim: error: cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 1
    try:
        print(f"listening on {sim.base_url}", flush=True)
        # wait() with a timeout keeps the main thread responsive to signals on Windows too.
        while not stop.wait(0.5):
            pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
