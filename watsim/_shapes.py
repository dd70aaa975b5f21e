"""The answer shapes of the published contract: the fields each Swagger definition has.

The real server deserialises a request body into its own model, so unknown fields are dropped
and names match case-insensitively (ASP.NET's JSON reader); its answers carry only the model's
fields. The simulator does the same with these lists, copied from the Swagger file (a test
checks them against it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._errors import ApiError

#: ``Mes.Product.Public.Product``.
PRODUCT_FIELDS: tuple[str, ...] = (
    "productId",
    "nonSerial",
    "partNumber",
    "name",
    "description",
    "state",
    "xmlData",
    "productCategoryId",
    "productCategoryName",
    "revisions",
    "tags",
)
#: ``Mes.Product.ProductView`` (``GET /api/Product/Query``).
PRODUCT_VIEW_FIELDS: tuple[str, ...] = ("partNumber", "name", "category", "nonSerial", "state")
#: ``Mes.Product.Public.ProductRevision``; note the capital ``PartNumber``.
REVISION_FIELDS: tuple[str, ...] = (
    "productRevisionId",
    "productId",
    "revision",
    "name",
    "description",
    "state",
    "xmlData",
    "PartNumber",
    "tags",
)
#: ``Mes.Production.Public.Unit``.
UNIT_FIELDS: tuple[str, ...] = (
    "serialNumber",
    "partNumber",
    "revision",
    "parentSerialNumber",
    "batchNumber",
    "serialDate",
    "currentLocation",
    "xmlData",
    "unitPhaseId",
    "unitPhase",
    "processCode",
    "tags",
    "productRevision",
    "product",
    "subUnits",
)
#: ``Mes.Asset.OData.Asset``.
ASSET_FIELDS: tuple[str, ...] = (
    "assetId",
    "parentAssetId",
    "assetName",
    "serialNumber",
    "parentSerialNumber",
    "partNumber",
    "revision",
    "typeId",
    "state",
    "description",
    "location",
    "firstSeenDate",
    "lastSeenDate",
    "lastMaintenanceDate",
    "nextMaintenanceDate",
    "lastCalibrationDate",
    "nextCalibrationDate",
    "totalCount",
    "runningCount",
    "xmlData",
)


def project(item: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """``item`` reduced to the definition's ``fields`` that it has."""
    return {name: item[name] for name in fields if name in item}


def spec_keys(body: object, fields: Sequence[str], where: str) -> dict[str, Any]:
    """A request object read like the server reads it: names matched case-insensitively onto
    the definition's ``fields``, unknown names dropped; ApiError(400) when not an object."""
    if not isinstance(body, dict):
        raise ApiError(400, f"{where}: expected a JSON object")
    by_lower = {name.lower(): name for name in fields}
    known: dict[str, Any] = {}
    for key, value in body.items():
        name = by_lower.get(str(key).lower())
        if name is not None:
            known[name] = value
    return known
