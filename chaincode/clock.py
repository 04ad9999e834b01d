"""Time on the ledger: only the transaction timestamp (identical on every endorser), never the wall clock.

Instants are kept as integer milliseconds since the Unix epoch and printed as ISO-8601 UTC with
milliseconds and a ``Z`` (``2026-11-21T10:00:00.000Z``), the format the capacity oracle expects.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from chaincode.errors import ChaincodeError

_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$"
)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def tx_millis(timestamp: Any) -> int:
    """Milliseconds of a protobuf ``Timestamp`` (``seconds`` + ``nanos``) as the shim hands it over."""
    if timestamp is None:
        raise ChaincodeError("tx.timestamp", "the transaction has no timestamp")
    return int(timestamp.seconds) * 1000 + int(timestamp.nanos) // 1_000_000


def iso(millis: int) -> str:
    """``2026-11-21T10:00:00.123Z`` for an epoch-millisecond instant (integer arithmetic only)."""
    seconds, ms = divmod(millis, 1000)
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms:03d}Z"


def parse_iso(value: Any, field: str) -> int:
    """Epoch milliseconds of an ISO-8601 instant with an explicit offset (``Z`` or ``+hh:mm``)."""
    if not isinstance(value, str):
        raise ChaincodeError(field, "must be an ISO-8601 time string like 2026-11-21T10:00:00Z")
    match = _ISO.match(value)
    if not match:
        raise ChaincodeError(field, f"must be an ISO-8601 time with offset like 2026-11-21T10:00:00Z, got {value!r}")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    millis = int((match.group(7) or "").ljust(3, "0")[:3])
    offset = match.group(8)
    shift = 0
    if offset != "Z":
        sign = -1 if offset[0] == "-" else 1
        shift = sign * (int(offset[1:3]) * 60 + int(offset[4:6]))
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone(timedelta(minutes=shift)))
    except ValueError as exc:
        raise ChaincodeError(field, f"is not a valid time: {exc}") from exc
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000 + millis


def parse_day(value: Any, field: str) -> str:
    """A calendar day ``YYYY-MM-DD`` (returned unchanged once checked)."""
    if not isinstance(value, str) or not _DAY.match(value):
        raise ChaincodeError(field, f"must be a day like 2026-11-21, got {value!r}")
    try:
        date.fromisoformat(value)
    except ValueError as exc:
        raise ChaincodeError(field, f"is not a valid day: {exc}") from exc
    return value
