"""Batched state access (Fabric 3.1+ peers): the same reads, writes and answers in fewer messages.

The handler tests drive the real shim handler and message queue against a simulated peer stream; the
contract tests compare one market day on a peer without batching and on one with it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from cc_world import AGG1, AGG2, capacity_bid, flex_offer, market_day
from fabric_chaincode_python.fabric_shim.handler import STATES
from fabric_chaincode_python.fabric_shim.msg_queue_handler import MsgQueueHandler
from fabric_protos.peer import chaincode_pb2 as cc_pb2
from fabric_protos.peer import chaincode_shim_pb2 as shim_pb2

from chaincode.batching import NONE, PeerBatching
from chaincode.server import BatchingStub, EventingHandler, ServerConfig

Msg = shim_pb2.ChaincodeMessage


class _Peer:
    """The peer's end of the stream: answers batched reads from ``state``, applies write batches to it."""

    def __init__(self, handler: EventingHandler, state: dict[str, bytes], refuse: bool = False) -> None:
        self.handler, self.state, self.refuse = handler, state, refuse
        self.sent: list[Msg] = []

    async def write(self, msg: Msg) -> None:
        self.sent.append(msg)
        asyncio.get_running_loop().create_task(self.handler.msg_queue_handler.handle_msg_response(self._answer(msg)))

    def _answer(self, msg: Msg) -> Msg:
        if self.refuse:
            return Msg(type=Msg.ERROR, payload=b"no such thing", txid=msg.txid, channel_id=msg.channel_id)
        payload = b""
        if msg.type == Msg.GET_STATE_MULTIPLE:
            keys = shim_pb2.GetStateMultiple.FromString(msg.payload).keys
            payload = shim_pb2.GetStateMultipleResult(values=[self.state.get(k, b"") for k in keys]).SerializeToString()
        elif msg.type == Msg.WRITE_BATCH_STATE:
            for rec in shim_pb2.WriteBatchState.FromString(msg.payload).rec:
                if rec.type == shim_pb2.WriteRecord.DEL_STATE:
                    self.state.pop(rec.key, None)
                else:
                    self.state[rec.key] = rec.value
        return Msg(type=Msg.RESPONSE, payload=payload, txid=msg.txid, channel_id=msg.channel_id)


def _handler(state: dict[str, bytes], refuse: bool = False) -> tuple[EventingHandler, _Peer, BatchingStub]:
    handler = EventingHandler("flexledger_1.0:abc", object())
    peer = _Peer(handler, state, refuse)
    handler.context = peer
    handler.msg_queue_handler = MsgQueueHandler(handler)
    stub = BatchingStub(handler, "flexchannel", "tx1", cc_pb2.ChaincodeInput(), None)
    return handler, peer, stub


def _ready(params: cc_pb2.ChaincodeAdditionalParams | None) -> Msg:
    return Msg(type=Msg.READY, payload=params.SerializeToString() if params else b"")


def test_the_peers_offer_of_batching_is_read_from_its_ready_message() -> None:
    handler, _, _ = _handler({})
    handler.state = STATES.ESTABLISHED
    asyncio.run(handler.handle_message_established(_ready(cc_pb2.ChaincodeAdditionalParams(
        use_write_batch=True, max_size_write_batch=500, use_get_multiple_keys=True, max_size_get_multiple_keys=200))))
    assert handler.state == STATES.READY
    assert handler.batching == PeerBatching(max_read_keys=200, max_write_records=500)


def test_a_peer_before_fabric_3_1_offers_no_batching() -> None:
    handler, _, _ = _handler({})
    handler.state = STATES.ESTABLISHED
    asyncio.run(handler.handle_message_established(_ready(None)))
    assert handler.state == STATES.READY and handler.batching == NONE
    declined = cc_pb2.ChaincodeAdditionalParams(use_write_batch=False, max_size_write_batch=500)
    assert PeerBatching.from_ready(declined.SerializeToString()) == NONE


def test_a_server_told_to_decline_batching_talks_one_message_per_key() -> None:
    config = ServerConfig.from_env({"CHAINCODE_ID": "flexledger_1.0:abc", "CHAINCODE_SERVER_ADDRESS": "127.0.0.1:9999",
                                    "CHAINCODE_TLS_DISABLED": "1", "FLEXLEDGER_STATE_BATCHING": "0"})
    assert not config.state_batching
    handler, _, _ = _handler({})
    handler.accept_batching = config.state_batching
    handler.state = STATES.ESTABLISHED
    asyncio.run(handler.handle_message_established(_ready(cc_pb2.ChaincodeAdditionalParams(
        use_write_batch=True, max_size_write_batch=500, use_get_multiple_keys=True, max_size_get_multiple_keys=200))))
    assert handler.state == STATES.READY and handler.batching == NONE


def test_a_batched_read_and_a_write_batch_are_one_message_each() -> None:
    state = {"a": b"1", "c": b"3", "gone": b"x"}
    _, peer, stub = _handler(state)

    async def run() -> list[bytes | None]:
        values = await stub.get_states(["a", "b", "c"])
        await stub.write_states([("a", b"10"), ("d", b"4"), ("gone", None)])
        return values

    assert asyncio.run(run()) == [b"1", None, b"3"]
    assert [m.type for m in peer.sent] == [Msg.GET_STATE_MULTIPLE, Msg.WRITE_BATCH_STATE]
    assert all(m.txid == "tx1" and m.channel_id == "flexchannel" for m in peer.sent)
    assert state == {"a": b"10", "c": b"3", "d": b"4"}


def test_a_peer_refusing_a_batch_fails_the_transaction() -> None:
    _, _, stub = _handler({}, refuse=True)
    with pytest.raises(RuntimeError, match="the peer refused: no such thing"):
        asyncio.run(stub.get_states(["a", "b"]))
    with pytest.raises(RuntimeError, match="WriteBatchState"):
        asyncio.run(stub.write_states([("a", b"1")]))


def _day(batching: PeerBatching | None) -> Any:
    chain = market_day()
    chain.batching = batching
    return chain


BIDS = [(AGG1, "PlaceBid", capacity_bid()), (AGG2, "PlaceBid", flex_offer()),
        (AGG1, "PlaceBid", capacity_bid(id="B2", device="D4", periods=[2]))]


@pytest.mark.parametrize("who,fn,doc", BIDS, ids=["capacity", "flexibility", "second-capacity"])
def test_a_bid_reads_writes_and_answers_the_same_with_or_without_batching(who: Any, fn: str, doc: Any) -> None:
    plain, batched = _day(None), _day(PeerBatching(max_read_keys=1000, max_write_records=1000))
    answers = [chain.invoke(who, fn, doc) for chain in (plain, batched)]
    assert answers[0] == answers[1]
    assert plain.last_stub.reads == batched.last_stub.reads
    assert plain.last_stub.writes == batched.last_stub.writes
    assert plain.ledger.state == batched.ledger.state
    reads = [n for kind, n in batched.last_stub.batches if kind == "read"]
    assert reads == [6], "governance, market, enrolment, device, bid id and device slot in one read"
    assert [n for kind, n in batched.last_stub.batches if kind == "write"] == [len(batched.last_stub.writes)]


def test_batches_keep_within_the_limits_the_peer_announced() -> None:
    chain = _day(PeerBatching(max_read_keys=2, max_write_records=2))
    chain.invoke(AGG1, "PlaceBid", capacity_bid())
    assert chain.last_stub.batches == [("read", 2), ("read", 2), ("read", 2), ("write", 2), ("write", 1)]


def test_a_refused_bid_sends_no_write_batch() -> None:
    chain = _day(PeerBatching(max_read_keys=1000, max_write_records=1000))
    before = dict(chain.ledger.state)
    with pytest.raises(Exception, match="bid.device"):
        chain.invoke(AGG2, "PlaceBid", capacity_bid(id="B9"))  # D1 is agg1's
    assert chain.ledger.state == before
    assert [kind for kind, _ in chain.last_stub.batches] == ["read"]
