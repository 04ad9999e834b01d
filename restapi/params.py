"""Path and query parameters shared by the routers, bounded by the limits the chaincode enforces.

Why: an id in a path goes to the chaincode as an argument and may come back in its refusal; an
unbounded one (100 000 characters) overflowed the gRPC trailer that carries the refusal. Checking it
here, against the chaincode's own identifier pattern and length, refuses it with a 422 naming the
parameter before anything reaches a peer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from clearing import limits
from restapi.models import ID_PATTERN

#: An identifier in a path (device, market, bid).
PathId = Annotated[str, Path(min_length=1, max_length=limits.ID_MAX_LENGTH, pattern=ID_PATTERN)]
#: A one- or two-part ledger key id (``market/msp``), for the audit history.
KeyId = Annotated[str, Path(min_length=1, max_length=2 * limits.ID_MAX_LENGTH + 1,
                            pattern=f"^{limits.ID_PATTERN}(?:/{limits.ID_PATTERN})?$")]
#: A list filter compared with ids or fixed words by the chaincode.
Filter = Annotated[str | None, Query(max_length=limits.ID_MAX_LENGTH)]
