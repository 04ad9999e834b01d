"""Sealed bids on the real network: before the gate closes nobody but the bidding organisation — not another
aggregator, not the DSO, not the auditor — can read a sealed bid's price or quantity, through the REST
service or the client library; a reveal that does not match is refused; the sealed market clears exactly as
an open market with the same bids; the auditor (REST and CLI) verifies every commitment and the AC flow.

The tests run in file order: those before ``test_reveal_*`` run while the gates are open."""

from __future__ import annotations

import copy
import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient

from gateway import EndorseError, connect_from_profile
from gateway.profile import load_profile
from gateway.retry import SETTLE_RETRY
from gateway.sealed import SealedBidStore
from tests.integration.conftest import LiveNetwork
from tests.small_feeder import SMALL_FEEDER, small_baseline

GATE_SECONDS = 45
TIME = "%Y-%m-%dT%H:%M:%SZ"
#: The small feeder with branch 1-3 limited to 0.05 MW under a 0.07 MW load at node 3: the DSO needs 0.02 MW.
FEEDER = copy.deepcopy(SMALL_FEEDER)
FEEDER["network"]["branches"][2]["p_max_mw"] = 0.05
CONTENT = ("price_eur_per_mwh", "quantity_mw", "periods", "min_mw", "products", "seal")
USERS = {"dso": ["operator", "settlement"], "agg1": ["trader"], "agg2": ["trader"], "auditor": ["inspector"]}


@dataclass
class Sealed:
    clients: dict[str, TestClient]
    tokens: dict[str, str]
    live: LiveNetwork
    sealed: str  # the sealed flexibility market
    open: str  # an open flexibility market taking the same bids
    gate_closes: dt.datetime
    devices: dict[str, str]  # org -> its device
    bids: dict[str, dict]  # (market kind, org) -> bid

    def call(self, org: str, method: str, path: str, user: str | None = None, **kwargs) -> httpx.Response:
        user = user or USERS[org][0]
        headers = {"Authorization": f"Bearer {self.tokens[f'{org}/{user}']}"}
        return self.clients[org].request(method, path, headers=headers, **kwargs)

    def wait_for_gate(self) -> None:
        wait = (self.gate_closes - dt.datetime.now(dt.UTC)).total_seconds() + 2
        if wait > 0:
            time.sleep(wait)


def _offer(market: str, device: str, price: float, mw: float) -> dict:
    return {"id": f"{market}-{device}", "market_id": market, "device": device,
            "products": {"p_up": {"price_eur_per_mwh": price, "quantity_mw": [mw]}}}


@pytest.fixture(scope="module")
def world(live_network: LiveNetwork) -> Iterator[Sealed]:
    clients, tokens = live_network.rest_services(USERS)
    now = dt.datetime.now(dt.UTC)
    day = (now + dt.timedelta(days=3)).date().isoformat()  # a day of its own: other modules use today
    run = uuid.uuid4().hex[:6]
    w = Sealed(clients, tokens, live_network, f"sealed-{run}", f"open-{run}", now + dt.timedelta(seconds=GATE_SECONDS),
               {}, {})
    baseline = small_baseline(day)
    baseline["baseline"][0]["demand_mw"] = 0.07
    assert w.call("dso", "PUT", "/network", json=FEEDER).status_code == 200
    assert w.call("dso", "PUT", "/baseline", json=baseline).status_code == 200
    r = w.call("dso", "POST", "/funds/deposit", user="settlement", json={"participant": "dsoMSP",
                                                                         "amount_cents": 400000})
    assert r.status_code == 200, r.text
    for market, sealed in ((w.sealed, True), (w.open, False)):
        body = {"id": market, "day": day, "gate_opens": (now - dt.timedelta(minutes=1)).strftime(TIME),
                "gate_closes": w.gate_closes.strftime(TIME), "budget_cents": 100000, "feeder": "F1",
                **({"sealed": True, "reveal_seconds": 300} if sealed else {})}
        r = w.call("dso", "POST", "/flexibility-requests", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["sealed"] is sealed
    for org, node, price in (("agg1", "3", 12.0), ("agg2", "3", 15.0)):
        device = f"{org}-sb-{run}"
        r = w.call(org, "POST", "/devices", json={"id": device, "type": "storage", "max_power_mw": 0.05,
                                                  "min_power_mw": 0.0, "capacity_mwh": 0.1, "node": node,
                                                  "feeder": "F1"})
        assert r.status_code == 201, r.text
        w.devices[org] = device
        for market in (w.sealed, w.open):
            assert w.call(org, "POST", f"/markets/{market}/enrolment").status_code == 201
            w.bids[market, org] = _offer(market, device, price, 0.02)
    yield w
    for client in clients.values():
        client.__exit__(None, None, None)


def test_agg1_seals_its_bid_through_its_gateway_and_only_agg1_keeps_the_content(world: Sealed) -> None:
    bid = world.bids[world.sealed, "agg1"]
    r = world.call("agg1", "POST", "/bids", json=bid)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "sealed" and not set(CONTENT) & set(r.json())
    own = world.call("agg1", "GET", f"/markets/{world.sealed}/sealed-bids").json()
    assert [b["bid"] for b in own] == [bid]
    assert world.call("agg2", "GET", f"/markets/{world.sealed}/sealed-bids").json() == []
    assert world.call("agg1", "POST", "/bids", json=world.bids[world.open, "agg1"]).status_code == 201
    assert world.call("agg2", "POST", "/bids", json=world.bids[world.open, "agg2"]).status_code == 201


def test_agg2_seals_its_bid_with_the_cli(world: Sealed, tmp_path) -> None:
    path = tmp_path / "bid.json"
    path.write_text(json.dumps(world.bids[world.sealed, "agg2"]))
    out = world.live.cli("bids", "place", "--org", "agg2", str(path), check=True)
    assert json.loads(out.stdout)["status"] == "sealed"
    wallet = load_profile(world.live.profile("agg2")).wallet
    assert SealedBidStore(wallet).get(world.bids[world.sealed, "agg2"]["id"]) is not None


def test_no_other_organisation_reads_a_sealed_bid_through_the_rest_service(world: Sealed) -> None:
    for org, path in (("dso", f"/markets/{world.sealed}/bids"), ("agg2", f"/markets/{world.sealed}/bids"),
                      ("auditor", f"/markets/{world.sealed}/bids"), ("agg1", f"/markets/{world.sealed}/bids")):
        items = world.call(org, "GET", path).json()["items"]
        assert len(items) == 2 and all(b["status"] == "sealed" for b in items), (org, items)
        assert not [b for b in items if set(CONTENT) & set(b)], (org, items)
    bid_id = world.bids[world.sealed, "agg1"]["id"]
    for org in ("dso", "auditor"):
        history = world.call(org, "GET", f"/audit/history/bid/{bid_id}").json()
        assert history and not [h for h in history if set(CONTENT) & set(h["value"])]
        bids = world.call(org, "GET", "/audit/participants/agg1MSP").json()["bids"]
        assert not [b for b in bids if b["market_id"] == world.sealed and set(CONTENT) & set(b)]


@pytest.mark.parametrize(("org", "user"), [("dso", "operator"), ("agg2", "trader"), ("auditor", "inspector")])
def test_no_other_organisation_reads_a_sealed_bid_through_the_client_library(world: Sealed, org, user) -> None:
    bid_id = world.bids[world.sealed, "agg1"]["id"]
    with connect_from_profile(world.live.profile(org), user, endorse_retry=SETTLE_RETRY) as gw:
        contract = gw.get_network("flexchannel").get_contract("flexledger")
        listed = json.loads(contract.evaluate("ListBids", world.sealed))
        mine = next(b for b in listed if b["id"] == bid_id)
        assert mine["status"] == "sealed" and not set(CONTENT) & set(mine)
        assert len(mine["commitment"]) == 64
        if org != "agg2":
            history = json.loads(contract.evaluate("GetHistory", "bid", bid_id))
            assert not [h for h in history if set(CONTENT) & set(h["value"])]


def test_reveal_before_the_gate_closes_is_refused(world: Sealed) -> None:
    out = world.call("agg1", "POST", f"/markets/{world.sealed}/reveal").json()
    bid_id = world.bids[world.sealed, "agg1"]["id"]
    assert out["revealed"] == [] and out["not_revealed"][bid_id].startswith("bidId:"), out
    r = world.call("dso", "POST", f"/markets/{world.sealed}/clear")
    assert r.status_code == 409  # gate still open


def test_reveal_mismatch_is_refused_and_the_bid_stays_sealed(world: Sealed) -> None:
    world.wait_for_gate()
    bid_id = world.bids[world.sealed, "agg1"]["id"]
    kept = SealedBidStore(load_profile(world.live.profile("agg1")).wallet).get(bid_id)
    cheaper = kept.bid_json.replace('"price_eur_per_mwh":12.0', '"price_eur_per_mwh":1.0')
    assert cheaper != kept.bid_json
    with connect_from_profile(world.live.profile("agg1"), "trader", endorse_retry=SETTLE_RETRY) as gw:
        contract = gw.get_network("flexchannel").get_contract("flexledger")
        with pytest.raises(EndorseError) as refused:
            contract.submit("RevealBid", bid_id, cheaper, kept.salt)
        assert refused.value.chaincode_message.startswith("bidJSON:"), refused.value
        status = {b["id"]: b["status"] for b in json.loads(contract.evaluate("ListBids", world.sealed))}
    assert status[bid_id] == "sealed"


def test_reveal_by_rest_and_cli_then_the_sealed_market_clears_exactly_like_the_open_one(world: Sealed) -> None:
    out = world.call("agg1", "POST", f"/markets/{world.sealed}/reveal").json()
    assert out["revealed"] == [world.bids[world.sealed, "agg1"]["id"]] and not out["not_revealed"], out
    cli = world.live.cli("bids", "reveal", "--org", "agg2", world.sealed, check=True)
    assert json.loads(cli.stdout)["revealed"] == [world.bids[world.sealed, "agg2"]["id"]]
    results = {}
    for market in (world.sealed, world.open):
        r = world.call("dso", "POST", f"/markets/{market}/clear")
        assert r.status_code == 200, r.text
        assert r.json()["unrevealed_bids"] == []
        results[market] = world.call("agg1", "GET", f"/markets/{market}/result").json()["result"]
    sealed, open_ = results[world.sealed], results[world.open]

    def by_device(result: dict, market: str) -> dict:
        return {bid_id.removeprefix(f"{market}-"): mw for bid_id, mw in result["dispatch_mw"].items()}

    assert by_device(sealed, world.sealed) == by_device(open_, world.open)
    for name in ("payments_eur", "costs_eur", "total_cost_eur", "flex_cost_eur"):
        assert sealed[name] == open_[name], name
    assert any(sealed["payments_eur"].values()), "the case must dispatch someone"


def test_the_auditor_verifies_every_commitment_and_the_ac_flow(world: Sealed) -> None:
    verdict = world.call("auditor", "POST", f"/audit/markets/{world.sealed}/verify").json()
    assert verdict["outcome_matches"] is True, verdict
    assert verdict["commitments"] == {"sealed": True, "verified": True, "revealed": 2, "unrevealed": [],
                                      "problems": []}
    ac = verdict["ac_check"]
    assert set(ac["summary"]) >= {"v_ac_min_pu", "violations", "worst_branch"} and ac["text"].startswith("AC check:")
    assert ac["summary"]["worst_branch"]["branch"] == "1-3", ac["summary"]  # the congested branch
    out = world.live.cli("audit", "verify", "--org", "auditor", world.sealed, check=True).stdout
    assert "2 revealed, all match their commitments" in out and "AC check:" in out, out
    open_verdict = world.call("auditor", "POST", f"/audit/markets/{world.open}/verify").json()
    assert open_verdict["commitments"]["sealed"] is False
