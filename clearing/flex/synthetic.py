"""Synthetic radial feeders with flexibility offers, for tests and benchmarks.

Why in the library: tests, the benchmark and the experiment engineer need instances of any
size that are reproducible from a seed (``random.Random(seed)``, no global state) and stress
the network: evening demand peaks push voltages low and load the head branches; midday PV
pushes voltages high, so both up and down products get dispatched.
"""

from __future__ import annotations

import math
import random
from typing import Any

from clearing.flex.instance import PRODUCTS, SCHEMA


def _profile(kind: str, t: int, periods: int) -> float:
    """Daily shape in [0, 1] at period ``t`` of a day split into ``periods`` slots."""
    hour = 24.0 * (t + 0.5) / periods
    if kind == "load":
        return 0.45 + 0.25 * math.exp(-((hour - 8.5) ** 2) / 6.0) + 0.55 * math.exp(-((hour - 19.0) ** 2) / 5.0)
    return max(0.0, math.sin(math.pi * (hour - 6.0) / 13.0)) if 6.0 <= hour <= 19.0 else 0.0


def feeder_document(
    nodes: int = 15,
    periods: int = 24,
    offers: int = 30,
    owners: int | None = None,
    seed: int = 0,
    stress: float = 1.0,
) -> dict[str, Any]:
    """A ``flexledger.clearing/1`` document: a random radial feeder of ``nodes`` nodes (``"0"`` is the
    slack), ``offers`` offers spread over ``owners`` owners (one owner per offer by default)."""
    rng = random.Random(seed)
    owners = offers if owners is None else owners
    width = max(2, int(math.sqrt(nodes)))
    ids = [str(i) for i in range(nodes)]
    branches = []
    depth = [0] * nodes
    for i in range(1, nodes):
        parent = rng.randint(max(0, i - width), i - 1)
        depth[i] = depth[parent] + 1
        branches.append((parent, i))
    max_depth = max(depth) or 1
    # impedances scaled so that a path to the deepest node drops ~6% at peak
    z = 0.06 / (max_depth * 0.05 * nodes / width) * stress
    peak = {i: rng.uniform(0.02, 0.08) for i in range(1, nodes)}
    pv = {i: rng.uniform(0.05, 0.2) for i in range(1, nodes) if rng.random() < 0.3}
    head_limit = 0.85 * sum(peak.values()) / max(1, sum(1 for p, _ in branches if p == 0))

    baseline = []
    for i in range(1, nodes):
        for t in range(periods):
            demand = peak[i] * _profile("load", t, periods)
            gen = pv.get(i, 0.0) * _profile("pv", t, periods) * stress
            baseline.append(
                {
                    "node": ids[i],
                    "period": t,
                    "demand_mw": round(demand, 6),
                    "generation_mw": round(gen, 6),
                    "demand_tan_phi": 0.33,
                    "generation_tan_phi": 0.0,
                }
            )
    offer_list = []
    width_id = len(str(offers))
    for k in range(offers):
        node = rng.randint(1, nodes - 1)
        chosen = [p for p in PRODUCTS if rng.random() < 0.5] or [rng.choice(PRODUCTS)]
        products = {}
        for p in chosen:
            cap = rng.uniform(0.005, 0.05)
            products[p] = {
                "price_eur_per_mwh": round(rng.uniform(10.0, 120.0), 2),
                "quantity_mw": [round(cap * rng.uniform(0.5, 1.0), 6) for _ in range(periods)],
            }
        offer_list.append(
            {"id": f"fsp{k:0{width_id}d}", "owner": f"owner{k % owners:0{width_id}d}", "node": ids[node],
             "products": products}
        )
    return {
        "schema": SCHEMA,
        "periods": periods,
        "period_minutes": 24 * 60 // periods,
        "network": {
            "base_mva": 1.0,
            "v_min_pu": 0.95,
            "v_max_pu": 1.05,
            "v_slack_pu": 1.0,
            "nodes": [{"id": ids[0], "slack": True}] + [{"id": n} for n in ids[1:]],
            "branches": [
                {
                    "id": f"{ids[p]}-{ids[c]}",
                    "from": ids[p],
                    "to": ids[c],
                    "r_pu": round(z * rng.uniform(0.8, 1.2), 6),
                    "x_pu": round(z * rng.uniform(0.8, 1.2), 6),
                    "p_max_mw": round(head_limit, 6) if p == 0 else None,
                    "q_max_mvar": None,
                }
                for p, c in branches
            ],
        },
        "baseline": baseline,
        "substation": {"p_mw": None, "q_mvar": None},
        "shedding_cost": {"load_eur_per_mwh": 450.0, "generation_eur_per_mwh": 50.0},
        "offers": offer_list,
    }
