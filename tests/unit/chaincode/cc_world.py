"""The test world of the chaincode unit tests: identities, network, baseline, market/bid factories."""

from __future__ import annotations

import copy
from typing import Any

from cc_fakes import Chain, identity

DSO = identity("dsoMSP", "dso", "dso-operator")
AGG1 = identity("agg1MSP", "aggregator", "agg1-trader")
AGG2 = identity("agg2MSP", "aggregator", "agg2-trader")
AUDITOR = identity("auditorMSP", "auditor", "auditor1")
SETTLE = identity("dsoMSP", "settlement", "settler")
ADMIN = identity("dsoMSP", "admin", "admin")
TSO = identity("tsoMSP", "tso", "tso1")

GOVERNANCE = {"dso": "dsoMSP", "aggregators": ["agg1MSP", "agg2MSP"], "auditors": ["auditorMSP"],
              "tso": ["tsoMSP"], "settlement": ["dsoMSP"]}

NETWORK = {
    "network": {
        "base_mva": 1.0, "v_min_pu": 0.9, "v_max_pu": 1.1, "v_slack_pu": 1.0,
        "nodes": [{"id": "0", "slack": True}, {"id": "1"}, {"id": "2"}, {"id": "3"}],
        "branches": [
            {"id": "0-1", "from": "0", "to": "1", "r_pu": 0.01, "x_pu": 0.01, "p_max_mw": 5.0, "q_max_mvar": 5.0},
            {"id": "1-2", "from": "1", "to": "2", "r_pu": 0.01, "x_pu": 0.01, "p_max_mw": 0.4, "q_max_mvar": 5.0},
            {"id": "1-3", "from": "1", "to": "3", "r_pu": 0.01, "x_pu": 0.01, "p_max_mw": 5.0, "q_max_mvar": 5.0},
        ],
    },
    "feeders": {"F1": ["1", "2"], "F2": ["3"]},
}

DAY = "2026-11-21"
PERIODS = 4
BASELINE = {
    "day": DAY, "periods": PERIODS, "period_minutes": 60,
    "baseline": [{"node": "2", "period": p, "demand_mw": 0.5, "generation_mw": 0.0,
                  "demand_tan_phi": 0.0, "generation_tan_phi": 0.0} for p in range(PERIODS)],
    "substation": {"p_mw": None, "q_mvar": None},
    "shedding_cost": {"load_eur_per_mwh": 450.0, "generation_eur_per_mwh": 50.0},
}

RULES = {"price_resolution_eur": 0.5, "quantity_step_mw": 0.1, "min_quantity_mw": 0.1, "max_quantity_mw": 5.0,
         "min_price_eur_per_mwh": 0.0, "max_price_eur_per_mwh": 500.0}

GATE_OPENS = "2026-11-20T09:00:00Z"
GATE_CLOSES = "2026-11-20T12:00:00Z"
DURING = "2026-11-20T10:00:00Z"
AFTER = "2026-11-20T12:30:00Z"


def capacity_market(**changes: Any) -> dict[str, Any]:
    market = {"id": "CAP1", "kind": "capacity_day_ahead", "feeder": "F1", "day": DAY, "rule": "premium_capacity",
              "priority": "fcfs", "pricing": "pay_as_bid", "gate_opens": GATE_OPENS, "gate_closes": GATE_CLOSES,
              "periods": PERIODS, "period_minutes": 60, "rules": copy.deepcopy(RULES)}
    market.update(changes)
    return market


def capacity_bid(**changes: Any) -> dict[str, Any]:
    bid = {"id": "B1", "market_id": "CAP1", "device": "D1", "periods": [0, 1], "quantity_mw": 1.0,
           "min_mw": 1.0, "divisible": False, "price_eur_per_mwh": 40.0}
    bid.update(changes)
    return bid


def flex_request(**changes: Any) -> dict[str, Any]:
    request = {"id": "FLEX1", "day": DAY, "gate_opens": GATE_OPENS, "gate_closes": GATE_CLOSES,
               "budget_cents": 50_000, "feeder": "F1"}
    request.update(changes)
    return request


def flex_offer(**changes: Any) -> dict[str, Any]:
    offer = {"id": "O1", "market_id": "FLEX1", "device": "D2",
             "products": {"p_up": {"price_eur_per_mwh": 50.0, "quantity_mw": [0.2] * PERIODS}}}
    offer.update(changes)
    return offer


DEVICES = {
    "D1": (AGG1, {"id": "D1", "type": "load", "max_power_mw": 2.0, "min_power_mw": 0.2, "node": "1", "feeder": "F1"}),
    "D2": (AGG2, {"id": "D2", "type": "storage", "max_power_mw": 1.0, "min_power_mw": 0.0, "capacity_mwh": 2.0,
                  "node": "2", "feeder": "F1"}),
    "D3": (AGG1, {"id": "D3", "type": "generation", "max_power_mw": 3.0, "node": "3", "feeder": "F2"}),
    "D4": (AGG1, {"id": "D4", "type": "load", "max_power_mw": 1.5, "node": "2", "feeder": "F1"}),
}


def market_day() -> Chain:
    """A chain in the middle of a market day: governance, network, devices D1-D4, baseline, funds, the open
    capacity market CAP1 (limits published) and flexibility market FLEX1, both aggregators enrolled."""
    chain = Chain()
    chain.invoke(ADMIN, "InitMarketplace", GOVERNANCE)
    chain.invoke(DSO, "PublishNetwork", NETWORK)
    for who, device in DEVICES.values():
        chain.invoke(who, "RegisterDevice", device)
    chain.invoke(DSO, "PublishBaseline", BASELINE)
    for msp, cents in (("dsoMSP", 1_000_000), ("agg1MSP", 100_000), ("agg2MSP", 100_000)):
        chain.invoke(SETTLE, "Deposit", msp, str(cents))
    chain.invoke(DSO, "CreateMarket", capacity_market())
    chain.invoke(DSO, "PublishCapacityLimits", {"market_id": "CAP1", "limits": [
        {"feeder": "F1", "period": p, "capacity_mw": 1.5} for p in range(PERIODS)]})
    chain.invoke(DSO, "RequestFlexibility", flex_request())
    chain.at(DURING)
    for who in (AGG1, AGG2):
        for market in ("CAP1", "FLEX1"):
            chain.invoke(who, "EnrolInMarket", market)
    return chain
