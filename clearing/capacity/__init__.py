"""Capacity market (MARKETFLEX): premium capacity and social equity, day-ahead and intraday.

The DSO publishes per feeder and period the capacity left after its power-flow studies;
devices bid for it. :func:`clear_capacity` turns a ``flexledger.capacity/1`` document
into a ``flexledger.capacity-result/1`` document, deterministically (see docs/capacity.md).
The chaincode reuses :func:`validate_bid` at placement time and the dataclasses of
:mod:`clearing.capacity.model` to build documents from ledger state.
"""

from clearing.capacity.clear import clear_capacity, clear_instance
from clearing.capacity.intraday import remaining_capacity
from clearing.capacity.model import (
    RESULT_SCHEMA,
    SCHEMA,
    Bid,
    CapacityMarket,
    Limit,
    Market,
    parse_document,
    parse_limit,
    parse_market,
    validate_bid,
)
from clearing.capacity.rules import MarketRules, check_bid_rules, parse_rules

__all__ = [
    "RESULT_SCHEMA",
    "SCHEMA",
    "Bid",
    "CapacityMarket",
    "Limit",
    "Market",
    "MarketRules",
    "check_bid_rules",
    "clear_capacity",
    "clear_instance",
    "parse_document",
    "parse_limit",
    "parse_market",
    "parse_rules",
    "remaining_capacity",
    "validate_bid",
]
