"""What accepted premium-capacity bids pay: pay-as-bid or a uniform price per feeder and period.

``pay_as_bid``: a bid pays its declared value, price × award × hours × periods.

``uniform``: each cell (feeder f, period t) gets one clearing price
    p_{f,t} = lowest price among bids with a non-zero award in the cell, if the cell's
              capacity is fully used (Σ awards = capacity, exactly, in integer watts);
    p_{f,t} = 0 otherwise (capacity was not scarce there).
A bid pays Σ_{t ∈ its periods} p_{f,t} × award × hours. Every p_{f,t} it faces is at most
its own price, so no accepted bid ever pays more than its declared value (individual
rationality).
"""

from __future__ import annotations

from collections.abc import Mapping

from clearing.capacity.grid import Cell, cells, usage
from clearing.capacity.model import Bid, CapacityMarket
from clearing.capacity.units import from_micro


def uniform_prices(instance: CapacityMarket, awards: Mapping[str, int]) -> dict[Cell, float]:
    """Clearing price per cell where capacity binds; cells absent from the map price at 0."""
    capacity = instance.capacity_micro()
    used = usage(instance.bids, awards)
    lowest: dict[Cell, float] = {}
    for bid in instance.bids:
        if awards.get(bid.id, 0) > 0:
            for cell in cells(bid):
                lowest[cell] = min(lowest.get(cell, bid.price_eur_per_mwh), bid.price_eur_per_mwh)
    return {cell: price for cell, price in lowest.items() if used.get(cell, 0) >= capacity.get(cell, 0)}


def price_table(instance: CapacityMarket, prices: Mapping[Cell, float]) -> dict[str, list[float]]:
    """``{feeder: [price per period]}`` for every feeder with a limit or a bid."""
    feeders = sorted({limit.feeder for limit in instance.limits} | {bid.feeder for bid in instance.bids})
    periods = range(instance.market.periods)
    return {feeder: [prices.get((feeder, t), 0.0) for t in periods] for feeder in feeders}


def bid_charges(
    instance: CapacityMarket, awards: Mapping[str, int], prices: Mapping[Cell, float] | None
) -> dict[str, float]:
    """EUR each bid pays: its declared value (``prices`` is None) or Σ uniform price × award × hours."""
    hours = instance.market.hours
    charges: dict[str, float] = {}
    for bid in instance.bids:
        award_mw = from_micro(awards.get(bid.id, 0))
        if prices is None:
            charges[bid.id] = declared_value(bid, awards.get(bid.id, 0), hours)
        else:
            charges[bid.id] = sum(prices.get(cell, 0.0) for cell in cells(bid)) * award_mw * hours
    return charges


def declared_value(bid: Bid, award_micro: int, hours: float) -> float:
    """What the bidder declared the award is worth: price × MW × hours × periods."""
    return bid.price_eur_per_mwh * from_micro(award_micro) * hours * len(bid.periods)


def per_owner(instance: CapacityMarket, per_bid: Mapping[str, float]) -> dict[str, float]:
    """Sum per owner, in bid-id order (a fixed order keeps float sums identical everywhere)."""
    totals: dict[str, float] = {bid.owner: 0.0 for bid in instance.bids}
    for bid in instance.bids:
        totals[bid.owner] += per_bid.get(bid.id, 0.0)
    return totals
