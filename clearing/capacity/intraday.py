"""Intraday capacity: what the day-ahead awards leave on each feeder and period.

Why a helper: the DSO (or the chaincode on its behalf) publishes the intraday limits; an
intraday market cleared on them must never, together with the day-ahead awards,
over-allocate a feeder. Computing them from the day-ahead document and its result, in
integer watts, makes that a property rather than a hope. The result must belong to the
document (same ``input_hash``), so limits are never derived from a foreign result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clearing import canonical
from clearing.capacity.grid import usage
from clearing.capacity.model import RESULT_SCHEMA, parse_document
from clearing.capacity.units import from_micro, number, to_micro
from clearing.errors import ValidationError


def remaining_capacity(
    day_ahead_doc: Mapping[str, Any], day_ahead_result: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Limits ``[{"feeder", "period", "capacity_mw"}]`` left after the day-ahead awards, sorted."""
    instance = parse_document(day_ahead_doc)
    if not isinstance(day_ahead_result, Mapping) or day_ahead_result.get("schema") != RESULT_SCHEMA:
        raise ValidationError("result.schema", f"must be {RESULT_SCHEMA!r}")
    if day_ahead_result.get("input_hash") != canonical.hash_of(instance.to_json()):
        raise ValidationError("result.input_hash", "the result was not computed from this document")
    raw_awards = day_ahead_result.get("awards_mw")
    if not isinstance(raw_awards, Mapping):
        raise ValidationError("result.awards_mw", "must be an object")
    awards: dict[str, int] = {}
    for bid in instance.bids:
        if bid.id not in raw_awards:
            raise ValidationError(f"result.awards_mw.{bid.id}", "missing award for a bid of the document")
        awards[bid.id] = to_micro(number(raw_awards[bid.id], f"result.awards_mw.{bid.id}", minimum=0.0))
    used = usage(instance.bids, awards)
    limits = []
    for limit in instance.limits:
        left = limit.capacity_micro - used.get((limit.feeder, limit.period), 0)
        if left < 0:
            raise ValidationError(
                "result.awards_mw",
                f"awards exceed the limit of feeder {limit.feeder!r} period {limit.period}",
            )
        limits.append({"feeder": limit.feeder, "period": limit.period, "capacity_mw": from_micro(left)})
    return limits
