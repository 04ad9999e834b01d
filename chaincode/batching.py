"""Batched state access: many keys read in one message to the peer, all writes sent in one.

Why: every ``GetState`` and ``PutState`` is a round trip between the peer and this Python process, and a
bid's six reads and three writes as nine round trips were most of the chaincode's CPU per bid (docs/gateway.md,
"Throughput"). Fabric 3.1 peers offer ``GET_STATE_MULTIPLE`` and ``WRITE_BATCH_STATE`` and say so, with their
size limits, in the ``READY`` message's ``ChaincodeAdditionalParams`` (``chaincode.runtimeParams`` in
core.yaml); older peers send no parameters, and the chaincode then keeps one message per key.

Batching changes no endorsement: the peer records each key of a batched read in the read set and applies each
record of a write batch exactly as the single messages would, so the read/write set is the same bytes either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fabric_protos.peer import chaincode_pb2 as cc_pb2
from fabric_protos.peer import chaincode_shim_pb2 as shim_pb2


@dataclass(frozen=True)
class PeerBatching:
    """What the peer accepts: the most keys per batched read / records per write batch (0: not offered)."""

    max_read_keys: int = 0
    max_write_records: int = 0

    @classmethod
    def from_ready(cls, payload: bytes) -> PeerBatching:
        """The peer's offer from a ``READY`` payload (empty from peers before Fabric 3.1)."""
        if not payload:
            return cls()
        params = cc_pb2.ChaincodeAdditionalParams()
        params.ParseFromString(payload)
        return cls(max_read_keys=params.max_size_get_multiple_keys if params.use_get_multiple_keys else 0,
                   max_write_records=params.max_size_write_batch if params.use_write_batch else 0)


NONE = PeerBatching()


def chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def read_request(keys: Sequence[str], channel_id: str, tx_id: str) -> shim_pb2.ChaincodeMessage:
    return shim_pb2.ChaincodeMessage(type=shim_pb2.ChaincodeMessage.GET_STATE_MULTIPLE,
                                     payload=shim_pb2.GetStateMultiple(keys=list(keys)).SerializeToString(),
                                     txid=tx_id, channel_id=channel_id)


def read_values(keys: Sequence[str], response: shim_pb2.ChaincodeMessage) -> list[bytes | None]:
    """The values in ``keys`` order (None: no such key); a refusal or a short answer is an error."""
    answer = check_answer(response, "GetStateMultiple")
    result = shim_pb2.GetStateMultipleResult()
    result.ParseFromString(answer.payload)
    if len(result.values) != len(keys):
        raise RuntimeError(f"GetStateMultiple: the peer answered {len(result.values)} values for {len(keys)} keys")
    return [bytes(v) if v else None for v in result.values]


def write_request(writes: Sequence[tuple[str, bytes | None]], channel_id: str,
                  tx_id: str) -> shim_pb2.ChaincodeMessage:
    """One ``WRITE_BATCH_STATE`` message: a put per value, a delete per ``None``, in the order given."""
    records = [shim_pb2.WriteRecord(key=k, value=v, type=shim_pb2.WriteRecord.PUT_STATE) if v is not None
               else shim_pb2.WriteRecord(key=k, type=shim_pb2.WriteRecord.DEL_STATE) for k, v in writes]
    return shim_pb2.ChaincodeMessage(type=shim_pb2.ChaincodeMessage.WRITE_BATCH_STATE,
                                     payload=shim_pb2.WriteBatchState(rec=records).SerializeToString(),
                                     txid=tx_id, channel_id=channel_id)


def check_written(response: shim_pb2.ChaincodeMessage) -> None:
    check_answer(response, "WriteBatchState")


def check_answer(response: shim_pb2.ChaincodeMessage, what: str) -> shim_pb2.ChaincodeMessage:
    if response.type == shim_pb2.ChaincodeMessage.ERROR:
        raise RuntimeError(f"{what}: the peer refused: {response.payload.decode('utf-8', 'replace')}")
    if response.type != shim_pb2.ChaincodeMessage.RESPONSE:
        raise RuntimeError(f"{what}: unexpected answer of type {response.type}")
    return response
