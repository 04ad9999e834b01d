"""Divergent clearing results on the real network: one organisation's chaincode server runs a faulty
oracle (``network up --oracle-fault agg2``, then ``dso``, the org whose peer answers the DSO's gateway
first). Endorsement must fail before ordering, and the client library, ``flexledger tx`` and the REST
service must say which organisations agreed and which one differed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from gateway import EndorseError, connect_from_profile
from gateway.profile import load_profile
from gateway.retry import SETTLE_RETRY
from network.manager import Network
from restapi import create_app
from restapi.auth import TOKEN_FILE, TokenStore
from tests.integration.conftest import LiveNetwork
from tests.small_feeder import SMALL_FEEDER as FEEDER
from tests.small_feeder import small_baseline

GATE_SECONDS = 30


@pytest.fixture(scope="module", params=["agg2", "dso"])
def faulty(request: pytest.FixtureRequest, live_network: LiveNetwork) -> Iterator[Network]:
    """The session network with one org's chaincode server switched to a perturbed oracle (and back)."""
    live_network.cli("network", "up", "--oracle-fault", request.param, check=True)
    try:
        yield live_network.net
    finally:
        live_network.cli("network", "up", check=True)


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def cleared_market_ready(net: Network) -> str:
    """A flexibility market with one bid whose gate has just closed."""
    profiles = net.layout.profiles
    now = dt.datetime.now(dt.UTC)
    day = now.date().isoformat()
    market = f"fault-{uuid.uuid4().hex[:6]}"
    # a network that has just started, on a loaded machine: give gossip time to converge
    with connect_from_profile(profiles / "dso.json", "operator", endorse_retry=dataclasses.replace(SETTLE_RETRY, discovery_settle=120)) as gw:
        dso = gw.get_network("flexchannel").get_contract("flexledger")
        dso.submit("PublishNetwork", json.dumps(FEEDER))
        dso.submit("PublishBaseline", json.dumps(small_baseline(day)))
        with connect_from_profile(profiles / "dso.json", "settlement", endorse_retry=SETTLE_RETRY) as sgw:
            sgw.get_network("flexchannel").get_contract("flexledger").submit("Deposit", "dsoMSP", "100000")
        closes = now + dt.timedelta(seconds=GATE_SECONDS)
        dso.submit("RequestFlexibility", json.dumps({
            "id": market, "day": day, "gate_opens": iso(now - dt.timedelta(minutes=1)), "gate_closes": iso(closes),
            "budget_cents": 50000, "feeder": "F1"}))
    with connect_from_profile(profiles / "agg1.json", "trader", endorse_retry=SETTLE_RETRY) as gw:
        agg = gw.get_network("flexchannel").get_contract("flexledger")
        device = f"fd-{uuid.uuid4().hex[:6]}"
        agg.submit("RegisterDevice", json.dumps({"id": device, "type": "load", "max_power_mw": 0.05,
                                                 "node": "3", "feeder": "F1"}))
        agg.submit("EnrolInMarket", market)
        agg.submit("PlaceBid", json.dumps({"id": f"{market}-b", "market_id": market, "device": device,
                                           "products": {"p_up": {"price_eur_per_mwh": 12.0, "quantity_mw": [0.02]}}}))
    time.sleep(max(0.0, (closes - dt.datetime.now(dt.UTC)).total_seconds() + 2))
    return market


def _heights(net: Network) -> list[int | None]:
    """Peer heights once every peer has caught up (blocks reach other peers a moment later)."""
    deadline = time.monotonic() + 30
    while True:
        heights = list(net.status().peer_heights().values())
        if len(set(heights)) == 1 or time.monotonic() > deadline:
            return heights
        time.sleep(0.5)


def test_divergent_clearing_fails_before_ordering_naming_who_agreed_and_who_differed(
    faulty: Network, live_network: LiveNetwork
):
    bad = faulty.state()["oracle_fault"] + "MSP"
    honest = sorted({"dsoMSP", "agg1MSP", "agg2MSP"} - {bad})
    market = cleared_market_ready(faulty)
    profiles = faulty.layout.profiles
    heights = _heights(faulty)
    with connect_from_profile(profiles / "dso.json", "operator", endorse_retry=SETTLE_RETRY) as gw:
        contract = gw.get_network("flexchannel").get_contract("flexledger")
        with pytest.raises(EndorseError) as err:
            contract.submit("ClearMarket", market)
        groups = {tuple(sorted(orgs)) for orgs in err.value.disagreement.values()}
        assert (bad,) in groups, err.value
        summary = err.value.disagreement_summary()
        assert summary.startswith("agreed: ") and f"differed: {bad} " in summary, summary
        agreed = summary.removeprefix("agreed: ").split(" (result")[0].split(", ")
        assert set(honest) <= set(agreed) and bad not in agreed, summary
        assert f"differed: {bad}" in str(err.value)
    tx = live_network.cli("tx", "submit", "--org", "dso", "--user", "operator", "ClearMarket", market)
    assert tx.returncode != 0 and f"differed: {bad}" in tx.stderr, tx.stderr
    with connect_from_profile(profiles / "dso.json", "operator", endorse_retry=SETTLE_RETRY) as gw:
        contract = gw.get_network("flexchannel").get_contract("flexledger")
        # nothing was ordered: the market is still uncleared
        assert json.loads(contract.evaluate("ReadMarket", market))["status"] != "cleared"
    # the same through the REST service: 502 naming the organisation
    profile = load_profile(profiles / "dso.json")
    store = TokenStore(profile.wallet / TOKEN_FILE)
    token = store.issue("operator")
    with TestClient(create_app(profile, tokens=store)) as client:
        r = client.post(f"/markets/{market}/clear", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 502
    message = r.json()["error"]["message"]
    assert r.json()["error"]["code"] == "endorsement_mismatch" and f"differed: {bad}" in message, message
    assert set(honest) <= set(message.split("agreed: ")[1].split(" (result")[0].split(", ")), message
    assert _heights(faulty) == heights, "a divergent clearing must leave every ledger unchanged"
