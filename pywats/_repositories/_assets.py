"""Assets: instruments, fixtures and their counters."""

from __future__ import annotations

from collections.abc import Iterator

from .._models._domain import Asset
from .._paging import DEFAULT_PAGE_SIZE
from .._query import Filter
from .._transport import NOT_FOUND
from ._base import Repository, segment


class AssetRepository(Repository):
    """``client.assets``: list, get, save and delete assets."""

    def list(
        self,
        filter: Filter | str | None = None,
        *,
        top: int | None = None,
        orderby: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[Asset]:
        """Lazily iterate assets, page by page."""
        return self._list(
            Asset,
            "/api/Asset",
            operation="assets.list",
            filter=filter,
            orderby=orderby,
            page_size=page_size,
            top=top,
        )

    def get(self, id_or_serial: str) -> Asset | None:
        """The asset by id, else by serial number (None when lenient and unknown)."""
        path = f"/api/Asset/{segment(id_or_serial, 'id_or_serial')}"
        return self._get(Asset, path, operation="assets.get")

    def save(self, asset: Asset, *, idempotency_key: str | None = None) -> Asset:
        """Create or update an asset; returns what the server stored.

        ``idempotency_key`` is sent as the ``Idempotency-Key`` header when given.
        """
        return self._put(
            Asset,
            "/api/Asset",
            asset,
            "asset",
            operation="assets.save",
            idempotency_key=idempotency_key,
        )

    def delete(self, *, asset_id: str | None = None, serial_number: str | None = None) -> bool:
        """Delete one asset by ``asset_id`` or ``serial_number`` (exactly one).

        Returns True when deleted; False when lenient and it did not exist.
        """
        if (asset_id is None) == (serial_number is None):
            raise ValueError("give exactly one of asset_id and serial_number")
        params: dict[str, str | int] = (
            {"id": asset_id} if asset_id is not None else {"serialNumber": serial_number or ""}
        )
        data = self._t.request_json(
            "DELETE",
            "/api/Asset",
            operation="assets.delete",
            params=params,
            allow_empty=True,
            empty_value={},
            lenient_404=True,
        )
        return data is not NOT_FOUND
