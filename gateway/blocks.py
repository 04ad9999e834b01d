"""Reading committed transactions back from the ledger (the peer's qscc system chaincode).

Why: an auditor should not take "every market organisation endorsed the clearing" on trust from
the endorsement policy; the committed transaction carries the endorsements themselves, each with
the endorser's MSP, and the peer says whether it was valid.
"""

from __future__ import annotations

from dataclasses import dataclass

from fabric_protos.common import common_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import transaction_pb2

from gateway.client import Network


@dataclass(frozen=True)
class CommittedTransaction:
    tx_id: str
    validation_code: str  # e.g. "VALID", "ENDORSEMENT_POLICY_FAILURE"
    endorsers: tuple[str, ...]  # MSP IDs, in the order of the endorsements


def parse_processed_transaction(tx_id: str, raw: bytes) -> CommittedTransaction:
    """Decode qscc's ``GetTransactionByID`` answer (a ``peer.ProcessedTransaction``)."""
    processed = transaction_pb2.ProcessedTransaction()
    processed.ParseFromString(raw)
    payload = common_pb2.Payload()
    payload.ParseFromString(processed.transactionEnvelope.payload)
    transaction = transaction_pb2.Transaction()
    transaction.ParseFromString(payload.data)
    endorsers: list[str] = []
    for action in transaction.actions:
        action_payload = transaction_pb2.ChaincodeActionPayload()
        action_payload.ParseFromString(action.payload)
        for endorsement in action_payload.action.endorsements:
            identity = identities_pb2.SerializedIdentity()
            identity.ParseFromString(endorsement.endorser)
            endorsers.append(identity.mspid)
    code = transaction_pb2.TxValidationCode.Name(processed.validationCode)
    return CommittedTransaction(tx_id, code, tuple(endorsers))


def committed_transaction(network: Network, channel: str, tx_id: str) -> CommittedTransaction:
    """The committed transaction ``tx_id`` as the connected peer's ledger holds it."""
    raw = network.get_contract("qscc").evaluate("GetTransactionByID", channel, tx_id)
    return parse_processed_transaction(tx_id, raw)
