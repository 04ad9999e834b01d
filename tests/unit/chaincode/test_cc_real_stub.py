"""The contract over the shim's real ``ChaincodeStub`` (proposal decoding, range and history iterators).

Only the peer is simulated: :class:`PeerSide` answers the handler calls the real stub makes, with protobuf
messages shaped as the peer sends them, and commits a transaction's writes only when it succeeded.
"""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

from cc_fakes import certificate
from cc_world import DEVICES, GOVERNANCE, NETWORK
from fabric_chaincode_python.fabric_shim.stub import ChaincodeStub
from fabric_protos.common import common_pb2
from fabric_protos.ledger.queryresult import kv_query_result_pb2 as kv_pb
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import chaincode_pb2 as cc_pb2
from fabric_protos.peer import chaincode_shim_pb2 as shim_pb2
from fabric_protos.peer import proposal_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from chaincode.contract import build_chaincode


class PeerSide:
    """What the peer answers to GetState/PutState/GetStateByRange/GetHistoryForKey, per transaction."""

    def __init__(self) -> None:
        self.state: dict[str, bytes] = {}
        self.history: dict[str, list[kv_pb.KeyModification]] = {}
        self.writes: dict[str, bytes] = {}
        self.ts = Timestamp(seconds=1_795_168_800)
        self.tx_id = ""

    async def handle_get_state(self, collection: str, key: str, channel_id: str, tx_id: str) -> bytes:
        return self.state.get(key, b"")

    async def handle_put_state(self, collection: str, key: str, value: bytes, channel_id: str, tx_id: str) -> None:
        self.writes[key] = value

    async def handle_delete_state(self, collection: str, key: str, channel_id: str, tx_id: str) -> None:
        raise AssertionError("the contract never deletes")

    def _response(self, records: list[bytes]) -> Any:
        # one record per page, so the iterator has to ask for the next page
        self._pages = [records[i:i + 1] for i in range(len(records))] or [[]]
        return self._next_page()

    def _next_page(self) -> Any:
        page = self._pages.pop(0)
        response = shim_pb2.QueryResponse(results=[shim_pb2.QueryResultBytes(resultBytes=r) for r in page],
                                          has_more=bool(self._pages), id="q1")
        return SimpleNamespace(payload=response.SerializeToString())

    async def handle_get_state_by_range(self, collection: str, start: str, end: str, channel_id: str, tx_id: str,
                                        metadata: bytes | None = None) -> Any:
        keys = sorted(k for k in self.state if start <= k < end)
        return self._response([kv_pb.KV(key=k, value=self.state[k]).SerializeToString() for k in keys])

    async def handle_query_state_next(self, query_id: str, channel_id: str, tx_id: str) -> Any:
        return self._next_page()

    async def handle_query_state_close(self, query_id: str, channel_id: str, tx_id: str) -> None:
        return None

    async def handle_get_history_for_key(self, key: str, channel_id: str, tx_id: str) -> Any:
        mods = list(reversed(self.history.get(key, [])))
        return self._response([m.SerializeToString() for m in mods])

    def commit(self) -> None:
        for key, value in self.writes.items():
            self.state[key] = value
            self.history.setdefault(key, []).append(
                kv_pb.KeyModification(tx_id=self.tx_id, value=value, timestamp=self.ts))
        self.writes = {}


def _proposal(msp: str, pem: bytes, ts: Timestamp, tx_id: str) -> proposal_pb2.SignedProposal:
    creator = identities_pb2.SerializedIdentity(mspid=msp, id_bytes=pem).SerializeToString()
    header = common_pb2.Header(
        channel_header=common_pb2.ChannelHeader(timestamp=ts, tx_id=tx_id, channel_id="flexchannel").SerializeToString(),
        signature_header=common_pb2.SignatureHeader(creator=creator, nonce=b"n").SerializeToString(),
    )
    proposal = proposal_pb2.Proposal(header=header.SerializeToString(),
                                     payload=proposal_pb2.ChaincodeProposalPayload(input=b"x").SerializeToString())
    return proposal_pb2.SignedProposal(proposal_bytes=proposal.SerializeToString(), signature=b"sig")


def test_contract_runs_on_the_real_shim_stub() -> None:
    peer = PeerSide()
    # the endorser's clock agrees with the (fixed) transaction time
    cc = build_chaincode(local_clock=lambda: peer.ts.seconds * 1000)
    counter = iter(range(1, 100))

    def call(msp: str, role: str, fn: str, *args: Any) -> tuple[Any, list[Any]]:
        peer.tx_id = f"tx{next(counter)}"
        cc_input = cc_pb2.ChaincodeInput(args=[fn.encode()] + [
            (a if isinstance(a, str) else json.dumps(a)).encode() for a in args])
        stub = ChaincodeStub(peer, "flexchannel", peer.tx_id, cc_input,
                             _proposal(msp, certificate(msp, role, f"{role}-real"), peer.ts, peer.tx_id))
        response = asyncio.run(cc.invoke(stub))
        assert response.status == 200, response.message
        peer.commit()
        return json.loads(response.payload), stub.get_events()

    call("dsoMSP", "admin", "InitMarketplace", GOVERNANCE)
    call("dsoMSP", "dso", "PublishNetwork", NETWORK)
    for name in ("D1", "D3", "D4"):
        call("agg1MSP", "aggregator", "RegisterDevice", DEVICES[name][1])
    call("agg1MSP", "aggregator", "UpdateDevice", "D1", {"max_power_mw": 1.5})

    page, _ = call("auditorMSP", "auditor", "ListDevices", {"manager": "agg1MSP"})
    assert [d["id"] for d in page["devices"]] == ["D1", "D3", "D4"]  # three pages of the range iterator
    history, _ = call("auditorMSP", "auditor", "GetHistory", "device", "D1")
    assert [h["value"]["max_power_mw"] for h in history] == [1.5, 2.0]
    assert history[0]["timestamp"] == "2026-11-20T10:00:00.000Z"

    call("dsoMSP", "settlement", "Deposit", "dsoMSP", "100000")
    market = {"id": "CAP1", "kind": "capacity_day_ahead", "feeder": "F1", "day": "2026-11-21",
              "rule": "premium_capacity", "gate_opens": "2026-11-20T09:00:00Z", "gate_closes": "2026-11-20T12:00:00Z",
              "periods": 4, "period_minutes": 60,
              "rules": {"price_resolution_eur": 0.5, "quantity_step_mw": 0.1, "min_quantity_mw": 0.1,
                        "max_quantity_mw": 5.0, "min_price_eur_per_mwh": 0.0, "max_price_eur_per_mwh": 500.0}}
    call("dsoMSP", "dso", "CreateMarket", market)
    call("agg1MSP", "aggregator", "EnrolInMarket", "CAP1")
    call("dsoMSP", "settlement", "Deposit", "agg1MSP", "50000")
    bid, events = call("agg1MSP", "aggregator", "PlaceBid",
                       {"id": "B1", "market_id": "CAP1", "device": "D1", "periods": [0], "quantity_mw": 1.0,
                        "price_eur_per_mwh": 20.0})
    assert bid["timestamp"] == "2026-11-20T10:00:00.000Z"
    (event,) = events
    assert event.event_name == "BidPlaced" and event.tx_id == peer.tx_id
    assert json.loads(event.payload)["bid_id"] == "B1"
