"""Capacity bookkeeping in integer micro-MW, shared by every allocation rule.

Why integers: "awards on a feeder never exceed its limit in any period" must hold
exactly, on every peer. Sums of floats could overshoot a limit by 1e-16 and print
differently; sums of integers cannot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from clearing.capacity.model import Bid
from clearing.errors import SolverError

Cell = tuple[str, int]  # (feeder, period)


def cells(bid: Bid) -> list[Cell]:
    """The (feeder, period) cells a bid reserves capacity in."""
    return [(bid.feeder, period) for period in bid.periods]


def headroom(bid: Bid, remaining: Mapping[Cell, int]) -> int:
    """Most a bid could get from ``remaining`` capacity (0 where a period has no limit)."""
    return min(remaining.get(cell, 0) for cell in cells(bid))


def feasible_award(bid: Bid, available: int) -> int:
    """Largest award the bid accepts within ``available`` micro-MW, or 0."""
    best = min(bid.quantity_micro, available)
    return best if best >= bid.min_micro and best > 0 else 0


def usage(bids: Iterable[Bid], awards: Mapping[str, int]) -> dict[Cell, int]:
    """Awarded micro-MW per (feeder, period)."""
    used: dict[Cell, int] = {}
    for bid in bids:
        award = awards.get(bid.id, 0)
        if award:
            for cell in cells(bid):
                used[cell] = used.get(cell, 0) + award
    return used


def check_awards(bids: Iterable[Bid], awards: Mapping[str, int], capacity: Mapping[Cell, int]) -> None:
    """Last line of defence before a result leaves the oracle: every award and every cell is legal."""
    bids = list(bids)
    for bid in bids:
        award = awards.get(bid.id, 0)
        if award and not (bid.min_micro <= award <= bid.quantity_micro):
            raise SolverError(f"bid {bid.id!r}: award {award} micro-MW is outside its allowed range")
    for cell, used in usage(bids, awards).items():
        if used > capacity.get(cell, 0):
            raise SolverError(f"feeder {cell[0]!r} period {cell[1]}: awards exceed the capacity limit")
