"""The off-chain query store of one organisation: a read model of the ledger, fed by committed blocks.

``FLEXLEDGER_QUERY_DB`` chooses where it lives: unset, a SQLite file in the org's wallet folder; a path,
that SQLite file; a ``postgresql://`` URL, that PostgreSQL database; ``off``, no store (lists are then read
from the chaincode as before).
"""

from __future__ import annotations

import os
from pathlib import Path

from restapi.store.backends import backend_for
from restapi.store.db import QueryStore, StorePage, StoreStatus
from restapi.store.follower import StoreFollower, apply_blocks

ENV = "FLEXLEDGER_QUERY_DB"
DEFAULT_FILE = "query-store.sqlite"

__all__ = ["ENV", "QueryStore", "StoreFollower", "StorePage", "StoreStatus", "apply_blocks", "open_store"]


def open_store(wallet: Path, spec: str | None = None) -> QueryStore | None:
    """The store named by ``spec`` (else the environment), or None when it is switched off."""
    spec = spec if spec is not None else os.environ.get(ENV, "")
    if spec.strip().lower() == "off":
        return None
    return QueryStore(backend_for(spec.strip(), wallet / DEFAULT_FILE))
