"""Device registry: registration rules, updates, retirement, consented hand-over, portfolios."""

from __future__ import annotations

import pytest
from cc_fakes import Chain
from cc_world import AGG1, AGG2, AUDITOR, DEVICES, DSO, NETWORK

D1 = DEVICES["D1"][1]


def test_registered_device_is_owned_and_managed_by_the_caller(chain: Chain) -> None:
    device = chain.invoke(AGG1, "RegisterDevice", D1)
    assert device["owner"] == device["manager"] == "agg1MSP"
    assert device["status"] == "active"
    assert device["network_version"] == 1
    assert chain.invoke(AUDITOR, "ReadDevice", "D1")["node"] == "1"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": ""}, "device.id"),
        ({"id": "bad id"}, "device.id"),
        ({"type": "nuclear"}, "device.type"),
        ({"max_power_mw": 0}, "device.max_power_mw"),
        ({"max_power_mw": "2"}, "device.max_power_mw"),
        ({"min_power_mw": -0.1}, "device.min_power_mw"),
        ({"min_power_mw": 3.0}, "device.min_power_mw"),
        ({"capacity_mwh": 1.0}, "device.capacity_mwh"),
        ({"node": "9"}, "device.node"),
        ({"node": "3"}, "device.node"),
        ({"feeder": "F9"}, "device.feeder"),
        ({"colour": "red"}, "device.colour"),
    ],
)
def test_bad_device_is_refused(chain: Chain, change: dict, field: str) -> None:
    chain.refuse(AGG1, "RegisterDevice", {**D1, **change}, field=field)


def test_storage_device_needs_a_capacity(chain: Chain) -> None:
    storage = {**DEVICES["D2"][1]}
    del storage["capacity_mwh"]
    chain.refuse(AGG2, "RegisterDevice", storage, field="device.capacity_mwh")
    chain.refuse(AGG2, "RegisterDevice", {**storage, "capacity_mwh": 0}, field="device.capacity_mwh")


def test_device_id_is_unique(chain: Chain) -> None:
    chain.invoke(AGG1, "RegisterDevice", D1)
    chain.refuse(AGG2, "RegisterDevice", D1, field="device.id")


def test_device_argument_must_be_json(chain: Chain) -> None:
    chain.refuse(AGG1, "RegisterDevice", "{not json", field="device")


def test_device_must_sit_on_the_latest_published_network(chain: Chain) -> None:
    smaller = {"network": NETWORK["network"], "feeders": {"F1": ["1"], "F2": ["2", "3"]}}
    chain.invoke(DSO, "PublishNetwork", smaller)
    message = chain.refuse(AGG1, "RegisterDevice", {**D1, "node": "2"}, field="device.node")
    assert "version 2" in message


def test_only_the_manager_updates_a_device(world: Chain) -> None:
    world.refuse(AGG2, "UpdateDevice", "D1", {"max_power_mw": 1.0}, field="id")
    updated = world.invoke(AGG1, "UpdateDevice", "D1", {"max_power_mw": 1.0})
    assert updated["max_power_mw"] == 1.0


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"node": "2"}, "patch.node"),
        ({"max_power_mw": 0.1}, "patch.min_power_mw"),
        ({"max_power_mw": -1}, "patch.max_power_mw"),
        ({}, "patch"),
    ],
)
def test_bad_device_update_is_refused(world: Chain, patch: dict, field: str) -> None:
    world.refuse(AGG1, "UpdateDevice", "D1", patch, field=field)


def test_retired_device_cannot_be_updated_or_retired_again(world: Chain) -> None:
    world.refuse(AGG2, "RetireDevice", "D1", field="id")
    assert world.invoke(AGG1, "RetireDevice", "D1")["status"] == "retired"
    world.refuse(AGG1, "RetireDevice", "D1", field="id")
    world.refuse(AGG1, "UpdateDevice", "D1", {"max_power_mw": 1.0}, field="id")
    world.refuse(AGG1, "OfferManagement", "D1", "agg2MSP", field="id")


def test_management_hand_over_needs_both_sides(world: Chain) -> None:
    world.refuse(AGG2, "AcceptManagement", "D1", field="id")  # nothing offered yet
    offered = world.invoke(AGG1, "OfferManagement", "D1", "agg2MSP")
    assert offered["pending_manager"] == "agg2MSP"
    assert offered["manager"] == "agg1MSP"
    accepted = world.invoke(AGG2, "AcceptManagement", "D1")
    assert accepted["manager"] == "agg2MSP"
    assert accepted["owner"] == "agg1MSP"
    assert accepted["pending_manager"] is None
    world.refuse(AGG1, "UpdateDevice", "D1", {"max_power_mw": 1.0}, field="id")


def test_hand_over_is_refused_to_non_aggregators_and_self(world: Chain) -> None:
    world.refuse(AGG1, "OfferManagement", "D1", "dsoMSP", field="toMsp")
    world.refuse(AGG1, "OfferManagement", "D1", "agg1MSP", field="toMsp")
    world.refuse(AGG2, "OfferManagement", "D1", "agg2MSP", field="id")


def test_portfolio_follows_from_the_registry(world: Chain) -> None:
    page = world.invoke(AUDITOR, "ListDevices", {"manager": "agg1MSP"})
    assert [d["id"] for d in page["devices"]] == ["D1", "D3", "D4"]
    world.invoke(AGG1, "OfferManagement", "D4", "agg2MSP")
    world.invoke(AGG2, "AcceptManagement", "D4")
    page = world.invoke(AUDITOR, "ListDevices", {"manager": "agg2MSP"})
    assert [d["id"] for d in page["devices"]] == ["D2", "D4"]


def test_list_devices_pages_with_a_bookmark(world: Chain) -> None:
    first = world.invoke(AGG1, "ListDevices", {"page_size": 3})
    assert [d["id"] for d in first["devices"]] == ["D1", "D2", "D3"]
    assert first["bookmark"] == "D3"
    second = world.invoke(AGG1, "ListDevices", {"page_size": 3, "bookmark": first["bookmark"]})
    assert [d["id"] for d in second["devices"]] == ["D4"]
    assert second["bookmark"] == ""
    assert len(world.invoke(AGG1, "ListDevices", "")["devices"]) == 4
    world.refuse(AGG1, "ListDevices", {"page_size": 0}, field="query.page_size")
    world.refuse(AGG1, "ListDevices", {"colour": "red"}, field="query.colour")


def test_reading_an_unknown_device_is_refused(world: Chain) -> None:
    world.refuse(AUDITOR, "ReadDevice", "D99", field="id")
