"""``flexledger network status`` of a network that is not running: every node down, nothing approved."""

from __future__ import annotations

import json

from network import manager
from network.layout import Layout
from network.topology import default_topology


def test_status_of_a_stopped_network_reports_every_node_down_and_prints_as_json(tmp_path) -> None:
    topo = default_topology(30000)
    status = manager.Network(topo=topo, layout=Layout(tmp_path), progress=lambda m: None).status()
    assert not status.healthy
    assert {(n.org, n.kind) for n in status.nodes} >= {(o.name, "peer") for o in topo.orgs}
    assert all(n.pid is None and n.height is None for n in status.nodes)
    assert status.peer_heights() == {o.name: None for o in topo.orgs}
    assert status.chaincode.approvals == {o.name: False for o in topo.orgs} and status.chaincode.sequence is None
    printed = json.loads(json.dumps(status.to_dict()))
    assert printed["chaincode"]["name"] == topo.chaincode
    assert {n["kind"] for n in printed["nodes"]} == {"ca", "peer", "orderer", "chaincode"}
