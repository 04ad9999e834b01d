"""Strict input at the REST door: no coercion, no look-alike ids, bounded echoes, shared limits, 4xx naming
the field for every bad input, and nothing reaches the ledger when the service already refused it."""

from __future__ import annotations

import pytest
from gw_api_support import MARKET, build, error_of

from clearing import limits

DEVICE = {"id": "bat1", "type": "storage", "max_power_mw": 0.5, "min_power_mw": 0.0, "capacity_mwh": 1.0,
          "node": "1", "feeder": "F1"}
BID = {"id": "b1", "market_id": "m1", "device": "bat1", "periods": [0], "quantity_mw": 1.0,
       "price_eur_per_mwh": 3.0}


def writes(env) -> list[str]:
    return [fn for _, fn, _ in env.ledger.calls if fn not in ("ListMarkets", "ListDevices", "ReadDevice")]


# ----------------------------------------------------------------------------------------- ASCII digits

@pytest.mark.parametrize("bookmark", ["\u00b2", "\u0663", "1\n", " 1", "+1", "1_0"])
def test_bookmark_that_is_not_ascii_digits_is_a_named_400(env, bookmark):
    r = env.agg1.get("/markets", params={"bookmark": bookmark}, headers=env.auth("trader"))
    assert r.status_code == 400 and error_of(r)["field"] == "bookmark"


@pytest.mark.parametrize("position", ["\u00b2", "\u00b2:tx1", "1\n"])
def test_event_position_that_is_not_ascii_digits_is_a_named_400(env, position):
    r = env.agg1.get("/events", params={"after": position, "limit": 1}, headers=env.auth("trader"))
    assert r.status_code == 400 and error_of(r)["field"] == "after"


# ----------------------------------------------------------------------------------------- no coercion

@pytest.mark.parametrize(("field", "value"), [
    ("max_power_mw", "1"), ("max_power_mw", True), ("min_power_mw", "0"), ("capacity_mwh", "yes"),
])
def test_device_number_given_as_text_or_bool_is_a_422_naming_it(env, field, value):
    r = env.agg1.post("/devices", json={**DEVICE, field: value}, headers=env.auth("trader"))
    assert r.status_code == 422 and error_of(r)["field"] == field
    assert "RegisterDevice" not in writes(env)


def test_json_integer_for_a_float_field_is_still_a_float(env):
    r = env.agg1.post("/devices", json={**DEVICE, "max_power_mw": 2}, headers=env.auth("trader"))
    assert r.status_code == 201 and r.json()["max_power_mw"] == 2


@pytest.mark.parametrize(("field", "value", "named"), [
    ("divisible", "yes", "divisible"), ("divisible", 1, "divisible"), ("periods", [2.0], "periods.0"),
    ("periods", ["2"], "periods.0"), ("periods", [True], "periods.0"), ("quantity_mw", "1", "quantity_mw"),
    ("price_eur_per_mwh", "3", "price_eur_per_mwh"), ("id", 5, "id"),
])
def test_bid_field_of_the_wrong_json_type_is_a_422_naming_it(env, field, value, named):
    r = env.agg1.post("/bids", json={**BID, field: value}, headers=env.auth("trader"))
    assert r.status_code == 422 and error_of(r)["field"] == named
    assert "PlaceBid" not in writes(env)


@pytest.mark.parametrize("amount", ["1", True, 2.0, 1.5])
def test_cents_that_are_not_a_json_integer_are_a_422(env, amount):
    r = env.dso.post("/funds/deposit", json={"participant": "agg1MSP", "amount_cents": amount},
                     headers=env.auth("settlement"))
    assert r.status_code == 422 and error_of(r)["field"] == "amount_cents"
    assert "Deposit" not in writes(env)


@pytest.mark.parametrize(("field", "value"), [("periods", 2.0), ("periods", "2"), ("budget_cents", "5"),
                                              ("period_minutes", True)])
def test_market_integer_given_otherwise_is_a_422(env, field, value):
    r = env.dso.post("/markets", json={**MARKET, field: value}, headers=env.auth("operator"))
    assert r.status_code == 422 and error_of(r)["field"] == field


# ----------------------------------------------------------------------------------------- ids

@pytest.mark.parametrize("bad", ["bat1\n", "bat1 ", "\u00b2", "b" * (limits.ID_MAX_LENGTH + 1)])
def test_id_that_is_not_a_whole_identifier_is_a_422(env, bad):
    r = env.agg1.post("/devices", json={**DEVICE, "id": bad}, headers=env.auth("trader"))
    assert r.status_code == 422 and error_of(r)["field"] == "id"


def test_rest_accepts_every_id_the_chaincode_accepts(env):
    longest = "a" * limits.ID_MAX_LENGTH
    r = env.agg1.post("/devices", json={**DEVICE, "id": longest, "node": "n@1:x"}, headers=env.auth("trader"))
    assert r.status_code == 201


@pytest.mark.parametrize("path", ["/devices/{}", "/markets/{}", "/markets/{}/bids", "/markets/{}/result",
                                  "/audit/participants/{}"])
def test_a_huge_id_in_a_path_is_refused_before_the_ledger_with_a_short_message(env, path):
    who = "inspector" if path.startswith("/audit") else "trader"
    client = env.auditor if who == "inspector" else env.agg1
    r = client.get(path.format("x" * 50_000), headers=env.auth(who))
    assert r.status_code == 422 and len(r.text) < 500
    assert env.ledger.calls == []


def test_an_id_in_a_path_with_a_newline_is_a_422(env):
    r = env.agg1.get("/devices/bat1%0A", headers=env.auth("trader"))
    assert r.status_code == 422 and error_of(r)["field"] == "device_id"


# ----------------------------------------------------------------------------------------- shared limits

def test_cents_limit_is_the_one_the_chaincode_uses(env):
    ok = env.dso.post("/funds/deposit", json={"participant": "agg1MSP", "amount_cents": limits.MAX_CENTS},
                      headers=env.auth("settlement"))
    assert ok.status_code == 200
    r = env.dso.post("/funds/deposit", json={"participant": "agg1MSP", "amount_cents": limits.MAX_CENTS + 1},
                     headers=env.auth("settlement"))
    assert r.status_code == 422 and error_of(r)["field"] == "amount_cents"


def test_power_limit_is_the_one_the_chaincode_uses(env):
    r = env.agg1.post("/devices", json={**DEVICE, "max_power_mw": limits.MAX_MW * 2}, headers=env.auth("trader"))
    assert r.status_code == 422 and error_of(r)["field"] == "max_power_mw"


def test_page_size_limit_is_the_one_the_chaincode_uses(env):
    r = env.agg1.get("/devices", params={"page_size": limits.MAX_PAGE_SIZE + 1}, headers=env.auth("trader"))
    assert r.status_code == 422 and error_of(r)["field"] == "page_size"


# ----------------------------------------------------------------------------------------- NaN

def test_nan_inside_rules_is_a_4xx_naming_the_body_not_a_403(env):
    body = '{"id": "x1", "kind": "flexibility", "day": "2026-11-21", "gate_opens": "2026-11-21T00:00:00Z", ' \
           '"gate_closes": "2026-11-21T10:00:00Z", "rules": {"quantity_step_mw": NaN}}'
    r = env.dso.post("/markets", content=body, headers={**env.auth("operator"), "content-type": "application/json"})
    assert r.status_code in (400, 422) and error_of(r)["field"] is not None
    assert "CreateMarket" not in writes(env)


# ----------------------------------------------------------------------------------------- duplicate keys, size

def test_body_with_a_duplicate_key_is_a_422_naming_the_key(env):
    body = b'{"id": "d5", "id": "d6", "type": "load", "max_power_mw": 1.0, "node": "1", "feeder": "F1"}'
    r = env.agg1.post("/devices", content=body, headers={**env.auth("trader"), "content-type": "application/json"})
    assert r.status_code == 422 and error_of(r)["field"] == "id"
    assert "RegisterDevice" not in writes(env)


def test_nested_duplicate_key_is_refused_too(env):
    body = (b'{"id": "b1", "market_id": "m1", "device": "bat1", "products": {"p_up": {"price_eur_per_mwh": 1.0,'
            b' "quantity_mw": [0.1], "quantity_mw": [0.2]}}}')
    r = env.agg1.post("/bids", content=body, headers={**env.auth("trader"), "content-type": "application/json"})
    assert r.status_code == 422 and error_of(r)["field"] == "quantity_mw"


def test_body_larger_than_the_shared_limit_is_a_413(env):
    body = b'{"id": "' + b"x" * (limits.JSON_MAX_BYTES + 1) + b'"}'
    r = env.agg1.post("/devices", content=body, headers={**env.auth("trader"), "content-type": "application/json"})
    assert r.status_code == 413 and error_of(r)["field"] == "body"


# ----------------------------------------------------------------------------------------- through the chaincode

@pytest.fixture()
def chain_env(tmp_path, ca):
    from gw_chain_ledger import ChainLedger

    built = build(tmp_path, ca, ChainLedger())
    yield built
    built.close()


CAP_MARKET = {"id": "CAP9", "kind": "capacity_day_ahead", "feeder": "F1", "day": "2026-11-21",
              "rule": "premium_capacity", "gate_opens": "2026-11-20T11:00:00Z", "gate_closes": "2026-11-20T12:00:00Z",
              "periods": 4, "period_minutes": 60,
              "rules": {"price_resolution_eur": 0.5, "quantity_step_mw": 0.1, "min_quantity_mw": 0.1,
                        "max_quantity_mw": 5.0, "min_price_eur_per_mwh": 0.0, "max_price_eur_per_mwh": 500.0}}


@pytest.mark.parametrize(("change", "field"), [
    ({"gate_closes": "9999-12-31T23:59:59-23:59"}, "market.gate_closes"),
    ({"gate_opens": "0001-01-01T00:00:00+01:00"}, "market.gate_opens"),
    ({"rules": {**CAP_MARKET["rules"], "quantity_step_mw": 1e-30}}, "market.rules.quantity_step_mw"),
    ({"rules": {**CAP_MARKET["rules"], "max_price_eur_per_mwh": 1e30}}, "market.rules.max_price_eur_per_mwh"),
])
def test_market_edge_values_are_a_400_naming_the_real_field(chain_env, change, field):
    r = chain_env.dso.post("/markets", json={**CAP_MARKET, **change}, headers=chain_env.auth("operator"))
    assert r.status_code == 400 and error_of(r)["field"] == field, r.text


def test_a_400_digit_number_is_a_4xx_naming_its_field(chain_env):
    body = '{"id": "CAP9", "kind": "capacity_day_ahead", "feeder": "F1", "day": "2026-11-21", ' \
           '"rule": "premium_capacity", "gate_opens": "2026-11-20T11:00:00Z", "gate_closes": "2026-11-20T12:00:00Z", ' \
           '"periods": 4, "period_minutes": 60, "rules": {"price_resolution_eur": 0.5, "quantity_step_mw": 0.1, ' \
           '"min_quantity_mw": 0.1, "max_quantity_mw": ' + "9" * 400 + ', "min_price_eur_per_mwh": 0.0, ' \
           '"max_price_eur_per_mwh": 500.0}}'
    r = chain_env.dso.post("/markets", content=body,
                           headers={**chain_env.auth("operator"), "content-type": "application/json"})
    assert r.status_code == 400 and error_of(r)["field"] == "market.rules.max_quantity_mw", r.text
