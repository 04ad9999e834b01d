"""Exact number handling for the capacity market: decimals, micro-MW integers, timestamps.

Why: ``input_hash`` is taken over canonical JSON, which keeps 6 decimals. A number with
a 7th decimal would hash like its rounded neighbour yet clear differently, so such
numbers are refused instead. Once every MW value is known to sit on the 1e-6 grid, the
market works in integer micro-MW (1 W): capacity sums, comparisons and award rounding
are then exact and identical on every peer, whatever the solver's floating-point noise.
Timestamps are compared as integer nanoseconds since the epoch, never as strings
(``...00.1Z`` sorts after ``...00.12Z`` as text but is earlier in time).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from clearing.errors import ValidationError

#: Decimals accepted in any input number (canonical JSON keeps 6).
MAX_DECIMALS = 6
#: Integer units per MW (1 micro-MW = 1 W).
MICRO = 10**MAX_DECIMALS

_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def decimal_of(value: float | int) -> Decimal:
    """The decimal a JSON number was written as (``repr`` of a float is its shortest form)."""
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def number(value: Any, field: str, *, minimum: float | None = None, strict_minimum: bool = False) -> float:
    """Validate a finite JSON number with at most 6 decimals; return it as a float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(field, f"must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValidationError(field, "must be a finite number")
    exponent = decimal_of(value).as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_DECIMALS:
        raise ValidationError(field, f"{value!r} has more than {MAX_DECIMALS} decimals (canonical precision)")
    if minimum is not None:
        if strict_minimum and value <= minimum:
            raise ValidationError(field, f"must be greater than {minimum:g}, got {value!r}")
        if not strict_minimum and value < minimum:
            raise ValidationError(field, f"must be at least {minimum:g}, got {value!r}")
    return float(value)


def integer(value: Any, field: str, *, minimum: int | None = None) -> int:
    """Validate a JSON integer (``true``/``false`` and ``3.0`` are refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, f"must be an integer, got {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValidationError(field, f"must be at least {minimum}, got {value}")
    return value


def text(value: Any, field: str) -> str:
    """Validate a non-empty string without surrounding whitespace."""
    if not isinstance(value, str) or not value or value.strip() != value:
        raise ValidationError(field, "must be a non-empty string without surrounding whitespace")
    return value


def to_micro(value_mw: float) -> int:
    """Exact micro-MW of a validated MW value (at most 6 decimals)."""
    return int(decimal_of(value_mw) * MICRO)


def from_micro(value: int) -> float:
    """MW float of an integer micro-MW amount (exact to the canonical printer)."""
    return value / MICRO


def is_multiple(value: float, step: float) -> bool:
    """Whether ``value`` is an exact multiple of ``step``, computed on their decimal forms."""
    try:
        return decimal_of(value) % decimal_of(step) == 0
    except InvalidOperation:  # pragma: no cover - step is validated positive
        return False


def timestamp_ns(value: Any, field: str) -> int:
    """Nanoseconds since the Unix epoch of an ISO 8601 timestamp with an explicit zone."""
    if not isinstance(value, str):
        raise ValidationError(field, f"must be an ISO 8601 timestamp string, got {type(value).__name__}")
    match = _TIMESTAMP.match(value)
    if match is None:
        raise ValidationError(field, f"{value!r} is not an ISO 8601 timestamp like 2026-11-20T09:00:00.123Z")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        offset = timedelta(0) if zone == "Z" else timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        if zone.startswith("-"):
            offset = -offset
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=timezone(offset)
        )
    except ValueError as exc:
        raise ValidationError(field, f"{value!r} is not a valid date and time: {exc}") from exc
    whole = moment - _EPOCH
    seconds = whole.days * 86_400 + whole.seconds
    nanos = int((fraction or "0").ljust(9, "0"))
    return seconds * 1_000_000_000 + nanos
