"""The two kinds of market, each behind one object: what its clearing takes, yields and settles.

Why objects: clearing and settlement used to branch on ``is_capacity`` in three places; what a capacity
market does (escrow bids at gate closure, clear awards, owners pay the DSO) and what a flexibility
market does (clear the DSO's request on the network, owners are paid from the DSO's budget) now each
live in one class. :func:`kind_of` picks the object for a market record.
"""

from __future__ import annotations

from typing import Any

from chaincode import clock, funds, network_data
from chaincode.context import Tx
from chaincode.errors import ChaincodeError, FailedPrecondition, NotFound
from chaincode.state import key
from clearing.api import (
    CAPACITY_INPUT_BID_FIELDS,
    CAPACITY_SCHEMA,
    FLEX_INPUT_OFFER_FIELDS,
    FLEX_SCHEMA,
    ClearingResult,
)

Record = dict[str, Any]


class CapacityKind:
    """Capacity markets (day-ahead, intraday): bids are awarded capacity; owners pay the buyer (the DSO)."""

    bid_kind = "capacity"

    async def fund(self, tx: Tx, market: Record, placed: list[Record]) -> list[Record]:
        """Escrow each owner's bids at gate closure, in the order they were placed; drop those not covered.

        Why here and not at bid time: a bid that wrote its owner's balance would make every concurrent bid
        of that owner collide (MVCC) on that one key. So a bid only checks that its own maximum value is
        available; the money is locked here, in the one clearing transaction, where every bid of the
        owner is known. Rule: an owner's bids are funded in (timestamp, id) order while its available
        money covers their maximum values; a bid it cannot cover is marked ``unfunded`` and takes no part.
        """
        now = clock.iso(tx.now_ms)
        funded: list[Record] = []
        by_owner: dict[str, list[Record]] = {}
        for bid in sorted(placed, key=lambda b: (b["timestamp_ms"], b["id"])):
            by_owner.setdefault(bid["owner"], []).append(bid)
        for owner in sorted(by_owner):
            available = (await funds.load(tx, owner)).available_cents
            locked = 0
            for bid in by_owner[owner]:
                if locked + bid["escrow_cents"] <= available:
                    locked += bid["escrow_cents"]
                    funded.append(bid)
                    continue
                bid.update(status="unfunded", unfunded_at=now)
                tx.ledger.put(key("bid", market["id"], bid["id"]), bid)
            await funds.lock(tx, market["id"], owner, locked, "bid.price_eur_per_mwh")
        return sorted(funded, key=lambda b: b["id"])

    async def document(self, tx: Tx, market: Record, active: list[Record]) -> tuple[Record, str | None]:
        """The oracle input and mechanism (None: the capacity oracle takes its rule from the document)."""
        limits = await tx.ledger.get(key("limits", market["id"]))
        if limits is None:
            raise ChaincodeError("marketId", f"market {market['id']} has no published capacity limits")
        offers = [{name: b[name] for name in CAPACITY_INPUT_BID_FIELDS} for b in active]
        return {
            "schema": CAPACITY_SCHEMA,
            "market": {"id": market["id"], "stage": market["kind"].removeprefix("capacity_"), "rule": market["rule"],
                       "priority": market["priority"], "pricing": market["pricing"], "periods": market["periods"],
                       "period_minutes": market["period_minutes"], "rules": market["rules"]},
            "limits": limits["limits"],
            "bids": sorted(offers, key=lambda o: o["id"]),
        }, None

    def trades(self, market: Record, result: ClearingResult, by_id: dict[str, Record],
               payments: dict[str, int]) -> list[Record]:
        awards = result.awards_mw
        trades: list[Record] = []
        for bid_id in sorted(awards):
            mw = awards[bid_id]
            if bid_id in by_id and mw:
                bid = by_id[bid_id]
                trades.append({"type": "award", "bid_id": bid_id, "owner": bid["owner"], "device": bid["device"],
                               "periods": bid["periods"], "awarded_mw": mw,
                               "clearing_price_eur_per_mwh": result.clearing_price_eur_per_mwh})
        for owner, cents in payments.items():
            if cents:
                trades.append({"type": "payment", "from": owner, "to": market["buyer"], "amount_cents": cents})
        return trades

    async def settle(self, tx: Tx, market: Record, payments: dict[str, int]) -> list[Record]:
        """Each owner pays the buyer from its bid escrow in this market."""
        transfers = []
        for owner in sorted(payments):
            held = await funds.market_escrow(tx, market["id"], owner)
            if payments[owner] > held:
                raise FailedPrecondition(f"payments_cents.{owner}", f"{payments[owner]} cents exceed the {held} cents "
                                         f"{owner} holds in escrow for market {market['id']}")
            if payments[owner]:
                await funds.pay(tx, market["id"], owner, market["buyer"], payments[owner])
                transfers.append({"from": owner, "to": market["buyer"], "amount_cents": payments[owner]})
        return transfers


class FlexibilityKind:
    """Flexibility markets: offers are dispatched on the network; the buyer pays owners from its budget."""

    bid_kind = "flexibility"

    async def fund(self, tx: Tx, market: Record, placed: list[Record]) -> list[Record]:
        """Offers need no escrow (the buyer's budget was escrowed when it requested flexibility)."""
        return placed

    async def document(self, tx: Tx, market: Record, active: list[Record]) -> tuple[Record, str | None]:
        """The oracle input and mechanism (the market's rule: vcg or dlmp)."""
        baseline = await tx.ledger.get(key("baseline", market["day"]))
        if baseline is None:
            raise NotFound("marketId", f"no baseline has been published for {market['day']}")
        if baseline["periods"] != market["periods"] or baseline["period_minutes"] != market["period_minutes"]:
            raise FailedPrecondition("marketId", f"the baseline of {market['day']} no longer matches the market's periods")
        net = await network_data.read_network(tx, market["network_version"])
        offers = [{name: b[name] for name in FLEX_INPUT_OFFER_FIELDS} for b in active]
        return {
            "schema": FLEX_SCHEMA,
            "periods": market["periods"],
            "period_minutes": market["period_minutes"],
            "network": net["network"],
            "baseline": baseline["baseline"],
            "substation": baseline["substation"],
            "shedding_cost": baseline["shedding_cost"],
            "offers": sorted(offers, key=lambda o: o["id"]),
        }, market["rule"]

    def trades(self, market: Record, result: ClearingResult, by_id: dict[str, Record],
               payments: dict[str, int]) -> list[Record]:
        dispatch = result.dispatch_mw
        trades: list[Record] = []
        for bid_id in sorted(dispatch):
            if bid_id in by_id:
                bid = by_id[bid_id]
                trades.append({"type": "dispatch", "bid_id": bid_id, "owner": bid["owner"], "device": bid["device"],
                               "dispatch_mw": dispatch[bid_id]})
        for owner, cents in payments.items():
            if cents:
                trades.append({"type": "payment", "from": market["buyer"], "to": owner, "amount_cents": cents})
        return trades

    async def settle(self, tx: Tx, market: Record, payments: dict[str, int]) -> list[Record]:
        """The buyer pays each owner from its escrowed budget; refused if the payments exceed it."""
        total = sum(payments.values())
        held = await funds.market_escrow(tx, market["id"], market["buyer"])
        if total > held:
            raise FailedPrecondition("marketId", f"payments of {total} cents exceed the escrowed budget of {held} cents "
                                     f"for market {market['id']}")
        transfers = []
        for owner in sorted(payments):
            if payments[owner]:
                await funds.pay(tx, market["id"], market["buyer"], owner, payments[owner])
                transfers.append({"from": market["buyer"], "to": owner, "amount_cents": payments[owner]})
        return transfers


MarketKind = CapacityKind | FlexibilityKind
CAPACITY = CapacityKind()
FLEXIBILITY = FlexibilityKind()


def kind_of(market: Record) -> MarketKind:
    """The object of a market record's kind (``capacity_day_ahead``/``capacity_intraday``, ``flexibility``)."""
    return FLEXIBILITY if market["kind"] == "flexibility" else CAPACITY
