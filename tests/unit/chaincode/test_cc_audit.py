"""Audit queries: key history, per-participant views, who may see what."""

from __future__ import annotations

import pytest
from cc_fakes import Chain
from cc_world import AFTER, AGG1, AGG2, AUDITOR, DSO, SETTLE, TSO, capacity_bid


def test_device_history_lists_every_committed_version(world: Chain) -> None:
    world.invoke(AGG1, "UpdateDevice", "D1", {"max_power_mw": 1.5})
    world.invoke(AGG1, "RetireDevice", "D1")
    history = world.invoke(AUDITOR, "GetHistory", "device", "D1")
    assert [h["value"]["status"] for h in history] == ["retired", "active", "active"]
    assert [h["value"]["max_power_mw"] for h in history] == [1.5, 1.5, 2.0]
    assert all(h["tx_id"].startswith("tx") and h["timestamp"].endswith("Z") for h in history)


def test_history_of_bids_balances_networks_and_escrows(cap: Chain) -> None:
    cap.invoke(AGG1, "PlaceBid", capacity_bid())
    cap.invoke(AGG1, "CancelBid", "B1")
    assert [h["value"]["status"] for h in cap.invoke(DSO, "GetHistory", "bid", "B1")] == ["cancelled", "active"]
    cap.invoke(AGG1, "PlaceBid", capacity_bid(id="B2"))
    cap.at(AFTER)
    cap.invoke(DSO, "ClearMarket", "CAP1")  # escrows B2 at gate closure
    balance = cap.invoke(AUDITOR, "GetHistory", "balance", "agg1MSP")
    assert [h["value"]["escrow_cents"] for h in balance] == [8000, 0]
    assert len(cap.invoke(AUDITOR, "GetHistory", "network", "1")) == 1
    assert [h["value"]["cents"] for h in cap.invoke(AUDITOR, "GetHistory", "escrow", "CAP1/agg1MSP")] == [8000]
    assert cap.invoke(AUDITOR, "GetHistory", "marketplace", "")[0]["value"]["dso"] == "dsoMSP"


@pytest.mark.parametrize(
    ("kind", "ident", "field"),
    [("wallet", "x", "kind"), ("bid", "B404", "id"), ("escrow", "CAP1", "id"), ("network", "v1", "id")],
)
def test_bad_history_query_is_refused(cap: Chain, kind: str, ident: str, field: str) -> None:
    cap.refuse(AUDITOR, "GetHistory", kind, ident, field=field)


def test_history_is_for_auditors_and_the_dso(cap: Chain) -> None:
    cap.refuse(AGG1, "GetHistory", "device", "D1", field="caller.role")
    cap.refuse(TSO, "GetHistory", "device", "D1", field="caller.role")


def test_participant_view_collects_devices_bids_trades_and_balance(cap: Chain) -> None:
    cap.invoke(AGG2, "PlaceBid", capacity_bid(id="B2", device="D2", periods=[1, 2], price_eur_per_mwh=60.0))
    cap.at(AFTER)
    cap.invoke(DSO, "ClearMarket", "CAP1")
    cap.invoke(SETTLE, "SettleMarket", "CAP1")
    view = cap.invoke(AGG2, "QueryByParticipant", "agg2MSP")
    assert [d["id"] for d in view["devices"]] == ["D2"]
    assert [b["id"] for b in view["bids"]] == ["B2"]
    assert [t["type"] for t in view["trades"]] == ["award", "payment"]
    assert view["balance"] == {"available_cents": 100_000 - 12_000, "escrow_cents": 0}
    assert cap.invoke(AUDITOR, "QueryByParticipant", "agg2MSP") == view
    dso_view = cap.invoke(DSO, "QueryByParticipant", "dsoMSP")
    assert [t["type"] for t in dso_view["trades"]] == ["payment"]
    cap.refuse(AGG1, "QueryByParticipant", "agg2MSP", field="caller.role")


def test_clearing_of_an_uncleared_market_is_not_found(cap: Chain) -> None:
    cap.refuse(AUDITOR, "GetClearing", "CAP1", field="marketId")
    cap.refuse(AUDITOR, "GetClearing", "NOPE", field="marketId")


def test_evaluate_functions_never_write(cap: Chain) -> None:
    before = dict(cap.ledger.state)
    for fn, args in [("GetMarketplace", ()), ("ReadDevice", ("D1",)), ("ListDevices", ("",)),
                     ("ReadNetwork", ("",)), ("ReadMarket", ("CAP1",)), ("ListBids", ("CAP1",)),
                     ("GetBalance", ("agg1MSP",)), ("ListMarkets", ("",)), ("ReadCapacityLimits", ("CAP1",)),
                     ("GetHistory", ("market", "CAP1")), ("QueryByParticipant", ("agg1MSP",)),
                     ("ListTrades", ("CAP1",)), ("TotalFunds", ())]:
        cap.invoke(AUDITOR, fn, *args)
    assert cap.ledger.state == before
    from chaincode.contract import EVALUATE

    tags = {t.name: t.tag for t in cap.cc._metadata.contracts["flexledger"].transactions}
    assert all("EVALUATE" in tags[name] for name in EVALUATE)
    assert "SUBMIT" in tags["PlaceBid"]


def test_ping_answers_its_transaction_id_and_touches_no_state(world: Chain) -> None:
    answer = world.invoke(AGG1, "Ping")
    stub = world.last_stub
    assert answer == {"tx_id": stub.get_txid()}
    assert not stub.reads and not stub.writes and not stub.ranges and not stub.get_events()


def test_the_evaluate_list_alone_makes_a_function_read_only(cap: Chain, monkeypatch) -> None:
    """A write function named in EVALUATE gets a ledger that refuses writes; no other flag is needed."""
    from chaincode import contract

    monkeypatch.setattr(contract, "EVALUATE", (*contract.EVALUATE, "RegisterDevice"))
    message = cap.refuse(AGG1, "RegisterDevice", {"id": "D9", "type": "load", "max_power_mw": 1.0, "node": "1",
                                                  "feeder": "F1"}, field="transaction")
    assert "evaluate-only" in message
