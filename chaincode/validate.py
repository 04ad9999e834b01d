"""Field checks shared by every transaction: each refusal names the field, nothing is coerced silently.

Numbers arrive as JSON numbers. Comparisons that must be exact (multiples of a price resolution or an
order granularity, money) go through :class:`~decimal.Decimal` built from the shortest decimal text of
the number, so every peer decides identically whatever its float formatting.

Every value is bounded before it is used (:mod:`clearing.limits`, shared with the REST service): a JSON
argument's size, depth, strings and numbers when it is parsed, identifiers by a whole-string pattern,
numbers by a range before any arithmetic. A refusal repeats at most a short prefix of the refused value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from chaincode.errors import ChaincodeError
from clearing import limits
from clearing.limits import echo

_DIGITS = re.compile(r"[0-9]+")
#: Decimal arithmetic on bounded values: 1e6 / 1e-6 needs 13 digits; 40 leaves room and never rounds.
_EXACT = Context(prec=40, traps=[InvalidOperation])


def parse_json(text: str, field: str, *, bare: bool = False) -> Any:
    """Decode a JSON argument, bounded in size, depth, strings and numbers; the error names the argument.

    ``bare``: the document's own fields are named without the argument's name (as :func:`obj` with ``"$"``).
    """
    if not isinstance(text, str) or not text.strip():
        raise ChaincodeError(field, "must be a JSON document, got an empty argument")
    if len(text) > limits.JSON_MAX_BYTES:
        raise ChaincodeError(field, f"must be at most {limits.JSON_MAX_BYTES} characters of JSON, got {len(text)}")
    try:
        value = limits.strict_json(text)
    except limits.DuplicateKey as exc:
        raise ChaincodeError(field, f"is not valid JSON: an object has the key {echo(exc.key)} twice") from None
    except RecursionError:
        raise ChaincodeError(field, f"is not valid JSON: nested deeper than {limits.JSON_MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise ChaincodeError(field, f"is not valid JSON: {exc}") from None  # json's messages never quote input
    _bounded(value, "$" if bare else field, 0, field)
    return value


def _bounded(value: Any, field: str, depth: int, root: str) -> None:
    """Walk a parsed document: every number finite and within ±MAX_ABS_NUMBER, every string and key short."""
    if depth > limits.JSON_MAX_DEPTH:
        raise ChaincodeError(root, f"nests deeper than {limits.JSON_MAX_DEPTH} levels")
    if isinstance(value, dict):
        for k, v in value.items():
            if len(k) > limits.TEXT_MAX_LENGTH:
                raise ChaincodeError(field, f"has a key longer than {limits.TEXT_MAX_LENGTH} characters: {echo(k)}")
            name = k if limits.is_id(k) else f"[{echo(k)}]"
            _bounded(v, name if field == "$" else f"{field}.{name}", depth + 1, root)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _bounded(item, f"{field}[{i}]", depth + 1, root)
    elif isinstance(value, str):
        if len(value) > limits.TEXT_MAX_LENGTH:
            raise ChaincodeError(field, f"must be at most {limits.TEXT_MAX_LENGTH} characters, got {len(value)}")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _magnitude(value, field)


def _magnitude(value: int | float, field: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ChaincodeError(field, "must be finite")
    if not -limits.MAX_ABS_NUMBER <= value <= limits.MAX_ABS_NUMBER:  # exact for ints of any size
        raise ChaincodeError(field, f"must be between {-limits.MAX_ABS_NUMBER:g} and {limits.MAX_ABS_NUMBER:g}, "
                             f"got {echo(value)}")


def obj(value: Any, field: str, allowed: Iterable[str], required: Iterable[str] = ()) -> Mapping[str, Any]:
    """A JSON object with only ``allowed`` keys and every ``required`` key."""
    if not isinstance(value, Mapping):
        raise ChaincodeError(field, "must be a JSON object")
    allowed_set = set(allowed)

    def sub(name: str) -> str:  # "$" is the argument itself: its fields are named bare
        return name if field == "$" else f"{field}.{name}"

    for key in sorted(value):
        if key not in allowed_set:
            shown = key if len(key) <= limits.ECHO_MAX_LENGTH else echo(key)
            raise ChaincodeError(sub(shown), f"unknown field; allowed: {', '.join(sorted(allowed_set))}")
    for key in sorted(required):
        if key not in value:
            raise ChaincodeError(sub(key), "is required")
    return value


def ident(value: Any, field: str) -> str:
    """An identifier safe inside ledger keys: letters, digits and ``_ . : @ -``, at most 128 characters."""
    if not limits.is_id(value):
        raise ChaincodeError(
            field, f"must be an identifier of letters, digits and _ . : @ - "
                   f"(1-{limits.ID_MAX_LENGTH} characters), got {echo(value)}"
        )
    return value


def digits(text: Any, field: str, max_digits: int) -> int:
    """A whole number written as 1 to ``max_digits`` ASCII digits (``"²".isdigit()`` is true: not used)."""
    if not isinstance(text, str) or len(text) > max_digits or not _DIGITS.fullmatch(text):
        raise ChaincodeError(field, f"must be 1-{max_digits} digits 0-9, got {echo(text)}")
    return int(text)


def number(
    value: Any,
    field: str,
    *,
    minimum: float | None = None,
    above: float | None = None,
    maximum: float | None = None,
) -> float:
    """A finite JSON number within the given bounds (``above`` is an exclusive lower bound).

    Every number is also within ±MAX_ABS_NUMBER, checked before anything formats or converts it.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ChaincodeError(field, f"must be a number, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ChaincodeError(field, "must be finite")
    if minimum is not None and value < minimum:  # int/float comparisons are exact at any size
        raise ChaincodeError(field, f"must be >= {minimum:g}, got {_shown(value)}")
    if above is not None and value <= above:
        raise ChaincodeError(field, f"must be > {above:g}, got {_shown(value)}")
    if maximum is not None and value > maximum:
        raise ChaincodeError(field, f"must be <= {maximum:g}, got {_shown(value)}")
    _magnitude(value, field)
    return float(value)


def _shown(value: int | float) -> str:
    """A number for a message: ``{:g}`` (which overflows on huge ints), or the bounded echo."""
    return echo(value) if isinstance(value, int) and abs(value) > limits.MAX_ABS_NUMBER else f"{value:g}"


def integer(value: Any, field: str, low: int, high: int | None = None) -> int:
    """A JSON integer (not a bool, not a float) within ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ChaincodeError(field, f"must be an integer, got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise ChaincodeError(field, f"must be {bound}, got {echo(value)}")
    return value


def cents_arg(text: str, field: str) -> int:
    """A positive amount of integer cents (at most MAX_CENTS) given as a decimal string argument."""
    if not isinstance(text, str) or not _DIGITS.fullmatch(text) or len(text) > len(str(limits.MAX_CENTS)):
        raise ChaincodeError(field, f"must be a positive whole number of cents (digits 0-9), got {echo(text)}")
    amount = int(text)
    if amount <= 0 or amount > limits.MAX_CENTS:
        raise ChaincodeError(field, f"must be between 1 and {limits.MAX_CENTS}, got {amount}")
    return amount


def boolean(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ChaincodeError(field, f"must be true or false, got {echo(value)}")
    return value


def dec(value: float | int) -> Decimal:
    """Exact decimal of a JSON number as written (shortest round-trip text, not the binary expansion)."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def check_multiple(value: float, step: float, field: str, what: str) -> None:
    """Refuse ``value`` unless it is a whole multiple of ``step`` (price resolution, order granularity).

    Both are range-checked before (|value| <= 1e6, step >= 1e-6), so the exact context never traps;
    if it did, the refusal still names the field instead of leaking a decimal error.
    """
    try:
        remainder = _EXACT.remainder(dec(value), dec(step))
    except (InvalidOperation, ZeroDivisionError):
        raise ChaincodeError(field, f"cannot be checked against the {what} {step:g}") from None
    if remainder != 0:
        raise ChaincodeError(field, f"must be a multiple of the {what} {step:g}, got {value:g}")


def string_list(value: Any, field: str) -> list[str]:
    if not isinstance(value, list):
        raise ChaincodeError(field, "must be a list")
    return [ident(item, f"{field}[{i}]") for i, item in enumerate(value)]
