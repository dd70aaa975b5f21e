"""Products and their revisions."""

from __future__ import annotations

import builtins
from collections.abc import Iterator

from .._models._domain import Product, ProductRevision
from .._paging import DEFAULT_PAGE_SIZE
from .._query import Filter
from ._base import Repository, segment


class ProductRepository(Repository):
    """``client.products``: list, get and save products and revisions."""

    def list(
        self,
        filter: Filter | str | None = None,
        *,
        top: int | None = None,
        orderby: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[Product]:
        """Lazily iterate products (list view, without revisions), page by page."""
        return self._list(
            Product,
            "/api/Product/Query",
            operation="products.list",
            filter=filter,
            orderby=orderby,
            page_size=page_size,
            top=top,
        )

    def get(self, part_number: str) -> Product | None:
        """The product with its revisions (None when lenient and unknown)."""
        path = f"/api/Product/{segment(part_number, 'part_number')}"
        return self._get(Product, path, operation="products.get")

    def save(self, product: Product, *, idempotency_key: str | None = None) -> Product:
        """Create or update a product by part number; returns what the server stored.

        ``idempotency_key`` is sent as the ``Idempotency-Key`` header when given.
        """
        return self._put(
            Product,
            "/api/Product",
            product,
            "product",
            operation="products.save",
            idempotency_key=idempotency_key,
        )

    def revision(self, part_number: str, revision: str) -> ProductRevision | None:
        """One revision of a product (None when lenient and unknown).

        ``GET /api/Product/{partNumber}/{revision}``, each quoted as one path segment.
        """
        path = f"/api/Product/{segment(part_number, 'part_number')}/{segment(revision, 'revision')}"
        return self._get(ProductRevision, path, operation="products.revision")

    def revisions(self, part_number: str) -> builtins.list[ProductRevision]:
        """Every revision of a product (from the product itself)."""
        product = self.get(part_number)
        return [] if product is None else list(product.revisions or [])

    def save_revision(
        self, revision: ProductRevision, *, idempotency_key: str | None = None
    ) -> ProductRevision:
        """Create or update a revision; the product must exist.

        ``idempotency_key`` is sent as the ``Idempotency-Key`` header when given.
        """
        return self._put(
            ProductRevision,
            "/api/Product/Revision",
            revision,
            "revision",
            operation="products.save_revision",
            idempotency_key=idempotency_key,
        )
