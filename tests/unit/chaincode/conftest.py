"""Fixtures: a channel with governance, a published network, devices, funds and markets (see cc_world)."""

from __future__ import annotations

import pytest
from cc_fakes import Chain
from cc_world import (
    ADMIN,
    AGG1,
    AGG2,
    BASELINE,
    DEVICES,
    DSO,
    DURING,
    GOVERNANCE,
    NETWORK,
    PERIODS,
    SETTLE,
    capacity_market,
    flex_request,
)


def new_chain() -> Chain:
    """Governance recorded and the network published (version 1)."""
    c = Chain()
    c.invoke(ADMIN, "InitMarketplace", GOVERNANCE)
    c.invoke(DSO, "PublishNetwork", NETWORK)
    return c


def add_world(chain: Chain) -> Chain:
    """Plus devices D1-D4, the day's baseline and funds for everyone."""
    for who, device in DEVICES.values():
        chain.invoke(who, "RegisterDevice", device)
    chain.invoke(DSO, "PublishBaseline", BASELINE)
    for msp, cents in (("dsoMSP", 1_000_000), ("agg1MSP", 100_000), ("agg2MSP", 100_000)):
        chain.invoke(SETTLE, "Deposit", msp, str(cents))
    return chain


def add_capacity_market(world: Chain) -> Chain:
    """Plus the open capacity market CAP1 (feeder F1) with both aggregators enrolled and limits published."""
    world.invoke(DSO, "CreateMarket", capacity_market())
    world.invoke(DSO, "PublishCapacityLimits",
                 {"market_id": "CAP1", "limits": [{"feeder": "F1", "period": p, "capacity_mw": 1.5}
                                                  for p in range(PERIODS)]})
    world.at(DURING)
    world.invoke(AGG1, "EnrolInMarket", "CAP1")
    world.invoke(AGG2, "EnrolInMarket", "CAP1")
    return world


@pytest.fixture
def chain() -> Chain:
    return new_chain()


@pytest.fixture
def world(chain: Chain) -> Chain:
    return add_world(chain)


@pytest.fixture
def cap(world: Chain) -> Chain:
    return add_capacity_market(world)


@pytest.fixture
def flex(world: Chain) -> Chain:
    """Plus the flexibility market FLEX1 opened by a DSO request (budget 500 EUR), both aggregators enrolled."""
    world.invoke(DSO, "RequestFlexibility", flex_request())
    world.at(DURING)
    world.invoke(AGG1, "EnrolInMarket", "FLEX1")
    world.invoke(AGG2, "EnrolInMarket", "FLEX1")
    return world
