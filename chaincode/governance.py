"""Governance: which organisation (MSP) may hold which role, and the role check every function makes.

A certificate's role attribute alone is not enough: each organisation runs its own CA and could mint
any role. A role therefore only counts when the governance record, written once by ``InitMarketplace``,
lists the caller's MSP for that role (an aggregator's CA cannot mint a DSO).
"""

from __future__ import annotations

from typing import Any

from chaincode import clock, validate
from chaincode.context import Tx
from chaincode.errors import ChaincodeError, Conflict, FailedPrecondition, Forbidden
from chaincode.identity import ROLES
from chaincode.state import key

#: Governance field holding the MSPs allowed for each role.
ROLE_FIELDS: dict[str, str] = {
    "dso": "dso",
    "aggregator": "aggregators",
    "tso": "tso",
    "auditor": "auditors",
    "settlement": "settlement",
    "admin": "admins",
}


async def clock_skew_seconds(tx: Tx) -> int:
    """The network's bound on a timestamp's distance from an endorser's clock (before governance: the default)."""
    record = await tx.ledger.get(key("marketplace"))
    return int(record.get("clock_skew_seconds", clock.DEFAULT_SKEW_SECONDS)) if record else clock.DEFAULT_SKEW_SECONDS


async def load(tx: Tx) -> dict[str, Any]:
    record = await tx.ledger.get(key("marketplace"))
    if record is None:
        raise FailedPrecondition("marketplace", "is not initialised; an admin must call InitMarketplace first")
    return record


def msps_for(record: dict[str, Any], role: str) -> list[str]:
    value = record.get(ROLE_FIELDS[role], [])
    return [value] if isinstance(value, str) else list(value)


def participants(record: dict[str, Any]) -> list[str]:
    """Organisations that trade and hold funds: the DSO, the aggregators and the TSOs."""
    return sorted({record["dso"], *record["aggregators"], *record["tso"]})


async def require(tx: Tx, *roles: str) -> str:
    """Refuse unless the caller's certified role is one of ``roles`` and its MSP may hold it."""
    record = await load(tx)
    return check_role(record, tx, *roles)


async def require_any(tx: Tx) -> str:
    """Reads open to every participant still need a role the governance allows for the caller's MSP."""
    return await require(tx, *ROLE_FIELDS)


def check_role(record: dict[str, Any], tx: Tx, *roles: str) -> str:
    caller = tx.caller
    if caller.role not in roles:
        have = caller.role or "none"
        raise Forbidden("caller.role", f"needs role {' or '.join(roles)}; the caller's certificate has {have}")
    if caller.msp_id not in msps_for(record, caller.role):
        raise Forbidden(
            "caller.msp", f"{caller.msp_id} is not allowed to act as {caller.role} by the marketplace governance"
        )
    return caller.role


def has_role(record: dict[str, Any], tx: Tx, *roles: str) -> bool:
    try:
        check_role(record, tx, *roles)
    except ChaincodeError:
        return False
    return True


def parse_config(config: Any, caller_msp: str) -> dict[str, Any]:
    """Validate the governance document of ``InitMarketplace``."""
    fields = ("dso", "aggregators", "auditors", "tso", "settlement", "admins")
    doc = validate.obj(config, "config", (*fields, "clock_skew_seconds"), ("dso", "aggregators", "settlement"))
    record: dict[str, Any] = {"dso": validate.ident(doc["dso"], "config.dso")}
    record["clock_skew_seconds"] = validate.integer(doc.get("clock_skew_seconds", clock.DEFAULT_SKEW_SECONDS),
                                                    "config.clock_skew_seconds", 1, clock.MAX_SKEW_SECONDS)
    for name in fields[1:]:
        default = [caller_msp] if name == "admins" else []
        items = validate.string_list(doc.get(name, default), f"config.{name}")
        if len(set(items)) != len(items):
            raise ChaincodeError(f"config.{name}", "lists an MSP twice")
        record[name] = sorted(items)
    if not record["aggregators"]:
        raise ChaincodeError("config.aggregators", "must list at least one aggregator MSP")
    if not record["settlement"]:
        raise ChaincodeError("config.settlement", "must list at least one settlement MSP")
    if record["dso"] in record["aggregators"]:
        raise ChaincodeError("config.aggregators", f"{record['dso']} is the DSO and cannot also be an aggregator")
    return record


async def init_marketplace(tx: Tx, config_json: str) -> dict[str, Any]:
    """Once: record governance. Before it exists only the certificate role ``admin`` can be checked."""
    if tx.caller.role != "admin":
        raise Forbidden("caller.role", f"needs role admin; the caller's certificate has {tx.caller.role or 'none'}")
    if await tx.ledger.get(key("marketplace")) is not None:
        raise Conflict("marketplace", "is already initialised")
    record = parse_config(validate.parse_json(config_json, "config"), tx.caller.msp_id)
    if tx.caller.msp_id not in record["admins"]:
        raise ChaincodeError("config.admins", f"must include the initialising MSP {tx.caller.msp_id}")
    record["initialised_at"] = clock.iso(tx.now_ms)
    record["initialised_by"] = tx.caller.msp_id
    record["roles"] = list(ROLES)
    tx.ledger.put(key("marketplace"), record)
    return record


async def get_marketplace(tx: Tx) -> dict[str, Any]:
    record = await load(tx)
    check_role(record, tx, *ROLE_FIELDS)
    return record
