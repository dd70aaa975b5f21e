"""Real misbehaving converters for the isolation tests (loaded by path into worker processes)."""

from __future__ import annotations

import ctypes
import json
import os
import sys
import time

from syncengine.converters import ConverterBase


def _report(sn: str) -> dict[str, object]:
    return {
        "type": "T",
        "pn": "PCBA-1",
        "sn": sn,
        "rev": "A",
        "processCode": 10,
        "result": "P",
        "machineName": "TEST-ST",
        "location": "Lab",
        "purpose": "Test",
        "start": "2026-03-01T09:00:00+01:00",
    }


class Raises(ConverterBase):
    name = "raises"
    patterns = ("*.raises",)

    def convert(self, path, context):
        raise RuntimeError("boom in converter")


class Hangs(ConverterBase):
    name = "hangs"
    patterns = ("*.hangs",)

    def convert(self, path, context):
        time.sleep(3600)


class Exits(ConverterBase):
    name = "exits"
    patterns = ("*.exits",)

    def convert(self, path, context):
        os._exit(7)


class Segfaults(ConverterBase):
    name = "segfaults"
    patterns = ("*.segv",)

    def convert(self, path, context):
        ctypes.string_at(0)


class EatsMemory(ConverterBase):
    name = "eats_memory"
    patterns = ("*.mem",)

    def convert(self, path, context):
        hog = bytearray(2 * 1024 * 1024 * 1024)
        return [_report(str(len(hog)))]


class SystemExits(ConverterBase):
    name = "system_exits"
    patterns = ("*.sysexit",)

    def convert(self, path, context):
        sys.exit(2)


class BadOutput(ConverterBase):
    name = "bad_output"
    patterns = ("*.badout",)

    def convert(self, path, context):
        return {"not": "a list"}


class NotSerialisable(ConverterBase):
    name = "not_serialisable"
    patterns = ("*.noser",)

    def convert(self, path, context):
        return [{"type": "T", "value": object()}]


class Noisy(ConverterBase):
    """Prints to stdout and reads stdin: must not corrupt the worker protocol."""

    name = "noisy"
    version = "2.1"
    patterns = ("*.noisy",)

    def convert(self, path, context):
        print('{"ok": true, "forged": 1}')
        sys.stdout.flush()
        sys.stdin.read()
        context.logger.info("converting %s", path.name)
        reports = json.loads(path.read_text())
        return [_report(sn) for sn in reports]


class Echo(ConverterBase):
    """One report per serial number listed in the JSON file; echoes station and options."""

    name = "echo"
    version = "1.5"
    patterns = ("*.echo",)

    def validate(self, path):
        return 0.7

    def convert(self, path, context):
        reports = []
        for sn in json.loads(path.read_text()):
            report = _report(sn)
            report["machineName"] = context.station_name or "none"
            report["location"] = str(context.option("location", "Lab"))
            reports.append(report)
        return reports


class FutureApi(ConverterBase):
    api_version = 2
    name = "future_api"
    patterns = ("*.future",)


class Nameless(ConverterBase):
    patterns = ("*.nameless",)


class NeedsArgs(ConverterBase):
    name = "needs_args"

    def __init__(self, required):
        self.required = required
