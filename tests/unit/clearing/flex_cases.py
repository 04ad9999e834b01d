"""Small hand-checkable flexibility instances shared by the test_flex_* modules."""

from __future__ import annotations

import copy
from typing import Any


def chain_doc(
    demand_at_2: float = 3.0,
    offers: list[dict[str, Any]] | None = None,
    periods: int = 1,
    p_max_01: float | None = None,
    extra_baseline: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Feeder 0 (slack) -> 1 -> 2, r = x = 0.01 pu, no reactive baseline.

    With 3 MW at node 2, U2 = 1 - 2*0.01*3*2 = 0.88 < 0.95^2 = 0.9025: at most 2.4375 MW may flow
    into node 2, so 0.5625 MW of relief is needed there.
    """
    return {
        "schema": "flexledger.clearing/1",
        "periods": periods,
        "period_minutes": 60,
        "network": {
            "base_mva": 1.0,
            "v_min_pu": 0.95,
            "v_max_pu": 1.05,
            "v_slack_pu": 1.0,
            "nodes": [{"id": "0", "slack": True}, {"id": "1"}, {"id": "2"}],
            "branches": [
                {"id": "0-1", "from": "0", "to": "1", "r_pu": 0.01, "x_pu": 0.01, "p_max_mw": p_max_01},
                {"id": "1-2", "from": "1", "to": "2", "r_pu": 0.01, "x_pu": 0.01},
            ],
        },
        "baseline": [
            {"node": "2", "period": t, "demand_mw": demand_at_2, "generation_mw": 0.0} for t in range(periods)
        ]
        + (extra_baseline or []),
        "substation": {"p_mw": None, "q_mvar": None},
        "shedding_cost": {"load_eur_per_mwh": 450.0, "generation_eur_per_mwh": 50.0},
        "offers": offers if offers is not None else default_offers(periods),
    }


def offer(oid: str, owner: str, node: str, product: str, price: float, qty: list[float]) -> dict[str, Any]:
    return {"id": oid, "owner": owner, "node": node,
            "products": {product: {"price_eur_per_mwh": price, "quantity_mw": list(qty)}}}


def default_offers(periods: int = 1) -> list[dict[str, Any]]:
    """Three p_up offers at node 2: A 0.4 MW @ 10, C 0.3 MW @ 20, B 1.0 MW @ 30."""
    return [
        offer("A", "alice", "2", "p_up", 10.0, [0.4] * periods),
        offer("B", "bob", "2", "p_up", 30.0, [1.0] * periods),
        offer("C", "carol", "2", "p_up", 20.0, [0.3] * periods),
    ]


def clone(doc: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(doc)
