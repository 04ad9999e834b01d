"""Pagination for lists: bookmark-based, as Fabric's rich queries are.

When the chaincode pages itself (ListDevices) its bookmark is passed through; when it returns a whole
list, the service cuts pages and the bookmark is the offset of the next page, written in ASCII digits
(``str.isdigit`` would accept ``"²"``, which ``int`` then refuses).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Query

from clearing import limits
from restapi.errors import ApiError
from restapi.models import Page

PageSize = Annotated[int, Query(ge=1, le=limits.MAX_PAGE_SIZE, description="items per page")]
Bookmark = Annotated[str | None, Query(max_length=limits.ID_MAX_LENGTH,
                                       description="next_bookmark of the previous page")]
_OFFSET = re.compile(r"[0-9]{1,9}")


def paginate(items: list[Any], page_size: int, bookmark: str | None) -> Page:
    start = 0
    if bookmark:
        if not _OFFSET.fullmatch(bookmark):
            raise ApiError(400, "invalid", "not a bookmark of this list", "bookmark")
        start = int(bookmark)
    end = start + page_size
    return Page(items=items[start:end], next_bookmark=str(end) if end < len(items) else None)


def page_from_chaincode(result: Any, page_size: int, bookmark: str | None) -> Page:
    """Normalise what a list function returned (a list, or ``{items|records, bookmark}``) into a Page."""
    if isinstance(result, list):
        return paginate(result, page_size, bookmark)
    if isinstance(result, dict):
        for key in ("items", "records", "devices", "bids", "markets"):
            if isinstance(result.get(key), list):
                nxt = result.get("next_bookmark", result.get("bookmark")) or None
                items = result[key]
                if nxt is not None and len(items) < page_size:
                    nxt = None
                return Page(items=items, next_bookmark=nxt)
    return Page(items=[] if result is None else [result], next_bookmark=None)
