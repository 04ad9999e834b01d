"""Real Fabric block protobufs for unit tests of the query store: endorser transactions with write sets.

The blocks are encoded exactly as a peer delivers them (Envelope → Payload → Transaction → ChaincodeActionPayload
→ ProposalResponsePayload → ChaincodeAction → TxReadWriteSet → KVRWSet), so the store's decoder is tested
on the real wire shapes, not on a test-only format.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from fabric_protos.common import common_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    chaincode_pb2,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)

NAMESPACE = "flexledger"


def ckey(kind: str, *ids: str) -> str:
    """A composite key as Fabric builds it."""
    return "\x00" + kind + "\x00" + "".join(i + "\x00" for i in ids)


def _identity(msp: str) -> bytes:
    return identities_pb2.SerializedIdentity(mspid=msp, id_bytes=b"-----BEGIN CERTIFICATE-----").SerializeToString()


@dataclass
class Tx:
    tx_id: str
    writes: dict[str, Any] = field(default_factory=dict)  # key -> JSON value, or None to delete
    function: str = "PlaceBid"
    creator: str = "agg1MSP"
    endorsers: tuple[str, ...] = ("dsoMSP", "agg1MSP", "agg2MSP")
    event: str = ""
    code: int = 0  # TxValidationCode
    other_namespace_writes: dict[str, bytes] = field(default_factory=dict)


def _envelope(tx: Tx) -> bytes:
    kv = kv_rwset_pb2.KVRWSet(writes=[
        kv_rwset_pb2.KVWrite(key=k, is_delete=v is None,
                             value=b"" if v is None else json.dumps(v, sort_keys=True, separators=(",", ":")).encode())
        for k, v in tx.writes.items()])
    ns = [rwset_pb2.NsReadWriteSet(namespace=NAMESPACE, rwset=kv.SerializeToString())]
    if tx.other_namespace_writes:
        other = kv_rwset_pb2.KVRWSet(writes=[kv_rwset_pb2.KVWrite(key=k, value=v)
                                             for k, v in tx.other_namespace_writes.items()])
        ns.append(rwset_pb2.NsReadWriteSet(namespace="_lifecycle", rwset=other.SerializeToString()))
    rwset = rwset_pb2.TxReadWriteSet(data_model=rwset_pb2.TxReadWriteSet.KV, ns_rwset=ns)
    events = b""
    if tx.event:
        events = chaincode_event_pb2.ChaincodeEvent(chaincode_id=NAMESPACE, tx_id=tx.tx_id, event_name=tx.event,
                                                    payload=b"{}").SerializeToString()
    action = proposal_pb2.ChaincodeAction(results=rwset.SerializeToString(), events=events)
    response = proposal_response_pb2.ProposalResponsePayload(extension=action.SerializeToString())
    endorsed = transaction_pb2.ChaincodeEndorsedAction(
        proposal_response_payload=response.SerializeToString(),
        endorsements=[proposal_response_pb2.Endorsement(endorser=_identity(m), signature=b"sig") for m in tx.endorsers])
    invocation = chaincode_pb2.ChaincodeInvocationSpec(chaincode_spec=chaincode_pb2.ChaincodeSpec(
        chaincode_id=chaincode_pb2.ChaincodeID(name=NAMESPACE),
        input=chaincode_pb2.ChaincodeInput(args=[tx.function.encode(), b"{}"])))
    proposal_payload = proposal_pb2.ChaincodeProposalPayload(input=invocation.SerializeToString())
    action_payload = transaction_pb2.ChaincodeActionPayload(
        chaincode_proposal_payload=proposal_payload.SerializeToString(), action=endorsed)
    transaction = transaction_pb2.Transaction(actions=[
        transaction_pb2.TransactionAction(payload=action_payload.SerializeToString())])
    header = common_pb2.Header(
        channel_header=common_pb2.ChannelHeader(type=common_pb2.ENDORSER_TRANSACTION, tx_id=tx.tx_id,
                                                channel_id="flexchannel").SerializeToString(),
        signature_header=common_pb2.SignatureHeader(creator=_identity(tx.creator), nonce=b"n").SerializeToString())
    payload = common_pb2.Payload(header=header, data=transaction.SerializeToString())
    return common_pb2.Envelope(payload=payload.SerializeToString(), signature=b"sig").SerializeToString()


def make_block(number: int, txs: list[Tx]) -> common_pb2.Block:
    block = common_pb2.Block()
    block.header.number = number
    for tx in txs:
        block.data.data.append(_envelope(tx))
    metadata = [b""] * (common_pb2.BlockMetadataIndex.TRANSACTIONS_FILTER + 1)
    metadata[common_pb2.BlockMetadataIndex.TRANSACTIONS_FILTER] = bytes(tx.code for tx in txs)
    block.metadata.metadata.extend(metadata)
    return block


def config_block(number: int = 0) -> common_pb2.Block:
    """A block with one CONFIG transaction (block 0 of every channel): it writes no chaincode keys."""
    block = common_pb2.Block()
    block.header.number = number
    header = common_pb2.ChannelHeader(type=common_pb2.CONFIG, channel_id="flexchannel")
    payload = common_pb2.Payload(header=common_pb2.Header(channel_header=header.SerializeToString()))
    block.data.data.append(common_pb2.Envelope(payload=payload.SerializeToString()).SerializeToString())
    metadata = [b""] * (common_pb2.BlockMetadataIndex.TRANSACTIONS_FILTER + 1)
    metadata[common_pb2.BlockMetadataIndex.TRANSACTIONS_FILTER] = b"\x00"
    block.metadata.metadata.extend(metadata)
    return block


class LiveChain:
    """A growing list of blocks served like the peer's Deliver stream: from a block on, waiting for more."""

    def __init__(self, blocks: list[common_pb2.Block] | None = None) -> None:
        self.blocks = list(blocks or [config_block()])
        self.opened_from: list[int] = []
        self.fail_after: int | None = None  # break the next stream after this many blocks
        self._cond = threading.Condition()

    def append(self, txs: list[Tx]) -> common_pb2.Block:
        with self._cond:
            block = make_block(len(self.blocks), txs)
            self.blocks.append(block)
            self._cond.notify_all()
        return block

    @property
    def height(self) -> int:
        return len(self.blocks)

    def open(self, start: int) -> Stream:
        self.opened_from.append(start)
        fail, self.fail_after = self.fail_after, None
        return Stream(self, start, fail)


class Stream:
    def __init__(self, chain: LiveChain, start: int, fail_after: int | None) -> None:
        self.chain, self.next, self.fail_after = chain, start, fail_after
        self.closed = False

    def __iter__(self):
        sent = 0
        while not self.closed:
            with self.chain._cond:
                while self.next >= len(self.chain.blocks) and not self.closed:
                    self.chain._cond.wait(0.05)
                if self.closed:
                    return
                block = self.chain.blocks[self.next]
            if self.fail_after is not None and sent >= self.fail_after:
                raise ConnectionError("peer went away")
            yield block
            self.next += 1
            sent += 1

    def close(self) -> None:
        self.closed = True
