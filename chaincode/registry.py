"""Device registry (MARKETFLEX III.A): the flexible assets, who owns them and which aggregator manages them.

A device must sit on a node of a feeder of the DSO's latest published network. Only its manager may
bid for it, so an aggregator's portfolio is simply the set of active devices it manages. Management
moves to another aggregator only when both sides consent (offer, then accept).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from chaincode import clock, governance, network_data, validate
from chaincode.context import Tx
from chaincode.errors import ChaincodeError, Conflict, FailedPrecondition, Forbidden, NotFound
from chaincode.state import key
from clearing import limits
from clearing.limits import echo
from contract.records import DEVICE_FIELDS

TYPES = ("storage", "generation", "load")
_PATCHABLE = ("max_power_mw", "min_power_mw", "capacity_mwh")


@dataclass
class Device:
    id: str
    type: str
    max_power_mw: float
    min_power_mw: float
    capacity_mwh: float | None
    node: str
    feeder: str
    owner: str
    manager: str
    status: str  # active | retired
    pending_manager: str | None
    network_version: int
    registered_at: str
    updated_at: str

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Device:
        return cls(**record)


def _check_power(kind: str, max_mw: Any, min_mw: Any, capacity: Any, prefix: str) -> tuple[float, float, float | None]:
    max_power = validate.number(max_mw, f"{prefix}.max_power_mw", above=0, maximum=limits.MAX_MW)
    min_power = validate.number(min_mw, f"{prefix}.min_power_mw", minimum=0, maximum=limits.MAX_MW)
    if min_power > max_power:
        raise ChaincodeError(f"{prefix}.min_power_mw", f"must be <= max_power_mw ({max_power:g}), got {min_power:g}")
    if kind == "storage":
        if capacity is None:
            raise ChaincodeError(f"{prefix}.capacity_mwh", "is required for storage devices")
        cap: float | None = validate.number(capacity, f"{prefix}.capacity_mwh", above=0, maximum=limits.MAX_MWH)
    else:
        if capacity not in (None, 0, 0.0):
            raise ChaincodeError(f"{prefix}.capacity_mwh", f"only storage devices have a capacity, not {kind}")
        cap = None
    return max_power, min_power, cap


async def load(tx: Tx, device_id: str, field: str = "id") -> Device:
    validate.ident(device_id, field)
    record = await tx.ledger.get(key("device", device_id))
    if record is None:
        raise NotFound(field, f"device {device_id} is not registered")
    return Device.from_record(record)


def save(tx: Tx, device: Device) -> dict[str, Any]:
    device.updated_at = clock.iso(tx.now_ms)
    record = asdict(device)
    tx.ledger.put(key("device", device.id), record)
    return record


def require_manager(tx: Tx, device: Device, field: str = "id") -> None:
    if device.manager != tx.caller.msp_id:
        raise Forbidden(field, f"device {device.id} is managed by {device.manager}, not {tx.caller.msp_id}")


async def register_device(tx: Tx, device_json: str) -> dict[str, Any]:
    await governance.require(tx, "aggregator")
    doc = validate.obj(validate.parse_json(device_json, "device"), "device", DEVICE_FIELDS,
                       ("id", "type", "max_power_mw", "node", "feeder"))
    device_id = validate.ident(doc["id"], "device.id")
    kind = doc["type"]
    if kind not in TYPES:
        raise ChaincodeError("device.type", f"must be one of {', '.join(TYPES)}, got {echo(kind)}")
    max_power, min_power, cap = _check_power(kind, doc["max_power_mw"], doc.get("min_power_mw", 0.0),
                                             doc.get("capacity_mwh"), "device")
    node = validate.ident(doc["node"], "device.node")
    feeder = validate.ident(doc["feeder"], "device.feeder")
    net = await network_data.read_network(tx)
    if feeder not in net["feeders"]:
        raise ChaincodeError("device.feeder", f"unknown feeder {echo(feeder)} in the DSO's network version {net['version']}")
    if node not in net["feeders"][feeder]:
        raise ChaincodeError("device.node", f"node {echo(node)} is not on feeder {feeder} in network version {net['version']}")
    if await tx.ledger.get(key("device", device_id)) is not None:
        raise Conflict("device.id", f"device {device_id} is already registered")
    now = clock.iso(tx.now_ms)
    device = Device(
        id=device_id, type=kind, max_power_mw=max_power, min_power_mw=min_power, capacity_mwh=cap, node=node,
        feeder=feeder, owner=tx.caller.msp_id, manager=tx.caller.msp_id, status="active", pending_manager=None,
        network_version=net["version"], registered_at=now, updated_at=now,
    )
    return save(tx, device)


async def update_device(tx: Tx, device_id: str, patch_json: str) -> dict[str, Any]:
    await governance.require(tx, "aggregator")
    device = await load(tx, device_id)
    require_manager(tx, device)
    if device.status != "active":
        raise FailedPrecondition("id", f"device {device_id} is retired")
    patch = validate.parse_json(patch_json, "patch")
    if not isinstance(patch, dict) or not patch:
        raise ChaincodeError("patch", "must be a non-empty JSON object")
    for field in sorted(patch):
        if field not in _PATCHABLE:
            raise ChaincodeError(f"patch.{field}", f"cannot be changed; changeable: {', '.join(_PATCHABLE)}")
    merged = {"max_power_mw": device.max_power_mw, "min_power_mw": device.min_power_mw,
              "capacity_mwh": device.capacity_mwh, **patch}
    device.max_power_mw, device.min_power_mw, device.capacity_mwh = _check_power(
        device.type, merged["max_power_mw"], merged["min_power_mw"], merged["capacity_mwh"], "patch"
    )
    return save(tx, device)


async def retire_device(tx: Tx, device_id: str) -> dict[str, Any]:
    """Retire a device; refused while it has active bids in a market not yet cleared (cancel them first)."""
    await governance.require(tx, "aggregator")
    device = await load(tx, device_id)
    require_manager(tx, device)
    if device.status != "active":
        raise Conflict("id", f"device {device_id} is already retired")
    for bid in await tx.ledger.values("bid"):
        if bid["device"] == device_id and bid["status"] in ("active", "sealed"):
            market = await tx.ledger.get(key("market", bid["market_id"]))
            if market and market["status"] in ("open", "closed"):
                raise ChaincodeError("id", f"device {device_id} has active bid {bid['id']} in market "
                                     f"{bid['market_id']}; cancel it or wait for the clearing")
    device.status = "retired"
    device.pending_manager = None
    return save(tx, device)


async def offer_management(tx: Tx, device_id: str, to_msp: str) -> dict[str, Any]:
    record = await governance.load(tx)
    governance.check_role(record, tx, "aggregator")
    device = await load(tx, device_id)
    require_manager(tx, device)
    if device.status != "active":
        raise FailedPrecondition("id", f"device {device_id} is retired")
    validate.ident(to_msp, "toMsp")
    if to_msp == tx.caller.msp_id:
        raise Conflict("toMsp", "already manages the device")
    if to_msp not in governance.msps_for(record, "aggregator"):
        raise ChaincodeError("toMsp", f"{to_msp} is not an aggregator of the marketplace")
    device.pending_manager = to_msp
    return save(tx, device)


async def accept_management(tx: Tx, device_id: str) -> dict[str, Any]:
    await governance.require(tx, "aggregator")
    device = await load(tx, device_id)
    if device.status != "active":
        raise FailedPrecondition("id", f"device {device_id} is retired")
    if device.pending_manager != tx.caller.msp_id:
        raise FailedPrecondition("id", f"device {device_id} has no pending hand-over to {tx.caller.msp_id}")
    device.manager = tx.caller.msp_id
    device.pending_manager = None
    return save(tx, device)


async def read_device(tx: Tx, device_id: str) -> dict[str, Any]:
    await governance.require_any(tx)
    return asdict(await load(tx, device_id))


async def list_devices(tx: Tx, query_json: str) -> dict[str, Any]:
    """A page of devices in id order, filtered by manager/owner/feeder/node/status; ``bookmark`` = last id seen."""
    await governance.require_any(tx)
    query: dict[str, Any] = {}
    if query_json.strip():
        fields = ("manager", "owner", "feeder", "node", "status", "page_size", "bookmark")
        query = dict(validate.obj(validate.parse_json(query_json, "query"), "query", fields))
    size = validate.integer(query.pop("page_size", 100), "query.page_size", 1, limits.MAX_PAGE_SIZE)
    bookmark = query.pop("bookmark", "") or ""
    if bookmark != "":  # the id of the last device of the previous page
        validate.ident(bookmark, "query.bookmark")
    for name, value in query.items():
        validate.ident(value, f"query.{name}")
    devices = []
    more = False
    async for _, record in tx.ledger.scan("device"):
        if bookmark and record["id"] <= bookmark:
            continue
        if any(record.get(name) != value for name, value in query.items()):
            continue
        if len(devices) == size:
            more = True
            break
        devices.append(record)
    return {"devices": devices, "bookmark": devices[-1]["id"] if more else ""}
