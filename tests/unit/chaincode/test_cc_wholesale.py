"""The wholesale modules on the ledger: spot offers through the network check to signed exchange results,
mFRR bids to activations and settlement, and local offers the DSO left over going to the TSO.

The feeder (cc_world): branch 1-2 carries the 0.5 MW load of node 2 against a 0.4 MW limit, so selling at
node 2 relieves it only up to 0.9 MW and buying at node 2 is never allowed.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from cc_fakes import Chain, Refused
from cc_world import AFTER, AGG1, AGG2, AUDITOR, DAY, DSO, SETTLE, TSO, flex_offer, identity
from conftest import add_world, new_chain
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.documents import ExchangeKey, result_document, sign_results

SPOT_CLOSES = "2026-11-20T11:00:00Z"
KEY = ExchangeKey.generate()


def spot_offer(**changes: Any) -> dict[str, Any]:
    offer = {"id": "S1", "session_id": "DA1", "device": "D1", "side": "sell", "quantity_mw": [1.0] * 4,
             "price_eur_per_mwh": 40.0}
    offer.update(changes)
    return offer


def add_spot(chain: Chain) -> Chain:
    """TSO funds, the exchange's key and the open day-ahead session DA1 (gate closes at SPOT_CLOSES)."""
    chain.invoke(SETTLE, "Deposit", "tsoMSP", "500000")
    chain.invoke(DSO, "PublishExchangeKey", {"exchange": "EPEX", "public_key_pem": KEY.public_pem()})
    chain.invoke(DSO, "CreateSpotSession", {"id": "DA1", "day": DAY, "venue": "day_ahead", "exchange": "EPEX",
                                            "gate_closes": SPOT_CLOSES})
    return chain


def spot_world() -> Chain:
    return add_spot(add_world(new_chain()))


@pytest.fixture
def spot() -> Chain:
    chain = spot_world()
    chain.invoke(AGG1, "SubmitSpotOffer", spot_offer())
    chain.invoke(AGG2, "SubmitSpotOffer", spot_offer(id="S2", device="D2"))
    chain.invoke(AGG1, "SubmitSpotOffer", spot_offer(id="B4", device="D4", side="buy", price_eur_per_mwh=60.0))
    chain.invoke(AGG1, "SubmitSpotOffer", spot_offer(id="B3", device="D3", side="buy", quantity_mw=[0.5] * 4,
                                                     price_eur_per_mwh=50.0))
    chain.at(SPOT_CLOSES)
    chain.invoke(DSO, "CheckSpotSession", "DA1")
    return chain


def results(chain: Chain, prices: list[float], accepted: dict[str, list[float]], key: ExchangeKey = KEY) -> dict:
    sent = chain.invoke(DSO, "ReadSpotBook", "DA1")
    return sign_results(result_document(sent["book"], sent["book_hash"], prices, accepted), key)


def test_network_check_forwards_feasible_offers_curtails_and_rejects_the_rest(spot: Chain) -> None:
    offers = {o["id"]: o for o in spot.invoke(AUDITOR, "ReadSpotSession", "DA1")["offers"]}
    assert (offers["S1"]["status"], offers["S1"]["forwarded_mw"]) == ("feasible", [1.0] * 4)
    assert (offers["S2"]["status"], offers["S2"]["forwarded_mw"]) == ("curtailed", [0.899] * 4)
    assert (offers["B4"]["status"], offers["B4"]["forwarded_mw"]) == ("rejected", [0.0] * 4)
    assert offers["B3"]["status"] == "feasible" and offers["B3"]["escrow_cents"] == 10_000
    book = spot.invoke(AGG2, "ReadSpotBook", "DA1")["book"]
    assert [o["id"] for o in book["orders"]] == ["B3", "S1", "S2"]  # same time: by id
    assert spot.invoke(AGG1, "GetBalance", "agg1MSP")["escrow_by_market"] == {"spot:DA1": 10_000}


def test_exchange_results_are_recorded_and_settled_with_money_accounted(spot: Chain) -> None:
    total = spot.total_cents()
    envelope = results(spot, [45.0] * 4, {"S1": [1.0] * 4, "S2": [0.5] * 4, "B3": [0.5] * 4})
    session = spot.invoke(DSO, "RecordSpotResults", "DA1", envelope)
    assert session["status"] == "traded"
    assert {t["order_id"]: t["amount_cents"] for t in session["trades"]} == {"S1": 18_000, "S2": 9_000, "B3": 9_000}
    settled = spot.invoke(SETTLE, "SettleSpotSession", "DA1")
    assert (settled["received_cents"], settled["paid_cents"]) == (27_000, 9_000)
    assert settled["released"] == [{"participant": "agg1MSP", "amount_cents": 1_000}]
    assert spot.total_cents() == total + 27_000 - 9_000
    assert spot.invoke(AUDITOR, "WholesaleFlows")["net_in_cents"] == 18_000
    assert spot.invoke(AGG1, "GetBalance", "agg1MSP")["escrow_cents"] == 0


@pytest.mark.parametrize("tamper, field", [
    (lambda e: e["document"]["trades"][0].update(accepted_mw=[2.0] * 4), "results.signature"),
    (lambda e: e["document"]["prices_eur_per_mwh"].__setitem__(0, 99.0), "results.signature"),
    (lambda e: e.update(signature=sign_results(e["document"], ExchangeKey.generate())["signature"]), "results.signature"),
])
def test_tampered_exchange_results_are_refused(spot: Chain, tamper: Any, field: str) -> None:
    envelope = results(spot, [45.0] * 4, {"S1": [1.0] * 4})
    tamper(envelope)
    before = dict(spot.ledger.state)
    with pytest.raises(Refused, match=f"^{field}: does not verify"):
        spot.invoke(DSO, "RecordSpotResults", "DA1", envelope)
    assert spot.ledger.state == before


@pytest.mark.parametrize("prices, accepted, message", [
    ([45.0] * 4, {"S2": [0.9] * 4}, r"trades\[0\]\.accepted_mw\[0\]: 0.9 MW exceeds the 0.899 MW forwarded"),
    ([35.0] * 4, {"S1": [1.0] * 4}, r"trades\[0\]\.accepted_mw\[0\]: sells order S1 at 35 EUR/MWh, below its limit"),
    ([55.0] * 4, {"B3": [0.5] * 4}, r"trades\[0\]\.accepted_mw\[0\]: buys order B3 at 55 EUR/MWh, above its limit"),
    ([45.0] * 4, {"B4": [0.5] * 4}, r"trades\[0\]\.order_id: order B4 was not forwarded"),
])
def test_signed_results_that_break_the_book_are_refused(spot: Chain, prices: list[float],
                                                        accepted: dict[str, list[float]], message: str) -> None:
    with pytest.raises(Refused, match=message):
        spot.invoke(DSO, "RecordSpotResults", "DA1", results(spot, prices, accepted))


def test_results_for_another_book_are_refused(spot: Chain) -> None:
    sent = spot.invoke(DSO, "ReadSpotBook", "DA1")
    doc = result_document(sent["book"], "0" * 64, [45.0] * 4, {"S1": [1.0] * 4})
    with pytest.raises(Refused, match="^results.document.book_hash: must be"):
        spot.invoke(DSO, "RecordSpotResults", "DA1", sign_results(doc, KEY))


def test_a_later_check_reserves_what_an_earlier_session_forwarded() -> None:
    chain = spot_world()
    chain.invoke(DSO, "CreateSpotSession", {"id": "ID1", "day": DAY, "venue": "intraday", "exchange": "EPEX",
                                            "gate_closes": SPOT_CLOSES})
    chain.invoke(AGG2, "SubmitSpotOffer", spot_offer(id="S2", device="D2"))
    chain.invoke(AGG2, "SubmitSpotOffer", spot_offer(id="S9", device="D2", session_id="ID1"))
    chain.at(SPOT_CLOSES)
    chain.invoke(DSO, "CheckSpotSession", "DA1")
    checked = chain.invoke(DSO, "CheckSpotSession", "ID1")
    assert checked["offer_counts"]["rejected"] == 1  # DA1's 0.899 MW may still all be taken


def test_trades_that_a_later_local_clearing_made_unsafe_are_refused(flex: Chain) -> None:
    add_spot(flex)
    flex.invoke(AGG2, "SubmitSpotOffer", spot_offer(id="S2", device="D2"))
    flex.invoke(AGG2, "PlaceBid", flex_offer())
    flex.at(SPOT_CLOSES)
    flex.invoke(DSO, "CheckSpotSession", "DA1")  # forwards 0.899 MW before the local market clears
    flex.at(AFTER)
    flex.invoke(DSO, "ClearMarket", "FLEX1")  # dispatches relief at node 2: selling 0.899 more now overshoots
    envelope = results(flex, [45.0] * 4, {"S2": [0.899] * 4})
    before = dict(flex.ledger.state)
    with pytest.raises(Refused, match=r"^results.document.trades: the traded volumes break the network limits: "
                                      r"p_max at 1-2"):
        flex.invoke(DSO, "RecordSpotResults", "DA1", envelope)
    assert flex.ledger.state == before


def test_spot_offer_rules(spot: Chain) -> None:
    chain = spot_world()
    with pytest.raises(Refused, match="^offer.device: device D2 is managed by agg2MSP"):
        chain.invoke(AGG1, "SubmitSpotOffer", spot_offer(device="D2"))
    with pytest.raises(Refused, match=r"^offer.quantity_mw\[0\]: must be <= 2"):
        chain.invoke(AGG1, "SubmitSpotOffer", spot_offer(quantity_mw=[2.5] * 4))
    with pytest.raises(Refused, match="^offer.side: must be one of sell, buy"):
        chain.invoke(AGG1, "SubmitSpotOffer", spot_offer(side="hold"))
    with pytest.raises(Refused, match="^sessionId: spot session DA1 can be checked only after its gate"):
        chain.invoke(DSO, "CheckSpotSession", "DA1")
    chain.at(SPOT_CLOSES)
    with pytest.raises(Refused, match="^offer.session_id: the gate of spot session DA1 closed"):
        chain.invoke(AGG1, "SubmitSpotOffer", spot_offer())
    with pytest.raises(Refused, match="^caller.role: needs role dso"):
        chain.invoke(AGG1, "CheckSpotSession", "DA1")


def test_exchange_key_must_be_ed25519() -> None:
    chain = add_world(new_chain())
    with pytest.raises(Refused, match="^exchangeKey.public_key_pem: is not a readable PEM public key"):
        chain.invoke(DSO, "PublishExchangeKey", {"exchange": "EPEX", "public_key_pem": "nonsense"})


# ----------------------------------------------------------------------------------------------- mFRR
def mfrr_bid(**changes: Any) -> dict[str, Any]:
    bid = {"id": "M1", "device": "D2", "day": DAY, "period": 1, "direction": "up", "quantity_mw": 1.0,
           "price_eur_per_mwh": 80.0}
    bid.update(changes)
    return bid


def test_mfrr_bid_is_curtailed_by_the_network_and_later_checks_see_it() -> None:
    spot = spot_world()
    first = spot.invoke(AGG2, "SubmitMfrrBid", mfrr_bid())
    assert (first["status"], first["forwarded_mw"]) == ("curtailed", 0.899)
    down = spot.invoke(AGG1, "SubmitMfrrBid", mfrr_bid(id="M2", device="D4", direction="down", quantity_mw=0.5))
    assert (down["status"], down["forwarded_mw"]) == ("rejected", 0.0)
    second = spot.invoke(AGG2, "SubmitMfrrBid", mfrr_bid(id="M3", quantity_mw=0.5))
    assert (second["status"], second["forwarded_mw"]) == ("rejected", 0.0)  # M1's worst case took the room
    spot.invoke(AGG2, "SubmitSpotOffer", spot_offer(id="S2", device="D2", quantity_mw=[0.0, 0.5, 0.5, 0.0]))
    spot.at(SPOT_CLOSES)
    spot.invoke(DSO, "CheckSpotSession", "DA1")
    [offer] = spot.invoke(AUDITOR, "ReadSpotSession", "DA1")["offers"]
    assert offer["forwarded_mw"] == [0.0, 0.0, 0.5, 0.0]  # period 1 is M1's


def test_mfrr_activation_is_checked_escrowed_delivered_and_settled() -> None:
    spot = spot_world()
    spot.invoke(AGG2, "SubmitMfrrBid", mfrr_bid())
    with pytest.raises(Refused, match="^caller.role: needs role tso"):
        spot.invoke(DSO, "ActivateMfrr", {"id": "A1", "bid_id": "M1", "quantity_mw": 0.5})
    with pytest.raises(Refused, match="^activation.quantity_mw: must be <= 0.899"):
        spot.invoke(TSO, "ActivateMfrr", {"id": "A1", "bid_id": "M1", "quantity_mw": 1.0})
    activation = spot.invoke(TSO, "ActivateMfrr", {"id": "A1", "bid_id": "M1", "quantity_mw": 0.5})
    assert activation["escrow_cents"] == 4_000
    with pytest.raises(Refused, match="^activation.bid_id: mFRR bid M1 is activated"):
        spot.invoke(TSO, "ActivateMfrr", {"id": "A2", "bid_id": "M1", "quantity_mw": 0.1})
    spot.invoke(DSO, "RecordMfrrDelivery", "A1", "0.3")
    settled = spot.invoke(SETTLE, "SettleMfrrActivation", "A1")
    assert (settled["paid_cents"], settled["released_cents"], settled["non_delivered_mw"]) == (2_400, 1_600, 0.2)
    seen = spot.invoke(AUDITOR, "ListMfrrActivations", DAY)
    assert [(a["id"], a["non_delivered_mw"]) for a in seen] == [("A1", 0.2)]
    assert spot.invoke(AGG1, "ListMfrrActivations", DAY) == []  # not agg1's
    assert spot.invoke(AGG2, "GetBalance", "agg2MSP")["available_cents"] == 100_000 + 2_400


def test_mfrr_activation_that_a_later_local_clearing_made_unsafe_is_refused(flex: Chain) -> None:
    add_spot(flex)
    flex.invoke(AGG2, "PlaceBid", flex_offer())
    bid = flex.invoke(AGG2, "SubmitMfrrBid", mfrr_bid(period=0))  # before the local market clears
    assert bid["forwarded_mw"] == 0.899
    flex.at(AFTER)
    flex.invoke(DSO, "ClearMarket", "FLEX1")
    before = dict(flex.ledger.state)
    with pytest.raises(Refused, match=r"^activation.quantity_mw: the activation would break the network limits: "
                                      r"p_max at 1-2 in period 0"):
        flex.invoke(TSO, "ActivateMfrr", {"id": "A1", "bid_id": "M1", "quantity_mw": 0.899})
    assert flex.ledger.state == before
    assert flex.invoke(TSO, "ActivateMfrr", {"id": "A1", "bid_id": "M1", "quantity_mw": 0.5})["status"] == "activated"


def test_undispatched_local_flexibility_goes_to_the_tso_only_with_consent(flex: Chain) -> None:
    offer = flex_offer(products={"p_up": {"price_eur_per_mwh": 50.0, "quantity_mw": [0.3] * 4}})
    flex.invoke(AGG2, "PlaceBid", offer)
    flex.invoke(AGG1, "PlaceBid", flex_offer(id="O4", device="D4"))
    flex.invoke(AGG2, "SetMfrrConsent", {"device": "D2", "allow": True, "price_eur_per_mwh": 70.0})
    with pytest.raises(Refused, match="^consent.device: device D2 is managed by agg2MSP"):
        flex.invoke(AGG1, "SetMfrrConsent", {"device": "D2", "allow": True})
    flex.at(AFTER)
    record = flex.invoke(DSO, "ClearMarket", "FLEX1")
    assert record["offered_to_tso"] == [f"FLEX1.O1.p_up.{t}" for t in range(4)]
    bids = flex.invoke(TSO, "ListMfrrBids", DAY)
    assert {b["owner"] for b in bids} == {"agg2MSP"}  # O4's manager gave no consent
    clearing = flex.invoke(AUDITOR, "GetClearing", "FLEX1")
    for bid in bids:
        dispatched = clearing["result"]["dispatch_mw"].get("O1", {}).get("p_up", [0.0] * 4)[bid["period"]]
        assert bid["quantity_mw"] == pytest.approx(0.3 - dispatched, abs=1e-3)
        assert bid["price_eur_per_mwh"] == 70.0 and bid["direction"] == "up" and bid["source"] == "local:FLEX1"


def test_money_is_conserved_across_local_and_wholesale_settlement(flex: Chain) -> None:
    deposits = flex.total_cents()
    flex.invoke(SETTLE, "Deposit", "tsoMSP", "500000")
    deposits += 500_000
    flex.invoke(AGG2, "PlaceBid", flex_offer())
    flex.invoke(DSO, "PublishExchangeKey", {"exchange": "EPEX", "public_key_pem": KEY.public_pem()})
    flex.invoke(DSO, "CreateSpotSession", {"id": "DA1", "day": DAY, "venue": "day_ahead", "exchange": "EPEX",
                                           "gate_closes": "2026-11-20T12:10:00Z"})
    flex.invoke(AGG1, "SubmitSpotOffer", spot_offer())
    flex.invoke(AGG1, "SubmitSpotOffer", spot_offer(id="B3", device="D3", side="buy", quantity_mw=[0.5] * 4,
                                                    price_eur_per_mwh=50.0))
    flex.at(AFTER)
    flex.invoke(DSO, "ClearMarket", "FLEX1")
    flex.invoke(SETTLE, "SettleMarket", "FLEX1")
    flex.invoke(DSO, "CheckSpotSession", "DA1")
    flex.invoke(DSO, "RecordSpotResults", "DA1", results(flex, [41.0] * 4, {"S1": [1.0] * 4, "B3": [0.25] * 4}))
    flex.invoke(SETTLE, "SettleSpotSession", "DA1")
    flex.invoke(AGG2, "SubmitMfrrBid", mfrr_bid(quantity_mw=0.2))
    flex.invoke(TSO, "ActivateMfrr", {"id": "A1", "bid_id": "M1", "quantity_mw": 0.2})
    flex.invoke(DSO, "RecordMfrrDelivery", "A1", "0.2")
    flex.invoke(SETTLE, "SettleMfrrActivation", "A1")
    flows = flex.invoke(AUDITOR, "WholesaleFlows")
    assert flows == {"received_cents": 16_400, "paid_cents": 4_100, "net_in_cents": 12_300, "sessions": 1}
    assert flex.invoke(AUDITOR, "TotalFunds")["total_cents"] == deposits + flows["net_in_cents"]
    assert all(flex.invoke(SETTLE, "GetBalance", m)["escrow_cents"] == 0
               for m in ("agg1MSP", "agg2MSP", "dsoMSP", "tsoMSP"))


def test_a_foreign_tso_certificate_cannot_activate(spot: Chain) -> None:
    spot.invoke(AGG2, "SubmitMfrrBid", mfrr_bid())
    rogue = identity("agg1MSP", "tso", "rogue")
    with pytest.raises(Refused, match="^caller.msp: agg1MSP is not allowed to act as tso"):
        spot.invoke(rogue, "ActivateMfrr", {"id": "A1", "bid_id": "M1", "quantity_mw": 0.5})
    assert copy.deepcopy(spot.invoke(TSO, "ListMfrrActivations", DAY)) == []


def test_a_local_clearing_without_consent_reads_no_wholesale_range(flex: Chain) -> None:
    flex.invoke(AGG2, "PlaceBid", flex_offer())
    flex.at(AFTER)
    assert flex.invoke(DSO, "ClearMarket", "FLEX1")["offered_to_tso"] == []
    scanned = {start.split("\x00")[1] for start, _ in flex.last_stub.ranges}
    assert not scanned & {"market", "spotsession", "mfrrbid", "mfrractivation"}, scanned


SPOT_DEVICES = {"D1": AGG1, "D2": AGG2, "D3": AGG1, "D4": AGG1}


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(offers=st.lists(st.tuples(st.sampled_from(sorted(SPOT_DEVICES)), st.sampled_from(["sell", "buy"]),
                                 st.integers(1, 1000), st.integers(0, 200)), min_size=1, max_size=5),
       prices=st.lists(st.integers(0, 200), min_size=4, max_size=4), fill=st.sampled_from([0.25, 0.5, 1.0]),
       delivered=st.sampled_from([0.0, 0.1, 0.2, 0.3]))
def test_money_is_conserved_through_any_spot_and_mfrr_settlement(offers, prices, fill, delivered) -> None:
    chain = spot_world()
    start = chain.total_cents()
    for i, (device, side, kw, price) in enumerate(offers):
        chain.invoke(SPOT_DEVICES[device], "SubmitSpotOffer", spot_offer(
            id=f"S{i}", device=device, side=side, quantity_mw=[kw / 1000] * 4, price_eur_per_mwh=float(price)))
    chain.at(SPOT_CLOSES)
    chain.invoke(DSO, "CheckSpotSession", "DA1")
    book = chain.invoke(DSO, "ReadSpotBook", "DA1")["book"]
    accepted = {}
    for order in book["orders"]:
        taken = [round(q * fill, 3) if (p >= order["price_eur_per_mwh"] if order["side"] == "sell"
                                         else p <= order["price_eur_per_mwh"]) else 0.0
                 for q, p in zip(order["quantity_mw"], prices, strict=True)]
        accepted[order["id"]] = taken
    chain.invoke(DSO, "RecordSpotResults", "DA1", results(chain, [float(p) for p in prices], accepted))
    chain.invoke(SETTLE, "SettleSpotSession", "DA1")
    bid = chain.invoke(AGG2, "SubmitMfrrBid", mfrr_bid(period=3, quantity_mw=0.3))
    if bid["forwarded_mw"] >= 0.3:
        chain.invoke(TSO, "ActivateMfrr", {"id": "A1", "bid_id": "M1", "quantity_mw": 0.3})
        chain.invoke(DSO, "RecordMfrrDelivery", "A1", str(delivered))
        chain.invoke(SETTLE, "SettleMfrrActivation", "A1")
    net = chain.invoke(AUDITOR, "WholesaleFlows")["net_in_cents"]
    assert chain.total_cents() == start + net
    assert all(chain.invoke(SETTLE, "GetBalance", m)["escrow_cents"] == 0
               for m in ("agg1MSP", "agg2MSP", "dsoMSP", "tsoMSP"))
