"""Membership of a running network: recorded in the state, turned into the topology every command sees;
who must sign a channel update; how the channel config JSON changes when an organisation joins or leaves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from network import channel_update, membership, org_ops
from network.layout import Layout
from network.manager import Network
from network.topology import default_topology

FOUNDING = default_topology(30000)


def state_with(*joined: membership.Joined, removed: tuple[str, ...] = ()) -> dict:
    state: dict = {}
    for j in joined:
        state["membership"] = membership.with_added(state, j)
    for name in removed:
        state["membership"] = membership.with_removed(state, name)
    return state


def test_an_added_org_gets_the_next_port_block_and_endorses_unless_auditor() -> None:
    state = state_with(membership.Joined("agg3", "aggregator", 4, False), membership.Joined("tso", "tso", 5, True))
    topo = membership.current(FOUNDING, state)
    assert [o.name for o in topo.orgs] == ["dso", "agg1", "agg2", "auditor", "agg3", "tso"]
    assert (topo.org("agg3").ca_port, topo.org("tso").orderer_port) == (30400, 30520)
    assert [o.name for o in topo.orderer_orgs] == ["dso", "agg1", "agg2", "tso"]
    assert topo.endorsement_policy == ("AND('dsoMSP.peer','agg1MSP.peer','agg2MSP.peer','agg3MSP.peer',"
                                       "'tsoMSP.peer')")
    assert [(u.name, u.role) for u in topo.org("tso").users] == [("admin", "admin"), ("operator", "tso")]
    auditor = membership.Joined("audit2", "auditor", 6, False).org(30000)
    assert not auditor.endorses


def test_a_bsp_trades_with_the_aggregator_role() -> None:
    bsp = membership.Joined("bsp1", "bsp", 4, False)
    assert bsp.market_role == "aggregator" and bsp.org(30000).users[1].role == "aggregator"


def test_a_removed_org_leaves_the_topology_but_keeps_its_index_and_name() -> None:
    state = state_with(membership.Joined("agg3", "aggregator", 4, False), removed=("agg3", "agg2"))
    topo = membership.current(FOUNDING, state)
    assert [o.name for o in topo.orgs] == ["dso", "agg1", "auditor"]
    assert membership.next_index(FOUNDING, state) == 5
    assert {"agg2", "agg3"} <= membership.known_names(FOUNDING, state)


def test_the_state_fingerprint_is_the_founding_topology_so_an_added_org_is_no_mismatch(tmp_path: Path) -> None:
    plain = Network(topo=default_topology(30000), layout=Layout(tmp_path / "a"))
    layout = Layout(tmp_path / "b")
    layout.home.mkdir(parents=True)
    layout.state_file.write_text(json.dumps(state_with(membership.Joined("agg3", "aggregator", 4, False))))
    grown = Network(topo=default_topology(30000), layout=layout)
    assert "agg3" in [o.name for o in grown.topo.orgs]
    assert grown.founding == plain.topo
    assert repr(grown.founding) == repr(plain.founding)


def test_signers_must_be_a_majority_of_the_application_and_when_raft_changes_of_the_orderer_orgs() -> None:
    assert [o.name for o in org_ops.check_signers(FOUNDING, ["dso", "agg1", "auditor"], False)] == [
        "dso", "agg1", "auditor"]
    with pytest.raises(org_ops.MembershipRefused, match="needs 3 of 4 organisations .* signed by dso, agg1; "
                                                        "ask agg2, auditor"):
        org_ops.check_signers(FOUNDING, ["dso", "agg1"], False)
    grown = membership.current(FOUNDING, state_with(membership.Joined("agg3", "aggregator", 4, False)))
    assert org_ops.check_signers(grown, ["dso", "auditor", "agg3"], False)
    with pytest.raises(org_ops.MembershipRefused, match="orderer Admins policy needs 2 of 3 .* signed by dso;"):
        org_ops.check_signers(grown, ["dso", "auditor", "agg3"], True)
    with pytest.raises(org_ops.MembershipRefused, match="unknown organisation 'nobody'"):
        org_ops.check_signers(FOUNDING, ["dso", "nobody", "agg1"], False)
    with pytest.raises(org_ops.MembershipRefused, match="twice"):
        org_ops.check_signers(FOUNDING, ["dso", "agg1", "dso"], False)


def test_default_signers_satisfy_both_policies() -> None:
    for orderer in (False, True):
        names = org_ops._default_signers(FOUNDING, orderer)
        assert org_ops.check_signers(FOUNDING, names, orderer)


def _config() -> dict:
    """The shape of a decoded channel config, as configtxlator prints it (only what the changes touch)."""
    consenters = [{"host": "127.0.0.1", "port": o.orderer_port, "client_tls_cert": "x", "server_tls_cert": "x"}
                  for o in FOUNDING.orderer_orgs]
    return {"channel_group": {"groups": {
        "Application": {"groups": {o.msp_id: {"values": {}} for o in FOUNDING.orgs}},
        "Orderer": {"groups": {o.msp_id: {"values": {}} for o in FOUNDING.orderer_orgs},
                    "values": {"ConsensusType": {"value": {"metadata": {"consenters": consenters}}}}}}}}


def test_admitting_an_org_with_an_orderer_adds_its_groups_and_a_consenter(tmp_path: Path) -> None:
    cert = tmp_path / "tls.pem"
    cert.write_bytes(b"PEM")
    org = membership.Joined("tso", "tso", 5, True).org(30000)
    group = {"values": {"MSP": {}, "Endpoints": {"value": {"addresses": ["old"]}}, "AnchorPeers": {}}}
    config = _config()
    changed = channel_update.with_org(config, group, FOUNDING, org, cert)
    groups = changed["channel_group"]["groups"]
    assert set(groups["Application"]["groups"]["tsoMSP"]["values"]) == {"MSP", "AnchorPeers"}
    assert set(groups["Orderer"]["groups"]["tsoMSP"]["values"]) == {"MSP", "Endpoints"}
    assert groups["Orderer"]["groups"]["tsoMSP"]["values"]["Endpoints"]["value"]["addresses"] == ["127.0.0.1:30520"]
    consenters = groups["Orderer"]["values"]["ConsensusType"]["value"]["metadata"]["consenters"]
    assert consenters[-1] == {"host": "127.0.0.1", "port": 30520, "client_tls_cert": "UEVN", "server_tls_cert": "UEVN"}
    assert config == _config(), "the original config must stay as it was (the update is computed from both)"
    with pytest.raises(channel_update.UpdateRefused, match="already a member"):
        channel_update.with_org(changed, group, FOUNDING, org, cert)


def test_removing_an_orderer_org_drops_its_groups_and_its_consenter() -> None:
    changed = channel_update.without_org(_config(), FOUNDING, FOUNDING.org("agg2"))
    groups = changed["channel_group"]["groups"]
    assert "agg2MSP" not in groups["Application"]["groups"] and "agg2MSP" not in groups["Orderer"]["groups"]
    ports = [c["port"] for c in groups["Orderer"]["values"]["ConsensusType"]["value"]["metadata"]["consenters"]]
    assert ports == [30020, 30120]
    with pytest.raises(channel_update.UpdateRefused, match="not a member"):
        channel_update.without_org(changed, FOUNDING, FOUNDING.org("agg2"))


@pytest.mark.parametrize(("count", "needed"), [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3)])
def test_majority_is_more_than_half(count: int, needed: int) -> None:
    assert channel_update.majority(count) == needed


def test_default_signers_add_orderer_orgs_when_the_first_majority_lacks_them() -> None:
    state = state_with(membership.Joined("agg3", "aggregator", 4, False), membership.Joined("agg4", "bsp", 5, True),
                       removed=("agg1", "agg2"))
    topo = membership.current(FOUNDING, state)
    assert org_ops._default_signers(topo, False) == ["dso", "auditor", "agg3"]
    assert org_ops._default_signers(topo, True) == ["dso", "auditor", "agg3", "agg4"]
    assert org_ops.check_signers(topo, org_ops._default_signers(topo, True), True)
