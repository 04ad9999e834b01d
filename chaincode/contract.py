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

import functools
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
    capacity_limits,
    clearing_tx,
    clock,
    funds,
    governance,
    markets,
    membership,
    mfrr,
    network_data,
    registry,
    sealed,
    spot,
)
from chaincode.context import Tx, first_reads
from chaincode.errors import ChaincodeError, answer_with_kind, note_refusal
from chaincode.identity import caller_of
from chaincode.oracle import Oracle
from chaincode.state import Ledger, key
from clearing import limits

LOG = logging.getLogger("chaincode.contract")

#: Read-only functions, the one place that says so: tagged EVALUATE in the metadata, and :meth:`_run`
#: gives them a ledger that refuses writes.
EVALUATE = (
    "GetMarketplace", "ReadDevice", "ListDevices", "ReadNetwork", "ReadBaseline", "ReadCapacityLimits",
    "GetBalance", "ReadMarket", "ListMarkets", "ListBids", "GetClearing", "GetHistory", "QueryByParticipant",
    "ListTrades", "TotalFunds", "ReadMembershipProposal",
    "ReadSpotSession", "ListSpotSessions", "ReadSpotBook", "WholesaleFlows", "ListMfrrBids", "ListMfrrActivations",
)

Handler = Callable[..., Awaitable[Any]]


def transaction_name(name: str) -> str:
    """The contract function a call names (``flexledger:readDevice`` → ``ReadDevice``: the dispatcher accepts
    the contract prefix and both spellings)."""
    name = str(name).rpartition(":")[2]
    return name[:1].upper() + name[1:]


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
        try:
            self._check_argument_list(*ctx.get_stub().get_function_and_parameters())
        except ChaincodeError as exc:
            note_refusal(exc)
            raise

    def _check_argument_list(self, name: str, args: list[str]) -> None:
        name = transaction_name(name)
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

    async def _run(self, ctx: TransactionContext, handler: Handler, *args: str) -> str:
        stub = ctx.get_stub()
        read_only = transaction_name(stub.get_function_and_parameters()[0]) in EVALUATE
        ledger = Ledger(stub, read_only=read_only)
        try:
            tx = Tx(ledger=ledger, caller=caller_of(stub), now_ms=clock.tx_millis(stub.get_tx_timestamp()),
                    tx_id=str(stub.get_txid() or ""), oracle=self._oracle, local_ms=self._local_clock())
            if not read_only:
                await ledger.prefetch([key("marketplace"), *first_reads(handler, tx, args)])
                tx.skew_ms = 1000 * await governance.clock_skew_seconds(tx)
                clock.require_not_ahead(tx)
            result = await handler(tx, *args)
            await ledger.flush()
        except ChaincodeError as exc:
            LOG.info("refused %s: %s", getattr(handler, "__name__", handler), exc)
            note_refusal(exc)
            raise
        except Exception as exc:  # a bug, not a refusal: log it fully, report it without internals
            LOG.exception("internal error in %s", getattr(handler, "__name__", handler))
            raise ChaincodeError("internal", f"{type(exc).__name__}: {exc}") from exc
        return to_json(result)

    # ----------------------------------------------------------------- liveness
    async def Ping(self, ctx: TransactionContext) -> str:
        """The cheapest transaction: reads and writes nothing, answers its own transaction id.

        Why it exists: submitted, it measures what the network itself costs per transaction (endorsement,
        ordering, validation, commit) with none of the contract's work, the floor the throughput
        benchmark compares bids with; evaluated, it tells that this peer's chaincode answers.
        """
        return to_json({"tx_id": str(ctx.get_stub().get_txid() or "")})

    # ----------------------------------------------------------------- governance
    async def InitMarketplace(self, ctx: TransactionContext, config_json: str) -> str:
        return await self._run(ctx, governance.init_marketplace, config_json)

    async def GetMarketplace(self, ctx: TransactionContext) -> str:
        return await self._run(ctx, governance.get_marketplace)

    async def ProposeMembershipChange(self, ctx: TransactionContext, proposal_json: str) -> str:
        return await self._run(ctx, membership.propose, proposal_json)

    async def ApproveMembershipChange(self, ctx: TransactionContext, proposal_id: str) -> str:
        return await self._run(ctx, membership.approve, proposal_id)

    async def ReadMembershipProposal(self, ctx: TransactionContext, proposal_id: str) -> str:
        return await self._run(ctx, membership.read, proposal_id)

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
        return await self._run(ctx, registry.read_device, device_id)

    async def ListDevices(self, ctx: TransactionContext, query_json: str) -> str:
        return await self._run(ctx, registry.list_devices, query_json)

    # ----------------------------------------------------------------- network data
    async def PublishNetwork(self, ctx: TransactionContext, network_json: str) -> str:
        return await self._run(ctx, network_data.publish_network, network_json)

    async def PublishBaseline(self, ctx: TransactionContext, baseline_json: str) -> str:
        return await self._run(ctx, network_data.publish_baseline, baseline_json)

    async def PublishCapacityLimits(self, ctx: TransactionContext, limits_json: str) -> str:
        return await self._run(ctx, capacity_limits.publish_capacity_limits, limits_json)

    async def ReadNetwork(self, ctx: TransactionContext, version: str) -> str:
        return await self._run(ctx, network_data.read_network_arg, version)

    async def ReadBaseline(self, ctx: TransactionContext, day: str) -> str:
        return await self._run(ctx, network_data.read_baseline, day)

    async def ReadCapacityLimits(self, ctx: TransactionContext, market_id: str) -> str:
        return await self._run(ctx, capacity_limits.read_capacity_limits, market_id)

    # ----------------------------------------------------------------- funds
    async def Deposit(self, ctx: TransactionContext, participant_msp: str, amount_cents: str) -> str:
        return await self._run(ctx, funds.deposit, participant_msp, amount_cents)

    async def Withdraw(self, ctx: TransactionContext, participant_msp: str, amount_cents: str) -> str:
        return await self._run(ctx, funds.withdraw, participant_msp, amount_cents)

    async def GetBalance(self, ctx: TransactionContext, participant_msp: str) -> str:
        return await self._run(ctx, funds.get_balance, participant_msp)

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
        return await self._run(ctx, markets.read_market, market_id)

    async def ListMarkets(self, ctx: TransactionContext, query_json: str) -> str:
        return await self._run(ctx, markets.list_markets, query_json)

    # ----------------------------------------------------------------- bids
    async def PlaceBid(self, ctx: TransactionContext, bid_json: str) -> str:
        return await self._run(ctx, bids.place_bid, bid_json)

    async def CommitBid(self, ctx: TransactionContext, bid_json: str) -> str:
        return await self._run(ctx, sealed.commit_bid, bid_json)

    async def RevealBid(self, ctx: TransactionContext, bid_id: str, bid_json: str, salt: str) -> str:
        return await self._run(ctx, sealed.reveal_bid, bid_id, bid_json, salt)

    async def CancelBid(self, ctx: TransactionContext, bid_id: str) -> str:
        return await self._run(ctx, bids.cancel_bid, bid_id)

    async def ListBids(self, ctx: TransactionContext, market_id: str) -> str:
        return await self._run(ctx, bids.list_bids, market_id)

    # ----------------------------------------------------------------- clearing and settlement
    async def ClearMarket(self, ctx: TransactionContext, market_id: str) -> str:
        return await self._run(ctx, clearing_tx.clear_market, market_id)

    async def SettleMarket(self, ctx: TransactionContext, market_id: str) -> str:
        return await self._run(ctx, clearing_tx.settle_market, market_id)

    async def GetClearing(self, ctx: TransactionContext, market_id: str) -> str:
        return await self._run(ctx, clearing_tx.get_clearing, market_id)

    # ----------------------------------------------------------------- audit
    async def GetHistory(self, ctx: TransactionContext, kind: str, ident: str) -> str:
        return await self._run(ctx, audit.get_history, kind, ident)

    async def QueryByParticipant(self, ctx: TransactionContext, msp: str) -> str:
        return await self._run(ctx, audit.query_by_participant, msp)

    async def ListTrades(self, ctx: TransactionContext, market_id: str) -> str:
        return await self._run(ctx, audit.list_trades, market_id)

    async def TotalFunds(self, ctx: TransactionContext) -> str:
        return await self._run(ctx, audit.total_funds)

    # ----------------------------------------------------------------- wholesale spot (chaincode.spot)
    async def PublishExchangeKey(self, ctx: TransactionContext, exchange_key_json: str) -> str:
        return await self._run(ctx, spot.publish_exchange_key, exchange_key_json)

    async def CreateSpotSession(self, ctx: TransactionContext, session_json: str) -> str:
        return await self._run(ctx, spot.create_spot_session, session_json)

    async def SubmitSpotOffer(self, ctx: TransactionContext, offer_json: str) -> str:
        return await self._run(ctx, spot.submit_spot_offer, offer_json)

    async def CheckSpotSession(self, ctx: TransactionContext, session_id: str) -> str:
        return await self._run(ctx, spot.check_spot_session, session_id)

    async def RecordSpotResults(self, ctx: TransactionContext, session_id: str, results_json: str) -> str:
        return await self._run(ctx, spot.record_spot_results, session_id, results_json)

    async def SettleSpotSession(self, ctx: TransactionContext, session_id: str) -> str:
        return await self._run(ctx, spot.settle_spot_session, session_id)

    async def ReadSpotSession(self, ctx: TransactionContext, session_id: str) -> str:
        return await self._run(ctx, spot.read_spot_session, session_id)

    async def ListSpotSessions(self, ctx: TransactionContext, day: str) -> str:
        return await self._run(ctx, spot.list_spot_sessions, day)

    async def ReadSpotBook(self, ctx: TransactionContext, session_id: str) -> str:
        return await self._run(ctx, spot.read_spot_book, session_id)

    async def WholesaleFlows(self, ctx: TransactionContext) -> str:
        return await self._run(ctx, spot.wholesale_flows)

    # ----------------------------------------------------------------- mFRR (chaincode.mfrr)
    async def SubmitMfrrBid(self, ctx: TransactionContext, bid_json: str) -> str:
        return await self._run(ctx, mfrr.submit_mfrr_bid, bid_json)

    async def SetMfrrConsent(self, ctx: TransactionContext, consent_json: str) -> str:
        return await self._run(ctx, mfrr.set_mfrr_consent, consent_json)

    async def ActivateMfrr(self, ctx: TransactionContext, activation_json: str) -> str:
        return await self._run(ctx, mfrr.activate_mfrr, activation_json)

    async def RecordMfrrDelivery(self, ctx: TransactionContext, activation_id: str, delivered_mw: str) -> str:
        return await self._run(ctx, mfrr.record_mfrr_delivery, activation_id, delivered_mw)

    async def SettleMfrrActivation(self, ctx: TransactionContext, activation_id: str) -> str:
        return await self._run(ctx, mfrr.settle_mfrr_activation, activation_id)

    async def ListMfrrBids(self, ctx: TransactionContext, day: str) -> str:
        return await self._run(ctx, mfrr.list_mfrr_bids, day)

    async def ListMfrrActivations(self, ctx: TransactionContext, day: str) -> str:
        return await self._run(ctx, mfrr.list_mfrr_activations, day)


def expected_arguments(method: Callable[..., Any]) -> list[str]:
    """The string arguments of a contract method, named as docs/chaincode-api.md names them (``bidJSON``)."""
    return list(_arguments_of(getattr(method, "__func__", method)))


@functools.cache
def _arguments_of(function: Callable[..., Any]) -> tuple[str, ...]:
    """Signature inspection is slow enough to show in every transaction's profile: once per function."""
    return tuple(_camel(p) for p in inspect.signature(function).parameters if p not in ("self", "ctx"))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join("JSON" if part == "json" else part.capitalize() for part in rest)


class KindedChaincode:
    """The library's ``ContractChaincode``, whose refusals answer with their kind's status (chaincode.errors)."""

    def __init__(self, contract: FlexledgerContract) -> None:
        from fabric_chaincode_python.fabric_contract_api.contractapi import ContractChaincode

        self._inner = ContractChaincode.new_chaincode(contract)

    async def init(self, stub: Any) -> Any:
        return await answer_with_kind(self._inner.init, stub)

    async def invoke(self, stub: Any) -> Any:
        return await answer_with_kind(self._inner.invoke, stub)

    def __getattr__(self, name: str) -> Any:  # metadata, contracts: the library's
        return getattr(self._inner, name)


def build_chaincode(oracle: Oracle | None = None, local_clock: Callable[[], int] = clock.wall_clock_ms) -> Any:
    """The chaincode the server (and the unit tests) run."""
    return KindedChaincode(FlexledgerContract(oracle, local_clock))
