"""Owner-endorsed bids: a bid that only the bidder's own peer executes, checked by all at gate closure.

Why: every market organisation executing every bid made three Python executions per bid, the largest part
of the chaincode's cost (docs/chaincode.md, "Endorsement"). A market created with
``"bid_endorsement": "owner"`` takes bids into *bid slots*: one key per (aggregator, market, device),
``bidslot~<msp>~<market>~<device>``, that carries its own endorsement policy ``AND('<msp>.peer')``
(chaincode/key_policy.py). A bid writes nothing but its slot, so Fabric asks only that policy: the peer's
gateway plans the endorsement from it and the bid runs once, on the bidder's peer.

What keeps this a market (the threat model is in docs/chaincode.md):

* Slots are created only by transactions every market organisation endorses (the aggregator's
  ``EnrolInMarket`` opens one per device it manages then; a device without one gets it with its first bid,
  endorsed by all). A key that does not exist yet follows the definition's ``AND(all)`` policy, so no
  organisation can make a slot alone, and the owner in the slot's *key* is the organisation whose peer
  must endorse every later write of it: two colluding organisations cannot write a third one's bids.
* The bidder's peer checked the bid, but that is advice: ``CloseGate`` (or ``ClearMarket`` if nobody
  closed the gate), endorsed by all, reads every slot of the market and runs every rule again — device
  managed by the slot's organisation, active, on the feeder, enrolment, the market rules, the oracle's
  validator, one bid per device and period, unique ids, a claimed time inside the gate — and only then
  writes the accepted bids as the ``bid`` records clearing reads. A refused bid is listed with its reason.
* Time: the book is what the slots hold when ``CloseGate`` commits (its reads are MVCC- and phantom-
  checked, so a bid committed meanwhile makes it retry). The slots are deleted with it: a later write of
  one is a new key, which needs every organisation. A bidder's claimed time is its own word, bounded to
  the gate window; markets whose clearing orders bids by time (``social_equity``) and sealed markets
  keep every organisation endorsing every bid.
* Money is escrowed at gate closure from the owner's balance as in every capacity market
  (chaincode/market_kinds.py), so a bid that its owner's peer let through without funds is ``unfunded``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chaincode import key_policy, registry
from chaincode.context import Tx
from chaincode.errors import ChaincodeError
from chaincode.state import key

#: the market field and its values: every market organisation endorses each bid, or the bidder's alone
FIELD = "bid_endorsement"
ALL, OWNER = "all", "owner"
MODES = (ALL, OWNER)


def owner_endorsed(market: dict[str, Any]) -> bool:
    return market.get(FIELD) == OWNER


def slot_key(msp: str, market_id: str, device_id: str) -> str:
    return key("bidslot", msp, market_id, device_id)


def _new_slot(msp: str, market_id: str, device_id: str) -> dict[str, Any]:
    return {"participant": msp, "market_id": market_id, "device": device_id, "bids": {}}


async def open_slots(tx: Tx, market: dict[str, Any]) -> int:
    """At enrolment (endorsed by all): a slot for each active device the caller manages on the market's feeder."""
    msp = tx.caller.msp_id
    opened = 0
    async for _, record in tx.ledger.scan("device"):
        if record["manager"] != msp or record["status"] != "active":
            continue
        if market["feeder"] is not None and record["feeder"] != market["feeder"]:
            continue
        k = slot_key(msp, market["id"], record["id"])
        tx.ledger.put(k, _new_slot(msp, market["id"], record["id"]))
        tx.ledger.restrict_writers(k, key_policy.peers_of(msp))
        opened += 1
    return opened


async def post(tx: Tx, market: dict[str, Any], device: registry.Device, bid_id: str, doc: dict[str, Any],
               periods: list[int] | None, refuse_overlap: Callable[..., None]) -> dict[str, Any]:
    """Write the checked bid into its slot: the only write of an owner-endorsed bid (a first bid of a device
    without a slot creates it, and then every market organisation endorses that one bid)."""
    msp = tx.caller.msp_id
    k = slot_key(msp, market["id"], device.id)
    slot = await tx.ledger.get(k)
    created = slot is None
    if created or posted_bids(slot) is None:  # a slot its owner's peer left unreadable starts again
        slot = _new_slot(msp, market["id"], device.id)
    if bid_id in slot["bids"]:
        raise ChaincodeError("bid.id", f"bid {bid_id} already exists")
    refuse_overlap(device.id, market["id"], periods, {b: s["periods"] for b, s in slot["bids"].items()})
    posted = {"doc": doc, "periods": periods, "timestamp_ms": tx.now_ms, "tx_id": tx.tx_id}
    slot["bids"][bid_id] = posted
    tx.ledger.put(k, slot)
    if created:
        tx.ledger.restrict_writers(k, key_policy.peers_of(msp))
    return posted


async def slots_of(tx: Tx, market_id: str) -> list[tuple[str, dict[str, Any]]]:
    """Every slot of the market, enrolled organisation by organisation, in key order."""
    found = []
    for enrolment in await tx.ledger.values("enrolment", market_id):
        found.extend([item async for item in tx.ledger.scan("bidslot", enrolment["participant"], market_id)])
    return found


def posted_bids(slot: Any) -> dict[str, Any] | None:
    """A slot's bids (bid id → posting), or None if the slot is not shaped as this module writes it: only its
    owner's peer endorsed what it holds."""
    bids = slot.get("bids") if isinstance(slot, dict) else None
    return bids if isinstance(bids, dict) and all(isinstance(k, str) for k in bids) else None


async def find(tx: Tx, bid_id: str, msp: str | None = None) -> tuple[str, dict[str, Any]] | None:
    """The slot holding ``bid_id`` (of ``msp``'s slots only, when given: a write then reads no other's)."""
    async for k, slot in tx.ledger.scan("bidslot", *([msp] if msp else [])):
        if bid_id in (posted_bids(slot) or {}):
            return k, slot
    return None


def in_gate(market: dict[str, Any], timestamp_ms: int) -> bool:
    return market["gate_opens_ms"] <= timestamp_ms < market["gate_closes_ms"]


def refusal(bid_id: str, participant: str, exc: ChaincodeError) -> dict[str, str]:
    return {"bid_id": bid_id, "participant": participant, "reason": str(exc)}


def claimed_time(market: dict[str, Any], posted: dict[str, Any]) -> int:
    stamp = posted.get("timestamp_ms")
    if not isinstance(stamp, int) or not in_gate(market, stamp):
        raise ChaincodeError("bid.timestamp", f"claims {stamp!r}, outside the gate {market['gate_opens']} .. "
                             f"{market['gate_closes']}")
    return stamp
