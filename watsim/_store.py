"""The simulator's state: reports, products, units, serial numbers, assets.

Everything lives in dicts behind one lock. With a database path every change is also written
through to one SQLite table (``kind, key, seq, value``) in the same locked section, and loaded
back at start, so a restarted simulator (or one killed with SIGKILL) still has every report it
answered 200 for.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._timeutil import utc_now_text

_DDL = """
CREATE TABLE IF NOT EXISTS state (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (kind, key)
)
"""
_KINDS = ("report", "product", "revision", "unit", "asset", "sncounter")

DEFAULT_SN_TYPES: tuple[dict[str, Any], ...] = (
    {
        "name": "Default",
        "description": "Sequential serial numbers",
        "format": "SN-{0:000000}",
        "regEx": r"^SN-\d{6}$",
        "identifier": 0,
        "identifierName": "SerialNumber",
    },
    {
        "name": "MAC",
        "description": "MAC addresses",
        "format": "00-50-C2-{hex}",
        "regEx": r"^00-50-C2-[0-9A-F]{2}-[0-9A-F]{2}-[0-9A-F]{2}$",
        "identifier": 1,
        "identifierName": "MAC",
    },
)
DEFAULT_ASSET_TYPES: tuple[dict[str, Any], ...] = (
    {
        "typeId": "5a1d7c2e-0000-4000-8000-000000000001",
        "typeName": "Instrument",
        "runningCountLimit": 10000,
        "totalCountLimit": None,
        "maintenanceInterval": None,
        "calibrationInterval": 365.0,
        "warningThreshold": 80.0,
        "alarmThreshold": 100.0,
        "isReadonly": False,
        "icon": None,
    },
    {
        "typeId": "5a1d7c2e-0000-4000-8000-000000000002",
        "typeName": "Fixture",
        "runningCountLimit": 5000,
        "totalCountLimit": 100000,
        "maintenanceInterval": 90.0,
        "calibrationInterval": None,
        "warningThreshold": 80.0,
        "alarmThreshold": 100.0,
        "isReadonly": False,
        "icon": None,
    },
)


@dataclass
class StoredReport:
    """One stored report: the JSON text as last posted, its parsed form and its counters.

    ``seq`` is the order first received; ``stamp`` the order last processed (the header's
    ``timeStamp``).
    """

    key: str
    raw: str
    body: dict[str, Any]
    receive_count: int
    seq: int
    stamp: int = 0


class Store:
    """Thread-safe simulator state with optional write-through SQLite persistence."""

    def __init__(self, db: str | Path | None = None) -> None:
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._seq = 0
        self._clear_memory()
        if db is not None:
            self._db = sqlite3.connect(str(db), isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_DDL)
            self._load()

    # -- plumbing ---------------------------------------------------------------------------

    def _clear_memory(self) -> None:
        self.reports: dict[str, StoredReport] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.revisions: dict[tuple[str, str], dict[str, Any]] = {}
        self.units: dict[tuple[str, str], dict[str, Any]] = {}
        self.assets: dict[str, dict[str, Any]] = {}
        self.sn_counters: dict[str, int] = {}

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _persist(self, kind: str, key: str, seq: int, value: Any) -> None:
        if self._db is not None:
            self._db.execute(
                "INSERT OR REPLACE INTO state (kind, key, seq, value) VALUES (?, ?, ?, ?)",
                (kind, key, seq, json.dumps(value)),
            )

    def _unpersist(self, kind: str, key: str) -> None:
        if self._db is not None:
            self._db.execute("DELETE FROM state WHERE kind = ? AND key = ?", (kind, key))

    def _load(self) -> None:
        assert self._db is not None
        rows = self._db.execute("SELECT kind, key, seq, value FROM state ORDER BY seq").fetchall()
        for kind, key, seq, text in rows:
            value = json.loads(text)
            self._seq = max(self._seq, seq)
            if kind == "report":
                self.reports[key] = StoredReport(
                    key,
                    value["raw"],
                    json.loads(value["raw"]),
                    value["receive_count"],
                    seq,
                    value.get("stamp", seq),
                )
                self._seq = max(self._seq, self.reports[key].stamp)
            elif kind == "product":
                self.products[key] = value
            elif kind == "revision":
                self.revisions[tuple(json.loads(key))] = value
            elif kind == "unit":
                self.units[tuple(json.loads(key))] = value
            elif kind == "asset":
                self.assets[key] = value
            elif kind == "sncounter":
                self.sn_counters[key] = int(value)

    def close(self) -> None:
        """Close the database (memory state stays readable)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def reset(self) -> None:
        """Forget everything (memory and database)."""
        with self._lock:
            self._clear_memory()
            if self._db is not None:
                self._db.execute("DELETE FROM state")

    # -- reports ----------------------------------------------------------------------------

    def put_report(self, key: str, raw: str, body: dict[str, Any]) -> StoredReport:
        """Upsert a report by canonical id; returns the stored record (count incremented)."""
        with self._lock:
            old = self.reports.get(key)
            stamp = self._next_seq()
            if old is None:
                stored = StoredReport(key, raw, body, 1, stamp, stamp)
            else:
                stored = StoredReport(key, raw, body, old.receive_count + 1, old.seq, stamp)
            self._persist(
                "report",
                key,
                stored.seq,
                {"raw": raw, "receive_count": stored.receive_count, "stamp": stamp},
            )
            self.reports[key] = stored
            return stored

    def get_report(self, key: str) -> StoredReport | None:
        """The stored report with this canonical id, or None."""
        with self._lock:
            return self.reports.get(key)

    def report_list(self) -> list[StoredReport]:
        """All stored reports in the order they were first received."""
        with self._lock:
            return sorted(self.reports.values(), key=lambda r: r.seq)

    def receive_counts(self) -> dict[str, int]:
        """Report id -> number of times stored."""
        with self._lock:
            return {key: rep.receive_count for key, rep in self.reports.items()}

    # -- products ---------------------------------------------------------------------------

    def put_product(self, product: Mapping[str, Any]) -> dict[str, Any]:
        """Create or update a product by part number (revisions are kept separately)."""
        with self._lock:
            pn = product["partNumber"]
            old = self.products.get(pn)
            saved = {k: copy.deepcopy(v) for k, v in product.items() if k != "revisions"}
            saved.setdefault("state", 1)
            saved.setdefault("nonSerial", False)
            saved["productId"] = saved.get("productId") or (
                old["productId"] if old else str(uuid.uuid4())
            )
            saved["_seq"] = old["_seq"] if old else self._next_seq()
            self.products[pn] = saved
            self._persist("product", pn, saved["_seq"], saved)
            return self.product_view(pn, detail=True) or {}

    def product_view(self, pn: str, *, detail: bool) -> dict[str, Any] | None:
        """A product as the API returns it (with revisions when ``detail``)."""
        with self._lock:
            stored = self.products.get(pn)
            if stored is None:
                return None
            view = {k: copy.deepcopy(v) for k, v in stored.items() if not k.startswith("_")}
            if detail:
                revs = [r for (p, _), r in self.revisions.items() if p == pn]
                revs.sort(key=lambda r: r["_seq"])
                view["revisions"] = [_public(r) for r in revs]
                view.setdefault("tags", [])
            return view

    def product_list(self) -> list[dict[str, Any]]:
        """All products (list view) in creation order."""
        with self._lock:
            ordered = sorted(self.products.values(), key=lambda p: p["_seq"])
            fields = (
                "partNumber",
                "name",
                "description",
                "nonSerial",
                "state",
                "productId",
                "productCategoryName",
            )
            return [{f: p.get(f) for f in fields} for p in ordered]

    def put_revision(self, revision: Mapping[str, Any]) -> dict[str, Any]:
        """Create or update a product revision; the product must exist (KeyError otherwise)."""
        with self._lock:
            pn, rev = revision["partNumber"], revision["revision"]
            product = self.products[pn]
            old = self.revisions.get((pn, rev))
            saved = {k: copy.deepcopy(v) for k, v in revision.items()}
            saved.setdefault("state", 1)
            saved["productId"] = product["productId"]
            saved["productRevisionId"] = saved.get("productRevisionId") or (
                old["productRevisionId"] if old else str(uuid.uuid4())
            )
            saved["_seq"] = old["_seq"] if old else self._next_seq()
            self.revisions[(pn, rev)] = saved
            self._persist("revision", json.dumps([pn, rev]), saved["_seq"], saved)
            return _public(saved)

    def revision_view(self, pn: str, rev: str) -> dict[str, Any] | None:
        """One product revision, or None."""
        with self._lock:
            stored = self.revisions.get((pn, rev))
            return None if stored is None else _public(stored)

    # -- production -------------------------------------------------------------------------

    def put_units(self, units: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
        """Upsert units by (serialNumber, partNumber); returns (inserted, updated)."""
        inserted = updated = 0
        with self._lock:
            for unit in units:
                key = (unit["serialNumber"], unit["partNumber"])
                old = self.units.get(key)
                saved = {**(old or {}), **copy.deepcopy(dict(unit))}
                if old is None:
                    inserted += 1
                    saved.setdefault("unitPhaseId", 2)
                    saved.setdefault("unitPhase", "Under production")
                    saved.setdefault("serialDate", utc_now_text())
                    saved["_seq"] = self._next_seq()
                else:
                    updated += 1
                self.units[key] = saved
                self._persist("unit", json.dumps(list(key)), saved["_seq"], saved)
        return inserted, updated

    def unit_view(self, sn: str, pn: str) -> dict[str, Any] | None:
        """One unit, or None."""
        with self._lock:
            stored = self.units.get((sn, pn))
            return None if stored is None else _public(stored)

    def take_serials(self, type_name: str, quantity: int) -> list[str]:
        """Allocate ``quantity`` new serial numbers of a type (never handed out twice)."""
        with self._lock:
            start = self.sn_counters.get(type_name, 0)
            end = start + quantity
            self.sn_counters[type_name] = end
            self._persist("sncounter", type_name, 0, end)
            return [_format_serial(type_name, n) for n in range(start + 1, end + 1)]

    # -- assets -----------------------------------------------------------------------------

    def find_asset(self, ident: str) -> dict[str, Any] | None:
        """An asset by assetId (first) or serial number, or None."""
        with self._lock:
            if ident in self.assets:
                return _public(self.assets[ident])
            for asset in self.assets.values():
                if asset.get("serialNumber") == ident:
                    return _public(asset)
            return None

    def put_asset(self, asset: Mapping[str, Any]) -> dict[str, Any]:
        """Create or update an asset (matched by assetId, else serialNumber)."""
        with self._lock:
            existing = None
            if asset.get("assetId") and asset["assetId"] in self.assets:
                existing = self.assets[asset["assetId"]]
            else:
                for candidate in self.assets.values():
                    if candidate.get("serialNumber") == asset["serialNumber"]:
                        existing = candidate
                        break
            if existing is None:
                saved = copy.deepcopy(dict(asset))
                saved["assetId"] = asset.get("assetId") or str(uuid.uuid4())
                saved.setdefault("state", 1)
                saved.setdefault("firstSeenDate", utc_now_text())
                saved.setdefault("totalCount", 0)
                saved.setdefault("runningCount", 0)
                saved["_seq"] = self._next_seq()
            else:
                saved = {**existing, **copy.deepcopy(dict(asset))}
                saved["assetId"] = existing["assetId"]
            self.assets[saved["assetId"]] = saved
            self._persist("asset", saved["assetId"], saved["_seq"], saved)
            return _public(saved)

    def delete_asset(self, *, asset_id: str | None, serial: str | None) -> bool:
        """Delete one asset by id or serial number; False when there is none."""
        with self._lock:
            target = None
            for key, asset in self.assets.items():
                if (asset_id is not None and key == asset_id) or (
                    serial is not None and asset.get("serialNumber") == serial
                ):
                    target = key
                    break
            if target is None:
                return False
            del self.assets[target]
            self._unpersist("asset", target)
            return True

    def asset_list(self) -> list[dict[str, Any]]:
        """All assets in creation order."""
        with self._lock:
            return [_public(a) for a in sorted(self.assets.values(), key=lambda a: a["_seq"])]


def _public(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in item.items() if not k.startswith("_")}


def _format_serial(type_name: str, number: int) -> str:
    if type_name == "MAC":
        digits = f"{number:06X}"
        return f"00-50-C2-{digits[0:2]}-{digits[2:4]}-{digits[4:6]}"
    if type_name == "Default":
        return f"SN-{number:06d}"
    return f"{type_name}-{number:06d}"
