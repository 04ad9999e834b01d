"""Clear a ``flexledger.capacity/1`` document into a ``flexledger.capacity-result/1`` document.

Why one function for every peer: the chaincode runs this inside each endorsing peer and
Fabric compares the bytes. Everything that reaches the result is derived from the
normalised instance (bids sorted by id, integers for MW), rounded by
:func:`clearing.canonical.round_float`, and hashed canonically.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clearing import canonical
from clearing.capacity.model import RESULT_SCHEMA, CapacityMarket, awards_json, parse_document
from clearing.capacity.oracle import oracle_info
from clearing.capacity.premium import allocate_premium
from clearing.capacity.pricing import bid_charges, declared_value, per_owner, price_table, uniform_prices
from clearing.capacity.social import allocate_social_equity


def mechanism_name(instance: CapacityMarket) -> str:
    """``premium_capacity/<pricing>`` or ``social_equity/<priority>``."""
    market = instance.market
    if market.rule == "premium_capacity":
        return f"premium_capacity/{market.pricing}"
    return f"social_equity/{market.priority}"


def _rounded(values: Mapping[str, float]) -> dict[str, float]:
    return {key: canonical.round_float(value) for key, value in values.items()}


def clear_instance(instance: CapacityMarket) -> dict[str, Any]:
    """Clear a validated instance; see :func:`clear_capacity`."""
    market = instance.market
    prices_json: dict[str, list[float]] | None = None
    if market.rule == "premium_capacity":
        awards = allocate_premium(instance)
        prices = uniform_prices(instance, awards) if market.pricing == "uniform" else None
        payments = per_owner(instance, bid_charges(instance, awards, prices))
        if prices is not None:
            prices_json = {
                feeder: [canonical.round_float(p) for p in row]
                for feeder, row in price_table(instance, prices).items()
            }
    else:
        awards = allocate_social_equity(instance)
        payments = {bid.owner: 0.0 for bid in instance.bids}
    value = sum(declared_value(bid, awards[bid.id], market.hours) for bid in instance.bids)
    result: dict[str, Any] = {
        "schema": RESULT_SCHEMA,
        "mechanism": mechanism_name(instance),
        "market": {"id": market.id, "stage": market.stage},
        "awards_mw": awards_json({bid.id: awards[bid.id] for bid in instance.bids}),
        "payments_eur": _rounded(payments),
        "clearing_price_eur_per_mwh": prices_json,
        "value_eur": canonical.round_float(value),
        "input_hash": canonical.hash_of(instance.to_json()),
        "oracle": oracle_info(),
    }
    result["result_hash"] = canonical.hash_of(result)
    return result


def clear_capacity(document: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and clear a capacity-market document.

    Raises :class:`clearing.errors.ValidationError` naming the field for any bad input and
    :class:`clearing.errors.SolverError` if HiGHS fails (never for a well-formed input:
    awarding nothing is always feasible).
    """
    return clear_instance(parse_document(document))
