"""The client library's asyncio flavour (:mod:`gateway.aio`) against the real network: many transactions in
flight on one event loop over TLS grpc.aio, each committed once; refusals name their field, change nothing."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from contract.kinds import Kind
from gateway import EndorseError, EvaluateError
from gateway.aio import AsyncContract, connect_from_profile
from gateway.profile import load_profile
from gateway.retry import SETTLE_RETRY
from tests.integration.conftest import LiveNetwork
from tests.small_feeder import SMALL_FEEDER as FEEDER


@pytest.fixture(scope="module", autouse=True)
def published_feeder(live_network: LiveNetwork) -> None:
    """Devices sit on a feeder the DSO has published."""
    on_network(live_network, "dso", "operator", lambda c: c.submit("PublishNetwork", json.dumps(FEEDER)))


def device(**overrides: object) -> dict:
    return {"id": f"aio-{uuid.uuid4().hex[:10]}", "type": "load", "max_power_mw": 0.05, "min_power_mw": 0.0,
            "node": "3", "feeder": "F1", **overrides}


def on_network(live: LiveNetwork, org: str, user: str, body) -> object:
    """``body(contract)`` awaited with an async gateway of ``org``'s ``user``, opened and closed on its loop."""
    profile = load_profile(live.profile(org))

    async def main() -> object:
        async with connect_from_profile(profile, user, endorse_retry=SETTLE_RETRY) as gw:
            return await body(gw.get_network(profile.channel).get_contract(profile.chaincode))

    return asyncio.run(main())


def test_transactions_awaited_together_on_one_loop_each_commit_once(live_network: LiveNetwork):
    docs = [device() for _ in range(24)]

    async def body(contract: AsyncContract) -> list[dict]:
        results = await asyncio.gather(*(contract.submit("RegisterDevice", json.dumps(d)) for d in docs))
        assert [json.loads(r)["manager"] for r in results] == ["agg1MSP"] * len(docs)
        return [json.loads(await contract.evaluate("ReadDevice", d["id"])) for d in docs]

    stored = on_network(live_network, "agg1", "trader", body)
    assert [s["id"] for s in stored] == [d["id"] for d in docs]
    assert {s["owner"] for s in stored} == {"agg1MSP"}


def test_an_awaited_refusal_names_the_field_and_changes_nothing(live_network: LiveNetwork):
    bad = device(max_power_mw=-1)

    async def body(contract: AsyncContract) -> tuple[EndorseError, EvaluateError]:
        try:
            await contract.submit("RegisterDevice", json.dumps(bad))
        except EndorseError as refused:
            try:
                await contract.evaluate("ReadDevice", bad["id"])
            except EvaluateError as missing:
                return refused, missing
        raise AssertionError("the bad device was accepted or is readable")

    refused, missing = on_network(live_network, "agg1", "trader", body)
    assert (refused.chaincode_message or "").startswith("device.max_power_mw"), refused
    assert missing.chaincode_kind == Kind.NOT_FOUND, missing
