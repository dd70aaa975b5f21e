"""Named, ordered schema migrations, applied in the caller's ``BEGIN IMMEDIATE`` transaction.

sqlite-utils' ``Migrations`` keeps the ledger (``_sqlite_migrations``: set, name, time applied);
each migration executes DDL constants from ``_schema.py`` and sets ``PRAGMA user_version``, so
opening an up-to-date (or newer) file needs only that pragma. sqlite-utils is imported only when
a migration is pending or the ledger is read: importing it pulls in numpy when that is installed
(~20 MB RSS and ~0.25 s), which the open-time and memory budgets cannot afford.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._codec import iso_utc
from ._errors import NewerSchemaError
from ._schema import DDL_V1, DDL_V2, DDL_V3, DDL_V4, MIGRATION_SET, SCHEMA_VERSION

if TYPE_CHECKING:
    from sqlite_utils import Database


def _m0001_initial(db: Database) -> None:
    for statement in DDL_V1:
        db.execute(statement)
    db.execute("INSERT INTO meta (name, value) VALUES ('journal_id', ?)", [str(uuid.uuid4())])
    db.execute("INSERT INTO meta (name, value) VALUES ('created_at', ?)", [iso_utc(time.time())])
    db.execute("PRAGMA user_version = 1")


def _m0002_resolution(db: Database) -> None:
    # The states CHECK cannot be altered in place: the table is copied (one pass, once).
    for statement in DDL_V2:
        db.execute(statement)
    db.execute("PRAGMA user_version = 2")


def _m0003_head(db: Database) -> None:
    # The chain head and the counters become one row: one WAL page per commit instead of two.
    for statement in DDL_V3:
        db.execute(statement)
    db.execute("PRAGMA user_version = 3")


def _m0004_report_list(db: Database) -> None:
    # Two indexes of report_index for the station page's list (~1 s on a million events).
    for statement in DDL_V4:
        db.execute(statement)
    db.execute("PRAGMA user_version = 4")


KNOWN_MIGRATIONS = (
    ("0001_initial", _m0001_initial),
    ("0002_resolution", _m0002_resolution),
    ("0003_head", _m0003_head),
    ("0004_report_list", _m0004_report_list),
)
"""(name, function) in order; the position + 1 is the ``user_version`` each one sets."""


@cache
def _migrations() -> Any:
    from sqlite_utils import Migrations

    migrations = Migrations(MIGRATION_SET)
    for name, fn in KNOWN_MIGRATIONS:
        migrations(name=name)(fn)
    return migrations


def _database(conn: sqlite3.Connection) -> Database:
    from sqlite_utils import Database

    # No plugins and no recursive_triggers pragma: the connection stays exactly as we set it up.
    return Database(conn, recursive_triggers=False, execute_plugins=False)


def check_not_newer(conn: sqlite3.Connection, path: Path) -> bool:
    """Raise :class:`NewerSchemaError` for a newer file; return True if migrations are pending."""
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if found > SCHEMA_VERSION:
        unknown = [
            name for name, _ in applied_migrations(conn) if name not in dict(KNOWN_MIGRATIONS)
        ]
        raise NewerSchemaError(path, found, SCHEMA_VERSION, unknown)
    return found < SCHEMA_VERSION


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Apply pending migrations; the caller holds a ``BEGIN IMMEDIATE`` transaction."""
    if check_not_newer(conn, path):
        _migrations().apply(_database(conn))


def applied_migrations(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """The ledger: ``(name, applied_at)`` in the order applied."""
    return [(m.name, m.applied_at) for m in _migrations().applied(_database(conn))]
