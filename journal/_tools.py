"""Read-only tooling for auditors: run a SELECT against a journal, list its tables.

Uses sqlite-utils' ``Database.query`` on a connection opened read-only (``mode=ro``) and with
``PRAGMA query_only``, so nothing typed here can change the journal.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._store import translate

if TYPE_CHECKING:
    from sqlite_utils import Database


def _open_ro(path: Path) -> Database:
    from sqlite_utils import Database  # heavy import (see _migrations.py), only when used

    if not path.exists():
        raise FileNotFoundError(f"no journal at {str(path)!r}")
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    conn.execute("PRAGMA query_only = ON")
    conn.execute("PRAGMA busy_timeout = 30000")
    return Database(conn, recursive_triggers=False, execute_plugins=False)


def query(
    path: str | Path, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
) -> Iterator[dict[str, Any]]:
    """Stream the rows of a read-only SQL query on the journal at ``path`` as dicts."""
    p = Path(path)
    db = _open_ro(p)
    try:
        yield from db.query(sql, params)
    except sqlite3.Error as exc:
        raise translate(exc, p) from exc
    finally:
        db.conn.close()


def table_counts(path: str | Path) -> dict[str, int]:
    """Row count of every table in the journal (a quick inventory for ``inspect``)."""
    p = Path(path)
    db = _open_ro(p)
    try:
        return {name: db[name].count for name in db.table_names()}
    except sqlite3.Error as exc:
        raise translate(exc, p) from exc
    finally:
        db.conn.close()
