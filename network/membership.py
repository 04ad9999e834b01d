"""Who is in the running network: the founding topology plus organisations added or removed since.

Why in the state folder: the founding organisations come from :func:`network.topology.default_topology`,
but ``flexledger org add``/``remove`` change a *running* network, so every later command (``network
status``, ``up`` restarting dead nodes, ``tx``, the gateways) must see the same membership. The state
file records the changes; the founding topology still decides whether a state folder fits at all
(``Network.fingerprint``), so an added organisation is part of the recorded network, not a mismatch.

An added organisation gets the next free index (never one a removed organisation had: its folder and
ledger copy stay), hence its block of 100 ports at ``base + 100 × index``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from network.topology import Org, Topology, User

#: role given on the command line → (client user enrolled for it, role attribute the chaincode reads).
#: A balancing service provider sells flexibility as an aggregator does, so it trades with that role.
ROLES: dict[str, tuple[str, str]] = {
    "aggregator": ("trader", "aggregator"),
    "bsp": ("trader", "aggregator"),
    "tso": ("operator", "tso"),
    "auditor": ("inspector", "auditor"),
}
NAME_PATTERN = re.compile(r"[a-z][a-z0-9]{1,15}")


@dataclass(frozen=True)
class Joined:
    """An organisation admitted to the running network."""

    name: str
    role: str
    index: int
    orderer: bool
    #: False between the committed channel update and the end of ``org add`` (a re-run resumes there)
    complete: bool = True

    @property
    def market_role(self) -> str:
        return ROLES[self.role][1]

    def org(self, base_port: int) -> Org:
        user, role = ROLES[self.role]
        endorses = role != "auditor"  # as the founding auditor: reads everything, endorses nothing
        return Org(self.name, self.index, self.orderer, endorses, (User("admin", "admin"), User(user, role)),
                   base_port)  # fmt: skip


def _record(state: dict[str, Any]) -> dict[str, Any]:
    record = state.get("membership") or {}
    return {"added": list(record.get("added", [])), "removed": list(record.get("removed", []))}


def added(state: dict[str, Any]) -> list[Joined]:
    return [Joined(**j) for j in _record(state)["added"]]


def removed(state: dict[str, Any]) -> list[str]:
    return _record(state)["removed"]


def current(founding: Topology, state: dict[str, Any]) -> Topology:
    """The topology of the running network: founding organisations not removed, then those added."""
    gone = set(removed(state))
    base = founding.orgs[0].base_port
    orgs = tuple(o for o in founding.orgs if o.name not in gone)
    orgs += tuple(j.org(base) for j in added(state) if j.name not in gone)
    return dataclasses.replace(founding, orgs=orgs)


def next_index(founding: Topology, state: dict[str, Any]) -> int:
    used = [o.index for o in founding.orgs] + [j.index for j in added(state)]
    return max(used) + 1


def known_names(founding: Topology, state: dict[str, Any]) -> set[str]:
    """Every name ever used in this network (a removed organisation's folder keeps its name taken)."""
    return {o.name for o in founding.orgs} | {j.name for j in added(state)}


def with_added(state: dict[str, Any], joined: Joined) -> dict[str, Any]:
    record = _record(state)
    record["added"] = [j for j in record["added"] if j["name"] != joined.name] + [dataclasses.asdict(joined)]
    return record


def with_removed(state: dict[str, Any], name: str) -> dict[str, Any]:
    record = _record(state)
    record["removed"] = sorted({*record["removed"], name})
    return record
