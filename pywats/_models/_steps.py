"""The UUT step tree: step classes, the sequence builders, and the step-type discriminator.

A step's class is chosen from ``stepType``, in any case; both the long and short names of each
type are known (``NumericLimitTest`` / ``ET_NLT`` ...). The ``stepType`` string itself is kept
verbatim, so a short name stays short and ``et_nlt`` stays ``et_nlt``. A type not listed here
becomes an ``UnknownStep`` with every key kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, TypeVar, Union

from pydantic import Discriminator, Field, Tag

from ._base import Bool, CompOp, Int, Number, Status, StepGroup, Str, WatsModel, check_text
from ._measure import (
    Attachment,
    BooleanMeasurement,
    Chart,
    ChartSeries,
    Loop,
    NumericMeasurement,
    SeqCall,
    StringMeasurement,
    common_fields,
    numeric_measurement,
    string_status,
    worst,
)


class StepBase(WatsModel):
    """Fields every step has. Subclasses add the type's payload."""

    id: Int | None = None
    step_type: Str | None = None
    name: Str | None = None
    group: Str | None = None
    status: Status | None = None
    error_code: Int | None = None
    error_code_format: Str | None = None
    error_message: Str | None = None
    report_text: Str | None = None
    start: Str | None = None
    tot_time: Number | None = None
    tot_time_format: Str | None = None
    ts_guid: Str | None = None
    caused_seq_failure: Bool | None = None
    caused_uut_failure: Bool | None = Field(None, alias="causedUUTFailure")
    loop: Loop | None = None
    additional_results: Any = None
    chart: Chart | None = None
    attachment: Attachment | None = None


class NumericLimitStep(StepBase):
    """``NumericLimitTest`` / ``ET_NLT``: one entry in ``numeric_meas``."""

    numeric_meas: list[NumericMeasurement] | None = None


class MultiNumericLimitStep(NumericLimitStep):
    """``MultiNumericLimitTest`` / ``ET_MNLT``: named entries in ``numeric_meas``."""


class XYGraphStep(NumericLimitStep):
    """``WATS_XYGMNLT``: numeric measurements plus an XY ``chart``."""


class PassFailStep(StepBase):
    """``PassFailTest`` / ``ET_PFT``: one entry in ``boolean_meas``."""

    boolean_meas: list[BooleanMeasurement] | None = None


class MultiBooleanStep(PassFailStep):
    """``MultiBooleanTest`` / ``ET_MPFT``: named entries in ``boolean_meas``."""


class StringValueStep(StepBase):
    """``StringValueTest`` / ``ET_SVT``: one entry in ``string_meas``."""

    string_meas: list[StringMeasurement] | None = None


class MultiStringStep(StringValueStep):
    """``MultiStringTest`` / ``ET_MSVT``: named entries in ``string_meas``."""


class ChartStep(StepBase):
    """``Chart``: a step that carries only a ``chart``."""


class ActionStep(StepBase):
    """``Action`` / ``ET_A``: no measurement."""


class GenericStep(StepBase):
    """``GenericTest``, ``Goto``, ``Label``, ``Statement``, ``NI_Flow_*``, ``NI_Wait``...."""


class UnknownStep(StepBase):
    """A step type this library does not know; every key is kept and sent back unchanged."""


_NUMERIC = "ET_NLT"
S = TypeVar("S", bound=StepBase)


class SequenceCallStep(StepBase):
    """``SequenceCall`` / ``WATS_SeqCall``: calls a sequence; its steps are in ``steps``.

    The ``add_*`` builders append a new step to ``steps`` and return it.
    """

    seq_call: SeqCall | None = None
    steps: list[Step] | None = None

    def add_step(self, step: S) -> S:
        """Append an already-built step (an instance of one of the step classes) and return it."""
        if _class_tag(type(step)) is None:
            raise TypeError(
                f"add_step needs one of the step classes (UnknownStep for other types), "
                f"got {type(step).__name__}"
            )
        if self.steps is None:
            self.steps = []
        self.steps.append(step)  # type: ignore[arg-type]
        return step

    def add_sequence(
        self,
        name: str,
        *,
        path: str | None = None,
        version: str | None = None,
        status: Status | str = Status.PASSED,
        group: StepGroup | str = StepGroup.MAIN,
        step_id: int | None = None,
    ) -> SequenceCallStep:
        """Append a sub-sequence and return it (add steps to it in turn)."""
        seq: dict[str, Any] = {"name": name}
        if path is not None:
            seq["path"] = path
        if version is not None:
            seq["version"] = version
        step = SequenceCallStep(
            **common_fields(name, "SequenceCall", status, group, step_id),
            seq_call=SeqCall(**seq),
            steps=[],
        )
        self.add_step(step)
        return step

    def add_numeric_step(
        self,
        name: str,
        value: float,
        *,
        low: float | None = None,
        high: float | None = None,
        comp_op: CompOp | str | None = None,
        unit: str | None = None,
        status: Status | str | None = None,
        group: StepGroup | str = StepGroup.MAIN,
        step_id: int | None = None,
    ) -> NumericLimitStep:
        """Append a numeric limit test; the status is computed from the limits unless given.

        ``comp_op`` defaults to GELE with both limits, GE with ``low``, LE with ``high``, LOG with
        none. Single-limit operators store their limit in ``lowLimit`` (WATS convention).
        """
        meas = numeric_measurement(
            value, low=low, high=high, comp_op=comp_op, unit=unit, status=status
        )
        step_status = meas.status if meas.status is not None else Status.PASSED
        step = NumericLimitStep(
            **common_fields(name, _NUMERIC, step_status, group, step_id), numeric_meas=[meas]
        )
        self.add_step(step)
        return step

    def add_multi_numeric_step(
        self,
        name: str,
        measurements: Sequence[NumericMeasurement],
        *,
        status: Status | str | None = None,
        group: StepGroup | str = StepGroup.MAIN,
        step_id: int | None = None,
    ) -> MultiNumericLimitStep:
        """Append a multi-numeric step from measurements made with ``numeric_measurement``."""
        if not measurements:
            raise ValueError("add_multi_numeric_step needs at least one measurement")
        for i, m in enumerate(measurements):
            check_text(f"measurements[{i}].name", m.name)
        step_status = worst(status, [m.status for m in measurements])
        step = MultiNumericLimitStep(
            **common_fields(name, "ET_MNLT", step_status, group, step_id),
            numeric_meas=list(measurements),
        )
        self.add_step(step)
        return step

    def add_pass_fail(
        self,
        name: str,
        passed: bool | Status | str,
        *,
        group: StepGroup | str = StepGroup.MAIN,
        step_id: int | None = None,
    ) -> PassFailStep:
        """Append a pass/fail test; ``passed`` is a bool or a status."""
        status = Status.coerce(passed)
        step = PassFailStep(
            **common_fields(name, "ET_PFT", status, group, step_id),
            boolean_meas=[BooleanMeasurement(status=status)],
        )
        self.add_step(step)
        return step

    def add_string(
        self,
        name: str,
        value: str,
        *,
        limit: str | None = None,
        comp_op: CompOp | str | None = None,
        status: Status | str | None = None,
        group: StepGroup | str = StepGroup.MAIN,
        step_id: int | None = None,
    ) -> StringValueStep:
        """Append a string value test; with a ``limit`` and no ``comp_op`` it is CASESENSIT."""
        op = (
            CompOp(comp_op)
            if comp_op is not None
            else (CompOp.LOG if limit is None else CompOp.CASESENSIT)
        )
        if status is None:
            status = string_status(op, value, limit)
        meas: dict[str, Any] = {"comp_op": op, "status": Status.coerce(status), "value": value}
        if limit is not None:
            meas["limit"] = limit
        step = StringValueStep(
            **common_fields(name, "ET_SVT", status, group, step_id),
            string_meas=[StringMeasurement(**meas)],
        )
        self.add_step(step)
        return step

    def add_chart(
        self,
        name: str,
        series: Sequence[ChartSeries],
        *,
        chart_type: str = "Line",
        label: str | None = None,
        x_label: str | None = None,
        x_unit: str | None = None,
        y_label: str | None = None,
        y_unit: str | None = None,
        status: Status | str = Status.DONE,
        group: StepGroup | str = StepGroup.MAIN,
        step_id: int | None = None,
    ) -> ChartStep:
        """Append a chart step; build each series with ``chart_series``."""
        chart: dict[str, Any] = {"chart_type": chart_type, "series": list(series)}
        for key, val in (
            ("label", label),
            ("x_label", x_label),
            ("x_unit", x_unit),
            ("y_label", y_label),
            ("y_unit", y_unit),
        ):
            if val is not None:
                chart[key] = val
        step = ChartStep(
            **common_fields(name, "Chart", status, group, step_id), chart=Chart(**chart)
        )
        self.add_step(step)
        return step

    def add_action(
        self,
        name: str,
        *,
        status: Status | str = Status.DONE,
        group: StepGroup | str = StepGroup.MAIN,
        step_id: int | None = None,
    ) -> ActionStep:
        """Append an action step (no measurement)."""
        step = ActionStep(**common_fields(name, "Action", status, group, step_id))
        self.add_step(step)
        return step

    def walk(self) -> list[StepBase]:
        """This step and every step below it, depth first."""
        out: list[StepBase] = [self]
        for child in self.steps or []:
            if isinstance(child, SequenceCallStep):
                out.extend(child.walk())
            else:
                out.append(child)
        return out


_TAGS: dict[str, str] = {
    "SequenceCall": "seq",
    "WATS_SeqCall": "seq",
    "NumericLimitTest": "nlt",
    "ET_NLT": "nlt",
    "MultiNumericLimitTest": "mnlt",
    "ET_MNLT": "mnlt",
    "PassFailTest": "pft",
    "ET_PFT": "pft",
    "MultiBooleanTest": "mpft",
    "ET_MPFT": "mpft",
    "StringValueTest": "svt",
    "ET_SVT": "svt",
    "MultiStringTest": "msvt",
    "ET_MSVT": "msvt",
    "WATS_XYGMNLT": "xyg",
    "Chart": "chart",
    "Action": "action",
    "ET_A": "action",
    "GenericTest": "generic",
    "Goto": "generic",
    "Label": "generic",
    "Statement": "generic",
    "NI_Wait": "generic",
    "NI_Lock": "generic",
}

_TAGS_FOLDED = {name.casefold(): tag for name, tag in _TAGS.items()}

#: Step class by ``stepType`` (both long and short names).
STEP_CLASSES: dict[str, type[StepBase]] = {}


def _step_tag(value: Any) -> str:
    if isinstance(value, dict):
        step_type = value.get("stepType", value.get("step_type"))
    else:
        # A built model serialises with the schema of its own class, whatever its stepType.
        return _class_tag(type(value)) or "unknown"
    if not isinstance(step_type, str):
        return "unknown"
    folded = step_type.casefold()
    tag = _TAGS_FOLDED.get(folded)
    if tag is None and folded.startswith("ni_flow_"):
        return "generic"
    return tag or "unknown"


Step = Annotated[
    Union[  # noqa: UP007 - pydantic needs the Union of tagged members here
        Annotated[SequenceCallStep, Tag("seq")],
        Annotated[NumericLimitStep, Tag("nlt")],
        Annotated[MultiNumericLimitStep, Tag("mnlt")],
        Annotated[PassFailStep, Tag("pft")],
        Annotated[MultiBooleanStep, Tag("mpft")],
        Annotated[StringValueStep, Tag("svt")],
        Annotated[MultiStringStep, Tag("msvt")],
        Annotated[XYGraphStep, Tag("xyg")],
        Annotated[ChartStep, Tag("chart")],
        Annotated[ActionStep, Tag("action")],
        Annotated[GenericStep, Tag("generic")],
        Annotated[UnknownStep, Tag("unknown")],
    ],
    Discriminator(_step_tag),
]
"""Any step; the class is chosen from ``stepType``."""

_BY_TAG: dict[str, type[StepBase]] = {
    "seq": SequenceCallStep,
    "nlt": NumericLimitStep,
    "mnlt": MultiNumericLimitStep,
    "pft": PassFailStep,
    "mpft": MultiBooleanStep,
    "svt": StringValueStep,
    "msvt": MultiStringStep,
    "xyg": XYGraphStep,
    "chart": ChartStep,
    "action": ActionStep,
    "generic": GenericStep,
}
_TAG_OF_CLASS: dict[type, str] = {cls: tag for tag, cls in _BY_TAG.items()}
#: The tags of the step union (they appear in validation error locations).
STEP_TAGS = frozenset([*_BY_TAG, "unknown"])
_TAG_OF_CLASS[UnknownStep] = "unknown"


def _class_tag(cls: type) -> str | None:
    """The union tag of a step class or of the nearest step class it derives from."""
    for base in cls.__mro__:
        tag = _TAG_OF_CLASS.get(base)
        if tag is not None:
            return tag
    return None


STEP_CLASSES.update({name: _BY_TAG[tag] for name, tag in _TAGS.items()})

SequenceCallStep.model_rebuild()
