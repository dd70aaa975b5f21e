"""Models of the non-report API objects: headers, processes, products, units, assets.

These are read from and written to the server but not round-trip critical, so they are lenient
(standard pydantic coercion) and keep every unknown key (``extra="allow"``), so saving an object
that was read sends back what the server gave, including fields this library does not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """Base of the API object models: camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(
        extra="allow", alias_generator=to_camel, populate_by_name=True, validate_assignment=True
    )

    def to_json_dict(self) -> dict[str, Any]:
        """The object as JSON (camelCase, only the fields that were set or read)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class ReportHeader(ApiModel):
    """One row of ``GET /api/Report/Query/Header`` (the spec's ``ReportHeader`` definition).

    The spec's names: ``user_name`` (``userName``) is the operator, ``start`` is UTC
    (``yyyy-MM-ddTHH:mm:ssZ``), ``result`` is a word (``Passed``, ``Failed``, ``Error``,
    ``Terminated``), ``report_type`` is ``T`` or ``R``, ``time_stamp`` is the server's processing
    order. ``operator`` and ``start_utc`` are read too, from servers that answer the older names.
    """

    uuid: str | None = None
    serial_number: str | None = None
    part_number: str | None = None
    revision: str | None = None
    batch_number: str | None = None
    report_type: str | None = None
    station_name: str | None = None
    location: str | None = None
    purpose: str | None = None
    process_code: int | None = None
    process_name: str | None = None
    result: str | None = None
    start: str | None = None
    user_name: str | None = None
    time_stamp: int | None = None
    run: int | None = None
    passed_in_run: int | None = None
    measures_deleted: bool | None = None
    comment: str | None = None
    execution_time: float | None = None
    sw_filename: str | None = None
    sw_version: str | None = None
    test_socket_index: int | None = None
    fixture_id: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    caused_uut_failure: str | None = None
    caused_uut_failure_path: str | None = None
    referenced_uut: str | None = None
    receive_count: int | None = None
    report_size: int | None = None
    sub_units: list[Any] | None = None
    misc_info: list[Any] | None = None
    assets: list[Any] | None = None
    attachments: list[Any] | None = None
    uur_sub_units: list[Any] | None = None
    uur_misc_info: list[Any] | None = None
    uur_attachments: list[Any] | None = None
    #: Older servers and the first simulator: the operator under its old name.
    operator: str | None = None
    #: Older servers and the first simulator: the UTC start under its old name.
    start_utc: str | None = None


class Process(ApiModel):
    """A process (operation) from ``GET /api/App/Processes``."""

    code: int
    name: str | None = None
    description: str | None = None
    is_test_operation: bool | None = None
    is_repair_operation: bool | None = None
    is_wip_operation: bool | None = None


class ProductRevision(ApiModel):
    """A revision of a product; the spec spells its part number ``PartNumber`` (capital P).

    ``partNumber`` is read too (older answers); it is always written as ``PartNumber``.
    """

    part_number: str = Field(
        validation_alias=AliasChoices("PartNumber", "partNumber"), serialization_alias="PartNumber"
    )
    revision: str
    name: str | None = None
    description: str | None = None
    state: int | None = None
    product_revision_id: str | None = None
    product_id: str | None = None


class Product(ApiModel):
    """A product (part number); ``revisions`` is filled by ``products.get`` only."""

    part_number: str
    name: str | None = None
    description: str | None = None
    non_serial: bool | None = None
    state: int | None = None
    product_id: str | None = None
    revisions: list[ProductRevision] | None = None


class Unit(ApiModel):
    """A produced unit, identified by serial and part number."""

    serial_number: str
    part_number: str
    revision: str | None = None
    parent_serial_number: str | None = None
    batch_number: str | None = None
    serial_date: str | None = None
    current_location: str | None = None
    unit_phase_id: int | None = None
    unit_phase: str | None = None


class UnitsSaved(ApiModel):
    """The answer of ``production.save_units`` (only when ``errorCount`` is zero or absent)."""

    insert_count: int | None = None
    update_count: int | None = None
    error_count: int | None = None


class UnitVerification(ApiModel):
    """A unit's grade from ``GET /api/Production/UnitVerification``."""

    status: str | None = None
    grade: str | None = None
    all_processes_executed_in_correct_order: bool | None = None
    all_processes_passed_first_run: bool | None = None
    all_processes_passed_any_run: bool | None = None
    all_processes_passed_last_run: bool | None = None
    no_repairs: bool | None = None
    results: list[dict[str, Any]] | None = None


class Asset(ApiModel):
    """An asset (instrument, fixture...) with its usage counters."""

    serial_number: str
    asset_id: str | None = None
    type_id: str | None = None
    asset_name: str | None = None
    part_number: str | None = None
    revision: str | None = None
    state: int | None = None
    description: str | None = None
    location: str | None = None
    total_count: int | None = None
    running_count: int | None = None


@dataclass(frozen=True)
class SubmitResult:
    """What ``reports.submit`` got back: the server's ``InsertReportResult``, read.

    ``id`` is the id the server stored the report under (the answer's ``uuid``, its destination
    id, else its ``ID``, the source id); None when a 2xx answer carried no usable id: the report was
    then most probably stored, and ``raw_answer`` holds the start of what came back so the caller
    can record it. ``status_code`` is the HTTP status really returned; ``correlation_id`` is the
    answer's request/correlation id header, when it sent one.
    """

    id: str | None
    status_code: int
    correlation_id: str | None = None
    source_id: str | None = None
    raw_answer: str | None = None
