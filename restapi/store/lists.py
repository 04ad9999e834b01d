"""List endpoints served from the query store, with real cursors: the bookmark is the last id returned.

Why the routes still ask the peer for its height first: a client that has just placed a bid expects to see
it in the next list. The store answers only once it holds every block the peer has committed (it usually
does already; else it waits a moment), and when it cannot catch up in time the route falls back to the
chaincode, so a lagging store never gives a stale first page. A walk already begun on the store (its
bookmark is an id, not the chaincode path's offset) goes on there rather than fail on the bookmark.

The chaincode checks that the caller's role is one the governance record grants to its organisation; the
same check is made here against the governance record the store mirrors.
"""

from __future__ import annotations

import re
from typing import Any

from clearing import limits
from restapi.auth import Principal
from restapi.errors import ApiError
from restapi.models import Page
from restapi.state import AppState

#: how long a list waits for the store to reach the peer's height before asking the chaincode
CATCH_UP_SECONDS = 3.0
_ROLE_FIELDS = {"dso": "dso", "aggregator": "aggregators", "tso": "tso", "auditor": "auditors",
                "settlement": "settlement", "admin": "admins"}


def _may_read(record: dict[str, Any] | None, who: Principal) -> bool:
    if record is None or who.role not in _ROLE_FIELDS:
        return False
    allowed = record.get(_ROLE_FIELDS[who.role], [])
    return who.msp_id in ([allowed] if isinstance(allowed, str) else allowed)


def store_page(state: AppState, who: Principal, kind: str, page_size: int, bookmark: str | None,
               parent: str | None = None, filters: dict[str, str | None] | None = None) -> Page | None:
    """A page from the store, or None when the route should ask the chaincode instead."""
    store = state.store
    if store is None:
        return None
    height = state.ledger.height(who.user)
    continuing = bool(bookmark) and not re.fullmatch(r"[0-9]+", bookmark or "")
    if not store.wait_for(height, CATCH_UP_SECONDS) and not continuing:
        return None  # a walk that began on the store (its bookmark is an id) goes on there, a block behind
    if not _may_read(store.get("marketplace"), who):
        return None  # let the chaincode refuse, with its own words
    if bookmark is not None and not re.fullmatch(limits.ID_PATTERN, bookmark):
        raise ApiError(400, "invalid", "not a bookmark of this list", "bookmark")
    if parent is not None and store.get("market", parent) is None:
        raise ApiError(404, "not_found", f"market {parent} does not exist", "market_id")
    wanted = {k: v for k, v in (filters or {}).items() if v is not None}
    page = store.page(kind, page_size, after=bookmark, parent=parent, filters=wanted)
    return Page(items=page.items, next_bookmark=page.next_bookmark)
