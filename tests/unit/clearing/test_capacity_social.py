"""Social equity: priority order (first come first served, highest demand), partial awards, no money."""

from __future__ import annotations

import pytest
from capacity_cases import bid, doc, limit, random_doc

from clearing.capacity import clear_capacity, parse_document


def social(bids: list[dict], limits: list[dict], priority: str = "fcfs", **market: object) -> dict:
    return clear_capacity(doc(bids, limits, rule="social_equity", priority=priority, **market))


def test_first_come_first_served_follows_timestamps_not_ids_or_input_order() -> None:
    result = social(
        [
            bid("a", 0.6, timestamp="2026-11-20T09:00:02Z"),
            bid("b", 0.6, timestamp="2026-11-20T09:00:00.5Z"),
            bid("c", 0.6, timestamp="2026-11-20T09:00:01Z"),
        ],
        [limit(1.0)],
    )
    assert result["awards_mw"] == {"b": 0.6, "c": 0.4, "a": 0.0}


def test_first_come_first_served_compares_fractions_of_a_second_as_time() -> None:
    # as text ".1Z" sorts after ".12Z"; as time 0.1 s is earlier
    result = social(
        [
            bid("x", 1.0, divisible=False, timestamp="2026-11-20T09:00:00.12Z"),
            bid("y", 1.0, divisible=False, timestamp="2026-11-20T09:00:00.1Z"),
        ],
        [limit(1.0)],
    )
    assert result["awards_mw"] == {"x": 0.0, "y": 1.0}


def test_first_come_first_served_reads_time_zone_offsets() -> None:
    result = social(
        [
            bid("utc", 1.0, divisible=False, timestamp="2026-11-20T09:00:00Z"),
            bid("cet", 1.0, divisible=False, timestamp="2026-11-20T09:30:00+01:00"),  # 08:30 UTC
        ],
        [limit(1.0)],
    )
    assert result["awards_mw"] == {"cet": 1.0, "utc": 0.0}


def test_first_come_first_served_breaks_equal_timestamps_by_smaller_id() -> None:
    result = social([bid("k2", 1.0, divisible=False), bid("k1", 1.0, divisible=False)], [limit(1.0)])
    assert result["awards_mw"] == {"k1": 1.0, "k2": 0.0}


def test_highest_demand_serves_larger_quantities_first_then_earlier_timestamps() -> None:
    result = social(
        [
            bid("small-early", 0.2, timestamp="2026-11-20T08:00:00Z"),
            bid("big-late", 0.5, timestamp="2026-11-20T10:00:00Z"),
            bid("mid-late", 0.3, timestamp="2026-11-20T09:30:00Z"),
            bid("mid-early", 0.3, timestamp="2026-11-20T09:00:00Z"),
        ],
        [limit(1.0)],
        priority="highest_demand",
    )
    assert result["awards_mw"] == {"big-late": 0.5, "mid-early": 0.3, "mid-late": 0.2, "small-early": 0.0}


def test_each_bid_gets_the_largest_feasible_award_never_below_its_minimum() -> None:
    result = social(
        [
            bid("first", 0.7, timestamp="2026-11-20T09:00:00Z"),
            bid("needs-half", 0.6, min_mw=0.5, timestamp="2026-11-20T09:00:01Z"),
            bid("all-or-nothing", 0.4, divisible=False, timestamp="2026-11-20T09:00:02Z"),
            bid("takes-rest", 0.6, min_mw=0.1, timestamp="2026-11-20T09:00:03Z"),
        ],
        [limit(1.0)],
    )
    # 0.3 MW left after "first": below 0.5 and below 0.4, so the next two get nothing; the last takes 0.3
    assert result["awards_mw"] == {"first": 0.7, "needs-half": 0.0, "all-or-nothing": 0.0, "takes-rest": 0.3}


def test_a_multi_period_bid_is_limited_by_its_tightest_period() -> None:
    result = social(
        [
            bid("early", 0.5, periods=(1,)),
            bid("span", 1.0, periods=(0, 1, 2), timestamp="2026-11-20T10:00:00Z"),
        ],
        [limit(1.0, 0), limit(0.8, 1), limit(1.0, 2)],
    )
    assert result["awards_mw"] == {"early": 0.5, "span": 0.3}


@pytest.mark.parametrize("priority", ["fcfs", "highest_demand"])
def test_social_equity_charges_nobody(priority: str) -> None:
    document = random_doc(3, n_bids=10, rule="social_equity", priority=priority, pricing="uniform")
    result = clear_capacity(document)
    owners = {b["owner"] for b in document["bids"]}
    assert any(award > 0 for award in result["awards_mw"].values())
    assert result["payments_eur"] == {owner: 0.0 for owner in owners}
    assert result["clearing_price_eur_per_mwh"] is None
    assert result["mechanism"] == f"social_equity/{priority}"


@pytest.mark.parametrize("seed", range(8))
def test_social_equity_never_exceeds_a_limit_or_breaks_a_minimum(seed: int) -> None:
    document = random_doc(seed, n_bids=16, rule="social_equity")
    instance = parse_document(document)
    result = clear_capacity(document)
    used: dict[tuple[str, int], float] = {}
    for b in instance.bids:
        award = result["awards_mw"][b.id]
        assert award == 0.0 or (b.min_mw if b.divisible else b.quantity_mw) <= award <= b.quantity_mw
        for t in b.periods:
            used[(b.feeder, t)] = used.get((b.feeder, t), 0.0) + award
    caps = {(lim.feeder, lim.period): lim.capacity_mw for lim in instance.limits}
    assert all(total <= caps[cell] + 1e-9 for cell, total in used.items())
