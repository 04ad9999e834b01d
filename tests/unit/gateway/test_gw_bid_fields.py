"""A bid's field list is written once (contract/records.py); the REST body is built from it."""

from __future__ import annotations

import pytest

from contract import records
from restapi import models


def test_the_rest_bid_body_has_exactly_the_contracts_bid_fields() -> None:
    assert list(models.BidIn.model_fields) == list(dict.fromkeys([*records.FLEX_BID_FIELDS,
                                                                   *records.CAPACITY_BID_FIELDS]))
    common = set(records.FLEX_BID_FIELDS) & set(records.CAPACITY_BID_FIELDS)
    assert {n for n, f in models.BidIn.model_fields.items() if f.is_required()} == common


def test_a_bid_field_added_to_the_contract_without_a_rest_check_stops_the_service(monkeypatch) -> None:
    monkeypatch.setattr(models, "CAPACITY_BID_FIELDS", (*records.CAPACITY_BID_FIELDS, "ramp_mw_per_min"))
    with pytest.raises(TypeError, match="ramp_mw_per_min"):
        models._bid_model()
    monkeypatch.setitem(models.BID_FIELD_CHECKS, "ramp_mw_per_min", (float, {"ge": 0}))
    grown = models._bid_model()
    assert grown.model_fields["ramp_mw_per_min"].default is None
    assert grown.model_validate({"id": "b", "market_id": "m", "device": "d", "ramp_mw_per_min": 0.5})
