"""Membership changes of a running marketplace: proposed by one organisation's admin, applied by a majority.

Why a vote on the ledger: the governance record decides which MSP may hold which role, so changing it
is as weighty as the channel configuration that admits an organisation; no single admin may rewrite it.
An admin of a voting organisation (an MSP in ``admins``) proposes ``add`` or ``remove`` of an MSP, or to
``revoke`` one role of a member (the DSO's TSO user once the TSO is an organisation of its own); the
proposal counts as that organisation's approval; other voting organisations' admins approve it; once
more than half of the *current* voting organisations approved, the same transaction applies it, so the
chaincode enforces the new roles from the next transaction on.

What leaving does to money (nothing is lost, nothing moves between participants):
- the leaver's bids still ``active`` in markets whose gate is still open are cancelled (no escrow is held
  for them yet: it is taken at gate closure);
- bids in markets already closed stay: their escrow is cleared and settled by the market's own rules, paid
  to or refunded into the leaver's balance;
- the balance stays on the ledger under the leaver's MSP, readable by its auditors, and the settlement
  role may still withdraw it (``former`` members), so it remains claimable.
"""

from __future__ import annotations

from typing import Any

from chaincode import clock, governance, validate
from chaincode.context import Tx
from chaincode.errors import ChaincodeError, Conflict, FailedPrecondition, Forbidden, NotFound
from chaincode.state import key

ACTIONS = ("add", "remove", "revoke")
#: Roles an organisation may be admitted with (the DSO is fixed at initialisation).
ADMITTED_ROLES = ("aggregator", "tso", "auditor")
_FIELDS = ("id", "action", "msp", "role")


def members(record: dict[str, Any]) -> set[str]:
    """Every MSP that holds any role in the governance record."""
    found = {record["dso"]}
    for role in governance.ROLE_FIELDS:
        found.update(governance.msps_for(record, role))
    return found


def _require_voter(record: dict[str, Any], tx: Tx) -> str:
    """Only an admin of a voting organisation proposes or approves."""
    caller = tx.caller
    if caller.role != "admin":
        raise Forbidden("caller.role", f"needs role admin; the caller's certificate has {caller.role or 'none'}")
    if caller.msp_id not in governance.msps_for(record, "admin"):
        raise Forbidden("caller.msp", f"{caller.msp_id} has no vote in the marketplace governance")
    return caller.msp_id


def _parse(doc: Any, record: dict[str, Any]) -> dict[str, Any]:
    doc = validate.obj(doc, "proposal", _FIELDS, ("id", "action", "msp"))
    proposal_id = validate.ident(doc["id"], "proposal.id")
    action = doc["action"]
    if action not in ACTIONS:
        raise ChaincodeError("proposal.action", f"must be one of {', '.join(ACTIONS)}")
    msp = validate.ident(doc["msp"], "proposal.msp")
    role = doc.get("role")
    if action == "add":
        if role not in ADMITTED_ROLES:
            raise ChaincodeError("proposal.role", f"must be one of {', '.join(ADMITTED_ROLES)}")
        if msp in governance.msps_for(record, role):
            raise Conflict("proposal.msp", f"{msp} already holds the role {role}")
        if role == "aggregator" and msp == record["dso"]:
            raise ChaincodeError("proposal.msp", f"{msp} is the DSO and cannot also be an aggregator")
    elif action == "revoke":
        if role not in ADMITTED_ROLES:
            raise ChaincodeError("proposal.role", f"must be one of {', '.join(ADMITTED_ROLES)}")
        if msp not in governance.msps_for(record, role):
            raise NotFound("proposal.msp", f"{msp} does not hold the role {role}")
        if role == "aggregator" and governance.msps_for(record, role) == [msp]:
            raise FailedPrecondition("proposal.msp", f"{msp} is the last aggregator; the market needs one")
    else:
        if role is not None:
            raise ChaincodeError("proposal.role", "is not given when removing an organisation")
        if msp == record["dso"]:
            raise ChaincodeError("proposal.msp", f"{msp} is the DSO; the marketplace cannot run without it")
        if msp not in members(record):
            raise NotFound("proposal.msp", f"{msp} is not a member of the marketplace")
        if governance.msps_for(record, "aggregator") == [msp]:
            raise FailedPrecondition("proposal.msp", f"{msp} is the last aggregator; the market needs one")
    return {"id": proposal_id, "action": action, "msp": msp, "role": role}


def _approved(record: dict[str, Any], proposal: dict[str, Any]) -> bool:
    voters = set(governance.msps_for(record, "admin"))
    return 2 * len(voters & set(proposal["approvals"])) > len(voters)


async def _cancel_open_bids(tx: Tx, msp: str) -> list[str]:
    """Cancel the leaver's active bids in markets still open; return their ids (sorted)."""
    cancelled = []
    open_markets: dict[str, bool] = {}
    for bid in await tx.ledger.values("bid"):
        if bid["owner"] != msp or bid["status"] != "active":
            continue
        market_id = bid["market_id"]
        if market_id not in open_markets:
            market = await tx.ledger.get(key("market", market_id))
            open_markets[market_id] = bool(market) and market["status"] == "open"
        if not open_markets[market_id]:
            continue
        bid["status"] = "cancelled"
        bid["cancelled_at"] = clock.iso(tx.now_ms)
        bid["cancel_reason"] = "owner left the marketplace"
        slot_key = key("devicebids", market_id, bid["device"])
        slot = await tx.ledger.get(slot_key)
        if slot is not None:
            slot["active"].pop(bid["id"], None)
            tx.ledger.put(slot_key, slot)
        tx.ledger.put(key("bid", market_id, bid["id"]), bid)
        cancelled.append(bid["id"])
    return sorted(cancelled)


async def _apply(tx: Tx, record: dict[str, Any], proposal: dict[str, Any]) -> None:
    msp = proposal["msp"]
    former = [m for m in record.get("former", []) if m != msp]
    if proposal["action"] == "add":  # a new member, or a member given one more role
        field = governance.ROLE_FIELDS[proposal["role"]]
        record[field] = sorted({*governance.msps_for(record, proposal["role"]), msp})
        record["admins"] = sorted({*record["admins"], msp})
    elif proposal["action"] == "revoke":
        field = governance.ROLE_FIELDS[proposal["role"]]
        record[field] = [m for m in governance.msps_for(record, proposal["role"]) if m != msp]
    else:
        for role, field in governance.ROLE_FIELDS.items():
            if role != "dso":
                record[field] = [m for m in governance.msps_for(record, role) if m != msp]
        former = sorted({*former, msp})
        proposal["cancelled_bids"] = await _cancel_open_bids(tx, msp)
    record["former"] = former
    proposal["status"] = "applied"
    proposal["applied_at"] = clock.iso(tx.now_ms)
    tx.ledger.put(key("marketplace"), record)


async def _finish(tx: Tx, record: dict[str, Any], proposal: dict[str, Any]) -> dict[str, Any]:
    if _approved(record, proposal):
        await _apply(tx, record, proposal)
    tx.ledger.put(key("proposal", proposal["id"]), proposal)
    tx.ledger.emit("MembershipProposal", {k: proposal[k] for k in ("id", "action", "msp", "status", "approvals")})
    return proposal


async def propose(tx: Tx, proposal_json: str) -> dict[str, Any]:
    """Record a membership change; the proposer's organisation approves it by proposing."""
    record = await governance.load(tx)
    voter = _require_voter(record, tx)
    doc = _parse(validate.parse_json(proposal_json, "proposal"), record)
    if await tx.ledger.get(key("proposal", doc["id"])) is not None:
        raise Conflict("proposal.id", f"proposal {doc['id']} already exists")
    proposal = {**doc, "status": "open", "proposed_by": voter, "proposed_at": clock.iso(tx.now_ms),
                "approvals": [voter]}  # fmt: skip
    return await _finish(tx, record, proposal)


async def approve(tx: Tx, proposal_id: str) -> dict[str, Any]:
    """Add the caller's organisation's approval; apply the change once a majority approved."""
    record = await governance.load(tx)
    voter = _require_voter(record, tx)
    proposal = await load(tx, proposal_id)
    if proposal["status"] != "open":
        raise FailedPrecondition("proposalId", f"proposal {proposal_id} is already {proposal['status']}")
    if voter in proposal["approvals"]:
        raise Conflict("proposalId", f"{voter} already approved proposal {proposal_id}")
    # Re-check against the record as it is now: another proposal may have changed membership meanwhile.
    _parse({k: v for k, v in proposal.items() if k in _FIELDS and v is not None}, record)
    proposal["approvals"] = sorted({*proposal["approvals"], voter})
    return await _finish(tx, record, proposal)


async def load(tx: Tx, proposal_id: str) -> dict[str, Any]:
    validate.ident(proposal_id, "proposalId")
    proposal = await tx.ledger.get(key("proposal", proposal_id))
    if proposal is None:
        raise NotFound("proposalId", f"proposal {proposal_id} does not exist")
    return proposal


async def read(tx: Tx, proposal_id: str) -> dict[str, Any]:
    await governance.require_any(tx)
    return await load(tx, proposal_id)
