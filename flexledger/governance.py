"""The marketplace governance record, written by the organisations' admins through the peer CLI.

Why here and not in ``network/``: which MSP may hold which market role is the market's rule (the
chaincode checks every caller against it, ``chaincode/governance.py``), not an operation of the
Fabric network. ``network/`` starts nodes and changes the channel; this module records the market's
side of it — once after the first ``network up`` (``InitMarketplace``), and by majority vote when an
organisation joins or leaves (``org add``/``remove`` call it through :class:`network.org_ops.MarketSteps`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from network.fabric_cli import FabricCommandFailed
from network.manager import Network
from network.topology import Org, Topology

#: the governance record's field listing the MSPs of a market role (as chaincode/governance.py names it)
ROLE_FIELDS = {"aggregator": "aggregators", "tso": "tso", "auditor": "auditors"}


def marketplace_config(topo: Topology) -> dict[str, Any]:
    """The ``InitMarketplace`` document for a topology: each non-admin user's role, by MSP."""
    roles: dict[str, list[str]] = {}
    for org in topo.orgs:
        for user in org.users:
            if user.role != "admin":
                roles.setdefault(user.role, []).append(org.msp_id)
    return {"dso": topo.org("dso").msp_id, "aggregators": roles.get("aggregator", []),
            "auditors": roles.get("auditor", []), "tso": roles.get("tso", []),
            "settlement": roles.get("settlement", []),
            # every organisation's admin votes on membership changes (chaincode/membership.py)
            "admins": sorted(o.msp_id for o in topo.orgs)}  # fmt: skip


def ensure_initialised(net: Network) -> bool:
    """Record the governance once (idempotent: a re-run, or a run after an interrupted one, changes nothing).

    Returns whether this call recorded it.
    """
    if net.state().get("marketplace"):
        return False
    try:
        net.query("dso", "admin", "GetMarketplace")  # recorded by an earlier run that stopped before noting it
        recorded = False
    except FabricCommandFailed:
        with net.step("recording the marketplace governance (which organisation may hold which role)",
                      [f"{o.name}-{kind}" for o in net.topo.orgs for kind in ("chaincode", "peer")]):  # fmt: skip
            net.invoke("dso", "admin", "InitMarketplace", json.dumps(marketplace_config(net.topo), sort_keys=True))
        recorded = True
    net._save_state(marketplace=True)
    return recorded


def read(net: Network, org: Org) -> dict[str, Any]:
    return json.loads(net.query(org.name, "admin", "GetMarketplace"))


def vote(net: Network, voters: Sequence[Org], proposal: dict[str, str]) -> dict[str, Any]:
    """Propose as the first voter's admin, approve as the others' until the chaincode applies it."""
    def read_proposal() -> dict[str, Any]:
        return json.loads(net.query(voters[0].name, "admin", "ReadMembershipProposal", proposal["id"]))

    net.invoke(voters[0].name, "admin", "ProposeMembershipChange", json.dumps(proposal, sort_keys=True))
    record = read_proposal()
    for org in voters[1:]:
        if record["status"] == "applied":
            break
        net.invoke(org.name, "admin", "ApproveMembershipChange", proposal["id"])
        record = read_proposal()
    if record["status"] != "applied":
        raise RuntimeError(f"governance proposal {proposal['id']} is {record['status']} with approvals "
                           f"{', '.join(record['approvals'])}: a majority of the voting organisations must approve")
    return record


class MarketGovernance:
    """The market steps of ``org add``/``remove`` (:class:`network.org_ops.MarketSteps`); each skips what is done."""

    def admit(self, net: Network, org: Org, role: str, voters: Sequence[Org]) -> None:
        if org.msp_id not in read(net, voters[0]).get(ROLE_FIELDS[role], []):
            net.progress(f"recording {org.msp_id} as {role} in the governance (majority vote)")
            vote(net, voters, {"id": f"add-{org.name}-{uuid.uuid4().hex[:8]}", "action": "add", "msp": org.msp_id,
                               "role": role})  # fmt: skip
        net.progress(f"{org.name} is a member: {org.msp_id} may act as {role}")
        if role == "tso":
            self._take_over_tso(net, [*voters, org], org)

    def expel(self, net: Network, org: Org, voters: Sequence[Org]) -> None:
        if org.msp_id not in read(net, voters[0]).get("former", []):
            net.progress(f"governance: removing {org.msp_id} (its open bids are cancelled, its money stays claimable)")
            vote(net, voters, {"id": f"remove-{org.name}-{uuid.uuid4().hex[:8]}", "action": "remove",
                               "msp": org.msp_id})  # fmt: skip

    @staticmethod
    def _take_over_tso(net: Network, voters: Sequence[Org], org: Org) -> None:
        """The TSO as an organisation of its own: the DSO's in-house TSO user loses the role, by vote.

        The newcomer votes too: the voters of the first vote were a majority of one organisation fewer.
        """
        record = read(net, org)
        dso = record["dso"]
        if dso not in record.get("tso", []):
            return
        net.progress(f"governance: the TSO role moves from {dso}'s tso user to {org.msp_id} (majority vote)")
        vote(net, voters, {"id": f"revoke-tso-{dso}-{uuid.uuid4().hex[:8]}", "action": "revoke", "msp": dso,
                           "role": "tso"})  # fmt: skip
