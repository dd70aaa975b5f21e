"""The real WATS server's documented report rules, as one function over a WSJF dict.

These are the rules a 2026.1 server was seen to enforce on ``POST /api/Report/WSJF``
(``WATS-API-NOTES.md`` section 4), with its message texts and its path format::

    root -> step Loops -> step Seq -> loop SequenceCallLoop: endingIndex is required to be ...

The simulator answers ``400`` with these lines; ``syncengine check`` runs the same function
locally. Only documented rules live here: anything else the simulator checks is in
``_reports`` and its messages are the simulator's own.

Loop shapes (as the server exports them): a looped step appears among its siblings once per
iteration, each with ``loop.idx`` set to the iteration index, plus one *summary* step of the
same name whose ``loop`` has ``idx`` null and carries ``num``, ``endingIndex``, ``passed`` and
``failed``. The submit shape ``{"i": .., "n": ..}`` is not a summary and is not checked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Rule ids and the server's message text for each.
RULE_MESSAGES: dict[str, str] = {
    "loop_num": "num is required to be one more than endingIndex.",
    "loop_ending_index": "endingIndex is required to be the same as highest index.",
    "loop_limit": "limit is required to match Summary step.",
    "measurement_status": "Status cannot be different from measurement status.",
}
_MEAS_KEYS = ("numericMeas", "stringMeas", "booleanMeas")
_LIMIT_FIELDS = {"numericMeas": ("lowLimit", "highLimit"), "stringMeas": ("limit",)}
_STATUS_WORDS = {
    "passed": "P",
    "failed": "F",
    "skipped": "S",
    "done": "D",
    "error": "E",
    "terminated": "T",
}
_MAX_DEPTH = 64


@dataclass(frozen=True)
class Refusal:
    """One line of the server's 400 answer: where (``path``), which rule, and its message."""

    path: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def validate_report(report: Mapping[str, Any]) -> list[Refusal]:
    """The refusals the real server would give for this WSJF report, in tree order.

    An empty list means the documented rules pass (the server may still refuse for reasons
    nobody has documented). Shapes this function does not understand are skipped, not
    refused: structural checks are the caller's business.
    """
    root = report.get("root")
    if not isinstance(root, Mapping):
        return []
    return list(_walk_step(root, "root", 0))


def loop_summary(step: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ``loop`` object when ``step`` is a loop summary (``idx`` null, ``num`` present)."""
    loop = step.get("loop")
    if not isinstance(loop, Mapping) or "num" not in loop:
        return None
    return loop if loop.get("idx") is None else None


def loop_index(step: Mapping[str, Any]) -> int | None:
    """The iteration index when ``step`` is one iteration of a loop, else None."""
    loop = step.get("loop")
    if not isinstance(loop, Mapping):
        return None
    return _as_int(loop.get("idx"))


def child_steps(step: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The step's children that are objects (a bad ``steps`` value gives none)."""
    steps = step.get("steps")
    if not isinstance(steps, list):
        return []
    return [child for child in steps if isinstance(child, Mapping)]


def _walk_step(step: Mapping[str, Any], path: str, depth: int) -> Iterator[Refusal]:
    if depth > _MAX_DEPTH:
        return
    yield from _status_refusals(step, path)
    children = child_steps(step)
    for child in children:
        name = _name(child)
        index = loop_index(child)
        if loop_summary(child) is not None:
            yield from _summary_refusals(child, children, f"{path} -> loop {name}")
            yield from _walk_step(child, f"{path} -> loop {name}", depth + 1)
        elif index is not None:
            yield from _walk_step(child, f"{path} -> loop {name} -> Index {index}", depth + 1)
        else:
            yield from _walk_step(child, f"{path} -> step {name}", depth + 1)


def _status_refusals(step: Mapping[str, Any], path: str) -> Iterator[Refusal]:
    status = _status_letter(step.get("status"))
    if status is None:
        return
    for key in _MEAS_KEYS:
        meas = step.get(key)
        if isinstance(meas, list) and len(meas) == 1 and isinstance(meas[0], Mapping):
            meas_status = _status_letter(meas[0].get("status"))
            if meas_status is not None and meas_status != status:
                yield _refusal(path, "measurement_status")
                return


def _summary_refusals(
    summary: Mapping[str, Any], siblings: Sequence[Mapping[str, Any]], path: str
) -> Iterator[Refusal]:
    loop = loop_summary(summary) or {}
    num, ending = _as_int(loop.get("num")), _as_int(loop.get("endingIndex"))
    iterations = iterations_of(summary, siblings)
    if num is not None and ending is not None and num != ending + 1:
        yield _refusal(path, "loop_num")
    elif iterations and ending is not None and ending != max(iterations):
        yield _refusal(path, "loop_ending_index")
    for index, iteration in iterations.items():
        yield from _limit_refusals(summary, iteration, f"{path} -> Index {index}")


def iterations_of(
    summary: Mapping[str, Any], siblings: Sequence[Mapping[str, Any]]
) -> dict[int, Mapping[str, Any]]:
    """The summary's iterations among its siblings (same name, ``loop.idx`` set), by index."""
    found: dict[int, Mapping[str, Any]] = {}
    for sibling in siblings:
        index = loop_index(sibling)
        if sibling is not summary and index is not None and _name(sibling) == _name(summary):
            found.setdefault(index, sibling)
    return found


def _limit_refusals(
    summary: Mapping[str, Any], iteration: Mapping[str, Any], path: str
) -> Iterator[Refusal]:
    for key, fields in _LIMIT_FIELDS.items():
        want, got = summary.get(key), iteration.get(key)
        if not isinstance(want, list) or not isinstance(got, list):
            continue
        for expected, actual in zip(want, got, strict=False):
            if not isinstance(expected, Mapping) or not isinstance(actual, Mapping):
                continue
            if any(not _same(expected.get(f), actual.get(f)) for f in fields):
                yield _refusal(f"{path} -> {key}", "loop_limit")
                break
    summary_children, iteration_children = child_steps(summary), child_steps(iteration)
    for want_step, got_step in zip(summary_children, iteration_children, strict=False):
        if _name(want_step) == _name(got_step):
            yield from _limit_refusals(want_step, got_step, f"{path} -> step {_name(got_step)}")


def _same(expected: object, actual: object) -> bool:
    if expected is None or actual is None:
        return expected is actual
    left, right = _as_float(expected), _as_float(actual)
    if left is not None and right is not None:
        return left == right
    return str(expected) == str(actual)


def _refusal(path: str, rule: str) -> Refusal:
    return Refusal(path, rule, RULE_MESSAGES[rule])


def _name(step: Mapping[str, Any]) -> str:
    name = step.get("name")
    return name if isinstance(name, str) else str(name)


def _status_letter(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().lower()
    return _STATUS_WORDS.get(text, text[:1].upper())


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


def _as_float(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None
