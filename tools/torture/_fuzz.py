"""Mutation fuzzing of ``pywats.parse_report`` and of each built-in converter.

Inputs are real seed files (``tests/fixtures/converters``) and a real WSJF report, mutated by
byte-level and structural operators: bit flips, chunk deletion/duplication/splicing, inserted
syntax characters, NULs and huge numbers, truncation, other encodings (UTF-16, Latin-1, BOMs,
CR line ends), deep nesting and oversized values. The contract checked for every input:

* a converter returns a list of JSON-serialisable dicts, or raises ``ConversionError`` with a
  message; anything else (another exception, a wrong return type, a hang) is a *finding*; what
  it returns then goes through the ingest's own validation (``build_submissions``), which must
  accept it or raise ``InvalidReportsError`` with a message;
* ``parse_report`` returns a model or raises ``ValueError``/``TypeError`` with a message; when it
  returns one, ``to_wsjf()`` parses again to the same dump (lossless). Anything else is a finding.

Each input runs under an alarm (POSIX) so a hang is reported instead of stalling the run.
"""

from __future__ import annotations

import copy
import json
import math
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "converters"

_TOKENS = [
    b'"',
    b"'",
    b"<",
    b">",
    b"&",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b";",
    b"\t",
    b"\n",
    b"\r",
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"NaN",
    b"Infinity",
    b"-",
    b"1e999",
    b"99999999999999999999999999",
    b"-0",
    b"null",
    b"true",
    b"<![CDATA[",
    b"]]>",
    b"&amp;",
    b"&#0;",
    b"--Header-Start--",
    b"--Step-Data-Start--",
    b"\\u0000",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b"..\\..\\",
    b"CON",
    "\u202e".encode(),
    b"%s%n",
    b"=cmd|' /C calc'!A0",
]


class FuzzTimeout(Exception):
    """Raised inside a fuzzed call that outran its time limit."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`FuzzTimeout` in the block after ``seconds`` (POSIX main thread only)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def fire(_signum: int, _frame: object) -> None:
        raise FuzzTimeout(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def mutate_bytes(data: bytes, rng: random.Random, seeds: list[bytes]) -> bytes:
    """Apply 1..4 random byte-level mutations."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(11)
        n = len(out)
        at = rng.randrange(n + 1)
        if op == 0 and n:
            out[rng.randrange(n)] ^= 1 << rng.randrange(8)
        elif op == 1 and n:
            out[at : at + rng.randint(1, 64)] = b""
        elif op == 2 and n:
            lo = rng.randrange(n)
            chunk = out[lo : lo + rng.randint(1, 256)]
            out[at:at] = chunk * rng.randint(1, 8)
        elif op == 3:
            out[at:at] = rng.choice(_TOKENS) * rng.randint(1, 3)
        elif op == 4:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 32)))
        elif op == 5:
            del out[at:]
        elif op == 6:
            other = rng.choice(seeds)
            lo = rng.randrange(len(other) + 1)
            out[at:] = other[lo:]
        elif op == 7:
            out = bytearray(_reencode(bytes(out), rng))
        elif op == 8:
            out = out.replace(b"\n", rng.choice((b"\r", b"\r\n", b"\n\n", b"")))
        elif op == 9 and n:
            # a digit run replaced by an extreme number
            out[at:at] = rng.choice((b"1e308", b"-1e308", b"0.0000000001", b"4294967296", b"-1"))
        elif op == 10:
            out[at:at] = rng.choice((b"[", b"{", b"<a>")) * rng.randint(100, 3000)
    return bytes(out)


def _reencode(data: bytes, rng: random.Random) -> bytes:
    text = data.decode("utf-8", "replace")
    enc = rng.choice(("utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252", "utf-8-sig"))
    return text.encode(enc, "replace")


def mutate_report(report: dict[str, Any], rng: random.Random) -> Any:
    """Apply 1..4 structural mutations to a copy of a WSJF dict."""
    out = copy.deepcopy(report)
    for _ in range(rng.randint(1, 4)):
        try:
            out = _mutate_node(out, rng, depth=0)
        except RecursionError:
            break  # the mutator itself cannot copy what it nested; keep what we have
    return out


_ODD_VALUES: list[Any] = [
    None,
    "",
    " ",
    0,
    -1,
    2**63,
    -(2**63) - 1,
    1.5,
    math.nan,
    math.inf,
    -math.inf,
    True,
    [],
    {},
    "x" * 100_000,
    "\x00",
    "\ud800",
    "2026-13-45T25:61:61",
    "P",
    "Z",
    [None],
    {"": None},
    "../../etc/passwd",
    "CON",
    "\uff33\uff2e-\u5168\u89d2",  # full-width "SN" and CJK
    "\U0001d518\U0001d52b\U0001d526",  # astral-plane letters
]


def _mutate_node(node: Any, rng: random.Random, depth: int) -> Any:
    if isinstance(node, dict) and node and rng.random() < 0.8:
        key = rng.choice(list(node))
        op = rng.randrange(5)
        if op == 0:
            del node[key]
        elif op == 1:
            node[key] = rng.choice(_ODD_VALUES)
        elif op == 2:
            node[key] = _mutate_node(node[key], rng, depth + 1)
        elif op == 3:
            node[rng.choice(("extra", "stepType", "type", "numericMeas", "steps", key + "_"))] = (
                rng.choice(_ODD_VALUES)
            )
        else:
            nested: Any = node[key]
            for _ in range(rng.choice((2, 50, 2000))):
                nested = [nested] if rng.random() < 0.5 else {"steps": [nested]}
            node[key] = nested
        return node
    if isinstance(node, list) and node and rng.random() < 0.8:
        i = rng.randrange(len(node))
        op = rng.randrange(3)
        if op == 0:
            node[i] = _mutate_node(node[i], rng, depth + 1)
        elif op == 1:
            node.append(copy.deepcopy(node[i]))
        else:
            node[i] = rng.choice(_ODD_VALUES)
        return node
    return rng.choice(_ODD_VALUES)


@dataclass
class FuzzResult:
    """Outcome counts for one target and every finding (must be empty)."""

    target: str
    inputs: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    findings: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _finding(result: FuzzResult, what: str) -> None:
    if len(result.findings) < 10_000:
        result.findings.append(what)


def check_parse(report: Any, result: FuzzResult, limit_s: float) -> None:
    """Feed one value to ``parse_report`` and record what happened."""
    from pywats import parse_report

    try:
        with time_limit(limit_s):
            model = parse_report(report)
            dumped = model.to_wsjf()
            again = parse_report(json.loads(json.dumps(dumped))).to_wsjf()
    except FuzzTimeout as exc:
        _finding(result, f"parse_report hang: {exc}")
        result.outcomes["finding"] += 1
        return
    except (ValueError, TypeError) as exc:
        if not str(exc).strip():
            _finding(result, f"parse_report raised {type(exc).__name__} without a message")
            result.outcomes["finding"] += 1
        else:
            result.outcomes["rejected"] += 1
        return
    except Exception as exc:
        _finding(result, f"parse_report raised {type(exc).__name__}: {str(exc)[:200]}")
        result.outcomes["finding"] += 1
        return
    if again != dumped:
        _finding(result, "parse -> to_wsjf -> parse is not lossless")
        result.outcomes["finding"] += 1
    else:
        result.outcomes["parsed"] += 1


def check_ingest(
    path: Path, converter: Any, reports: list[dict[str, Any]], result: FuzzResult, limit_s: float
) -> None:
    """Converted reports through the ingest's own validation (``build_submissions``)."""
    from syncengine._ingest import InvalidReportsError, build_submissions
    from syncengine.converters import Conversion

    conversion = Conversion(converter.name, converter.version, reports)
    try:
        with time_limit(limit_s):
            items = build_submissions(path, "0" * 64, path.stat().st_size, conversion)
            json.dumps([payload for _, payload, _ in items])
    except FuzzTimeout as exc:
        _finding(result, f"ingest validation hang: {exc}")
        result.outcomes["finding"] += 1
    except InvalidReportsError as exc:
        if str(exc).strip():
            result.outcomes["invalid_report"] += 1
        else:
            _finding(result, "InvalidReportsError without a message")
            result.outcomes["finding"] += 1
    except Exception as exc:
        _finding(result, f"ingest validation raised {type(exc).__name__}: {str(exc)[:200]}")
        result.outcomes["finding"] += 1
    else:
        result.outcomes["accepted"] += 1


def fuzz_parse_report(seed_reports: list[dict[str, Any]], n: int, seed: int) -> FuzzResult:
    """``n`` structurally mutated reports through ``parse_report``."""
    rng = random.Random(seed)
    result = FuzzResult("parse_report")
    started = time.monotonic()
    for _ in range(n):
        report = mutate_report(rng.choice(seed_reports), rng)
        result.inputs += 1
        check_parse(report, result, 10.0)
    result.seconds = time.monotonic() - started
    return result


def fuzz_converter(
    converter: Any,
    options: dict[str, Any],
    seeds: list[tuple[str, bytes]],
    n: int,
    seed: int,
    work: Path,
    *,
    limit_s: float = 10.0,
) -> FuzzResult:
    """``n`` mutated files through ``converter.convert`` (in this process, as the worker does)."""
    from syncengine.converters import ConversionContext, ConversionError

    rng = random.Random(seed)
    result = FuzzResult(converter.name)
    ctx = ConversionContext(station_name="FUZZ-STATION", options=options)
    raw_seeds = [data for _, data in seeds]
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    for i in range(n):
        name, data = rng.choice(seeds)
        path = work / f"in-{i % 16}{Path(name).suffix}"
        path.write_bytes(mutate_bytes(data, rng, raw_seeds) if i % 10 else data)
        result.inputs += 1
        try:
            with time_limit(limit_s):
                reports = converter.convert(path, ctx)
                json.dumps(reports)
        except FuzzTimeout as exc:
            _finding(result, f"{converter.name} hang on input {i}: {exc}")
            result.outcomes["finding"] += 1
            continue
        except ConversionError as exc:
            if str(exc).strip():
                result.outcomes["conversion_error"] += 1
            else:
                _finding(result, f"{converter.name}: ConversionError without a message")
                result.outcomes["finding"] += 1
            continue
        except Exception as exc:
            _finding(result, f"{converter.name} input {i}: {type(exc).__name__}: {str(exc)[:200]}")
            result.outcomes["finding"] += 1
            continue
        if not isinstance(reports, list) or not all(isinstance(r, dict) for r in reports):
            _finding(result, f"{converter.name} input {i}: returned {type(reports).__name__}")
            result.outcomes["finding"] += 1
            continue
        result.outcomes["converted"] += 1
        check_ingest(path, converter, reports, result, limit_s)
    result.seconds = time.monotonic() - started
    return result


def seed_files() -> dict[str, list[tuple[str, bytes]]]:
    """Seed inputs per built-in converter name, from the converter test fixtures."""
    by_ext = {".json": "wsjf", ".xml": "wsxf", ".txt": "wats_text", ".csv": "csv"}
    out: dict[str, list[tuple[str, bytes]]] = {}
    for path in sorted(FIXTURES.iterdir()):
        name = by_ext.get(path.suffix)
        if name:
            out.setdefault(name, []).append((path.name, path.read_bytes()))
    return out


CSV_OPTIONS: dict[str, Any] = {
    "steps": [
        {"column": "Vout", "unit": "V", "low": 11.8, "high": 12.2},
        {"column": "Iq", "unit": "A", "high": 0.9},
        {"column": "LED", "type": "passfail"},
        {"column": "Firmware", "type": "string", "limit": "1.2.0"},
    ]
}


def run_all(per_target: int, seed: int, work: Path) -> list[FuzzResult]:
    """Fuzz ``parse_report`` and every built-in converter with ``per_target`` inputs each."""
    from syncengine.converters import CsvConverter, WatsTextConverter, WsjfConverter, WsxfConverter

    seeds = seed_files()
    reports = [json.loads(d) for _, d in seeds.get("wsjf", [])]
    seed_reports = [r for x in reports for r in (x if isinstance(x, list) else [x])]
    converters: list[tuple[Any, dict[str, Any]]] = [
        (WsjfConverter(), {}),
        (WsxfConverter(), {}),
        (WatsTextConverter(), {}),
        (CsvConverter(), CSV_OPTIONS),
    ]
    results = [fuzz_parse_report(seed_reports, per_target, seed)]
    for conv, options in converters:
        results.append(
            fuzz_converter(conv, options, seeds[conv.name], per_target, seed, work / conv.name)
        )
    return results


def main(argv: list[str] | None = None) -> int:
    """``python -m tools.torture.fuzz --per-target N``; exit 1 on any finding."""
    import argparse
    import tempfile

    ap = argparse.ArgumentParser(prog="python -m tools.torture.fuzz")
    ap.add_argument("--per-target", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=8)
    args = ap.parse_args(argv)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        results = run_all(args.per_target, args.seed, Path(tmp))
    for r in results:
        print(f"{r.target:14} inputs={r.inputs:6} {dict(r.outcomes)} seconds={r.seconds:.1f}")
        for f in r.findings[:10]:
            print(f"  FINDING {f}")
    return 1 if any(r.findings for r in results) else 0
