"""Seeded random capacity-market documents for the benchmark (and nothing else).

Why seeded and self-made: the benchmark must be repeatable on any machine without data
files. Demand is spread over the day with an evening peak; each feeder's capacity is a
random 40-130 % of the demand in each period, so most periods are congested and some
are not — the case the decomposition has to handle.
"""

from __future__ import annotations

import random
from typing import Any


def capacity_document(
    *,
    bids: int,
    periods: int,
    feeders: int,
    seed: int = 7,
    rule: str = "premium_capacity",
    pricing: str = "pay_as_bid",
) -> dict[str, Any]:
    """A ``flexledger.capacity/1`` document with ``bids`` bids spread evenly over ``feeders`` feeders."""
    rng = random.Random(seed)
    minutes = 1440 // periods
    names = [f"F{i:02d}" for i in range(feeders)]
    raw_bids: list[dict[str, Any]] = []
    demand: dict[tuple[str, int], float] = {}
    for i in range(bids):
        feeder = names[i % feeders]
        peak = rng.random() < 0.5
        start = rng.randrange(int(periods * 0.7), periods) if peak else rng.randrange(periods)
        length = rng.randint(1, max(1, periods // 6))
        span = list(range(start, min(periods, start + length)))
        quantity = rng.randint(5, 500) / 1000
        kind = rng.random()
        divisible = kind >= 0.4
        min_mw = round(quantity * rng.uniform(0.2, 0.6), 3) if 0.4 <= kind < 0.8 else 0.0
        raw_bids.append(
            {
                "id": f"b{i:05d}",
                "owner": f"agg{rng.randrange(20)}",
                "device": f"dev{i:05d}",
                "feeder": feeder,
                "periods": span,
                "quantity_mw": quantity,
                "min_mw": min_mw,
                "divisible": divisible,
                "price_eur_per_mwh": rng.randint(2000, 30000) / 100,
                "timestamp": f"2026-11-20T09:{rng.randrange(60):02d}:{rng.randrange(60):02d}.{rng.randrange(1000):03d}Z",
            }
        )
        for t in span:
            demand[(feeder, t)] = demand.get((feeder, t), 0.0) + quantity
    limits = [
        {"feeder": f, "period": t, "capacity_mw": round(demand.get((f, t), 0.0) * rng.uniform(0.4, 1.3), 3)}
        for f in names
        for t in range(periods)
    ]
    return {
        "schema": "flexledger.capacity/1",
        "market": {
            "id": f"bench-{bids}x{periods}x{feeders}",
            "stage": "day_ahead",
            "rule": rule,
            "priority": "fcfs",
            "pricing": pricing,
            "periods": periods,
            "period_minutes": minutes,
        },
        "limits": limits,
        "bids": raw_bids,
    }
