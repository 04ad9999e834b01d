"""The Python Gateway client against the real network: evaluate, submit, commit status, errors, events,
offline signing. Every call goes over TLS gRPC to a real peer's Gateway service."""

from __future__ import annotations

import json
import threading
import uuid

import pytest

from gateway import CommitError, EndorseError, EvaluateError, connect_from_profile
from gateway.events import Checkpoint
from gateway.offline import sign_digest, submit_offline
from gateway.profile import load_profile
from gateway.retry import SETTLE_RETRY
from tests.integration.conftest import LiveNetwork
from tests.small_feeder import SMALL_FEEDER as FEEDER
from tests.small_feeder import small_baseline


def contract(gw, live: LiveNetwork, org: str):
    profile = load_profile(live.profile(org))
    return gw.get_network(profile.channel).get_contract(profile.chaincode)


def device(**overrides: object) -> str:
    doc = {"id": f"gw-{uuid.uuid4().hex[:10]}", "type": "load", "max_power_mw": 0.05, "min_power_mw": 0.0,
           "node": "3", "feeder": "F1"}
    doc.update(overrides)
    return json.dumps(doc)


@pytest.fixture(scope="module")
def dso(live_network: LiveNetwork):
    with connect_from_profile(live_network.profile("dso"), "operator", endorse_retry=SETTLE_RETRY) as gw:
        c = contract(gw, live_network, "dso")
        c.submit("PublishNetwork", json.dumps(FEEDER))
        yield c


@pytest.fixture(scope="module")
def trader(live_network: LiveNetwork, dso):
    with connect_from_profile(live_network.profile("agg1"), "trader", endorse_retry=SETTLE_RETRY) as gw:
        yield contract(gw, live_network, "agg1")


def test_evaluate_reads_the_governance_record(trader):
    record = json.loads(trader.evaluate("GetMarketplace"))
    assert record["dso"] == "dsoMSP" and "agg1MSP" in record["aggregators"]


def test_submit_commits_and_the_result_is_readable(trader):
    doc = json.loads(device())
    result = json.loads(trader.submit("RegisterDevice", json.dumps(doc)))
    assert result["id"] == doc["id"] and result["manager"] == "agg1MSP"
    assert json.loads(trader.evaluate("ReadDevice", doc["id"]))["owner"] == "agg1MSP"


def test_submit_async_reports_valid_commit_with_block(trader):
    submitted = trader.submit_async("RegisterDevice", device())
    assert json.loads(submitted.result)["manager"] == "agg1MSP"
    status = submitted.status()
    assert status.successful and status.code_name == "VALID" and status.block_number > 0


def test_chaincode_refusal_carries_field_and_endorsing_peers(trader):
    with pytest.raises(EndorseError) as err:
        trader.submit("RegisterDevice", device(max_power_mw=-1))
    assert err.value.chaincode_message.startswith("device.max_power_mw:")
    assert err.value.details and err.value.details[0].msp_id.endswith("MSP")


def test_role_is_enforced_by_the_chaincode_for_the_callers_identity(trader):
    with pytest.raises(EndorseError) as err:
        trader.submit("PublishNetwork", json.dumps(FEEDER))
    assert err.value.chaincode_message.startswith("caller.role:")


def test_evaluate_error_names_the_peer(trader):
    with pytest.raises(EvaluateError) as err:
        trader.evaluate("ReadDevice", "no-such-device")
    assert err.value.details[0].msp_id == "agg1MSP"
    assert "no-such-device" in err.value.chaincode_message


def test_double_spend_of_an_id_commits_only_once(trader, provoked_invalid):
    """Two transactions endorsed on the same state: the second is invalidated at commit (MVCC)."""
    doc = device()
    first = trader.new_proposal("RegisterDevice", doc).endorse()
    second = trader.new_proposal("RegisterDevice", doc).endorse()
    provoked_invalid.expect(second.transaction_id)
    assert first.submit().status().successful
    status = second.submit().status()
    assert not status.successful and status.code_name == "MVCC_READ_CONFLICT"


def test_submit_raises_commit_error_naming_the_validation_code(trader, provoked_invalid):
    doc = device()
    racing = trader.new_proposal("RegisterDevice", doc).endorse()
    provoked_invalid.expect(racing.transaction_id)
    trader.submit("RegisterDevice", doc)
    with pytest.raises(CommitError, match="MVCC_READ_CONFLICT"):
        racing.submit().wait()


def test_offline_signing_with_the_key_held_elsewhere(live_network: LiveNetwork, dso):
    profile = load_profile(live_network.profile("agg1"))
    files = profile.identities["trader"]
    key_pem = files.key.read_bytes()
    with connect_from_profile(profile, "trader", endorse_retry=SETTLE_RETRY) as gw:
        gw.signer = None  # from here on, nothing in this process signs
        c = gw.get_network(profile.channel).get_contract(profile.chaincode)
        asked: list[bytes] = []

        def external(digest: bytes) -> bytes:
            asked.append(digest)
            return sign_digest(key_pem, digest)

        result, status = submit_offline(c, external, "RegisterDevice", device())
        assert status.successful and json.loads(result)["manager"] == "agg1MSP"
        assert len(asked) == 3


def test_chaincode_events_replay_and_resume_from_checkpoint(live_network: LiveNetwork, trader, dso):
    """Events of real transactions: replay from a block, then resume after a checkpoint without repeats."""
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    day = now.date().isoformat()
    dso.submit("PublishBaseline", json.dumps(small_baseline(day)))
    with connect_from_profile(live_network.profile("dso"), "settlement", endorse_retry=SETTLE_RETRY) as gw:
        contract(gw, live_network, "dso").submit("Deposit", "dsoMSP", "100000")
    market = f"ev-{uuid.uuid4().hex[:8]}"
    iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    dso.submit("RequestFlexibility", json.dumps({
        "id": market, "day": day, "gate_opens": iso(now - dt.timedelta(minutes=5)),
        "gate_closes": iso(now + dt.timedelta(hours=1)), "budget_cents": 1000, "feeder": "F1"}))
    trader.submit("EnrolInMarket", market)
    bids = []
    first_status = None
    for i in range(3):
        doc = json.loads(device())
        trader.submit("RegisterDevice", json.dumps(doc))
        bid = {"id": f"{market}-b{i}", "market_id": market, "device": doc["id"],
               "products": {"p_up": {"price_eur_per_mwh": 10.0 + i, "quantity_mw": [0.01]}}}
        submitted = trader.submit_async("PlaceBid", json.dumps(bid))
        status = submitted.status()
        assert status.successful
        first_status = first_status or status
        bids.append(bid["id"])
    network = trader.network
    seen = []
    with network.chaincode_events(trader.name, start_block=first_status.block_number) as stream:
        for event in stream:
            if event.event_name == "BidPlaced" and event.json()["market_id"] == market:
                seen.append(event)
            if len(seen) == 2:
                break
    assert [e.json()["bid_id"] for e in seen] == bids[:2]
    checkpoint = Checkpoint()
    checkpoint.checkpoint_event(seen[-1])
    resumed = []
    got = threading.Event()
    stream = network.chaincode_events(trader.name, checkpoint=checkpoint)

    def read() -> None:
        for event in stream:
            if event.event_name == "BidPlaced":
                resumed.append(event)
                got.set()
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert got.wait(60), "no event after the checkpoint"
    stream.close()
    assert resumed[0].json()["bid_id"] == bids[2]
