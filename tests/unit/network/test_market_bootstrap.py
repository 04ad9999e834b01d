"""The market's first steps after ``network up`` (flexledger/bootstrap.py) through network/'s generic means."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flexledger import fault_injection, governance
from network import manager
from network.fabric_cli import FabricCommandFailed
from network.layout import Layout
from network.topology import default_topology


def _network(tmp_path: Path) -> manager.Network:
    return manager.Network(topo=default_topology(30000), layout=Layout(tmp_path), progress=lambda m: None)


def test_the_governance_document_names_each_role_by_msp_and_every_admin_as_voter() -> None:
    config = governance.marketplace_config(default_topology(30000))
    assert config == {"dso": "dsoMSP", "aggregators": ["agg1MSP", "agg2MSP"], "auditors": ["auditorMSP"],
                      "tso": ["dsoMSP"], "settlement": ["dsoMSP"],
                      "admins": ["agg1MSP", "agg2MSP", "auditorMSP", "dsoMSP"]}  # fmt: skip


def test_governance_is_recorded_once_and_not_again_after_an_interrupted_run(monkeypatch, tmp_path: Path) -> None:
    net, calls = _network(tmp_path), []

    def query(org: str, user: str, function: str, *args: str) -> str:
        calls.append(("query", function))
        if not any(c[1] == "InitMarketplace" for c in calls):
            raise FabricCommandFailed("query GetMarketplace", "marketplace: is not initialised")
        return "{}"

    monkeypatch.setattr(net, "query", query)
    monkeypatch.setattr(net, "invoke", lambda org, user, fn, *args: calls.append(("invoke", fn, json.loads(args[0]))))
    assert governance.ensure_initialised(net) is True
    assert calls[1] == ("invoke", "InitMarketplace", governance.marketplace_config(net.topo))
    assert governance.ensure_initialised(net) is False and len(calls) == 2  # noted in the state: not even asked
    net._save_state(marketplace=False)  # as if the run stopped between the transaction and the note
    assert governance.ensure_initialised(net) is False and calls[-1] == ("query", "GetMarketplace")


def test_the_oracle_fault_reaches_only_that_orgs_chaincode_server_and_a_plain_switch_removes_it(tmp_path: Path) -> None:
    net = _network(tmp_path)
    for org in ("agg1", "agg2"):
        keystore = net.layout.node_dir(org, "chaincode") / "tls" / "keystore"
        keystore.mkdir(parents=True)
        (keystore / "key_sk").write_text("")
    fault_injection.set_oracle_fault(net, "agg2")
    assert net.chaincode_spec(net.topo.org("agg2"), "pkg").env[fault_injection.ENV] == "1"
    assert fault_injection.ENV not in net.chaincode_spec(net.topo.org("agg1"), "pkg").env
    assert fault_injection.oracle_fault(net) == "agg2"
    fault_injection.set_oracle_fault(net, None)
    assert fault_injection.ENV not in net.chaincode_spec(net.topo.org("agg2"), "pkg").env
    assert fault_injection.oracle_fault(net) is None
    with pytest.raises(KeyError, match="agg1"):
        fault_injection.set_oracle_fault(net, "nobody")
