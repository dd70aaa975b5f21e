"""``normalize_loops``: rewrite server-export loop summaries into the shape the import accepts.

A WATS server exports a loop summary as ``{"idx": null, "num": 3, "endingIndex": 3, ...}`` for
iterations 0..2, and its own import refuses that ("num is required to be one more than
endingIndex", "endingIndex is required to be the same as highest index"). A station that
re-submits exports needs a way through; the rewrite changes recorded data, so it is off by
default, turned on per engine or per watch folder, and every change is recorded in the
submission's source metadata (``source["normalize_loops"]``).

The rewrite, per loop summary (a step whose ``loop`` has ``idx`` null and a ``num``):

- with iterations (same-name siblings whose ``loop.idx`` is set): ``endingIndex`` becomes the
  highest iteration index and ``num`` that plus one;
- without iterations: ``endingIndex`` becomes ``num - 1``.

Nothing else is touched: iteration limits that differ from the summary's ("limit is required to
match Summary step") and step statuses are data only the station can correct.

This module also turns a server refusal into operator guidance (:func:`refusal_hint`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, TypedDict

OPTION = "normalize_loops"
"""The option's name in the configuration (engine-wide or in a ``[[watch]]`` table)."""

_MAX_DEPTH = 256


class LoopChange(TypedDict):
    """One rewritten value: where (the server's path format), which field, old and new."""

    path: str
    field: str
    old: Any
    new: Any


def normalize_loops(report: Mapping[str, Any]) -> tuple[dict[str, Any], list[LoopChange]]:
    """A copy of ``report`` with every loop summary made consistent, and the changes made.

    The copy equals the input when the list is empty. Shapes it does not understand are left
    as they are.
    """
    result = _copy_tree(report)
    changes: list[LoopChange] = []
    root = result.get("root")
    if isinstance(root, dict):
        pending: list[tuple[dict[str, Any], str, int]] = [(root, "root", 0)]
        while pending:
            step, path, depth = pending.pop()
            children = _children(step)
            for child in children:
                where = _child_path(path, child)
                loop = _summary_loop(child)
                if loop is not None:
                    changes += _fix_summary(loop, child, children, where)
                if depth < _MAX_DEPTH:
                    pending.append((child, where, depth + 1))
    changes.sort(key=lambda c: (c["path"], c["field"]))
    return result, changes


def _copy_tree(report: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of the report's dicts and lists, without recursion.

    ``copy.deepcopy`` takes two Python frames per level: a report nested a few hundred steps
    deep (which ``json`` still reads) raised RecursionError here, outside the caller's
    validation guard. Leaves (str, numbers, None) are immutable and shared.
    """
    result: dict[str, Any] = {}
    pending: list[tuple[Any, Any]] = [(report, result)]
    while pending:
        source, target = pending.pop()
        items = source.items() if isinstance(source, Mapping) else enumerate(source)
        for key, value in items:
            if isinstance(value, Mapping):
                copied: Any = {}
            elif isinstance(value, list):
                copied = [None] * len(value)
            else:
                target[key] = copy.copy(value)
                continue
            target[key] = copied
            pending.append((value, copied))
    return result


def _children(step: dict[str, Any]) -> list[dict[str, Any]]:
    steps = step.get("steps")
    return [c for c in steps if isinstance(c, dict)] if isinstance(steps, list) else []


def _summary_loop(step: Mapping[str, Any]) -> dict[str, Any] | None:
    loop = step.get("loop")
    if isinstance(loop, dict) and "num" in loop and loop.get("idx") is None:
        return loop
    return None


def _index(step: Mapping[str, Any]) -> int | None:
    loop = step.get("loop")
    return _as_int(loop.get("idx")) if isinstance(loop, dict) else None


def _child_path(parent: str, child: Mapping[str, Any]) -> str:
    name = child.get("name")
    index = _index(child)
    if _summary_loop(child) is not None:
        return f"{parent} -> loop {name}"
    if index is not None:
        return f"{parent} -> loop {name} -> Index {index}"
    return f"{parent} -> step {name}"


def _fix_summary(
    loop: dict[str, Any], summary: Mapping[str, Any], siblings: list[dict[str, Any]], path: str
) -> list[LoopChange]:
    num, ending = _as_int(loop.get("num")), _as_int(loop.get("endingIndex"))
    indexes = [
        i
        for s in siblings
        if s is not summary
        and s.get("name") == summary.get("name")
        and (i := _index(s)) is not None
    ]
    if indexes:
        want_end = max(indexes)
        want_num = want_end + 1
    elif num is not None:
        want_end, want_num = num - 1, num
    else:
        return []
    changes: list[LoopChange] = []
    for field, want, have in (("endingIndex", want_end, ending), ("num", want_num, num)):
        if have != want or isinstance(loop.get(field), bool):
            changes.append(LoopChange(path=path, field=field, old=loop.get(field), new=want))
            loop[field] = want
    return changes


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        # Not str.isdigit(): it accepts "²" and "--2", which int() refuses.
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


# -- operator guidance -------------------------------------------------------------------------

_LOOP_COUNT = (
    "num is required to be one more than endingIndex",
    "endingIndex is required to be the same as highest index",
)
_HINTS = (
    (
        _LOOP_COUNT,
        "the server refuses this report's loop summary (num/endingIndex), the shape its own "
        "export writes; set normalize_loops = true (engine-wide or for the watch folder, see "
        "docs/converters.md) and submit the source file again: the rewritten report is a new "
        "submission, recorded as rewritten",
    ),
    (
        ("limit is required to match Summary step",),
        "a loop iteration's limits differ from its summary step's; no option rewrites limits "
        "(normalize_loops only fixes num/endingIndex): correct the report at its source",
    ),
    (
        ("Status cannot be different from measurement status",),
        "a step's status differs from the status of its only measurement; no option rewrites "
        "statuses: correct the report at its source",
    ),
)


def refusal_hint(message: str | None) -> str | None:
    """What fixes a refusal whose server message is ``message``, or None when unknown."""
    if not message:
        return None
    hints = [hint for markers, hint in _HINTS if any(m in message for m in markers)]
    return "; ".join(hints) if hints else None
