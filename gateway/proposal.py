"""Build Fabric transaction proposals and read results out of prepared transactions.

The shapes follow Fabric's protoutil: a Proposal whose header names the channel, the chaincode and the
creator, a ChaincodeInvocationSpec with the function name and arguments, and a transaction ID derived from
the nonce and the creator so that peers can check it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from fabric_protos.common import common_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2, proposal_response_pb2, transaction_pb2
from google.protobuf import timestamp_pb2

NONCE_BYTES = 24


def transaction_id(nonce: bytes, creator: bytes) -> str:
    """TxID = hex(SHA-256(nonce ‖ serialized creator)), the rule peers verify."""
    return hashlib.sha256(nonce + creator).hexdigest()


def encode_args(args: tuple[str | bytes, ...] | list[str | bytes]) -> list[bytes]:
    return [a if isinstance(a, bytes) else str(a).encode() for a in args]


@dataclass(frozen=True)
class BuiltProposal:
    """An unsigned proposal: its bytes (what gets signed) and the IDs the gateway requests carry."""

    proposal_bytes: bytes
    transaction_id: str
    channel_id: str


def build_proposal(
    creator: bytes,
    channel_id: str,
    chaincode_name: str,
    function: str,
    args: list[bytes],
    transient: dict[str, bytes] | None = None,
    nonce: bytes | None = None,
) -> BuiltProposal:
    """Proposal for invoking ``function(*args)`` of ``chaincode_name`` on ``channel_id`` as ``creator``."""
    nonce = nonce if nonce is not None else os.urandom(NONCE_BYTES)
    tx_id = transaction_id(nonce, creator)
    chaincode_id = chaincode_pb2.ChaincodeID(name=chaincode_name)
    timestamp = timestamp_pb2.Timestamp()
    timestamp.GetCurrentTime()
    channel_header = common_pb2.ChannelHeader(
        type=common_pb2.ENDORSER_TRANSACTION,
        channel_id=channel_id,
        tx_id=tx_id,
        timestamp=timestamp,
        epoch=0,
        extension=proposal_pb2.ChaincodeHeaderExtension(chaincode_id=chaincode_id).SerializeToString(),
    )
    signature_header = common_pb2.SignatureHeader(creator=creator, nonce=nonce)
    header = common_pb2.Header(
        channel_header=channel_header.SerializeToString(),
        signature_header=signature_header.SerializeToString(),
    )
    invocation = chaincode_pb2.ChaincodeInvocationSpec(
        chaincode_spec=chaincode_pb2.ChaincodeSpec(
            type=chaincode_pb2.ChaincodeSpec.GOLANG,  # the type field is ignored by peers; Go clients send it
            chaincode_id=chaincode_id,
            input=chaincode_pb2.ChaincodeInput(args=[function.encode(), *args]),
        )
    )
    payload = proposal_pb2.ChaincodeProposalPayload(
        input=invocation.SerializeToString(), TransientMap=transient or {}
    )
    proposal = proposal_pb2.Proposal(header=header.SerializeToString(), payload=payload.SerializeToString())
    return BuiltProposal(proposal.SerializeToString(), tx_id, channel_id)


def proposal_ids(proposal_bytes: bytes) -> tuple[str, str]:
    """(transaction ID, channel ID) from a serialised proposal, for proposals rebuilt from bytes."""
    proposal = proposal_pb2.Proposal.FromString(proposal_bytes)
    header = common_pb2.Header.FromString(proposal.header)
    channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
    return channel_header.tx_id, channel_header.channel_id


def endorsed_action(envelope: common_pb2.Envelope) -> transaction_pb2.ChaincodeEndorsedAction:
    payload = common_pb2.Payload.FromString(envelope.payload)
    tx = transaction_pb2.Transaction.FromString(payload.data)
    action_payload = transaction_pb2.ChaincodeActionPayload.FromString(tx.actions[0].payload)
    return action_payload.action


def result_of(envelope: common_pb2.Envelope) -> bytes:
    """The chaincode's return value inside a prepared (endorsed) transaction envelope."""
    action = endorsed_action(envelope)
    response_payload = proposal_response_pb2.ProposalResponsePayload.FromString(action.proposal_response_payload)
    chaincode_action = proposal_pb2.ChaincodeAction.FromString(response_payload.extension)
    return chaincode_action.response.payload


def endorsing_msps(envelope: common_pb2.Envelope) -> list[str]:
    """The MSP ids of the peers whose endorsements a prepared transaction carries, in the envelope's order."""
    return [identities_pb2.SerializedIdentity.FromString(e.endorser).mspid
            for e in endorsed_action(envelope).endorsements]


def response_payload_digest(envelope: common_pb2.Envelope) -> str:
    """SHA-256 of the ProposalResponsePayload that the endorsers signed (compared across organisations)."""
    return hashlib.sha256(endorsed_action(envelope).proposal_response_payload).hexdigest()
