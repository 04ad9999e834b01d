"""The Fabric contract: one CamelCase method per function of docs/chaincode-api.md.

Each method is a thin adapter: it builds the transaction context (buffered ledger, caller from the
certificate, tx timestamp, oracle), runs the module function that owns the rule, flushes the writes
only if that function succeeded, and returns canonical JSON. ``fabric_contract_api`` dispatches on the
Python method name (hence CamelCase), awaits ``async`` methods and turns a raised exception into the
chaincode error message, which therefore starts with the refused field.

The dispatcher passes a function only as many arguments as it declares and silently drops the rest;
:meth:`FlexledgerContract._check_arguments` runs before every function and refuses a call with too many
or too few arguments, or an argument longer than any document the contract reads, naming the function
and what it expects.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fabric_chaincode_python.fabric_contract_api.contractapi import Contract, TransactionContext

from chaincode import (
    CONTRACT_NAME,
    audit,
    bids,
    clearing_tx,
    clock,
    funds,
    governance,
    markets,
    membership,
    network_data,
    registry,
)
from chaincode.context import Tx
from chaincode.errors import ChaincodeError
from chaincode.identity import caller_of
from chaincode.oracle import Oracle
from chaincode.state import Ledger
from clearing import limits

LOG = logging.getLogger("chaincode.contract")

#: Read-only functions: tagged EVALUATE in the metadata and given a ledger that refuses writes.
EVALUATE = (
    "GetMarketplace", "ReadDevice", "ListDevices", "ReadNetwork", "ReadBaseline", "ReadCapacityLimits",
    "GetBalance", "ReadMarket", "ListMarkets", "ListBids", "GetClearing", "GetHistory", "QueryByParticipant",
    "ListTrades", "TotalFunds", "ReadMembershipProposal",
)

Handler = Callable[..., Awaitable[Any]]


def to_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class FlexledgerContract(Contract):
    """flexledger's marketplace contract (see docs/chaincode.md for roles, keys, money and events)."""

    Name = CONTRACT_NAME

    def __init__(self, oracle: Oracle | None = None, local_clock: Callable[[], int] = clock.wall_clock_ms) -> None:
        super().__init__()
        self._oracle = oracle or Oracle()
        self._local_clock = local_clock

    def get_evaluate_transactions(self) -> list[str]:
        return list(EVALUATE)

    def get_before_transaction(self) -> Callable[[TransactionContext], None]:
        return self._check_arguments

    def _check_arguments(self, ctx: TransactionContext) -> None:
        """Refuse a call whose arguments do not match the function's (count, and length before anything)."""
        name, args = ctx.get_stub().get_function_and_parameters()
        name = str(name).rpartition(":")[2]
        name = name[:1].upper() + name[1:]  # the dispatcher accepts both spellings
        method = getattr(self, name, None)
        if not name[:1].isalpha() or not inspect.iscoroutinefunction(method):
            return  # not a transaction function: the dispatcher reports it as unknown
        expected = expected_arguments(method)
        if len(args) != len(expected):
            wanted = f"{len(expected)} argument{'' if len(expected) == 1 else 's'}"
            listed = f" ({', '.join(expected)})" if expected else ""
            raise ChaincodeError("args", f"{method.__name__} takes {wanted}{listed}, got {len(args)}")
        for arg_name, arg in zip(expected, args, strict=True):
            if len(arg) > limits.JSON_MAX_BYTES:
                raise ChaincodeError(arg_name, f"must be at most {limits.JSON_MAX_BYTES} characters, got {len(arg)}")

    async def _run(self, ctx: TransactionContext, handler: Handler, *args: str, read_only: bool = False) -> str:
        stub = ctx.get_stub()
        ledger = Ledger(stub, read_only=read_only)
        try:
            tx = Tx(ledger=ledger, caller=caller_of(stub), now_ms=clock.tx_millis(stub.get_tx_timestamp()),
                    tx_id=str(stub.get_txid() or ""), oracle=self._oracle, local_ms=self._local_clock())
            if not read_only:
                tx.skew_ms = 1000 * await governance.clock_skew_seconds(tx)
                clock.require_not_ahead(tx)
            result = await handler(tx, *args)
            await ledger.flush()
        except ChaincodeError as exc:
            LOG.info("refused %s: %s", getattr(handler, "__name__", handler), exc)
            raise
        except Exception as exc:  # a bug, not a refusal: log it fully, report it without internals
            LOG.exception("internal error in %s", getattr(handler, "__name__", handler))
            raise ChaincodeError("internal", f"{type(exc).__name__}: {exc}") from exc
        return to_json(result)

    # ----------------------------------------------------------------- governance
    async def InitMarketplace(self, ctx: TransactionContext, config_json: str) -> str:
        return await self._run(ctx, governance.init_marketplace, config_json)

    async def GetMarketplace(self, ctx: TransactionContext) -> str:
        return await self._run(ctx, governance.get_marketplace, read_only=True)

    async def ProposeMembershipChange(self, ctx: TransactionContext, proposal_json: str) -> str:
        return await self._run(ctx, membership.propose, proposal_json)

    async def ApproveMembershipChange(self, ctx: TransactionContext, proposal_id: str) -> str:
        return await self._run(ctx, membership.approve, proposal_id)

    async def ReadMembershipProposal(self, ctx: TransactionContext, proposal_id: str) -> str:
        return await self._run(ctx, membership.read, proposal_id, read_only=True)

    # ----------------------------------------------------------------- device registry
    async def RegisterDevice(self, ctx: TransactionContext, device_json: str) -> str:
        return await self._run(ctx, registry.register_device, device_json)

    async def UpdateDevice(self, ctx: TransactionContext, device_id: str, patch_json: str) -> str:
        return await self._run(ctx, registry.update_device, device_id, patch_json)

    async def RetireDevice(self, ctx: TransactionContext, device_id: str) -> str:
        return await self._run(ctx, registry.retire_device, device_id)

    async def OfferManagement(self, ctx: TransactionContext, device_id: str, to_msp: str) -> str:
        return await self._run(ctx, registry.offer_management, device_id, to_msp)

    async def AcceptManagement(self, ctx: TransactionContext, device_id: str) -> str:
        return await self._run(ctx, registry.accept_management, device_id)

    async def ReadDevice(self, ctx: TransactionContext, device_id: str) -> str:
        return await self._run(ctx, registry.read_device, device_id, read_only=True)

    async def ListDevices(self, ctx: TransactionContext, query_json: str) -> str:
        return await self._run(ctx, registry.list_devices, query_json, read_only=True)

    # ----------------------------------------------------------------- network data
    async def PublishNetwork(self, ctx: TransactionContext, network_json: str) -> str:
        return await self._run(ctx, network_data.publish_network, network_json)

    async def PublishBaseline(self, ctx: TransactionContext, baseline_json: str) -> str:
        return await self._run(ctx, network_data.publish_baseline, baseline_json)

    async def PublishCapacityLimits(self, ctx: TransactionContext, limits_json: str) -> str:
        return await self._run(ctx, network_data.publish_capacity_limits, limits_json)

    async def ReadNetwork(self, ctx: TransactionContext, version: str) -> str:
        return await self._run(ctx, network_data.read_network_arg, version, read_only=True)

    async def ReadBaseline(self, ctx: TransactionContext, day: str) -> str:
        return await self._run(ctx, network_data.read_baseline, day, read_only=True)

    async def ReadCapacityLimits(self, ctx: TransactionContext, market_id: str) -> str:
        return await self._run(ctx, network_data.read_capacity_limits, market_id, read_only=True)

    # ----------------------------------------------------------------- funds
    async def Deposit(self, ctx: TransactionContext, participant_msp: str, amount_cents: str) -> str:
        return await self._run(ctx, funds.deposit, participant_msp, amount_cents)

    async def Withdraw(self, ctx: TransactionContext, participant_msp: str, amount_cents: str) -> str:
        return await self._run(ctx, funds.withdraw, participant_msp, amount_cents)

    async def GetBalance(self, ctx: TransactionContext, participant_msp: str) -> str:
        return await self._run(ctx, funds.get_balance, participant_msp, read_only=True)

    # ----------------------------------------------------------------- markets
    async def CreateMarket(self, ctx: TransactionContext, market_json: str) -> str:
        return await self._run(ctx, markets.create_market, market_json)

    async def UpdateMarket(self, ctx: TransactionContext, market_id: str, patch_json: str) -> str:
        return await self._run(ctx, markets.update_market, market_id, patch_json)

    async def EnrolInMarket(self, ctx: TransactionContext, market_id: str) -> str:
        return await self._run(ctx, markets.enrol, market_id)

    async def RequestFlexibility(self, ctx: TransactionContext, request_json: str) -> str:
        return await self._run(ctx, markets.request_flexibility, request_json)

    async def CloseGate(self, ctx: TransactionContext, market_id: str) -> str:
        return await self._run(ctx, markets.close_gate, market_id)

    async def ReadMarket(self, ctx: TransactionContext, market_id: str) -> str:
        return await self._run(ctx, markets.read_market, market_id, read_only=True)

    async def ListMarkets(self, ctx: TransactionContext, query_json: str) -> str:
        return await self._run(ctx, markets.list_markets, query_json, read_only=True)

    # ----------------------------------------------------------------- bids
    async def PlaceBid(self, ctx: TransactionContext, bid_json: str) -> str:
        return await self._run(ctx, bids.place_bid, bid_json)

    async def CancelBid(self, ctx: TransactionContext, bid_id: str) -> str:
        return await self._run(ctx, bids.cancel_bid, bid_id)

    async def ListBids(self, ctx: TransactionContext, market_id: str) -> str:
        return await self._run(ctx, bids.list_bids, market_id, read_only=True)

    # ----------------------------------------------------------------- clearing and settlement
    async def ClearMarket(self, ctx: TransactionContext, market_id: str) -> str:
        return await self._run(ctx, clearing_tx.clear_market, market_id)

    async def SettleMarket(self, ctx: TransactionContext, market_id: str) -> str:
        return await self._run(ctx, clearing_tx.settle_market, market_id)

    async def GetClearing(self, ctx: TransactionContext, market_id: str) -> str:
        return await self._run(ctx, clearing_tx.get_clearing, market_id, read_only=True)

    # ----------------------------------------------------------------- audit
    async def GetHistory(self, ctx: TransactionContext, kind: str, ident: str) -> str:
        return await self._run(ctx, audit.get_history, kind, ident, read_only=True)

    async def QueryByParticipant(self, ctx: TransactionContext, msp: str) -> str:
        return await self._run(ctx, audit.query_by_participant, msp, read_only=True)

    async def ListTrades(self, ctx: TransactionContext, market_id: str) -> str:
        return await self._run(ctx, audit.list_trades, market_id, read_only=True)

    async def TotalFunds(self, ctx: TransactionContext) -> str:
        return await self._run(ctx, audit.total_funds, read_only=True)


def expected_arguments(method: Callable[..., Any]) -> list[str]:
    """The string arguments of a contract method, named as docs/chaincode-api.md names them (``bidJSON``)."""
    names = [p for p in inspect.signature(method).parameters if p != "ctx"]
    return [_camel(p) for p in names]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join("JSON" if part == "json" else part.capitalize() for part in rest)


def build_chaincode(oracle: Oracle | None = None, local_clock: Callable[[], int] = clock.wall_clock_ms) -> Any:
    """The ``ContractChaincode`` the server (and the unit tests) run."""
    from fabric_chaincode_python.fabric_contract_api.contractapi import ContractChaincode

    return ContractChaincode.new_chaincode(FlexledgerContract(oracle, local_clock))
