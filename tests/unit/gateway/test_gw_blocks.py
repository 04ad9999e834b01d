"""Reading endorsers and the validation code back from a committed transaction."""

from __future__ import annotations

from fabric_protos.common import common_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import proposal_response_pb2, transaction_pb2

from gateway.blocks import parse_processed_transaction


def _processed(endorsers: list[str], code: int) -> bytes:
    action = transaction_pb2.ChaincodeEndorsedAction()
    for msp in endorsers:
        identity = identities_pb2.SerializedIdentity(mspid=msp, id_bytes=b"-----BEGIN CERTIFICATE-----")
        action.endorsements.append(proposal_response_pb2.Endorsement(endorser=identity.SerializeToString(),
                                                                     signature=b"sig"))  # fmt: skip
    payload = transaction_pb2.ChaincodeActionPayload(action=action)
    tx = transaction_pb2.Transaction(actions=[transaction_pb2.TransactionAction(payload=payload.SerializeToString())])
    envelope = common_pb2.Envelope(payload=common_pb2.Payload(data=tx.SerializeToString()).SerializeToString())
    return transaction_pb2.ProcessedTransaction(transactionEnvelope=envelope, validationCode=code).SerializeToString()


def test_committed_transaction_names_every_endorsing_msp_in_order() -> None:
    committed = parse_processed_transaction("t1", _processed(["dsoMSP", "agg1MSP", "agg2MSP"], 0))
    assert committed.endorsers == ("dsoMSP", "agg1MSP", "agg2MSP")
    assert committed.validation_code == "VALID"


def test_an_invalidated_transaction_reports_its_validation_code() -> None:
    code = transaction_pb2.TxValidationCode.Value("ENDORSEMENT_POLICY_FAILURE")
    committed = parse_processed_transaction("t2", _processed(["agg1MSP"], code))
    assert committed.validation_code == "ENDORSEMENT_POLICY_FAILURE"
    assert committed.endorsers == ("agg1MSP",)
