"""pywats: a small, typed, stateless client for the WATS REST API.

``Client(base_url, token)`` gives ``client.reports``, ``client.app``, ``client.products``,
``client.production`` and ``client.assets``. Reports are pydantic models that round-trip WSJF
losslessly (``parse_report(d).to_wsjf() == d``). Every failed call raises one exception tree
rooted at :class:`PyWATSError` (see ``docs/errors.md``).
"""

from __future__ import annotations

__wats_sync__ = True  # read as text (not imported) by syncengine._provenance: the vendor's has none

from ._client import Client, make_token, normalise_base_url
from ._errors import (
    AuthenticationError,
    AuthorizationError,
    ConflictError,
    ConnectError,
    ConnectionDropped,
    InvalidResponseError,
    NotFoundError,
    PyWATSError,
    RateLimitedError,
    RequestTimeout,
    ServerError,
    TransportError,
    UnexpectedStatusError,
    UnitsRejectedError,
    ValidationError,
)
from ._models._base import CompOp, ReportFieldError, Status, StepGroup
from ._models._domain import (
    Asset,
    Process,
    Product,
    ProductRevision,
    ReportHeader,
    SubmitResult,
    Unit,
    UnitsSaved,
    UnitVerification,
)
from ._models._measure import (
    Attachment,
    BooleanMeasurement,
    Chart,
    ChartSeries,
    Loop,
    NumericMeasurement,
    SeqCall,
    StringMeasurement,
    chart_series,
    numeric_measurement,
)
from ._models._report import (
    OUTPUT_ONLY_FIELDS,
    BinaryData,
    Failure,
    MiscInfo,
    ReportAsset,
    SubUnit,
    UURInfo,
    UURReport,
    UUTInfo,
    UUTReport,
    parse_report,
)
from ._models._steps import (
    STEP_CLASSES,
    ActionStep,
    ChartStep,
    GenericStep,
    MultiBooleanStep,
    MultiNumericLimitStep,
    MultiStringStep,
    NumericLimitStep,
    PassFailStep,
    SequenceCallStep,
    Step,
    StepBase,
    StringValueStep,
    UnknownStep,
    XYGraphStep,
)
from ._paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from ._query import Field, Filter, Q, odata_literal
from ._repositories._app import AppRepository
from ._repositories._assets import AssetRepository
from ._repositories._production import ProductionRepository
from ._repositories._products import ProductRepository
from ._repositories._reports import ReportRepository
from ._transport import Timeout
from ._version import __version__

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "OUTPUT_ONLY_FIELDS",
    "STEP_CLASSES",
    "ActionStep",
    "AppRepository",
    "Asset",
    "AssetRepository",
    "Attachment",
    "AuthenticationError",
    "AuthorizationError",
    "BinaryData",
    "BooleanMeasurement",
    "Chart",
    "ChartSeries",
    "ChartStep",
    "Client",
    "CompOp",
    "ConflictError",
    "ConnectError",
    "ConnectionDropped",
    "Failure",
    "Field",
    "Filter",
    "GenericStep",
    "InvalidResponseError",
    "Loop",
    "MiscInfo",
    "MultiBooleanStep",
    "MultiNumericLimitStep",
    "MultiStringStep",
    "NotFoundError",
    "NumericLimitStep",
    "NumericMeasurement",
    "PassFailStep",
    "Process",
    "Product",
    "ProductRepository",
    "ProductRevision",
    "ProductionRepository",
    "PyWATSError",
    "Q",
    "RateLimitedError",
    "ReportAsset",
    "ReportFieldError",
    "ReportHeader",
    "ReportRepository",
    "RequestTimeout",
    "SeqCall",
    "SequenceCallStep",
    "ServerError",
    "Status",
    "Step",
    "StepBase",
    "StepGroup",
    "StringMeasurement",
    "StringValueStep",
    "SubUnit",
    "SubmitResult",
    "Timeout",
    "TransportError",
    "UURInfo",
    "UURReport",
    "UUTInfo",
    "UUTReport",
    "UnexpectedStatusError",
    "Unit",
    "UnitVerification",
    "UnitsRejectedError",
    "UnitsSaved",
    "UnknownStep",
    "ValidationError",
    "XYGraphStep",
    "__version__",
    "chart_series",
    "make_token",
    "normalise_base_url",
    "numeric_measurement",
    "odata_literal",
    "parse_report",
]
