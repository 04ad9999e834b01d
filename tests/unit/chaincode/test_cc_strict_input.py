"""Strict input at the chaincode's door: every bad argument is refused naming its real field, the ledger
unchanged, and the refusal never repeats more than a short prefix of what was sent."""

from __future__ import annotations

import json

import pytest
from cc_fakes import Chain
from cc_world import AGG1, AUDITOR, DEVICES, DSO, RULES, SETTLE, capacity_market, flex_request

from chaincode.clock import iso
from clearing import limits

DEVICE = DEVICES["D1"][1]


@pytest.mark.parametrize(("gate", "value"), [
    ("gate_closes", "9999-12-31T23:59:59-23:59"),
    ("gate_opens", "0001-01-01T00:00:00+01:00"),
    ("gate_closes", "9999-12-31T23:59:59Z"),
])
def test_gate_time_at_the_edge_of_the_calendar_is_refused_naming_the_gate(chain: Chain, gate: str, value: str):
    message = chain.refuse(DSO, "CreateMarket", capacity_market(**{gate: value}), field=f"market.{gate}")
    assert limits.LATEST_TIME in message


def test_gate_time_with_digits_of_another_script_is_refused(chain: Chain):
    chain.refuse(DSO, "CreateMarket", capacity_market(gate_opens="２０２６-11-20T09:00:00Z"), field="market.gate_opens")
    chain.refuse(DSO, "CreateMarket", capacity_market(gate_opens="2026-11-20T09:00:00Z\n"), field="market.gate_opens")


def test_latest_time_is_the_printed_limit():
    assert iso(limits.LATEST_MS) == limits.LATEST_TIME
    assert iso(limits.EARLIEST_MS) == "1970-01-01T00:00:00.000Z"


@pytest.mark.parametrize(("rule", "value"), [
    ("quantity_step_mw", 1e-30), ("price_resolution_eur", 1e-30), ("max_price_eur_per_mwh", 1e30),
    ("max_price_eur_per_mwh", 2e6), ("max_quantity_mw", 1e30), ("min_quantity_mw", 1e300),
])
def test_market_rule_out_of_range_is_refused_naming_the_rule(chain: Chain, rule: str, value: float):
    rules = {**RULES, rule: value}
    chain.refuse(DSO, "CreateMarket", capacity_market(rules=rules), field=f"market.rules.{rule}")


def test_number_of_400_digits_is_refused_naming_its_field(chain: Chain):
    text = json.dumps(DEVICE).replace('"max_power_mw": 2.0', '"max_power_mw": ' + "9" * 400)
    message = chain.refuse(AGG1, "RegisterDevice", text, field="device.max_power_mw")
    assert len(message) < 200
    market = json.dumps(capacity_market()).replace('"periods": 4', '"periods": ' + "9" * 400)
    chain.refuse(DSO, "CreateMarket", market, field="market.periods")


def test_power_beyond_the_shared_limit_is_refused(chain: Chain):
    chain.refuse(AGG1, "RegisterDevice", {**DEVICE, "max_power_mw": limits.MAX_MW * 2}, field="device.max_power_mw")


@pytest.mark.parametrize("bad", ["D9\n", "D9\r\n", " D9", "D9 ", "D\u00b2", "x" * (limits.ID_MAX_LENGTH + 1)])
def test_id_that_is_not_a_whole_identifier_is_refused(chain: Chain, bad: str):
    chain.refuse(AGG1, "RegisterDevice", {**DEVICE, "id": bad}, field="device.id")


def test_id_read_with_a_trailing_newline_is_refused_not_looked_up(chain: Chain):
    chain.invoke(AGG1, "RegisterDevice", DEVICE)
    chain.refuse(AGG1, "ReadDevice", "D1\n", field="id")


def test_nan_inside_a_json_argument_is_refused_as_invalid_json(chain: Chain):
    text = json.dumps(capacity_market()).replace('"quantity_step_mw": 0.1', '"quantity_step_mw": NaN')
    message = chain.refuse(DSO, "CreateMarket", text, field="market")
    assert "not valid JSON" in message and "not allowed" not in message


def test_a_huge_id_is_refused_echoing_only_a_short_prefix(chain: Chain):
    message = chain.refuse(AGG1, "ReadDevice", "x" * 100_000, field="id")
    assert len(message) < 200 and message.endswith("…")
    message = chain.refuse(AUDITOR, "GetHistory", "k" * 100_000, "x", field="kind")
    assert len(message) < 500  # the list of key kinds, not the echo


def test_a_huge_unknown_key_is_refused_with_a_bounded_field(chain: Chain):
    with pytest.raises(Exception) as info:
        chain.invoke(AGG1, "RegisterDevice", {**DEVICE, "k" * 100_000: 1})
    assert len(str(info.value)) < 400


def test_json_object_with_a_duplicate_key_is_refused(chain: Chain):
    text = '{"id": "D7", "id": "D8", "type": "load", "max_power_mw": 1.0, "node": "1", "feeder": "F1"}'
    message = chain.refuse(AGG1, "RegisterDevice", text, field="device")
    assert "'id' twice" in message
    nested = json.dumps(capacity_market()).replace('"quantity_step_mw": 0.1', '"quantity_step_mw": 0.1, "quantity_step_mw": 0.2')
    chain.refuse(DSO, "CreateMarket", nested, field="market")


def test_deeply_nested_json_is_refused_naming_the_argument(chain: Chain):
    chain.refuse(AGG1, "RegisterDevice", "[" * 100_000 + "]" * 100_000, field="device")
    chain.refuse(AGG1, "RegisterDevice", "[" * 40 + "]" * 40, field="device")


def test_the_largest_amount_of_cents_is_the_shared_limit(world: Chain):
    world.invoke(SETTLE, "Deposit", "tsoMSP", str(limits.MAX_CENTS))
    world.refuse(SETTLE, "Deposit", "tsoMSP", str(limits.MAX_CENTS + 1), field="amountCents")
    world.refuse(SETTLE, "Deposit", "tsoMSP", " 5", field="amountCents")
    world.refuse(SETTLE, "Deposit", "tsoMSP", "\u00b2", field="amountCents")


def test_budget_above_the_shared_limit_is_refused(world: Chain):
    world.refuse(DSO, "RequestFlexibility", flex_request(budget_cents=limits.MAX_CENTS + 1), field="request.budget_cents")


@pytest.mark.parametrize("version", ["\u00b2", "1\n", " 1", "1" * 9])
def test_network_version_that_is_not_ascii_digits_is_refused(chain: Chain, version: str):
    chain.refuse(AUDITOR, "ReadNetwork", version, field="version")
    chain.refuse(AUDITOR, "GetHistory", "network", version, field="id")


def test_page_size_is_bounded_by_the_shared_limit(world: Chain):
    assert len(world.invoke(AGG1, "ListDevices", {"page_size": limits.MAX_PAGE_SIZE})["devices"]) == 4
    world.refuse(AGG1, "ListDevices", {"page_size": limits.MAX_PAGE_SIZE + 1}, field="query.page_size")
    world.refuse(AGG1, "ListDevices", {"bookmark": "x" * 1000}, field="query.bookmark")
