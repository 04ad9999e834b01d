"""Field checks shared by every transaction: each refusal names the field, nothing is coerced silently.

Numbers arrive as JSON numbers. Comparisons that must be exact (multiples of a price resolution or an
order granularity, money) go through :class:`~decimal.Decimal` built from the shortest decimal text of
the number, so every peer decides identically whatever its float formatting.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from chaincode.errors import ChaincodeError

_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$")


def parse_json(text: str, field: str) -> Any:
    """Decode a JSON argument; the error names the argument."""
    if not isinstance(text, str) or not text.strip():
        raise ChaincodeError(field, "must be a JSON document, got an empty argument")
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise ChaincodeError(field, f"is not valid JSON: {exc}") from exc


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def obj(value: Any, field: str, allowed: Iterable[str], required: Iterable[str] = ()) -> Mapping[str, Any]:
    """A JSON object with only ``allowed`` keys and every ``required`` key."""
    if not isinstance(value, Mapping):
        raise ChaincodeError(field, "must be a JSON object")
    allowed_set = set(allowed)

    def sub(name: str) -> str:  # "$" is the argument itself: its fields are named bare
        return name if field == "$" else f"{field}.{name}"

    for key in sorted(value):
        if key not in allowed_set:
            raise ChaincodeError(sub(key), f"unknown field; allowed: {', '.join(sorted(allowed_set))}")
    for key in sorted(required):
        if key not in value:
            raise ChaincodeError(sub(key), "is required")
    return value


def ident(value: Any, field: str) -> str:
    """An identifier safe inside ledger keys: letters, digits and ``_ . : @ -``, at most 128 characters."""
    if not isinstance(value, str) or not _IDENT.match(value):
        raise ChaincodeError(
            field, f"must be an identifier of letters, digits and _ . : @ - (1-128 characters), got {value!r}"
        )
    return value


def number(
    value: Any,
    field: str,
    *,
    minimum: float | None = None,
    above: float | None = None,
    maximum: float | None = None,
) -> float:
    """A finite JSON number within the given bounds (``above`` is an exclusive lower bound)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ChaincodeError(field, f"must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ChaincodeError(field, "must be finite")
    if minimum is not None and value < minimum:
        raise ChaincodeError(field, f"must be >= {minimum:g}, got {value:g}")
    if above is not None and value <= above:
        raise ChaincodeError(field, f"must be > {above:g}, got {value:g}")
    if maximum is not None and value > maximum:
        raise ChaincodeError(field, f"must be <= {maximum:g}, got {value:g}")
    return float(value)


def integer(value: Any, field: str, low: int, high: int | None = None) -> int:
    """A JSON integer (not a bool, not a float) within ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ChaincodeError(field, f"must be an integer, got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise ChaincodeError(field, f"must be {bound}, got {value}")
    return value


def cents_arg(text: str, field: str) -> int:
    """A positive amount of integer cents given as a decimal string argument."""
    if not isinstance(text, str) or not re.fullmatch(r"[0-9]{1,15}", text.strip()):
        raise ChaincodeError(field, f"must be a positive whole number of cents, got {text!r}")
    amount = int(text.strip())
    if amount <= 0:
        raise ChaincodeError(field, f"must be > 0, got {amount}")
    return amount


def boolean(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ChaincodeError(field, f"must be true or false, got {value!r}")
    return value


def dec(value: float | int) -> Decimal:
    """Exact decimal of a JSON number as written (shortest round-trip text, not the binary expansion)."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def check_multiple(value: float, step: float, field: str, what: str) -> None:
    """Refuse ``value`` unless it is a whole multiple of ``step`` (price resolution, order granularity)."""
    if dec(value) % dec(step) != 0:
        raise ChaincodeError(field, f"must be a multiple of the {what} {step:g}, got {value:g}")


def string_list(value: Any, field: str) -> list[str]:
    if not isinstance(value, list):
        raise ChaincodeError(field, "must be a list")
    return [ident(item, f"{field}[{i}]") for i, item in enumerate(value)]
