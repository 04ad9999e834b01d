"""The two databases the query store runs on: SQLite (default, embedded) and PostgreSQL (shared, served).

Why one SQL text for both: the store's statements are plain (an upsert, index range reads); only a few
things differ and are said here: how to connect, the parameter mark, how to lock before reading the
checkpoint, how to read a field of the JSON value, and how keys are stored (PostgreSQL's TEXT cannot hold
the NUL bytes of Fabric composite keys, so there the key is BYTEA; ids are compared bytewise, ``COLLATE
"C"``, as LevelDB orders them). Besides the id index, one index serves the filter every aggregator's page
uses, a manager's devices (``/devices?manager=``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Protocol

from gateway.errors import ConfigError
from gateway.local_db import write_ahead_log

_TABLES = """
CREATE TABLE IF NOT EXISTS checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    next_block BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    key {key_type} PRIMARY KEY,
    kind TEXT {collate} NOT NULL,
    k1 TEXT {collate} NOT NULL,
    k2 TEXT {collate} NOT NULL,
    value TEXT NOT NULL,
    block BIGINT NOT NULL,
    tx_id TEXT NOT NULL
){records_options};
CREATE INDEX IF NOT EXISTS records_by_kind ON records (kind, k1, k2);
CREATE TABLE IF NOT EXISTS transactions (
    block BIGINT NOT NULL,
    idx INTEGER NOT NULL,
    tx_id TEXT NOT NULL,
    header_type TEXT NOT NULL,
    validation_code TEXT NOT NULL,
    creator_msp TEXT NOT NULL,
    endorsers TEXT NOT NULL,
    function TEXT NOT NULL,
    event TEXT NOT NULL,
    writes INTEGER NOT NULL,
    PRIMARY KEY (block, idx)
);
CREATE INDEX IF NOT EXISTS transactions_by_id ON transactions (tx_id);
CREATE INDEX IF NOT EXISTS records_by_manager ON records (kind, {manager}, k1)
"""


class Backend(Protocol):
    name: str

    def connect(self) -> Any: ...

    def schema(self) -> list[str]: ...

    def sql(self, text: str) -> str: ...

    def begin_write(self, db: Any) -> None: ...

    def json_field(self, name: str) -> str: ...

    def key(self, composite: str) -> Any: ...


class SqliteBackend:
    """A file; WAL mode lets requests read while the follower writes. ``BEGIN IMMEDIATE`` takes the
    file's write lock before the checkpoint is read, so two processes cannot both apply a block."""

    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=True)
        write_ahead_log(db)
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def schema(self) -> list[str]:
        text = _TABLES.format(key_type="TEXT", collate="", records_options=" WITHOUT ROWID",
                              manager=self.json_field("manager"))
        return [s for s in text.split(";") if s.strip()]

    def sql(self, text: str) -> str:
        return text

    def begin_write(self, db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")

    def json_field(self, name: str) -> str:
        return f"json_extract(value, '$.{name}')"

    def key(self, composite: str) -> str:
        return composite


class PostgresBackend:
    """A PostgreSQL database named by a ``postgresql://`` URL (psycopg 3). The checkpoint row is locked
    (``SELECT … FOR UPDATE``) before it is read, so two services sharing the database apply a block once."""

    name = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url

    def connect(self) -> Any:
        try:
            import psycopg
        except ImportError:  # pragma: no cover - psycopg is a dependency of the project
            raise ConfigError("FLEXLEDGER_QUERY_DB: a PostgreSQL store needs the psycopg package") from None
        try:
            return psycopg.connect(self.url, autocommit=True)
        except psycopg.Error as exc:
            raise ConfigError(f"FLEXLEDGER_QUERY_DB: cannot connect to PostgreSQL: {exc}") from None

    def schema(self) -> list[str]:
        text = _TABLES.format(key_type="BYTEA", collate='COLLATE "C"', records_options="",
                              manager=self.json_field("manager"))
        return [s for s in text.split(";") if s.strip()]

    def sql(self, text: str) -> str:
        return text.replace("?", "%s")

    def begin_write(self, db: Any) -> None:
        db.execute("BEGIN")
        db.execute("SELECT next_block FROM checkpoint WHERE id = 0 FOR UPDATE")

    def json_field(self, name: str) -> str:
        return f"(value::jsonb ->> '{name}')"

    def key(self, composite: str) -> bytes:
        return composite.encode()


def backend_for(spec: str, default_file: Path) -> Backend:
    """``postgresql://…`` (or ``postgres://…``): PostgreSQL; a path: that SQLite file; empty: the default."""
    if spec.startswith(("postgresql://", "postgres://")):
        return PostgresBackend(spec)
    if "://" in spec:
        raise ConfigError(f"FLEXLEDGER_QUERY_DB: {spec.split('://')[0]!r} databases are not supported; "
                          "give a SQLite file path, a postgresql:// URL, or 'off'")
    return SqliteBackend(Path(spec) if spec.strip() else default_file)
