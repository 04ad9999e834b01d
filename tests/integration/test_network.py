"""The network itself: every node up and healthy, identities from the CAs, policies enforced."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from network import fabric_cli
from tests.integration.conftest import LiveNetwork
from tests.small_feeder import SMALL_FEEDER as FEEDER


def _device(**overrides: object) -> dict:
    device = {"id": f"ev-{uuid.uuid4().hex[:8]}", "type": "load", "max_power_mw": 0.022, "min_power_mw": 0.0,
              "capacity_mwh": 0.0, "node": "3", "feeder": "F1"}  # fmt: skip
    device.update(overrides)
    return device




@pytest.fixture(scope="module", autouse=True)
def published_feeder(live_network: LiveNetwork) -> None:
    """Devices must sit on a node of the DSO's published network."""
    live_network.cli("tx", "submit", "--org", "dso", "--user", "operator", "PublishNetwork", json.dumps(FEEDER),
                     check=True)  # fmt: skip


def test_network_up_starts_every_node_healthy_with_chaincode_approved_by_all(live_network: LiveNetwork) -> None:
    status = live_network.status()
    kinds = [n["kind"] for n in status["nodes"]]
    assert kinds.count("ca") == 4
    assert kinds.count("peer") == 4
    assert kinds.count("orderer") == 3
    assert kinds.count("chaincode") == 4
    unhealthy = [f"{n['org']}-{n['kind']}" for n in status["nodes"] if not n["healthy"]]
    assert not unhealthy
    assert all(isinstance(n["pid"], int) for n in status["nodes"])
    assert status["chaincode"]["name"] == "flexledger"
    # 1 after 'up'; each membership change (test_membership.py) commits the next definition
    assert status["chaincode"]["sequence"] == live_network.net.state()["sequence"]
    assert status["chaincode"]["approvals"] == {"dso": True, "agg1": True, "agg2": True, "auditor": True}


def test_device_registered_by_agg1_is_read_back_by_dso(live_network: LiveNetwork) -> None:
    device = _device()
    live_network.cli("tx", "submit", "--org", "agg1", "RegisterDevice", json.dumps(device), check=True)
    read = live_network.cli("tx", "evaluate", "--org", "dso", "ReadDevice", device["id"], check=True)
    stored = json.loads(read.stdout)
    assert stored["id"] == device["id"]
    assert stored["owner"] == "agg1MSP"
    assert stored["max_power_mw"] == pytest.approx(0.022)


def test_all_peers_reach_the_same_height(live_network: LiveNetwork) -> None:
    live_network.cli("tx", "submit", "--org", "agg2", "RegisterDevice", json.dumps(_device()), check=True)
    deadline = time.monotonic() + 30
    while True:
        heights = [n["height"] for n in live_network.status()["nodes"] if n["kind"] == "peer"]
        if len(set(heights)) == 1 and heights[0] is not None:
            break
        assert time.monotonic() < deadline, f"peers did not converge: {heights}"
        time.sleep(1)
    assert heights[0] >= 4  # genesis, lifecycle approvals and commit, then transactions


def test_bad_device_json_is_refused_naming_the_field(live_network: LiveNetwork) -> None:
    bad = _device(max_power_mw=-1)
    proc = live_network.cli("tx", "submit", "--org", "agg1", "RegisterDevice", json.dumps(bad))
    assert proc.returncode != 0
    assert "max_power_mw" in proc.stderr
    missing = live_network.cli("tx", "evaluate", "--org", "dso", "ReadDevice", bad["id"])
    assert missing.returncode != 0, "a refused registration must leave nothing on the ledger"


def test_transaction_without_the_endorsements_the_policy_needs_is_not_committed(
    live_network: LiveNetwork, provoked_invalid
) -> None:
    device = _device()
    net = live_network.net
    provoked_invalid.expect(code="ENDORSEMENT_POLICY_FAILURE")
    with pytest.raises(fabric_cli.FabricCommandFailed) as failure:
        net.invoke("agg1", "trader", "RegisterDevice", json.dumps(device), endorsers=["agg1"])
    assert "ENDORSEMENT_POLICY_FAILURE" in failure.value.output
    missing = live_network.cli("tx", "evaluate", "--org", "dso", "ReadDevice", device["id"])
    assert missing.returncode != 0


def test_a_user_of_one_org_cannot_act_as_another_orgs_admin(live_network: LiveNetwork) -> None:
    net = live_network.net
    agg1, agg2 = net.topo.org("agg1"), net.topo.org("agg2")
    # agg1's user presents its own certificate while claiming agg2's MSP, against agg2's peer.
    env = fabric_cli.peer_env(net.layout, net.topo, agg2, "admin")
    env["CORE_PEER_MSPCONFIGPATH"] = str(net.layout.user_dir(agg1.name, "trader") / "msp")
    with pytest.raises(fabric_cli.FabricCommandFailed) as failure:
        fabric_cli.run("peer", ["lifecycle", "chaincode", "queryinstalled"], env, "queryinstalled as impostor")
    assert "access denied" in failure.value.output.lower() or "failed" in failure.value.output.lower()
    # agg1's own admin is an admin of agg1 only: agg2's peer refuses its admin operations too.
    env = fabric_cli.peer_env(net.layout, net.topo, agg1, "admin", target=agg2)
    with pytest.raises(fabric_cli.FabricCommandFailed) as failure:
        fabric_cli.run("peer", ["lifecycle", "chaincode", "queryinstalled"], env, "queryinstalled on another org")
    assert "access denied" in failure.value.output.lower()
