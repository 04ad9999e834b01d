"""Membership changes: proposed by one admin, applied by a majority of voting organisations, enforced at once;
an organisation that leaves loses no money."""

from __future__ import annotations

import json

import pytest
from cc_fakes import Chain, identity
from cc_world import (
    AFTER,
    AGG1,
    AGG2,
    AUDITOR,
    DSO,
    GOVERNANCE,
    NETWORK,
    SETTLE,
    capacity_bid,
    flex_offer,
    market_day,
)

from chaincode.state import key

ADMINS = {org: identity(f"{org}MSP", "admin", f"{org}-admin") for org in ("dso", "agg1", "agg2", "auditor", "tso")}
AGG3 = identity("agg3MSP", "aggregator", "agg3-trader")
AGG3_ADMIN = identity("agg3MSP", "admin", "agg3-admin")
VOTERS = ["agg1MSP", "agg2MSP", "auditorMSP", "dsoMSP"]
DEVICE = {"id": "D30", "type": "load", "max_power_mw": 1.0, "node": "2", "feeder": "F1"}


def add_agg3(proposal_id: str = "P1") -> dict:
    return {"id": proposal_id, "action": "add", "msp": "agg3MSP", "role": "aggregator"}


@pytest.fixture
def voted() -> Chain:
    """Governance with four voting organisations, the network published."""
    chain = Chain()
    chain.invoke(ADMINS["dso"], "InitMarketplace", {**GOVERNANCE, "admins": VOTERS})
    chain.invoke(DSO, "PublishNetwork", NETWORK)
    return chain


def test_a_proposal_is_applied_only_once_a_majority_approved(voted: Chain) -> None:
    proposal = voted.invoke(ADMINS["dso"], "ProposeMembershipChange", add_agg3())
    assert (proposal["status"], proposal["approvals"]) == ("open", ["dsoMSP"])
    voted.refuse(AGG3, "RegisterDevice", DEVICE, field="caller.msp")
    assert voted.invoke(ADMINS["agg1"], "ApproveMembershipChange", "P1")["status"] == "open"  # 2 of 4: no majority
    applied = voted.invoke(ADMINS["agg2"], "ApproveMembershipChange", "P1")
    assert applied["status"] == "applied" and applied["approvals"] == ["agg1MSP", "agg2MSP", "dsoMSP"]
    record = voted.invoke(AUDITOR, "GetMarketplace")
    assert "agg3MSP" in record["aggregators"] and "agg3MSP" in record["admins"]
    # the chaincode enforces the new role from the next transaction on
    assert voted.invoke(AGG3, "RegisterDevice", DEVICE)["manager"] == "agg3MSP"
    assert voted.events("MembershipProposal")[-1]["status"] == "applied"


def test_only_admins_of_voting_organisations_propose_or_approve(voted: Chain) -> None:
    voted.refuse(DSO, "ProposeMembershipChange", add_agg3(), field="caller.role")
    voted.refuse(AGG3_ADMIN, "ProposeMembershipChange", add_agg3(), field="caller.msp")
    voted.invoke(ADMINS["dso"], "ProposeMembershipChange", add_agg3())
    voted.refuse(AGG1, "ApproveMembershipChange", "P1", field="caller.role")
    voted.refuse(AGG3_ADMIN, "ApproveMembershipChange", "P1", field="caller.msp")


def test_one_organisation_approves_once(voted: Chain) -> None:
    voted.invoke(ADMINS["dso"], "ProposeMembershipChange", add_agg3())
    voted.refuse(ADMINS["dso"], "ApproveMembershipChange", "P1", field="proposalId")
    voted.refuse(ADMINS["agg1"], "ApproveMembershipChange", "P2", field="proposalId")


@pytest.mark.parametrize(("proposal", "field"), [
    ({"id": "P1", "action": "add", "msp": "agg1MSP", "role": "aggregator"}, "proposal.msp"),
    ({"id": "P1", "action": "add", "msp": "agg3MSP", "role": "dso"}, "proposal.role"),
    ({"id": "P1", "action": "add", "msp": "dsoMSP", "role": "aggregator"}, "proposal.msp"),
    ({"id": "P1", "action": "add", "msp": "agg3MSP"}, "proposal.role"),
    ({"id": "P1", "action": "promote", "msp": "agg3MSP"}, "proposal.action"),
    ({"id": "P1", "action": "remove", "msp": "dsoMSP"}, "proposal.msp"),
    ({"id": "P1", "action": "remove", "msp": "strangerMSP"}, "proposal.msp"),
    ({"id": "P1", "action": "remove", "msp": "agg1MSP", "role": "aggregator"}, "proposal.role"),
    ({"id": "P1", "action": "revoke", "msp": "agg1MSP", "role": "tso"}, "proposal.msp"),
    ({"id": "P1", "action": "revoke", "msp": "dsoMSP", "role": "dso"}, "proposal.role"),
    ({"id": "", "action": "add", "msp": "agg3MSP", "role": "aggregator"}, "proposal.id"),
    ({"id": "P1", "action": "add", "msp": "agg3MSP", "role": "aggregator", "extra": 1}, "proposal.extra"),
])
def test_bad_proposals_are_refused_naming_the_field(voted: Chain, proposal: dict, field: str) -> None:
    voted.refuse(ADMINS["dso"], "ProposeMembershipChange", proposal, field=field)


def test_a_duplicate_proposal_id_is_refused(voted: Chain) -> None:
    voted.invoke(ADMINS["dso"], "ProposeMembershipChange", add_agg3())
    voted.refuse(ADMINS["agg1"], "ProposeMembershipChange", add_agg3(), field="proposal.id")


def test_an_applied_proposal_takes_no_more_approvals(voted: Chain) -> None:
    voted.invoke(ADMINS["dso"], "ProposeMembershipChange", add_agg3())
    voted.invoke(ADMINS["agg1"], "ApproveMembershipChange", "P1")
    voted.invoke(ADMINS["agg2"], "ApproveMembershipChange", "P1")
    voted.refuse(ADMINS["auditor"], "ApproveMembershipChange", "P1", field="proposalId")


def test_a_single_voter_governance_applies_its_own_proposal_at_once() -> None:
    chain = market_day()  # admins: dsoMSP only
    admin = identity("dsoMSP", "admin", "admin")
    assert chain.invoke(admin, "ProposeMembershipChange", add_agg3())["status"] == "applied"
    assert "agg3MSP" in chain.invoke(AUDITOR, "GetMarketplace")["aggregators"]


def remove(chain: Chain, msp: str, voters: tuple[str, ...] = ("dso", "agg1", "auditor")) -> dict:
    first, *rest = voters
    proposal = chain.invoke(ADMINS[first], "ProposeMembershipChange", {"id": f"rm-{msp}", "action": "remove",
                                                                       "msp": msp})
    for org in rest:
        proposal = chain.invoke(ADMINS[org], "ApproveMembershipChange", f"rm-{msp}")
    return proposal


@pytest.fixture
def busy() -> Chain:
    """A market day where agg2 has an open flexibility offer (FLEX1) and a capacity bid in CAP1, and every
    organisation votes."""
    chain = market_day()
    record = chain.ledger.state
    governance = json.loads(record[key("marketplace")])
    governance["admins"] = VOTERS
    record[key("marketplace")] = json.dumps(governance, sort_keys=True, separators=(",", ":")).encode()
    chain.invoke(AGG2, "PlaceBid", flex_offer())
    chain.invoke(AGG2, "PlaceBid", capacity_bid(id="B2", device="D2", quantity_mw=0.5, min_mw=0.5))
    return chain


def test_removing_an_organisation_cancels_its_open_bids_and_keeps_its_money(busy: Chain) -> None:
    total = busy.total_cents()
    balance = busy.invoke(AUDITOR, "GetBalance", "agg2MSP")
    applied = remove(busy, "agg2MSP")
    assert applied["status"] == "applied" and applied["cancelled_bids"] == ["B2", "O1"]
    assert busy.total_cents() == total
    assert busy.invoke(AUDITOR, "GetBalance", "agg2MSP") == balance
    bids = {b["id"]: b for b in busy.invoke(AUDITOR, "ListBids", "FLEX1")}
    assert bids["O1"]["status"] == "cancelled" and bids["O1"]["cancel_reason"] == "owner left the marketplace"
    record = busy.invoke(AUDITOR, "GetMarketplace")
    assert "agg2MSP" not in record["aggregators"] + record["admins"] and record["former"] == ["agg2MSP"]
    # its roles stop at once; its money stays claimable through settlement, and only withdrawable
    busy.refuse(AGG2, "PlaceBid", flex_offer(id="O2"), field="caller.msp")
    busy.refuse(SETTLE, "Deposit", "agg2MSP", "100", field="participantMsp")
    assert busy.invoke(SETTLE, "Withdraw", "agg2MSP", "100")["available_cents"] == balance["available_cents"] - 100


def test_a_leaver_in_a_closed_market_is_still_settled_by_its_rules(busy: Chain) -> None:
    """A bid in a market whose gate closed stays in: clearing escrows and charges it, settlement pays."""
    total = busy.total_cents()
    busy.at(AFTER)
    busy.invoke(DSO, "CloseGate", "CAP1")
    applied = remove(busy, "agg2MSP")
    assert "B2" not in applied["cancelled_bids"]
    busy.invoke(DSO, "ClearMarket", "CAP1")
    assert any(t.get("owner") == "agg2MSP" for t in busy.invoke(AUDITOR, "ListTrades", "CAP1"))
    busy.invoke(SETTLE, "SettleMarket", "CAP1")
    after = busy.invoke(AUDITOR, "GetBalance", "agg2MSP")
    assert after["escrow_cents"] == 0
    assert busy.total_cents() == total


def test_the_last_aggregator_cannot_be_removed(voted: Chain) -> None:
    remove(voted, "agg2MSP")
    voted.refuse(ADMINS["dso"], "ProposeMembershipChange", {"id": "rm", "action": "remove", "msp": "agg1MSP"},
                 field="proposal.msp")


def test_a_former_member_can_be_admitted_again(voted: Chain) -> None:
    remove(voted, "agg2MSP")
    proposal = {"id": "back", "action": "add", "msp": "agg2MSP", "role": "aggregator"}
    voted.invoke(ADMINS["dso"], "ProposeMembershipChange", proposal)
    assert voted.invoke(ADMINS["agg1"], "ApproveMembershipChange", "back")["status"] == "applied"  # 2 of 3
    record = voted.invoke(AUDITOR, "GetMarketplace")
    assert "agg2MSP" in record["aggregators"] and record["former"] == []


def test_read_proposal_shows_the_approvals(voted: Chain) -> None:
    voted.invoke(ADMINS["dso"], "ProposeMembershipChange", add_agg3())
    assert voted.invoke(AUDITOR, "ReadMembershipProposal", "P1")["approvals"] == ["dsoMSP"]
    voted.refuse(AUDITOR, "ReadMembershipProposal", "nope", field="proposalId")


def vote(chain: Chain, proposal: dict, voters: tuple[str, ...] = ("dso", "agg1", "agg2")) -> dict:
    first, *rest = voters
    result = chain.invoke(ADMINS[first], "ProposeMembershipChange", proposal)
    for org in rest:
        result = chain.invoke(ADMINS[org], "ApproveMembershipChange", proposal["id"])
    return result


def test_a_tso_organisation_takes_over_the_role_from_the_dso_user() -> None:
    """As on the network: the TSO starts as a user inside dso; a TSO organisation joins, then the DSO's
    TSO role is revoked by vote. The DSO keeps its own role and its vote."""
    chain = Chain()
    chain.invoke(ADMINS["dso"], "InitMarketplace", {**GOVERNANCE, "tso": ["dsoMSP"], "admins": VOTERS})
    dso_tso, tso_org = identity("dsoMSP", "tso", "tso"), identity("tsoMSP", "tso", "tso-operator")
    assert chain.invoke(dso_tso, "GetMarketplace")["tso"] == ["dsoMSP"]
    assert vote(chain, {"id": "t1", "action": "add", "msp": "tsoMSP", "role": "tso"})["status"] == "applied"
    assert vote(chain, {"id": "t2", "action": "revoke", "msp": "dsoMSP", "role": "tso"},
                ("agg1", "tso", "dso"))["status"] == "applied"  # fmt: skip
    record = chain.invoke(tso_org, "GetMarketplace")
    assert record["tso"] == ["tsoMSP"] and record["dso"] == "dsoMSP" and "dsoMSP" in record["admins"]
    chain.refuse(dso_tso, "GetMarketplace", field="caller.msp")
    chain.invoke(DSO, "PublishNetwork", NETWORK)
    # the TSO organisation leaves; a vote gives the role back to the DSO's user
    vote(chain, {"id": "t3", "action": "remove", "msp": "tsoMSP"}, ("dso", "agg1", "agg2"))
    vote(chain, {"id": "t4", "action": "add", "msp": "dsoMSP", "role": "tso"}, ("dso", "agg1", "agg2"))
    assert chain.invoke(dso_tso, "GetMarketplace")["tso"] == ["dsoMSP"]


def test_revoking_the_last_aggregator_role_is_refused(voted: Chain) -> None:
    remove(voted, "agg2MSP")
    voted.refuse(ADMINS["dso"], "ProposeMembershipChange",
                 {"id": "r", "action": "revoke", "msp": "agg1MSP", "role": "aggregator"}, field="proposal.msp")
