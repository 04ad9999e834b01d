"""Reading endorsers and the validation code back from a committed transaction."""

from __future__ import annotations

from fabric_protos.common import common_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import proposal_response_pb2, transaction_pb2

from gateway.blocks import block_transactions, parse_processed_transaction


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


def _block(txs: list[tuple[str, int, int]]) -> bytes:
    """A block of (tx id, header type, validation code), with the codes in the TRANSACTIONS_FILTER slot."""
    block = common_pb2.Block()
    for tx_id, header_type, _ in txs:
        header = common_pb2.ChannelHeader(type=header_type, tx_id=tx_id, channel_id="flexchannel")
        payload = common_pb2.Payload(header=common_pb2.Header(channel_header=header.SerializeToString()))
        block.data.data.append(common_pb2.Envelope(payload=payload.SerializeToString()).SerializeToString())
    metadata = [b""] * (common_pb2.BlockMetadataIndex.TRANSACTIONS_FILTER + 1)
    metadata[common_pb2.BlockMetadataIndex.TRANSACTIONS_FILTER] = bytes(code for _, _, code in txs)
    block.metadata.metadata.extend(metadata)
    return block.SerializeToString()


def test_a_block_lists_each_transaction_with_its_own_validation_code() -> None:
    endorser = common_pb2.HeaderType.Value("ENDORSER_TRANSACTION")
    duplicate = transaction_pb2.TxValidationCode.Value("DUPLICATE_TXID")
    txs = block_transactions(7, _block([("a1", endorser, 0), ("a1", endorser, duplicate)]))
    assert [(t.block, t.tx_id, t.header_type, t.validation_code) for t in txs] == [
        (7, "a1", "ENDORSER_TRANSACTION", "VALID"), (7, "a1", "ENDORSER_TRANSACTION", "DUPLICATE_TXID")]


def test_channel_organizations_are_read_from_the_msp_names_in_the_channel_config() -> None:
    from fabric_protos.common import configtx_pb2
    from fabric_protos.msp import msp_config_pb2

    from gateway.blocks import parse_channel_organizations

    config = configtx_pb2.Config()
    application = config.channel_group.groups["Application"]
    for group_name, msp_id in (("Org-B", "agg1MSP"), ("Org-A", "dsoMSP")):
        fabric = msp_config_pb2.FabricMSPConfig(name=msp_id)
        msp = msp_config_pb2.MSPConfig(type=0, config=fabric.SerializeToString())
        application.groups[group_name].values["MSP"].value = msp.SerializeToString()
    assert parse_channel_organizations(config.SerializeToString()) == ["agg1MSP", "dsoMSP"]
