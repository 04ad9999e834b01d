"""Time on the ledger: only the transaction timestamp (identical on every endorser) is ever written.

The timestamp is the submitter's claim. Each endorser therefore holds it against its own clock and refuses
a transaction that claims a time ahead of its clock by more than the network's bound
(``clock_skew_seconds`` in the governance record, default 10 s), and a bid or enrolment that claims a time
behind it by more than the bound; because every market organisation endorses every transaction, no single
participant can move time by more than that bound. Deadlines (gate closure) are judged by both clocks:
a gate is open only while the claimed time *and* the endorser's clock are before it closes, and has
passed only when both are at or after it, so a back-dated bid after closure is refused and the DSO
cannot close or clear a market early. The endorser's clock only ever refuses: it never shapes a write.

Instants are kept as integer milliseconds since the Unix epoch and printed as ISO-8601 UTC with
milliseconds and a ``Z`` (``2026-11-21T10:00:00.000Z``), the format the capacity oracle expects.
A time given as input must lie between ``limits.EARLIEST_TIME`` and ``limits.LATEST_TIME`` once its
offset is applied, so that printing it never leaves the calendar (year 0 or 10000 would raise).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime
from typing import Any

from chaincode.errors import ChaincodeError
from clearing import limits
from clearing.limits import echo

#: Matched against the whole string with ASCII digits only (``\d`` accepts other scripts' digits, ``$`` a
#: trailing newline).
_ISO = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})"
)
_DAY = re.compile(limits.DAY_PATTERN)
_EPOCH_DAY = date(1970, 1, 1).toordinal()


def tx_millis(timestamp: Any) -> int:
    """Milliseconds of a protobuf ``Timestamp`` (``seconds`` + ``nanos``) as the shim hands it over."""
    if timestamp is None:
        raise ChaincodeError("tx.timestamp", "the transaction has no timestamp")
    return int(timestamp.seconds) * 1000 + int(timestamp.nanos) // 1_000_000


#: the bound when the governance record names none
DEFAULT_SKEW_SECONDS = 10
MAX_SKEW_SECONDS = 300


def wall_clock_ms() -> int:
    """This endorser's clock (the chaincode server's host)."""
    return time.time_ns() // 1_000_000


def require_not_ahead(tx: Any) -> None:
    """Refuse a transaction that claims a time further ahead of this endorser's clock than the bound.

    Every write is checked: claiming a later time is how a deadline would be brought forward.
    """
    if tx.now_ms - tx.local_ms > tx.skew_ms:
        raise ChaincodeError("tx.timestamp", f"is {(tx.now_ms - tx.local_ms) / 1000:+.1f} s from this endorser's "
                             f"clock; the network allows at most {tx.skew_ms // 1000} s either way")


def require_not_behind(tx: Any) -> None:
    """Refuse a transaction that claims a time further behind this endorser's clock than the bound.

    Only where an earlier time is an advantage (a bid or enrolment before the gate closes, first come
    first served): a clearing may reach the last endorsers long after it was proposed, because the
    gateway endorses on its own peer first and the oracle can take seconds there.
    """
    if tx.local_ms - tx.now_ms > tx.skew_ms:
        raise ChaincodeError("tx.timestamp", f"is {(tx.now_ms - tx.local_ms) / 1000:+.1f} s from this endorser's "
                             f"clock; the network allows at most {tx.skew_ms // 1000} s either way")


def before(tx: Any, instant_ms: int) -> bool:
    """Both the claimed time and this endorser's clock are before ``instant_ms``."""
    return tx.now_ms < instant_ms and tx.local_ms < instant_ms


def reached(tx: Any, instant_ms: int) -> bool:
    """Both the claimed time and this endorser's clock are at or after ``instant_ms``."""
    return tx.now_ms >= instant_ms and tx.local_ms >= instant_ms


def iso(millis: int) -> str:
    """``2026-11-21T10:00:00.123Z`` for an epoch-millisecond instant (integer arithmetic only)."""
    seconds, ms = divmod(millis, 1000)
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms:03d}Z"


def parse_iso(value: Any, field: str) -> int:
    """Epoch milliseconds of an ISO-8601 instant with an explicit offset (``Z`` or ``+hh:mm``)."""
    if not isinstance(value, str):
        raise ChaincodeError(field, "must be an ISO-8601 time string like 2026-11-21T10:00:00Z")
    match = _ISO.fullmatch(value) if len(value) <= limits.TIME_MAX_LENGTH else None
    if not match:
        raise ChaincodeError(field, f"must be an ISO-8601 time with offset like 2026-11-21T10:00:00Z, got {echo(value)}")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    millis = int((match.group(7) or "").ljust(3, "0")[:3])
    offset = match.group(8)
    shift = 0
    if offset != "Z":
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        if hours > 23 or minutes > 59:
            raise ChaincodeError(field, f"has an invalid UTC offset {offset}")
        shift = (-1 if offset[0] == "-" else 1) * (hours * 60 + minutes)
    try:
        datetime(year, month, day, hour, minute, second)  # checks the calendar; no zone arithmetic here
    except ValueError as exc:
        raise ChaincodeError(field, f"is not a valid time: {exc}") from None
    days = date(year, month, day).toordinal() - _EPOCH_DAY
    instant = ((days * 86400 + hour * 3600 + minute * 60 + second - shift * 60) * 1000) + millis
    if not limits.EARLIEST_MS <= instant <= limits.LATEST_MS:
        raise ChaincodeError(field, f"must be between {limits.EARLIEST_TIME} and {limits.LATEST_TIME}, got {echo(value)}")
    return instant


def parse_day(value: Any, field: str) -> str:
    """A calendar day ``YYYY-MM-DD`` (returned unchanged once checked)."""
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise ChaincodeError(field, f"must be a day like 2026-11-21, got {echo(value)}")
    try:
        date.fromisoformat(value)
    except ValueError as exc:
        raise ChaincodeError(field, f"is not a valid day: {exc}") from None
    return value
