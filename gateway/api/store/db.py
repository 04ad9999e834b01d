"""The off-chain query store: the chaincode's world state, mirrored from committed blocks into SQLite.

Why: the chaincode's list functions range-scan LevelDB and the REST layer used to cut pages out of the
whole list, so a page of bids cost as much as all bids. Here every ledger record is one row keyed by its
composite key, with an index on (kind, first id, second id), so a page is one index range read whatever
the ledger holds.

Why it can be trusted to be complete and exact: a block is applied in one SQLite transaction that also
moves the checkpoint (``next_block``) from N to N+1, and only if the checkpoint is at N. A crash between
blocks resumes at the first block not applied; a block delivered twice (a replay after a reconnect, or two
services sharing one file) is skipped. Only the writes of VALID transactions are applied, in block order,
so the rows equal the peer's world state at that height.

It is a read model only: nothing here is ever written back to the ledger.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.deliver import DecodedBlock

#: Fabric composite keys: ``\x00kind\x00id1\x00id2\x00``
_SEP = "\x00"

SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    next_block INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    k1 TEXT NOT NULL,
    k2 TEXT NOT NULL,
    value TEXT NOT NULL,
    block INTEGER NOT NULL,
    tx_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_by_kind ON records (kind, k1, k2);
CREATE TABLE IF NOT EXISTS transactions (
    block INTEGER NOT NULL,
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
"""


def split_key(composite: str) -> tuple[str, str, str]:
    """(kind, first id, second id) of a composite key; plain keys become (key, "", "")."""
    if not composite.startswith(_SEP):
        return composite, "", ""
    parts = composite[1:].split(_SEP)
    kind, attrs = parts[0], parts[1:-1]
    return kind, attrs[0] if attrs else "", _SEP.join(attrs[1:])


@dataclass(frozen=True)
class StorePage:
    items: list[Any]
    next_bookmark: str | None


@dataclass(frozen=True)
class StoreStatus:
    next_block: int
    records: int
    transactions: int


class QueryStore:
    """One SQLite file per organisation; safe to share between threads and between processes."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._applied = threading.Condition()
        self._db().executescript(SCHEMA)  # idempotent; executescript commits on its own
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO checkpoint (id, next_block) VALUES (0, 0)")

    # --- connections ------------------------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=True)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE takes the file's write lock before reading the checkpoint."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # --- the checkpoint and applying blocks -------------------------------------------------------------
    @property
    def next_block(self) -> int:
        """The first block not yet applied (the store mirrors the ledger at height ``next_block``)."""
        return int(self._db().execute("SELECT next_block FROM checkpoint WHERE id = 0").fetchone()[0])

    def apply(self, block: DecodedBlock) -> bool:
        """Apply one block if it is the next one; False (and nothing written) for a block seen before.

        A block *after* the next one means one was skipped: refused, because the store would then miss
        that block's writes for good.
        """
        with self._write() as db:
            expected = int(db.execute("SELECT next_block FROM checkpoint WHERE id = 0").fetchone()[0])
            if block.number < expected:
                return False
            if block.number > expected:
                raise ValueError(f"block {block.number} arrived before block {expected}: refusing a gap")
            for tx in block.transactions:
                db.execute(
                    "INSERT INTO transactions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (block.number, tx.index, tx.tx_id, tx.header_type, tx.validation_code, tx.creator_msp,
                     json.dumps(list(tx.endorsers)), tx.function, tx.event_name, len(tx.writes)),
                )
                for write in tx.writes:
                    if write.value is None:
                        db.execute("DELETE FROM records WHERE key = ?", (write.key,))
                        continue
                    kind, k1, k2 = split_key(write.key)
                    db.execute(
                        "INSERT INTO records (key, kind, k1, k2, value, block, tx_id) VALUES (?, ?, ?, ?, ?, ?, ?)"
                        " ON CONFLICT (key) DO UPDATE SET value = excluded.value, block = excluded.block,"
                        " tx_id = excluded.tx_id",
                        (write.key, kind, k1, k2, write.value.decode("utf-8", errors="replace"), block.number,
                         tx.tx_id),
                    )
            db.execute("UPDATE checkpoint SET next_block = ? WHERE id = 0", (block.number + 1,))
        with self._applied:
            self._applied.notify_all()
        return True

    def wait_for(self, height: int, timeout: float) -> bool:
        """Wait until the store holds every block below ``height``; False after ``timeout`` seconds.

        Another process may be the one applying blocks, so the wait also re-reads the file now and then.
        """
        deadline = time.monotonic() + timeout
        while self.next_block < height:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with self._applied:
                self._applied.wait(min(left, 0.1))
        return True

    # --- reads --------------------------------------------------------------------------------------------
    def page(self, kind: str, size: int, after: str | None = None, parent: str | None = None,
             filters: dict[str, str] | None = None) -> StorePage:
        """Records of ``kind`` in id order, ``size`` at a time, after the id ``after``.

        ``parent`` fixes the first id (the market of a bid) and pages over the second; filters compare a
        top-level field of the record's JSON with a string. The bookmark is the last id returned.
        """
        column = "k2" if parent is not None else "k1"
        sql = f"SELECT value, {column} FROM records WHERE kind = ?"
        args: list[Any] = [kind]
        if parent is not None:
            sql += " AND k1 = ?"
            args.append(parent)
        if after:
            sql += f" AND {column} > ?"
            args.append(after)
        for name, value in sorted((filters or {}).items()):
            if not name.isidentifier():
                raise ValueError(f"not a field name: {name!r}")
            sql += f" AND json_extract(value, '$.{name}') = ?"
            args.append(value)
        sql += f" ORDER BY {column} LIMIT ?"
        args.append(size + 1)
        rows = self._db().execute(sql, args).fetchall()
        more = len(rows) > size
        rows = rows[:size]
        return StorePage([json.loads(v) for v, _ in rows], rows[-1][1] if more and rows else None)

    def get(self, kind: str, k1: str = "", k2: str = "") -> Any:
        """One record by its ids, or None."""
        row = self._db().execute("SELECT value FROM records WHERE kind = ? AND k1 = ? AND k2 = ?",
                                 (kind, k1, k2)).fetchone()
        return json.loads(row[0]) if row else None

    def all(self, kind: str, parent: str | None = None) -> list[Any]:
        """Every record of ``kind`` (under ``parent``) in key order: what the chaincode's scan returns."""
        sql, args = "SELECT value FROM records WHERE kind = ?", [kind]
        if parent is not None:
            sql += " AND k1 = ?"
            args.append(parent)
        return [json.loads(v) for (v,) in self._db().execute(sql + " ORDER BY key", args)]

    def transactions(self, tx_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        sql = "SELECT block, idx, tx_id, header_type, validation_code, creator_msp, endorsers, function, event," \
              " writes FROM transactions"
        args: list[str] = []
        if tx_ids is not None:
            args = list(tx_ids)
            sql += f" WHERE tx_id IN ({','.join('?' * len(args))})"
        names = ("block", "index", "tx_id", "header_type", "validation_code", "creator_msp", "endorsers",
                 "function", "event", "writes")
        out = []
        for row in self._db().execute(sql + " ORDER BY block, idx", args):
            record = dict(zip(names, row, strict=True))
            record["endorsers"] = json.loads(record["endorsers"])
            out.append(record)
        return out

    def status(self) -> StoreStatus:
        db = self._db()
        return StoreStatus(
            next_block=self.next_block,
            records=int(db.execute("SELECT count(*) FROM records").fetchone()[0]),
            transactions=int(db.execute("SELECT count(*) FROM transactions").fetchone()[0]),
        )
