"""The off-chain query store: the chaincode's world state, mirrored from committed blocks into SQL.

Why: the chaincode's list functions range-scan LevelDB and the REST layer used to cut pages out of the
whole list, so a page of bids cost as much as all bids. Here every ledger record is one row keyed by its
composite key, with an index on (kind, first id, second id), so a page is one index range read whatever
the ledger holds.

Why it can be trusted to be complete and exact: a block is applied in one database transaction that also
moves the checkpoint (``next_block``) from N to N+1, and only if the checkpoint is at N (the database
transaction locks the checkpoint before reading it: :mod:`restapi.store.backends`). A crash between
blocks resumes at the first block not applied; a block delivered twice (a replay after a reconnect, or two
services sharing one file) is skipped. Only the writes of VALID transactions are applied, in block order,
so the rows equal the peer's world state at that height.

It is a read model only: nothing here is ever written back to the ledger.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.deliver import DecodedBlock
from restapi.store.backends import Backend, SqliteBackend

#: Fabric composite keys: ``\x00kind\x00id1\x00id2\x00``
_SEP = "\x00"

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
    """One database per organisation (a SQLite file, or PostgreSQL); safe to share between threads and
    between processes."""

    def __init__(self, where: Path | str | Backend) -> None:
        self.backend: Backend = SqliteBackend(Path(where)) if isinstance(where, str | Path) else where
        self.path = getattr(self.backend, "path", None)
        self._local = threading.local()
        self._applied = threading.Condition()
        db = self._db()
        for statement in self.backend.schema():  # idempotent
            db.execute(statement)
        with self._write() as db:
            self._exec(db, "INSERT INTO checkpoint (id, next_block) VALUES (0, 0) ON CONFLICT (id) DO NOTHING")

    # --- connections ------------------------------------------------------------------------------------
    def _db(self) -> Any:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self.backend.connect()
        return db

    def _exec(self, db: Any, sql: str, args: tuple | list = ()) -> Any:
        return db.execute(self.backend.sql(sql), args)

    def _read(self, sql: str, args: tuple | list = ()) -> list[tuple]:
        return list(self._exec(self._db(), sql, args).fetchall())

    @contextmanager
    def _write(self) -> Iterator[Any]:
        """One write transaction, holding the lock that orders writers before the checkpoint is read."""
        db = self._db()
        self.backend.begin_write(db)
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
        return int(self._read("SELECT next_block FROM checkpoint WHERE id = 0")[0][0])

    def apply(self, block: DecodedBlock) -> bool:
        """Apply one block if it is the next one; False (and nothing written) for a block seen before.

        A block *after* the next one means one was skipped: refused, because the store would then miss
        that block's writes for good.
        """
        with self._write() as db:
            expected = int(self._exec(db, "SELECT next_block FROM checkpoint WHERE id = 0").fetchone()[0])
            if block.number < expected:
                return False
            if block.number > expected:
                raise ValueError(f"block {block.number} arrived before block {expected}: refusing a gap")
            for tx in block.transactions:
                self._exec(
                    db, "INSERT INTO transactions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (block.number, tx.index, tx.tx_id, tx.header_type, tx.validation_code, tx.creator_msp,
                     json.dumps(list(tx.endorsers)), tx.function, tx.event_name, len(tx.writes)),
                )
                for write in tx.writes:
                    if write.value is None:
                        self._exec(db, "DELETE FROM records WHERE key = ?", (self.backend.key(write.key),))
                        continue
                    kind, k1, k2 = split_key(write.key)
                    self._exec(
                        db, "INSERT INTO records (key, kind, k1, k2, value, block, tx_id) VALUES (?, ?, ?, ?, ?, ?, ?)"
                        " ON CONFLICT (key) DO UPDATE SET value = excluded.value, block = excluded.block,"
                        " tx_id = excluded.tx_id",
                        (self.backend.key(write.key), kind, k1, k2, write.value.decode("utf-8", errors="replace"), block.number,
                         tx.tx_id),
                    )
            self._exec(db, "UPDATE checkpoint SET next_block = ? WHERE id = 0", (block.number + 1,))
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
            sql += f" AND {self.backend.json_field(name)} = ?"
            args.append(value)
        sql += f" ORDER BY {column} LIMIT ?"
        args.append(size + 1)
        rows = self._read(sql, args)
        more = len(rows) > size
        rows = rows[:size]
        return StorePage([json.loads(v) for v, _ in rows], rows[-1][1] if more and rows else None)

    def get(self, kind: str, k1: str = "", k2: str = "") -> Any:
        """One record by its ids, or None."""
        rows = self._read("SELECT value FROM records WHERE kind = ? AND k1 = ? AND k2 = ?", (kind, k1, k2))
        return json.loads(rows[0][0]) if rows else None

    def all(self, kind: str, parent: str | None = None) -> list[Any]:
        """Every record of ``kind`` (under ``parent``) in key order: what the chaincode's scan returns."""
        sql, args = "SELECT value FROM records WHERE kind = ?", [kind]
        if parent is not None:
            sql += " AND k1 = ?"
            args.append(parent)
        # (k1, k2) order is the composite key's order: ids hold no NUL, the key's separator
        return [json.loads(v) for (v,) in self._read(sql + " ORDER BY k1, k2", args)]

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
        for row in self._read(sql + " ORDER BY block, idx", args):
            record = dict(zip(names, row, strict=True))
            record["endorsers"] = json.loads(record["endorsers"])
            out.append(record)
        return out

    def status(self) -> StoreStatus:
        return StoreStatus(
            next_block=self.next_block,
            records=int(self._read("SELECT count(*) FROM records")[0][0]),
            transactions=int(self._read("SELECT count(*) FROM transactions")[0][0]),
        )
