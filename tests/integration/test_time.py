"""The real peers hold a transaction's claimed time against their own clocks (docs/chaincode.md, "Time")."""

from __future__ import annotations

import json
import uuid

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import proposal_pb2

from gateway import EndorseError, connect_from_profile
from gateway.client import Proposal
from gateway.retry import SETTLE_RETRY
from tests.integration.conftest import LiveNetwork
from tests.small_feeder import SMALL_FEEDER as FEEDER


def _dated_proposal(contract, seconds_off: int, function: str, *args: str) -> Proposal:
    """A correctly signed proposal whose channel header claims a time ``seconds_off`` from now: a lying client."""
    honest = gateway_pb2.ProposedTransaction.FromString(contract.new_proposal(function, *args).bytes)
    proposal = proposal_pb2.Proposal.FromString(honest.proposal.proposal_bytes)
    header = common_pb2.Header.FromString(proposal.header)
    channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
    channel_header.timestamp.seconds += seconds_off
    header.channel_header = channel_header.SerializeToString()
    proposal.header = header.SerializeToString()
    proposal_bytes = proposal.SerializeToString()
    proposed = gateway_pb2.ProposedTransaction(
        transaction_id=honest.transaction_id,
        proposal=proposal_pb2.SignedProposal(proposal_bytes=proposal_bytes,
                                             signature=contract.gateway.sign(proposal_bytes, "proposal")),
    )  # fmt: skip
    return Proposal(contract.gateway, proposed, contract.network.name)


def _device() -> str:
    return json.dumps({"id": f"time-{uuid.uuid4().hex[:8]}", "type": "load", "max_power_mw": 0.1, "node": "1",
                       "feeder": "F1"})  # fmt: skip


@pytest.fixture(scope="module")
def trader(live_network: LiveNetwork):
    with connect_from_profile(live_network.profile("dso"), "operator", endorse_retry=SETTLE_RETRY) as gw:  # devices need a published feeder
        gw.get_network("flexchannel").get_contract("flexledger").submit("PublishNetwork", json.dumps(FEEDER))
    with connect_from_profile(live_network.profile("agg1"), "trader", endorse_retry=SETTLE_RETRY) as gw:
        yield gw.get_network("flexchannel").get_contract("flexledger")


def test_a_transaction_dated_a_minute_ahead_is_refused_by_the_peers_and_writes_nothing(trader):
    doc = _device()
    with pytest.raises(EndorseError) as err:
        _dated_proposal(trader, 60, "RegisterDevice", doc).endorse()
    assert (err.value.chaincode_message or "").startswith("tx.timestamp:"), err.value
    with pytest.raises(Exception, match="is not registered"):
        trader.evaluate("ReadDevice", json.loads(doc)["id"])


def test_a_transaction_dated_within_the_bound_commits_with_its_claimed_time(trader):
    doc = _device()
    transaction = _dated_proposal(trader, 3, "RegisterDevice", doc).endorse()
    assert transaction.submit().status().successful
    assert json.loads(trader.evaluate("ReadDevice", json.loads(doc)["id"]))["id"] == json.loads(doc)["id"]
