"""Sealed bids by commit and reveal (docs/chaincode.md "Sealed bids").

In a market the DSO created with ``sealed: true`` a bid is placed in two transactions:

* ``CommitBid`` while the gate is open carries only ``{id, market_id, device, commitment}``, the salted
  hash of :mod:`clearing.sealing`. Every check that needs no price or quantity runs here (gate, enrolment,
  device manager, feeder, one bid per device), and the transaction timestamp becomes the bid's timestamp,
  so first-come-first-served order is fixed at commit time.
* ``RevealBid`` after the gate closes and before the reveal window ends carries the exact bid JSON and the
  salt. It is refused, changing nothing, unless the hash matches and the bid passes every check a
  ``PlaceBid`` would have; then the bid becomes ``active`` with the content it committed to.

Why commit-reveal and not Fabric private data: bids are endorsed by every market organisation, and an
endorsing peer executes the chaincode with the transient data, so the DSO's peer would read every price.
Here nothing but the hash leaves the aggregator's own gateway before the gate closes.

Rule for a bid never revealed: ``ClearMarket`` waits until the reveal window has ended (or every sealed
bid is revealed), then marks each still-sealed bid ``unrevealed``; it takes no part in the clearing and,
because capacity escrow is taken only from revealed bids at clearing, none of its owner's money is held.
"""

from __future__ import annotations

from typing import Any

from chaincode import bids, clock, governance, markets, registry, validate
from chaincode.context import Tx, reads_first
from chaincode.errors import ChaincodeError, Conflict, FailedPrecondition, Forbidden
from chaincode.state import key
from clearing import sealing

_COMMIT_FIELDS = ("id", "market_id", "device", "commitment")


@reads_first(bids.placement_keys)
async def commit_bid(tx: Tx, commit_json: str) -> dict[str, Any]:
    """Record a sealed bid: public are only its owner, device, time and commitment."""
    await governance.require(tx, "aggregator")
    doc = validate.obj(validate.parse_json(commit_json, "bid"), "bid", _COMMIT_FIELDS, _COMMIT_FIELDS)
    market, device = await bids.market_and_device(tx, doc)
    if not market.get("sealed"):
        raise FailedPrecondition("bid.market_id", f"market {market['id']} takes open bids: use PlaceBid")
    if not sealing.is_commitment(doc["commitment"]):
        raise ChaincodeError("bid.commitment", "must be a sha256 digest as 64 lowercase hex digits")
    bid_id = doc["id"]
    await bids.claim_device(tx, market, device, bid_id, None)
    bid = {**bids.record(tx, market, device, bid_id, "sealed"), "commitment": doc["commitment"]}
    tx.ledger.put(key("bid", market["id"], bid_id), bid)
    tx.ledger.put(key("bidref", bid_id), {"market_id": market["id"]})
    tx.ledger.emit("BidPlaced", {"market_id": market["id"], "bid_id": bid_id, "owner": bid["owner"],
                                 "device": device.id, "timestamp": bid["timestamp"]})
    return bid


def _require_reveal_window(tx: Tx, market: dict[str, Any]) -> None:
    """After the gate closes (both clocks) and before the reveal window ends (both clocks), market not cleared."""
    if market["status"] not in ("open", "closed"):
        raise FailedPrecondition("bidId", f"market {market['id']} is already {market['status']}")
    if not clock.reached(tx, market["gate_closes_ms"]):
        raise FailedPrecondition("bidId", f"a sealed bid is revealed only after the gate of market {market['id']} "
                                 f"closes at {market['gate_closes']} (now {clock.iso(tx.now_ms)})")
    clock.require_not_behind(tx)
    if not clock.before(tx, market["reveal_closes_ms"]):
        raise FailedPrecondition("bidId", f"the reveal window of market {market['id']} closed at "
                                 f"{market['reveal_closes']} (now {clock.iso(tx.now_ms)})")


async def reveal_bid(tx: Tx, bid_id: str, bid_json: str, salt: str) -> dict[str, Any]:
    """Open a sealed bid: the hash must match and the content must pass every check of ``PlaceBid``."""
    await governance.require(tx, "aggregator")
    sealed = await bids.load(tx, bid_id)
    if sealed["owner"] != tx.caller.msp_id:
        raise Forbidden("bidId", f"bid {bid_id} belongs to {sealed['owner']}, not {tx.caller.msp_id}")
    if sealed["status"] != "sealed":
        raise Conflict("bidId", f"bid {bid_id} is {sealed['status']}, not sealed")
    market = await markets.load(tx, sealed["market_id"])
    _require_reveal_window(tx, market)
    if not sealing.is_salt(salt):
        raise ChaincodeError("salt", f"must be {sealing.SALT_BYTES} bytes as {2 * sealing.SALT_BYTES} lowercase "
                             "hex digits")
    try:
        matches = sealing.commitment(salt, bid_json) == sealed["commitment"]
    except UnicodeEncodeError:
        raise ChaincodeError("bidJSON", "is not valid UTF-8 text") from None
    if not matches:
        raise ChaincodeError("bidJSON", f"does not match the commitment of bid {bid_id}")
    doc = validate.parse_json(bid_json, "bid")
    if not isinstance(doc, dict):
        raise ChaincodeError("bid", "must be a JSON object")
    for name in ("id", "market_id", "device"):
        if doc.get(name) != sealed[name]:
            raise ChaincodeError(f"bid.{name}", f"must be {sealed[name]}, as committed")
    device = await registry.load(tx, sealed["device"], "bid.device")
    public = {name: value for name, value in sealed.items() if name != "commitment"}
    bid = {**public, **bids.content(doc, market, device), "status": "active",
           "seal": {"commitment": sealed["commitment"], "salt": salt, "bid_json": bid_json,
                    "revealed_at": clock.iso(tx.now_ms), "reveal_tx_id": tx.tx_id}}
    await bids.check_content(tx, bid, market)
    tx.ledger.put(key("bid", market["id"], bid_id), bid)
    tx.ledger.emit("BidRevealed", {"market_id": market["id"], "bid_id": bid_id, "owner": bid["owner"]})
    return bid


async def close_reveals(tx: Tx, market: dict[str, Any]) -> list[str]:
    """At clearing: refuse while sealed bids may still be revealed; mark the rest ``unrevealed``.

    Returns the ids of the bids excluded by the rule, sorted.
    """
    if not market.get("sealed"):
        return []
    waiting = [b for b in await tx.ledger.values("bid", market["id"]) if b["status"] == "sealed"]
    if waiting and not clock.reached(tx, market["reveal_closes_ms"]):
        raise FailedPrecondition("marketId", f"{len(waiting)} sealed bid(s) of market {market['id']} may still be "
                                 f"revealed until {market['reveal_closes']} (now {clock.iso(tx.now_ms)})")
    now = clock.iso(tx.now_ms)
    for bid in waiting:
        bid.update(status="unrevealed", unrevealed_at=now)
        tx.ledger.put(key("bid", market["id"], bid["id"]), bid)
    return sorted(b["id"] for b in waiting)
