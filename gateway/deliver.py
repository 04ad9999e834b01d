"""Committed blocks, streamed from a peer's Deliver service, decoded into what a read model needs.

Why Deliver and not the chaincode events: a transaction carries at most one chaincode event and many
transactions (creating a market, registering a device) carry none, while the block carries every key the
transaction wrote. A read model built from the write sets of valid transactions mirrors the world state
exactly, and a block number is a natural checkpoint: a consumer that stores "last block applied" in the
same database transaction as the block's writes can neither miss nor apply a block twice.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    chaincode_pb2,
    events_pb2_grpc,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)
from google.protobuf import timestamp_pb2

from gateway.errors import EventsError
from gateway.events import stream_responses
from gateway.proposal import NONCE_BYTES, transaction_id

#: SeekInfo's "no end": the stream stays open and blocks arrive as they commit.
NEWEST_FOREVER = 2**64 - 1


@dataclass(frozen=True)
class KeyWrite:
    key: str
    value: bytes | None  # None: the key was deleted


@dataclass(frozen=True)
class BlockTransaction:
    """One transaction of a block: who created and endorsed it, whether it is valid, what it wrote."""

    index: int
    tx_id: str
    header_type: str
    validation_code: str
    creator_msp: str
    endorsers: tuple[str, ...]
    function: str
    event_name: str
    writes: tuple[KeyWrite, ...]  # only the writes of the chaincode namespace asked for


@dataclass(frozen=True)
class DecodedBlock:
    number: int
    transactions: tuple[BlockTransaction, ...]


def _msp_of(serialized_identity: bytes) -> str:
    identity = identities_pb2.SerializedIdentity()
    identity.ParseFromString(serialized_identity)
    return identity.mspid


def _endorser_tx(payload: common_pb2.Payload, namespace: str) -> tuple[tuple[str, ...], str, str, list[KeyWrite]]:
    """(endorser MSPs, function name, event name, writes to ``namespace``) of an endorser transaction."""
    transaction = transaction_pb2.Transaction.FromString(payload.data)
    endorsers: list[str] = []
    function = event = ""
    writes: list[KeyWrite] = []
    for action in transaction.actions:
        action_payload = transaction_pb2.ChaincodeActionPayload.FromString(action.payload)
        endorsers.extend(_msp_of(e.endorser) for e in action_payload.action.endorsements)
        proposal_payload = proposal_pb2.ChaincodeProposalPayload.FromString(
            action_payload.chaincode_proposal_payload)
        invocation = chaincode_pb2.ChaincodeInvocationSpec.FromString(proposal_payload.input)
        args = invocation.chaincode_spec.input.args
        if args and not function:
            function = args[0].decode(errors="replace")
        response = proposal_response_pb2.ProposalResponsePayload.FromString(
            action_payload.action.proposal_response_payload)
        chaincode_action = proposal_pb2.ChaincodeAction.FromString(response.extension)
        if chaincode_action.events:
            event = chaincode_event_pb2.ChaincodeEvent.FromString(chaincode_action.events).event_name
        rwset = rwset_pb2.TxReadWriteSet.FromString(chaincode_action.results)
        for ns in rwset.ns_rwset:
            if ns.namespace != namespace:
                continue
            kv = kv_rwset_pb2.KVRWSet.FromString(ns.rwset)
            writes.extend(KeyWrite(w.key, None if w.is_delete else bytes(w.value)) for w in kv.writes)
    return tuple(endorsers), function, event, writes


def decode_block(block: common_pb2.Block, namespace: str) -> DecodedBlock:
    """Every transaction of ``block`` with its validation code, and its writes to chaincode ``namespace``."""
    codes = block.metadata.metadata[common_pb2.BlockMetadataIndex.TRANSACTIONS_FILTER]
    out = []
    for index, envelope_bytes in enumerate(block.data.data):
        payload = common_pb2.Payload.FromString(common_pb2.Envelope.FromString(envelope_bytes).payload)
        header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
        signature = common_pb2.SignatureHeader.FromString(payload.header.signature_header)
        code = transaction_pb2.TxValidationCode.Name(codes[index]) if index < len(codes) else "NOT_VALIDATED"
        endorsers: tuple[str, ...] = ()
        function = event = ""
        writes: list[KeyWrite] = []
        if header.type == common_pb2.ENDORSER_TRANSACTION:
            endorsers, function, event, writes = _endorser_tx(payload, namespace)
        out.append(BlockTransaction(
            index=index, tx_id=header.tx_id, header_type=common_pb2.HeaderType.Name(header.type),
            validation_code=code, creator_msp=_msp_of(signature.creator) if signature.creator else "",
            endorsers=endorsers, function=function, event_name=event,
            writes=tuple(writes) if code == "VALID" else (),  # an invalid transaction wrote nothing
        ))
    return DecodedBlock(block.header.number, tuple(out))


def seek_envelope(creator: bytes, sign, channel: str, start: int, stop: int = NEWEST_FOREVER) -> common_pb2.Envelope:
    """The signed DELIVER_SEEK_INFO envelope asking for blocks ``start``..``stop``, waiting for new ones."""
    nonce = os.urandom(NONCE_BYTES)
    timestamp = timestamp_pb2.Timestamp()
    timestamp.GetCurrentTime()
    channel_header = common_pb2.ChannelHeader(
        type=common_pb2.DELIVER_SEEK_INFO, channel_id=channel, tx_id=transaction_id(nonce, creator),
        timestamp=timestamp,
    )
    header = common_pb2.Header(
        channel_header=channel_header.SerializeToString(),
        signature_header=common_pb2.SignatureHeader(creator=creator, nonce=nonce).SerializeToString(),
    )
    seek = ab_pb2.SeekInfo(
        start=ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=start)),
        stop=ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=stop)),
        behavior=ab_pb2.SeekInfo.BLOCK_UNTIL_READY,
    )
    payload = common_pb2.Payload(header=header, data=seek.SerializeToString()).SerializeToString()
    return common_pb2.Envelope(payload=payload, signature=sign(payload, "deliver request"))


class BlockStream:
    """Blocks from ``start`` on, as the peer commits them; :meth:`close` cancels the stream."""

    def __init__(self, call: object) -> None:
        self._call = call

    def __iter__(self) -> Iterator[common_pb2.Block]:
        for response in stream_responses(self._call):
            kind = response.WhichOneof("Type")
            if kind == "block":
                yield response.block
            elif kind == "status":
                if response.status != common_pb2.SUCCESS:
                    raise EventsError(f"deliver: the peer ended the block stream with status "
                                      f"{common_pb2.Status.Name(response.status)}")
                return

    def close(self) -> None:
        self._call.cancel()  # type: ignore[attr-defined]


def deliver_blocks(channel: grpc.Channel, creator: bytes, sign, channel_id: str, start: int) -> BlockStream:
    """Open the peer's ``Deliver`` stream (full blocks, with write sets) from block ``start``."""
    envelope = seek_envelope(creator, sign, channel_id, start)
    call = events_pb2_grpc.DeliverStub(channel).Deliver(iter([envelope]))
    return BlockStream(call)
