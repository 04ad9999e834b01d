"""The wholesale modules on the real network, through the REST service of each organisation.

One day of trading on the small feeder with a heavy load at node 3 (its voltage is below the limit):
a local flexibility market buys relief; the rest of the consenting offer goes to the TSO as an mFRR bid
(DSO-TSO coordination); spot offers pass the DSO's network check (a sell curtailed at the branch limit, a
buy that would deepen the voltage problem rejected); the book leaves through the file-drop adapter, a
local exchange signs its result, tampered results are refused and the genuine ones recorded and settled;
the TSO's platform activates through its drop, delivery falls short and the auditor sees it; money is
conserved across local and wholesale settlement (what changed is exactly what crossed the boundary).
"""

from __future__ import annotations

import copy
import datetime as dt
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from adapters.documents import ExchangeKey
from adapters.fakes import FakeExchange, FakeTsoPlatform
from tests.integration.conftest import LiveNetwork
from tests.small_feeder import SMALL_FEEDER

GATE_SECONDS = 40


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Day:
    clients: dict[str, TestClient]
    tokens: dict[str, str]
    day: str
    drop: Path
    key: ExchangeKey
    flex_market: str
    session: str
    devices: dict[str, str]
    total_before: int
    #: every participant's escrow when the module began (other modules' markets on the shared network)
    escrow_before: dict[str, int] = field(default_factory=dict)

    def call(self, org: str, user: str, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[f'{org}/{user}']}"}
        return self.clients[org].request(method, path, headers=headers, **kwargs)

    def ok(self, org: str, user: str, method: str, path: str, **kwargs) -> dict:
        r = self.call(org, user, method, path, **kwargs)
        assert r.status_code in (200, 201), f"{method} {path}: {r.status_code} {r.text}"
        return r.json()


@pytest.fixture(scope="module")
def wholesale(live_network: LiveNetwork, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Day]:
    drop = tmp_path_factory.mktemp("wholesale-drop")
    patch = pytest.MonkeyPatch()
    patch.setenv("FLEXLEDGER_EXCHANGE_DROP", str(drop))
    patch.setenv("FLEXLEDGER_TSO_DROP", str(drop))
    users = {"dso": ["operator", "settlement", "tso"], "agg1": ["trader"], "agg2": ["trader"], "auditor": ["inspector"]}
    clients, tokens = live_network.rest_services(users)
    now = dt.datetime.now(dt.UTC)
    closes = now + dt.timedelta(seconds=GATE_SECONDS)
    d = Day(clients, tokens, (now + dt.timedelta(days=61)).date().isoformat(), drop, ExchangeKey.generate(),
            uid("flex"), uid("da"), {}, 0)
    d.ok("dso", "operator", "PUT", "/network", json=SMALL_FEEDER)
    d.ok("dso", "operator", "PUT", "/baseline", json={
        "day": d.day, "periods": 1, "period_minutes": 60,
        "baseline": [{"node": "3", "period": 0, "demand_mw": 2.0, "generation_mw": 0.0,
                      "demand_tan_phi": 0.2, "generation_tan_phi": 0.0}],
        "substation": {"p_mw": None, "q_mvar": None},
        "shedding_cost": {"load_eur_per_mwh": 450.0, "generation_eur_per_mwh": 50.0}})
    for msp in ("dsoMSP", "agg1MSP", "agg2MSP"):
        d.ok("dso", "settlement", "POST", "/funds/deposit", json={"participant": msp, "amount_cents": 500_000})
    d.total_before = d.ok("auditor", "inspector", "GET", "/audit/funds")["total_cents"]
    for msp in ("dsoMSP", "agg1MSP", "agg2MSP"):
        d.escrow_before[msp] = d.ok("auditor", "inspector", "GET", f"/audit/participants/{msp}")["balance"]["escrow_cents"]
    for name, org, node, mw in (("seller", "agg1", "2", 3.0), ("buyer", "agg1", "3", 1.0), ("local", "agg2", "3", 0.5)):
        d.devices[name] = uid(name)
        d.ok(org, "trader", "POST", "/devices", json={"id": d.devices[name], "type": "storage", "max_power_mw": mw,
                                                      "min_power_mw": 0.0, "capacity_mwh": 4.0, "node": node,
                                                      "feeder": "F1"})
    # the local market and the spot session, both closing soon
    d.ok("dso", "operator", "POST", "/flexibility-requests", json={
        "id": d.flex_market, "day": d.day, "gate_opens": iso(now - dt.timedelta(minutes=5)),
        "gate_closes": iso(closes), "budget_cents": 200_000, "feeder": "F1"})
    d.ok("agg2", "trader", "POST", f"/markets/{d.flex_market}/enrolment")
    d.ok("agg2", "trader", "POST", "/bids", json={
        "id": uid("o"), "market_id": d.flex_market, "device": d.devices["local"],
        "products": {"p_up": {"price_eur_per_mwh": 30.0, "quantity_mw": [0.3]}}})
    d.ok("agg2", "trader", "PUT", "/mfrr/consents", json={"device": d.devices["local"], "allow": True,
                                                           "price_eur_per_mwh": 90.0})
    d.ok("dso", "operator", "PUT", "/spot/exchange-keys", json={"exchange": "LOCALEX", "public_key_pem": d.key.public_pem()})
    d.ok("dso", "operator", "POST", "/spot/sessions", json={"id": d.session, "day": d.day, "venue": "day_ahead",
                                                            "exchange": "LOCALEX", "gate_closes": iso(closes)})
    d.ok("agg1", "trader", "POST", "/spot/offers", json={"id": "sell", "session_id": d.session,
                                                        "device": d.devices["seller"], "side": "sell",
                                                        "quantity_mw": [3.0], "price_eur_per_mwh": 40.0})
    d.ok("agg1", "trader", "POST", "/spot/offers", json={"id": "buy", "session_id": d.session,
                                                        "device": d.devices["buyer"], "side": "buy",
                                                        "quantity_mw": [0.5], "price_eur_per_mwh": 80.0})
    time.sleep(max(0.0, (closes - dt.datetime.now(dt.UTC)).total_seconds()) + 3)
    yield d
    patch.undo()
    for client in clients.values():
        client.__exit__(None, None, None)


def test_local_clearing_offers_the_undispatched_rest_to_the_tso(wholesale: Day) -> None:
    d = wholesale
    record = d.ok("dso", "operator", "POST", f"/markets/{d.flex_market}/clear")
    assert len(record["offered_to_tso"]) == 1
    d.ok("dso", "settlement", "POST", f"/markets/{d.flex_market}/settle")
    [bid] = d.ok("dso", "tso", "GET", f"/mfrr/days/{d.day}/bids")
    dispatched = d.ok("auditor", "inspector", "GET", f"/audit/markets/{d.flex_market}")
    assert bid["source"] == f"local:{d.flex_market}" and bid["price_eur_per_mwh"] == 90.0
    assert 0 < bid["quantity_mw"] < 0.3 and bid["status"] in ("forwarded", "curtailed"), (bid, dispatched)


def test_spot_offers_are_checked_against_the_network_before_they_leave(wholesale: Day) -> None:
    d = wholesale
    session = d.ok("dso", "operator", "POST", f"/spot/sessions/{d.session}/check")
    assert session["offer_counts"] == {"feasible": 0, "curtailed": 1, "rejected": 1, "unfunded": 0}
    offers = {o["id"]: o for o in d.ok("agg1", "trader", "GET", f"/spot/sessions/{d.session}")["offers"]}
    assert offers["sell"]["status"] == "curtailed" and 1.9 < offers["sell"]["forwarded_mw"][0] < 3.0
    assert offers["buy"]["status"] == "rejected"  # buying at node 3 would deepen its under-voltage
    sent = d.ok("dso", "operator", "POST", f"/spot/sessions/{d.session}/forward")
    assert [o["id"] for o in sent["book"]["orders"]] == ["sell"]
    assert (d.drop / "exchange" / "books" / f"{d.session}.json").exists()


def test_tampered_exchange_results_are_refused_and_change_nothing(wholesale: Day) -> None:
    d = wholesale
    envelope = FakeExchange(d.drop, d.key, [55.0]).clear(d.session)
    tampered = copy.deepcopy(envelope)
    tampered["document"]["prices_eur_per_mwh"] = [99.0]
    r = d.call("dso", "operator", "POST", f"/spot/sessions/{d.session}/results", json=tampered)
    assert r.status_code in (400, 403, 422), r.text
    assert r.json()["error"]["field"] == "results.signature"
    forged = FakeExchange(d.drop, ExchangeKey.generate(), [55.0]).clear(d.session)  # not the published key
    r = d.call("dso", "operator", "POST", f"/spot/sessions/{d.session}/results", json=forged)
    assert r.status_code in (400, 403, 422) and r.json()["error"]["field"] == "results.signature", r.text
    assert d.ok("auditor", "inspector", "GET", f"/spot/sessions/{d.session}")["status"] == "checked"


def test_genuine_exchange_results_are_recorded_and_settled(wholesale: Day) -> None:
    d = wholesale
    FakeExchange(d.drop, d.key, [55.0]).clear(d.session, fill=0.5)
    session = d.ok("dso", "operator", "POST", f"/spot/sessions/{d.session}/fetch-results")
    [trade] = session["trades"]
    assert trade["order_id"] == "sell" and trade["amount_cents"] > 0
    settled = d.ok("dso", "settlement", "POST", f"/spot/sessions/{d.session}/settle")
    assert settled["received_cents"] == trade["amount_cents"] and settled["paid_cents"] == 0


def test_tso_activation_through_its_platform_and_non_delivery_visible_to_the_auditor(wholesale: Day) -> None:
    d = wholesale
    forwarded = d.ok("dso", "operator", "POST", f"/mfrr/days/{d.day}/forward")["bids"]
    [bid] = forwarded
    FakeTsoPlatform(d.drop).activate(d.day, {bid["id"]: bid["quantity_mw"], "unknown-bid": 1.0})
    out = d.ok("dso", "tso", "POST", f"/mfrr/days/{d.day}/fetch-activations")
    assert out["refused"] == [] and len(out["accepted"]) == 1  # the fake only asks for bids it was offered
    activation = out["accepted"][0]
    r = d.call("dso", "operator", "POST", "/mfrr/activations", json={"id": uid("a"), "bid_id": bid["id"],
                                                                    "quantity_mw": 0.01})
    assert r.status_code == 403  # the DSO operator is not the TSO
    d.ok("dso", "operator", "POST", f"/mfrr/activations/{activation['id']}/delivery",
         json={"delivered_mw": round(activation["quantity_mw"] / 2, 3)})
    settled = d.ok("dso", "settlement", "POST", f"/mfrr/activations/{activation['id']}/settle")
    assert settled["paid_cents"] < activation["escrow_cents"]
    [seen] = d.ok("auditor", "inspector", "GET", f"/mfrr/days/{d.day}/activations")
    assert seen["non_delivered_mw"] > 0 and seen["status"] == "settled"


def test_money_is_conserved_across_local_and_wholesale_settlement(wholesale: Day) -> None:
    d = wholesale
    flows = d.ok("auditor", "inspector", "GET", "/spot/flows")
    funds = d.ok("auditor", "inspector", "GET", "/audit/funds")
    total = funds["total_cents"]
    assert funds["wholesale"] == flows
    assert flows["net_in_cents"] > 0
    assert total == d.total_before + flows["net_in_cents"]
    for msp in ("dsoMSP", "agg1MSP", "agg2MSP"):
        balance = d.ok("auditor", "inspector", "GET", f"/audit/participants/{msp}")["balance"]
        assert balance["escrow_cents"] == d.escrow_before[msp], balance  # what this module escrowed is released
