"""Key-level endorsement policies: the bytes every endorser writes, and the message the peer receives."""

from __future__ import annotations

import asyncio

import pytest
from fabric_protos.common import policies_pb2
from fabric_protos.msp import msp_principal_pb2
from fabric_protos.peer import chaincode_shim_pb2 as shim_pb2

from chaincode.errors import ChaincodeError
from chaincode.key_policy import VALIDATION_PARAMETER, organisations, peers_of, put_policy_request
from chaincode.state import Ledger


def test_policy_names_the_organisations_peer_role_and_is_the_same_bytes_every_time() -> None:
    policy = peers_of("agg1MSP")
    assert policy == peers_of("agg1MSP") and policy != peers_of("agg2MSP")
    envelope = policies_pb2.SignaturePolicyEnvelope.FromString(policy)
    assert envelope.rule.n_out_of.n == 1 and envelope.rule.n_out_of.rules[0].signed_by == 0
    role = msp_principal_pb2.MSPRole.FromString(envelope.identities[0].principal)
    assert (role.msp_identifier, role.role) == ("agg1MSP", msp_principal_pb2.MSPRole.PEER)
    assert organisations(policy) == ["agg1MSP"]


def test_policy_message_is_the_peer_protocols_put_state_metadata() -> None:
    message = put_policy_request("k", b"policy", "flexchannel", "tx1")
    assert message.type == shim_pb2.ChaincodeMessage.PUT_STATE_METADATA
    assert (message.txid, message.channel_id) == ("tx1", "flexchannel")
    payload = shim_pb2.PutStateMetadata.FromString(message.payload)
    assert (payload.key, payload.collection) == ("k", "")
    assert (payload.metadata.metakey, payload.metadata.value) == (VALIDATION_PARAMETER, b"policy")


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def put_state(self, key: str, value: bytes) -> None:
        self.calls.append(("put", key))

    async def delete_state(self, key: str) -> None:
        self.calls.append(("delete", key))

    async def put_state_policy(self, key: str, policy: bytes) -> None:
        self.calls.append(("policy", key))


def test_ledger_sends_a_keys_policy_after_its_value_and_only_with_one() -> None:
    stub = _Recorder()
    ledger = Ledger(stub)
    with pytest.raises(RuntimeError, match="goes with a value"):
        ledger.restrict_writers("b", b"p")
    ledger.put("b", {"x": 1})
    ledger.restrict_writers("b", b"p")
    ledger.put("a", {"x": 2})
    asyncio.run(ledger.flush())
    assert stub.calls == [("put", "a"), ("put", "b"), ("policy", "b")]
    with pytest.raises(ChaincodeError, match="evaluate-only"):
        Ledger(stub, read_only=True).restrict_writers("b", b"p")
