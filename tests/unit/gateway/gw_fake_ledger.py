"""An in-memory stand-in for the ledger port of the REST service (unit tests of the API layer only).

It raises the client library's real error types with the peer's real detail format
(``chaincode response 404, field: message``: the status carries the refusal's kind), so the HTTP mapping is
exercised end to end; the chaincode
rules it mimics are a small subset. Integration tests run the same endpoints against the real network.
"""

from __future__ import annotations

import json
from typing import Any

import grpc
from gw_pki import TestCA

from contract.kinds import RESPONSE_STATUS, Kind
from gateway.errors import ConfigError, EndorseError, ErrorDetail, EvaluateError
from gateway.events import ChaincodeEvent, Checkpoint
from gateway.identity import X509Identity

FLEX_DOC = {
    "schema": "flexledger.clearing/1", "periods": 1, "period_minutes": 60,
    "network": {"base_mva": 1.0, "v_min_pu": 0.95, "v_max_pu": 1.05, "v_slack_pu": 1.0,
                "nodes": [{"id": "0", "slack": True}, {"id": "1"}],
                "branches": [{"id": "0-1", "from": "0", "to": "1", "r_pu": 0.011, "x_pu": 0.011,
                              "p_max_mw": 0.03, "q_max_mvar": 2.0}]},
    "baseline": [{"node": "1", "period": 0, "demand_mw": 0.04, "generation_mw": 0.0,
                  "demand_tan_phi": 0.2, "generation_tan_phi": 0.0}],
    "substation": {"p_mw": None, "q_mvar": None},
    "shedding_cost": {"load_eur_per_mwh": 450.0, "generation_eur_per_mwh": 50.0},
    "offers": [{"id": "fsp01", "owner": "agg1MSP", "node": "1",
                "products": {"p_up": {"price_eur_per_mwh": 12.0, "quantity_mw": [0.1]}}}],
}

WRITES = {"RegisterDevice", "UpdateDevice", "RetireDevice", "EnrolInMarket", "PlaceBid", "CancelBid",
          "PublishNetwork", "PublishBaseline", "PublishCapacityLimits", "CreateMarket", "RequestFlexibility",
          "ClearMarket", "SettleMarket", "Deposit", "Withdraw"}
ROLES = {"RegisterDevice": "aggregator", "UpdateDevice": "aggregator", "RetireDevice": "aggregator",
         "EnrolInMarket": "aggregator", "PlaceBid": "aggregator", "CancelBid": "aggregator",
         "PublishNetwork": "dso", "PublishBaseline": "dso", "PublishCapacityLimits": "dso",
         "CreateMarket": "dso", "RequestFlexibility": "dso", "ClearMarket": "dso", "SettleMarket": "settlement",
         "Deposit": "settlement", "Withdraw": "settlement"}


class Refused(Exception):
    """A refusal of ``kind``, as the chaincode words it (``field: message``)."""

    def __init__(self, kind: Kind, text: str) -> None:
        super().__init__(text)
        self.kind = kind


class FakeLedger:
    def __init__(self, ca: TestCA, users: dict[str, tuple[str, str]]) -> None:
        """``users``: name → (msp id, role)."""
        self.users = {name: (msp, role, X509Identity(msp, ca.issue(name, role=role).cert_pem))
                      for name, (msp, role) in users.items()}
        self.devices: dict[str, dict] = {}
        self.markets: dict[str, dict] = {"m1": {"id": "m1", "kind": "flexibility", "status": "open"}}
        self.bids: dict[str, dict] = {}
        self.enrolled: set[tuple[str, str]] = set()
        self.clearings: dict[str, dict] = {}
        self.balances: dict[str, int] = {}
        self.events_log: list[ChaincodeEvent] = []
        self.calls: list[tuple[str, str, tuple[str, ...]]] = []
        self.closed = False
        self.fail_with: Exception | None = None

    def add_user(self, ca: TestCA, name: str, msp: str, role: str) -> None:
        self.users[name] = (msp, role, X509Identity(msp, ca.issue(name, role=role).cert_pem))

    def identity(self, user: str) -> X509Identity:
        if user not in self.users:
            raise ConfigError(f"user: no identity {user!r}")
        return self.users[user][2]

    def _run(self, kind: type, user: str, function: str, args: tuple[str, ...]) -> bytes:
        self.calls.append((user, function, args))
        if self.fail_with is not None:
            raise self.fail_with
        msp, role, _ = self.users[user]
        try:
            if ROLES.get(function) and ROLES[function] != role:
                raise Refused(Kind.FORBIDDEN, f"caller.role: needs role {ROLES[function]}; the caller's certificate has {role}")
            result = getattr(self, "cc_" + function, None)
            if result is None:
                raise Refused(Kind.INVALID_ARGUMENT, f"function: unknown function {function}")
            return json.dumps(result(msp, *args)).encode()
        except Refused as exc:
            text = f"chaincode response {RESPONSE_STATUS[exc.kind]}, {exc}"
            raise kind(message="failed", code=grpc.StatusCode.ABORTED,
                       details=[ErrorDetail("peer0:7051", msp, text)]) from None

    def evaluate(self, user: str, function: str, *args: str) -> bytes:
        return self._run(EvaluateError, user, function, args)

    def submit(self, user: str, function: str, *args: str) -> bytes:
        return self._run(EndorseError, user, function, args)

    async def asubmit(self, user: str, function: str, *args: str) -> bytes:
        return self.submit(user, function, *args)

    async def aclose(self) -> None:
        pass

    def events(self, user: str, checkpoint: Checkpoint | None):
        events = list(self.events_log)
        if checkpoint is not None and checkpoint.block_number is not None:
            events = [e for e in events if e.block_number >= checkpoint.block_number]
            if checkpoint.transaction_id:
                ids = [e.transaction_id for e in events]
                if checkpoint.transaction_id in ids:
                    events = events[ids.index(checkpoint.transaction_id) + 1:]

        class Stream:
            closed = False

            def __iter__(self):
                return iter(events)

            def close(self):
                Stream.closed = True

        return Stream()

    def close(self) -> None:
        self.closed = True

    def emit(self, name: str, payload: dict) -> None:
        n = len(self.events_log)
        self.events_log.append(ChaincodeEvent(n + 1, f"tx{n + 1}", "flexledger", name, json.dumps(payload).encode()))

    # --- chaincode subset -------------------------------------------------------------------------------
    def cc_GetMarketplace(self, msp: str) -> Any:
        return {"dso": "dsoMSP", "aggregators": ["agg1MSP", "agg2MSP"]}

    def cc_RegisterDevice(self, msp: str, device_json: str) -> Any:
        device = json.loads(device_json)
        if device["id"] in self.devices:
            raise Refused(Kind.CONFLICT, f"device.id: device {device['id']} is already registered")
        if device["max_power_mw"] <= 0:
            raise Refused(Kind.INVALID_ARGUMENT, f"device.max_power_mw: must be > 0, got {device['max_power_mw']}")
        device.update(owner=msp, manager=msp, status="active")
        self.devices[device["id"]] = device
        return device

    def _device(self, device_id: str, field: str = "id") -> dict:
        if device_id not in self.devices:
            raise Refused(Kind.NOT_FOUND, f"{field}: device {device_id} is not registered")
        return self.devices[device_id]

    def cc_ReadDevice(self, msp: str, device_id: str) -> Any:
        return self._device(device_id)

    def cc_ListDevices(self, msp: str, query_json: str) -> Any:
        query = json.loads(query_json)
        size = query.pop("page_size", 100)
        bookmark = query.pop("bookmark", "")
        found = [d for _, d in sorted(self.devices.items())
                 if d["id"] > bookmark and all(d.get(k) == v for k, v in query.items())]
        return {"devices": found[:size], "bookmark": found[size - 1]["id"] if len(found) > size else ""}

    def cc_UpdateDevice(self, msp: str, device_id: str, patch_json: str) -> Any:
        device = self._device(device_id)
        if device["manager"] != msp:
            raise Refused(Kind.FORBIDDEN, f"id: device {device_id} is managed by {device['manager']}, not {msp}")
        device.update(json.loads(patch_json))
        return device

    def cc_RetireDevice(self, msp: str, device_id: str) -> Any:
        device = self._device(device_id)
        if device["manager"] != msp:
            raise Refused(Kind.FORBIDDEN, f"id: device {device_id} is managed by {device['manager']}, not {msp}")
        device["status"] = "retired"
        return device

    def cc_QueryByParticipant(self, msp: str, who: str) -> Any:
        return {"devices": [d for d in self.devices.values() if d["owner"] == who],
                "bids": [b for b in self.bids.values() if b["owner"] == who],
                "balance": {"available_cents": self.balances.get(who, 0), "escrow_cents": 0}}

    def cc_GetBalance(self, msp: str, who: str) -> Any:
        return {"participant": who, "available_cents": self.balances.get(who, 0), "escrow_cents": 0}

    def _market(self, market_id: str, field: str = "marketId") -> dict:
        if market_id not in self.markets:
            raise Refused(Kind.NOT_FOUND, f"{field}: market {market_id} does not exist")
        return self.markets[market_id]

    def cc_ListMarkets(self, msp: str, query_json: str) -> Any:
        query = json.loads(query_json or "{}")
        return [m for m in self.markets.values() if all(m.get(k) == v for k, v in query.items())]

    def cc_ReadMarket(self, msp: str, market_id: str) -> Any:
        return self._market(market_id)

    def cc_CreateMarket(self, msp: str, market_json: str) -> Any:
        market = json.loads(market_json)
        if market["id"] in self.markets:
            raise Refused(Kind.CONFLICT, f"market.id: market {market['id']} already exists")
        market["status"] = "open"
        self.markets[market["id"]] = market
        return market

    def cc_EnrolInMarket(self, msp: str, market_id: str) -> Any:
        self._market(market_id)
        if (market_id, msp) in self.enrolled:
            raise Refused(Kind.CONFLICT, f"marketId: {msp} is already enrolled in market {market_id}")
        self.enrolled.add((market_id, msp))
        return {"market_id": market_id, "participant": msp}

    def cc_PlaceBid(self, msp: str, bid_json: str) -> Any:
        bid = json.loads(bid_json)
        market = self._market(bid["market_id"], "bid.market_id")
        if (market["id"], msp) not in self.enrolled:
            raise Refused(Kind.FAILED_PRECONDITION, f"bid.market_id: {msp} is not enrolled in market {market['id']}")
        device = self._device(bid["device"], "bid.device")
        if device["manager"] != msp:
            raise Refused(Kind.FORBIDDEN, f"bid.device: device {device['id']} is managed by {device['manager']}, not {msp}")
        if bid["id"] in self.bids:
            raise Refused(Kind.CONFLICT, f"bid.id: bid {bid['id']} already exists")
        bid.update(owner=msp, status="active")
        self.bids[bid["id"]] = bid
        self.emit("BidPlaced", {"market_id": market["id"], "bid_id": bid["id"], "owner": msp})
        return bid

    def cc_CancelBid(self, msp: str, bid_id: str) -> Any:
        if bid_id not in self.bids:
            raise Refused(Kind.NOT_FOUND, f"bidId: bid {bid_id} does not exist")
        bid = self.bids[bid_id]
        if bid["owner"] != msp:
            raise Refused(Kind.FORBIDDEN, f"bidId: bid {bid_id} belongs to {bid['owner']}, not {msp}")
        bid["status"] = "cancelled"
        return bid

    def cc_ListBids(self, msp: str, market_id: str) -> Any:
        self._market(market_id)
        return [b for b in self.bids.values() if b["market_id"] == market_id]

    def cc_ClearMarket(self, msp: str, market_id: str) -> Any:
        from clearing.api import clear
        from clearing.canonical import hash_of

        self._market(market_id)
        result = clear(FLEX_DOC)
        self.clearings[market_id] = {"input": FLEX_DOC, "result": result, "result_hash": result["result_hash"],
                                     "input_hash": hash_of(FLEX_DOC), "oracle": result.get("oracle")}
        self.markets[market_id]["status"] = "cleared"
        self.emit("MarketCleared", {"market_id": market_id, "result_hash": result["result_hash"]})
        return {"market_id": market_id, "result_hash": result["result_hash"]}

    def cc_GetClearing(self, msp: str, market_id: str) -> Any:
        self._market(market_id)
        if market_id not in self.clearings:
            raise Refused(Kind.FAILED_PRECONDITION, f"marketId: market {market_id} has not been cleared")
        return self.clearings[market_id]

    def cc_SettleMarket(self, msp: str, market_id: str) -> Any:
        self.cc_GetClearing(msp, market_id)
        return {"market_id": market_id, "status": "settled"}

    def cc_Deposit(self, msp: str, who: str, cents: str) -> Any:
        self.balances[who] = self.balances.get(who, 0) + int(cents)
        return {"participant": who, "available_cents": self.balances[who]}

    def cc_Withdraw(self, msp: str, who: str, cents: str) -> Any:
        if self.balances.get(who, 0) < int(cents):
            raise Refused(Kind.FAILED_PRECONDITION, f"amountCents: {who} has {self.balances.get(who, 0)} cents available, {cents} requested")
        self.balances[who] -= int(cents)
        return {"participant": who, "available_cents": self.balances[who]}

    def cc_PublishNetwork(self, msp: str, body: str) -> Any:
        return {"version": 1}

    def cc_PublishBaseline(self, msp: str, body: str) -> Any:
        return {"day": json.loads(body)["day"]}

    def cc_PublishCapacityLimits(self, msp: str, body: str) -> Any:
        return {"market_id": self._market(json.loads(body)["market_id"], "market_id")["id"]}

    def cc_RequestFlexibility(self, msp: str, body: str) -> Any:
        return self.cc_CreateMarket(msp, json.dumps({**json.loads(body), "kind": "flexibility"}))

    def cc_ReadNetwork(self, msp: str, version: str) -> Any:
        if version and not version.isdigit():
            raise Refused(Kind.INVALID_ARGUMENT, f"version: must be a version number or empty for the latest, got {version!r}")
        return {"version": 1, "network": FLEX_DOC["network"]}

    def cc_GetHistory(self, msp: str, kind: str, ident: str) -> Any:
        if kind not in ("device", "market", "bid", "balance", "clearing"):
            raise Refused(Kind.INVALID_ARGUMENT, f"kind: unknown key kind {kind!r}")
        return [{"tx_id": "tx1", "value": {"id": ident}}]
