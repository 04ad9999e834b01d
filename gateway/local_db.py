"""SQLite files kept beside an organisation's gateway: the sealed-bid store, and the REST service's query store.

Both are opened by many threads and sometimes by two processes at once (a service and the CLI), and both
run in write-ahead-log mode so that readers never wait for the writer.
"""

from __future__ import annotations

import sqlite3
import time


def write_ahead_log(db: sqlite3.Connection, patience_s: float = 30.0) -> None:
    """Switch a new database file to write-ahead logging (the mode then stays with the file).

    Why the loop: switching needs the database to itself, and SQLite answers "database is locked" at once,
    without its busy timeout, while another connection (another thread of a service that has just started,
    or the CLI) is opening the same new file. A store already in WAL mode is only read here.
    """
    deadline = time.monotonic() + patience_s
    while True:
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
