"""The input limits of every door of the marketplace: the REST service and the chaincode share these.

Why here, in ``clearing``: the chaincode may import only ``clearing``, the gateway must never import the
chaincode, and ``clearing`` imports neither, so a module of ``clearing`` is the one place both doors can
read without crossing a wall. It holds constants and small pure helpers (strict JSON decoding, bounded
echo), no market logic, so the oracle stays a pure library. The chaincode is the authority; the REST service applies the same limits
first, so that what the chaincode would refuse for its size, range or shape never travels to the peers,
and what the REST service accepts the chaincode never refuses for a limit.

Why these numbers: every bound sits far above any real feeder or market and far below where floats,
decimals or dates stop being exact (2**53, 28 decimal digits, the year 9999), so arithmetic on a value
that passed its check can never overflow, lose precision or raise.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

# --------------------------------------------------------------------------- identifiers and text

#: Longest identifier (device, market, bid, feeder, node, MSP): it becomes part of ledger keys.
ID_MAX_LENGTH: Final = 128
#: An identifier, always matched against the whole string (``re.fullmatch``; ``$`` would let a trailing
#: newline through and allow look-alike ids). ASCII only.
ID_PATTERN: Final = r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}"
#: A short name (``rule``, ``priority``, ``pricing``, list filters): compared against fixed words.
NAME_MAX_LENGTH: Final = 64
#: An ISO-8601 time like ``2026-11-21T10:00:00.000+01:00`` (9 fraction digits at most).
TIME_MAX_LENGTH: Final = 40
#: A calendar day ``YYYY-MM-DD``, ASCII digits only (``\\d`` would accept other scripts' digits).
DAY_PATTERN: Final = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
#: Longest string anywhere inside a JSON argument (a safety net: real strings are ids, times, names).
TEXT_MAX_LENGTH: Final = 256
#: Longest JSON argument or request body, in bytes (a published feeder model with its baseline fits).
JSON_MAX_BYTES: Final = 8 * 1024 * 1024
#: Deepest nesting of arrays/objects in a JSON argument (real documents nest 5 levels).
JSON_MAX_DEPTH: Final = 32
#: Characters of a refused value repeated in an error message; longer values are cut with an ellipsis.
ECHO_MAX_LENGTH: Final = 64

# --------------------------------------------------------------------------- numbers

#: Any JSON number, whatever its field: beyond this it is refused before any arithmetic.
MAX_ABS_NUMBER: Final = 1e15
#: Power (MW) and energy (MWh) of a device, a bid, a capacity limit or a market bound.
MAX_MW: Final = 1e6
MAX_MWH: Final = 1e6
#: Prices (EUR/MWh) and price resolutions.
MAX_PRICE_EUR_PER_MWH: Final = 1e6
#: Smallest price resolution (EUR) and quantity step (MW): the canonical precision (6 decimals).
MIN_STEP: Final = 1e-6
#: Any amount of money in integer cents (10**13 EUR); below 2**53, so JSON readers keep it exact.
MAX_CENTS: Final = 10**15
#: Periods of a day and minutes of a period.
MAX_PERIODS: Final = 1440
MAX_PERIOD_MINUTES: Final = 1440
#: Items of one page of a list.
MAX_PAGE_SIZE: Final = 500

# --------------------------------------------------------------------------- time

#: Instants the ledger accepts, as epoch milliseconds: 1970-01-01T00:00:00.000Z to 9999-12-30T23:59:59.999Z
#: (a day short of the calendar's end, so that no UTC offset can push a printed time out of it).
EARLIEST_MS: Final = 0
LATEST_MS: Final = 253_402_214_399_999
EARLIEST_TIME: Final = "1970-01-01T00:00:00Z"
LATEST_TIME: Final = "9999-12-30T23:59:59.999Z"


def is_id(value: Any) -> bool:
    """Whether ``value`` is an identifier (whole-string match)."""
    return isinstance(value, str) and re.fullmatch(ID_PATTERN, value) is not None


def echo(value: Any) -> str:
    """``repr`` of a refused value for an error message, cut at :data:`ECHO_MAX_LENGTH` characters.

    Why: an error travels back in gRPC trailers and HTTP bodies; repeating an unbounded input there
    overflows the trailer (the peer resets the stream) or floods logs.
    """
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**ECHO_MAX_LENGTH:
        return f"<an integer of {len(str(value)) if value.bit_length() < 14_000 else 'thousands of'} digits>"
    text = repr(value[: ECHO_MAX_LENGTH + 1]) if isinstance(value, str) else repr(value)
    return text if len(text) <= ECHO_MAX_LENGTH else text[: ECHO_MAX_LENGTH - 1] + "…"


# --------------------------------------------------------------------------- strict JSON


class DuplicateKey(ValueError):
    """A JSON object names ``key`` twice (``json`` alone would silently keep the last value)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def strict_json(text: str | bytes) -> Any:
    """``json.loads`` as both doors read input: a repeated key raises :class:`DuplicateKey`, and NaN or
    Infinity (not JSON numbers) raise ``ValueError``."""
    return json.loads(text, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant)


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKey(key)
        out[key] = value
    return out


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")
