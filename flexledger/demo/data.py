"""The demo's market day as data: the paper's 15-node feeder, its baseline, devices and bids.

Everything comes from the project's own data files (``experiments/data``: the feeder and the
FLEXGRID suppliers converted from the paper's spreadsheet); nothing here is computed by the
market — the numbers the demo prints come back from the ledger.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from experiments import paper

AGGREGATORS = ("agg1", "agg2")
#: DG penetration of the demo day: high enough that the DSO needs flexibility.
DG_PENETRATION = 2.5
GRANULARITY_MW = 0.001


@dataclass(frozen=True)
class DayData:
    network: dict[str, Any]
    feeders: dict[str, list[str]]
    baseline: dict[str, Any]
    devices: dict[str, list[dict[str, Any]]]  # by aggregator org
    flex_offers: dict[str, list[dict[str, Any]]]  # device id -> products, by aggregator org
    capacity_devices: dict[str, list[dict[str, Any]]]


def trading_zones(network: dict[str, Any]) -> dict[str, list[str]]:
    """Feeders (trading zones): the subtrees below the first branching node, that node with the largest."""
    children: dict[str, list[str]] = defaultdict(list)
    for b in network["branches"]:
        children[b["from"]].append(b["to"])
    slack = next(n["id"] for n in network["nodes"] if n.get("slack"))
    trunk = [slack]
    node = slack
    while len(children[node]) == 1:
        node = children[node][0]
        trunk.append(node)

    def subtree(n: str) -> list[str]:
        out = [n]
        for c in children[n]:
            out.extend(subtree(c))
        return out

    zones = sorted((subtree(c) for c in children[node]), key=lambda z: (-len(z), z[0]))
    zones[0] = trunk[1:] + zones[0]
    return {f"F{i + 1}": sorted(z, key=int) for i, z in enumerate(zones)}


def _floor(value: float) -> float:
    return round(math.floor(value / GRANULARITY_MW + 1e-9) * GRANULARITY_MW, 3)


def _device_type(products: dict[str, Any]) -> str:
    up = any(k.endswith("_up") for k in products)
    down = any(k.endswith("_down") for k in products)
    return "storage" if up and down else ("generation" if up else "load")


def build(day: str) -> DayData:
    doc = paper.paper_instance("high", DG_PENETRATION)
    zones = trading_zones(doc["network"])
    zone_of = {node: zone for zone, nodes in zones.items() for node in nodes}
    baseline = {"day": day, "periods": doc["periods"], "period_minutes": doc["period_minutes"],
                "baseline": doc["baseline"], "substation": doc["substation"],
                "shedding_cost": doc["shedding_cost"]}  # fmt: skip
    devices: dict[str, list[dict[str, Any]]] = {a: [] for a in AGGREGATORS}
    offers: dict[str, list[dict[str, Any]]] = {a: [] for a in AGGREGATORS}
    for i, offer in enumerate(sorted(doc["offers"], key=lambda o: o["id"])):
        agg = AGGREGATORS[i % 2]
        products = {
            name: {"price_eur_per_mwh": round(p["price_eur_per_mwh"], 2),
                   "quantity_mw": [_floor(q) for q in p["quantity_mw"]]}
            for name, p in offer["products"].items()
        }  # fmt: skip
        max_mw = max(max(p["quantity_mw"]) for p in products.values())
        kind = _device_type(products)
        devices[agg].append({
            "id": f"{offer['id']}-{agg}", "type": kind, "max_power_mw": round(max_mw, 3), "min_power_mw": 0.0,
            "capacity_mwh": round(4 * max_mw, 3) if kind == "storage" else None,
            "node": offer["node"], "feeder": zone_of[offer["node"]],
        })  # fmt: skip
        offers[agg].append({"device": f"{offer['id']}-{agg}", "products": products})
    capacity_devices = {
        agg: [
            {"id": f"ev-hub-{agg}-{k}", "type": "load", "max_power_mw": 0.06, "min_power_mw": 0.01,
             "capacity_mwh": None, "node": zones["F1"][(3 * k + j) % len(zones["F1"])], "feeder": "F1"}
            for k in range(3)
        ]
        for j, agg in enumerate(AGGREGATORS)
    }  # fmt: skip
    return DayData(doc["network"], zones, baseline, devices, offers, capacity_devices)


def capacity_bids(data: DayData, market_id: str) -> dict[str, list[dict[str, Any]]]:
    """Evening-peak capacity bids of the EV hubs: prices and sizes differ so the rules matter."""
    bids: dict[str, list[dict[str, Any]]] = {}
    for j, agg in enumerate(AGGREGATORS):
        bids[agg] = []
        for k, device in enumerate(data.capacity_devices[agg]):
            divisible = k != 1
            bids[agg].append({
                "id": f"{market_id}-{device['id']}", "market_id": market_id, "device": device["id"],
                "periods": [17, 18, 19], "quantity_mw": round(0.05 - 0.01 * k, 3), "min_mw": 0.02 if divisible else None,
                "divisible": divisible, "price_eur_per_mwh": 30.0 + 7.5 * (k + 2 * j),
            })  # fmt: skip
            if not divisible:
                bids[agg][-1].pop("min_mw")
    return bids


def capacity_limits(data: DayData, periods: int) -> list[dict[str, Any]]:
    """What the DSO's power-flow study left on feeder F1: scarce in the evening peak."""
    def capacity(t: int) -> float:
        return 0.15 if 17 <= t <= 19 else 0.05 if 20 <= t <= 21 else 0.5

    return [{"feeder": "F1", "period": t, "capacity_mw": capacity(t)} for t in range(periods)]
