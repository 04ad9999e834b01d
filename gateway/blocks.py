"""Reading committed transactions back from the ledger (the peer's qscc system chaincode).

Why: an auditor should not take "every market organisation endorsed the clearing" on trust from
the endorsement policy; the committed transaction carries the endorsements themselves, each with
the endorser's MSP, and the peer says whether it was valid.
"""

from __future__ import annotations

from dataclasses import dataclass

from fabric_protos.common import common_pb2, configtx_pb2, ledger_pb2
from fabric_protos.msp import identities_pb2, msp_config_pb2
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


@dataclass(frozen=True)
class LedgerTransaction:
    """One transaction as a block records it: where, what kind, and whether the peers validated it."""

    block: int
    tx_id: str
    header_type: str  # "ENDORSER_TRANSACTION", "CONFIG", ...
    validation_code: str


def block_transactions(number: int, raw_block: bytes) -> list[LedgerTransaction]:
    """Decode one block (qscc ``GetBlockByNumber``) into its transactions and validation codes."""
    block = common_pb2.Block()
    block.ParseFromString(raw_block)
    codes = block.metadata.metadata[common_pb2.BlockMetadataIndex.TRANSACTIONS_FILTER]
    out = []
    for index, envelope_bytes in enumerate(block.data.data):
        envelope = common_pb2.Envelope()
        envelope.ParseFromString(envelope_bytes)
        payload = common_pb2.Payload()
        payload.ParseFromString(envelope.payload)
        header = common_pb2.ChannelHeader()
        header.ParseFromString(payload.header.channel_header)
        code = transaction_pb2.TxValidationCode.Name(codes[index]) if index < len(codes) else "NOT_VALIDATED"
        out.append(LedgerTransaction(number, header.tx_id, common_pb2.HeaderType.Name(header.type), code))
    return out


def ledger_height(network: Network, channel: str) -> int:
    info = ledger_pb2.BlockchainInfo()
    info.ParseFromString(network.get_contract("qscc").evaluate("GetChainInfo", channel))
    return info.height


def ledger_transactions(network: Network, channel: str, start: int = 0) -> list[LedgerTransaction]:
    """Every transaction of the channel from block ``start`` on, as the connected peer committed it."""
    qscc = network.get_contract("qscc")
    return [
        tx
        for number in range(start, ledger_height(network, channel))
        for tx in block_transactions(number, qscc.evaluate("GetBlockByNumber", channel, str(number)))
    ]


def parse_channel_organizations(raw_config: bytes) -> list[str]:
    """MSP IDs of the channel's application organisations, from cscc ``GetChannelConfig`` (a ``common.Config``)."""
    config = configtx_pb2.Config()
    config.ParseFromString(raw_config)
    application = config.channel_group.groups["Application"]
    out = []
    for group in application.groups.values():
        msp = msp_config_pb2.MSPConfig()
        msp.ParseFromString(group.values["MSP"].value)
        fabric = msp_config_pb2.FabricMSPConfig()
        fabric.ParseFromString(msp.config)
        out.append(fabric.name)
    return sorted(out)


def channel_organizations(network: Network) -> list[str]:
    """The application organisations of the channel, as its current configuration names them."""
    return parse_channel_organizations(network.get_contract("cscc").evaluate("GetChannelConfig", network.name))
