"""Named, ordered schema migrations, applied in the caller's ``BEGIN IMMEDIATE`` transaction.

sqlite-utils' :class:`~sqlite_utils.Migrations` keeps the ledger (``_sqlite_migrations``: set,
name, time applied); each migration executes DDL constants from ``_schema.py`` and sets
``PRAGMA user_version`` so a newer file is recognised without reading the ledger.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path

from sqlite_utils import Database, Migrations

from ._codec import iso_utc
from ._errors import NewerSchemaError
from ._schema import DDL_V1, MIGRATION_SET, SCHEMA_VERSION

MIGRATIONS = Migrations(MIGRATION_SET)


@MIGRATIONS(name="0001_initial")
def _m0001_initial(db: Database) -> None:
    for statement in DDL_V1:
        db.execute(statement)
    db.execute("INSERT INTO meta (name, value) VALUES ('journal_id', ?)", [str(uuid.uuid4())])
    db.execute("INSERT INTO meta (name, value) VALUES ('created_at', ?)", [iso_utc(time.time())])
    db.execute("PRAGMA user_version = 1")


KNOWN_MIGRATIONS = ("0001_initial",)


def _database(conn: sqlite3.Connection) -> Database:
    # No plugins and no recursive_triggers pragma: the connection stays exactly as we set it up.
    return Database(conn, recursive_triggers=False, execute_plugins=False)


def check_not_newer(conn: sqlite3.Connection, path: Path) -> bool:
    """Raise :class:`NewerSchemaError` for a newer file; return True if migrations are pending."""
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    applied = [m.name for m in MIGRATIONS.applied(_database(conn))]
    unknown = [name for name in applied if name not in KNOWN_MIGRATIONS]
    if found > SCHEMA_VERSION or unknown:
        raise NewerSchemaError(path, found, SCHEMA_VERSION, unknown)
    return len(applied) < len(KNOWN_MIGRATIONS)


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Apply pending migrations; the caller holds a ``BEGIN IMMEDIATE`` transaction."""
    if check_not_newer(conn, path):
        MIGRATIONS.apply(_database(conn))


def applied_migrations(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """The ledger: ``(name, applied_at)`` in the order applied."""
    return [(m.name, m.applied_at) for m in MIGRATIONS.applied(_database(conn))]
