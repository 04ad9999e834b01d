"""Social equity: capacity shared without money, in a published priority order.

MARKETFLEX's community market: no charges, bids are served first-come-first-served
(``fcfs``: timestamp, then id) or highest demand first (``highest_demand``: larger
quantity, then timestamp, then id). Each bid in turn gets the largest award the
remaining capacity allows in all its periods — its whole quantity, else (if divisible)
as much as fits provided that is at least ``min_mw``, else nothing — and later bids
cannot take it back. A greedy pass is the rule here, not an approximation.
"""

from __future__ import annotations

from clearing.capacity.grid import Cell, cells, feasible_award, headroom
from clearing.capacity.model import Bid, CapacityMarket


def priority_order(bids: tuple[Bid, ...], priority: str) -> list[Bid]:
    """Bids in the order they are served under ``priority``."""
    if priority == "highest_demand":
        return sorted(bids, key=lambda bid: bid.demand_key)
    return sorted(bids, key=lambda bid: bid.arrival_key)


def allocate_in_order(ordered: list[Bid], capacity: dict[Cell, int]) -> dict[str, int]:
    """Serve bids one by one from ``capacity`` (micro-MW), giving each its largest feasible award."""
    remaining = dict(capacity)
    awards: dict[str, int] = {}
    for bid in ordered:
        award = feasible_award(bid, headroom(bid, remaining))
        awards[bid.id] = award
        if award:
            for cell in cells(bid):
                remaining[cell] -= award
    return awards


def allocate_social_equity(instance: CapacityMarket) -> dict[str, int]:
    """Awards in micro-MW per bid id under the social equity rule."""
    ordered = priority_order(instance.bids, instance.market.priority)
    return allocate_in_order(ordered, instance.capacity_micro())
