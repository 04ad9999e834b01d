"""Builders of small capacity-market documents for the unit tests (imported by file name)."""

from __future__ import annotations

import copy
import random
from typing import Any

T0 = "2026-11-20T09:00:00.000Z"


def bid(
    bid_id: str,
    quantity_mw: float,
    price: float = 10.0,
    *,
    periods: tuple[int, ...] = (0,),
    feeder: str = "F1",
    min_mw: float = 0.0,
    divisible: bool = True,
    timestamp: str = T0,
    owner: str | None = None,
) -> dict[str, Any]:
    return {
        "id": bid_id,
        "owner": owner or f"own-{bid_id}",
        "device": f"dev-{bid_id}",
        "feeder": feeder,
        "periods": list(periods),
        "quantity_mw": quantity_mw,
        "min_mw": min_mw,
        "divisible": divisible,
        "price_eur_per_mwh": price,
        "timestamp": timestamp,
    }


def limit(capacity_mw: float, period: int = 0, feeder: str = "F1") -> dict[str, Any]:
    return {"feeder": feeder, "period": period, "capacity_mw": capacity_mw}


def doc(bids: list[dict[str, Any]], limits: list[dict[str, Any]], **market: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "cap-test",
        "stage": "day_ahead",
        "rule": "premium_capacity",
        "priority": "fcfs",
        "pricing": "pay_as_bid",
        "periods": 4,
        "period_minutes": 60,
    }
    base.update(market)
    return {"schema": "flexledger.capacity/1", "market": base, "limits": limits, "bids": bids}


def clone(value: Any) -> Any:
    return copy.deepcopy(value)


def random_doc(
    seed: int, *, n_bids: int = 8, periods: int = 3, feeders: int = 2, **market: Any
) -> dict[str, Any]:
    """A small congested market with every kind of bid, reproducible from ``seed``."""
    rng = random.Random(seed)
    names = [f"F{i}" for i in range(feeders)]
    bids = []
    for i in range(n_bids):
        start = rng.randrange(periods)
        span = tuple(range(start, min(periods, start + rng.randint(1, 2))))
        quantity = rng.randint(1, 60) / 100
        kind = rng.random()
        bids.append(
            bid(
                f"b{i}",
                quantity,
                rng.randint(1, 20) * 5.0,
                periods=span,
                feeder=rng.choice(names),
                min_mw=round(quantity * rng.choice([0.25, 0.5]), 3) if kind < 0.4 else 0.0,
                divisible=kind < 0.7,
                timestamp=f"2026-11-20T09:00:{rng.randrange(5):02d}.{rng.randrange(1000):03d}Z",
                owner=f"agg{rng.randrange(3)}",
            )
        )
    limits = [limit(rng.randint(20, 100) / 100, t, f) for f in names for t in range(periods)]
    return doc(bids, limits, periods=periods, **market)


def brute_force_value(document: dict[str, Any]) -> float:
    """Best declared value by enumerating which bids get capacity, with an LP for divisible amounts.

    Independent of the oracle's MILP: every on/off pattern is tried; for the bids switched on,
    the largest value within [min, quantity] and the limits is an LP solved by HiGHS directly.
    """
    import itertools

    import highspy

    market = document["market"]
    hours = market.get("period_minutes", 60) / 60
    caps = {(lim["feeder"], lim["period"]): lim["capacity_mw"] for lim in document["limits"]}
    bids = document["bids"]
    best = 0.0
    for pattern in itertools.product((False, True), repeat=len(bids)):
        on = [b for b, flag in zip(bids, pattern, strict=True) if flag]
        if not on:
            continue
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        for b in on:
            low = b["min_mw"] if b["divisible"] else b["quantity_mw"]
            coef = b["price_eur_per_mwh"] * hours * len(b["periods"])
            h.addVar(max(low, 1e-9) if b["divisible"] and low == 0 else low, b["quantity_mw"])
            h.changeColCost(h.getNumCol() - 1, -coef)
        cells = sorted({(b["feeder"], t) for b in on for t in b["periods"]})
        for cell in cells:
            idx = [i for i, b in enumerate(on) if b["feeder"] == cell[0] and cell[1] in b["periods"]]
            h.addRow(-highspy.kHighsInf, caps.get(cell, 0.0), len(idx), idx, [1.0] * len(idx))
        h.run()
        if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
            best = max(best, -h.getInfo().objective_function_value)
    return best
