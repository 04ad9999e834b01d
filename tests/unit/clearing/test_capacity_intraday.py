"""Intraday markets clear on what the day-ahead awards leave, and never over-allocate a feeder."""

from __future__ import annotations

import pytest
from capacity_cases import bid, clone, doc, limit, random_doc

from clearing import ValidationError
from clearing.capacity import clear_capacity, parse_document, remaining_capacity


def test_remaining_capacity_is_the_limit_minus_the_day_ahead_awards() -> None:
    day_ahead = doc(
        [bid("a", 0.3, periods=(0, 1)), bid("b", 0.5, periods=(1,), divisible=False)],
        [limit(1.0, 0), limit(1.0, 1), limit(0.7, 2)],
    )
    result = clear_capacity(day_ahead)
    assert remaining_capacity(day_ahead, result) == [
        {"feeder": "F1", "period": 0, "capacity_mw": 0.7},
        {"feeder": "F1", "period": 1, "capacity_mw": 0.2},
        {"feeder": "F1", "period": 2, "capacity_mw": 0.7},
    ]


def test_an_intraday_market_gets_only_the_capacity_left_by_day_ahead() -> None:
    day_ahead = doc([bid("da", 0.8, 30.0)], [limit(1.0)])
    day_ahead_result = clear_capacity(day_ahead)
    intraday = doc(
        [bid("id-big", 0.5, 90.0, divisible=False), bid("id-small", 0.3, 10.0)],
        remaining_capacity(day_ahead, day_ahead_result),
        stage="intraday",
        id="cap-idm-1",
    )
    result = clear_capacity(intraday)
    # only 0.2 MW are left: the 0.5 MW all-or-nothing bid cannot fit, whatever its price
    assert result["awards_mw"] == {"id-big": 0.0, "id-small": 0.2}
    assert result["market"] == {"id": "cap-idm-1", "stage": "intraday"}


@pytest.mark.parametrize("rule", ["premium_capacity", "social_equity"])
@pytest.mark.parametrize("seed", range(5))
def test_day_ahead_plus_intraday_awards_never_exceed_the_published_limits(rule: str, seed: int) -> None:
    day_ahead = random_doc(seed, n_bids=10, rule=rule)
    day_ahead_result = clear_capacity(day_ahead)
    intraday = random_doc(50 + seed, n_bids=10, rule=rule, stage="intraday")
    intraday["limits"] = remaining_capacity(day_ahead, day_ahead_result)
    intraday_result = clear_capacity(intraday)
    used: dict[tuple[str, int], float] = {}
    for document, result in ((day_ahead, day_ahead_result), (intraday, intraday_result)):
        for b in parse_document(document).bids:
            for t in b.periods:
                used[(b.feeder, t)] = used.get((b.feeder, t), 0.0) + result["awards_mw"][b.id]
    caps = {(lim.feeder, lim.period): lim.capacity_mw for lim in parse_document(day_ahead).limits}
    assert all(round(total, 6) <= caps.get(cell, 0.0) for cell, total in used.items())


def test_remaining_capacity_refuses_a_result_of_another_document() -> None:
    day_ahead = doc([bid("a", 0.3)], [limit(1.0)])
    other = clone(day_ahead)
    other["bids"][0]["quantity_mw"] = 0.4
    with pytest.raises(ValidationError) as info:
        remaining_capacity(day_ahead, clear_capacity(other))
    assert info.value.field == "result.input_hash"
