"""Concurrent transactions as Fabric commits them: endorsed on one state, validated in block order.

The bid path writes no key that another bid of the same owner reads, so an aggregator's concurrent bids
all commit; whatever mix of bids, cancellations, deposits and withdrawals lands in a block, and whatever
conflicts invalidate, money is conserved and escrow stays consistent through clearing and settlement.
"""

from __future__ import annotations

from cc_fakes import Chain
from cc_world import AFTER, AGG1, AGG2, AUDITOR, DSO, SETTLE, capacity_bid
from conftest import add_capacity_market, add_world, new_chain
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def test_an_aggregators_concurrent_bids_on_different_devices_all_commit(cap: Chain) -> None:
    outcomes = cap.block(
        (AGG1, "PlaceBid", (capacity_bid(id="B1", device="D1"),)),
        (AGG1, "PlaceBid", (capacity_bid(id="B4", device="D4", price_eur_per_mwh=30.0),)),
        (AGG2, "PlaceBid", (capacity_bid(id="B2", device="D2", periods=[1, 2]),)),
    )
    assert outcomes == ["VALID", "VALID", "VALID"]
    assert sorted(b["id"] for b in cap.invoke(AUDITOR, "ListBids", "CAP1")) == ["B1", "B2", "B4"]


def test_two_concurrent_bids_for_one_device_and_period_commit_once(cap: Chain) -> None:
    outcomes = cap.block((AGG1, "PlaceBid", (capacity_bid(id="B1"),)), (AGG1, "PlaceBid", (capacity_bid(id="B9"),)))
    assert outcomes == ["VALID", "MVCC_READ_CONFLICT"]


OWN = {AGG1: ("D1", "D4"), AGG2: ("D2",)}
OWNERS = {AGG1: "agg1MSP", AGG2: "agg2MSP"}


@st.composite
def operation(draw: st.DrawFn, n: int) -> tuple:
    kind = draw(st.sampled_from(["bid", "bid", "bid", "cancel", "deposit", "withdraw"]))
    who = draw(st.sampled_from([AGG1, AGG2]))
    if kind == "bid":
        periods = sorted(draw(st.sets(st.integers(0, 3), min_size=1, max_size=3)))
        bid = capacity_bid(id=f"B{n}", device=draw(st.sampled_from(OWN[who])), periods=periods,
                           quantity_mw=draw(st.sampled_from([0.2, 0.5, 1.0])), min_mw=0.2, divisible=True,
                           price_eur_per_mwh=float(draw(st.integers(10, 400))))  # fmt: skip
        return (who, "PlaceBid", (bid,))
    if kind == "cancel":
        return (who, "CancelBid", (f"B{draw(st.integers(0, n))}",))
    cents = str(draw(st.integers(1, 60_000)))
    return (SETTLE, "Deposit" if kind == "deposit" else "Withdraw", (OWNERS[who], cents))


@st.composite
def blocks(draw: st.DrawFn) -> list[list[tuple]]:
    out, n = [], 0
    for _ in range(draw(st.integers(1, 6))):
        block = []
        for _ in range(draw(st.integers(1, 5))):
            block.append(draw(operation(n)))
            n += 1
        out.append(block)
    return out


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(schedule=blocks())
def test_money_is_conserved_over_random_concurrent_blocks_through_clearing_and_settlement(
    schedule: list[list[tuple]],
) -> None:
    cap = add_capacity_market(add_world(new_chain()))  # fresh for every example
    expected = cap.total_cents()
    for block in schedule:
        for (_, fn, args), outcome in zip(block, cap.block(*block), strict=True):
            if outcome == "VALID" and fn in ("Deposit", "Withdraw"):
                expected += int(args[1]) * (1 if fn == "Deposit" else -1)
        assert cap.total_cents() == expected
    cap.at(AFTER)
    cap.invoke(DSO, "ClearMarket", "CAP1")
    assert cap.total_cents() == expected
    cap.invoke(SETTLE, "SettleMarket", "CAP1")
    assert cap.total_cents() == expected
    for msp in OWNERS.values():
        balance = cap.invoke(AUDITOR, "GetBalance", msp)
        assert balance["escrow_cents"] == 0 and balance["available_cents"] >= 0
