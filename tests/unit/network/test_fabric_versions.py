"""Fabric builds are told apart by what the binaries say, and configs follow the one table."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from network import configs
from network.fabric_versions import SNAPSHOT, SNAPSHOT_MODULE_VERSION, V2_5, V3_1, UnsupportedFabric, classify
from network.layout import Layout
from network.pki import Enrolled
from network.topology import default_topology


def test_snapshot_is_recognised_by_its_go_module_version_and_named_without_a_release_number() -> None:
    build = classify(SNAPSHOT_MODULE_VERSION, "latest", "development build")
    assert build.line is SNAPSHOT
    assert build.summary == "Fabric main@695dd57e01c2 (2023-04-04, pre-3.0 snapshot)"
    assert "v3" not in build.summary and "2.5" not in build.summary


@pytest.mark.parametrize(("version", "line"), [("2.5.16", V2_5), ("v2.5.0", V2_5), ("3.1.5", V3_1), ("v3.1.1", V3_1)])
def test_release_lines_are_recognised_by_the_stamped_version(version: str, line) -> None:
    build = classify("(devel)", version, "86c1172be")
    assert build.line is line
    assert build.version == "v" + version.lstrip("v")


@pytest.mark.parametrize("version", ["3.0.0", "2.4.9", "latest", "1.4.12"])
def test_an_unsupported_version_is_refused_naming_what_was_found_and_what_is_supported(version: str) -> None:
    with pytest.raises(UnsupportedFabric) as err:
        classify("(devel)", version, "abcdef123")
    message = str(err.value)
    assert version in message
    assert "v2.5.x" in message and "v3.1.x" in message and "main@695dd57e01c2" in message


def _render(line, tmp_path: Path) -> tuple[dict, dict, dict]:
    topo = default_topology(30000)
    layout = Layout(tmp_path)
    org = topo.org("dso")
    node = Enrolled(tmp_path / "msp", tmp_path / "tls")
    (tmp_path / "tls" / "keystore").mkdir(parents=True)
    (tmp_path / "tls" / "keystore" / "key_sk").write_text("")
    core = configs.peer_core(layout, topo, org, node, line)
    orderer = configs.orderer_config(layout, topo, org, node, line)
    ctx = configs.configtx(layout, topo, {o.name: node for o in topo.orderer_orgs}, line)
    return core, orderer, ctx


@pytest.mark.parametrize("line", [SNAPSHOT, V2_5])
def test_pre_3_builds_get_no_keys_their_orderer_refuses_and_no_v3_capability(line, tmp_path: Path) -> None:
    core, orderer, ctx = _render(line, tmp_path)
    assert "Backoff" not in orderer["General"] and "Throttling" not in orderer["General"]
    filters = [f["name"] for f in core["peer"]["handlers"]["authFilters"]]
    assert "TimeWindowCheck" not in filters
    assert "policy" not in core["peer"]["deliveryclient"]
    assert "runtimeParams" not in core["chaincode"]  # these peers have no batched state access
    assert ctx["Profiles"]["FlexChannel"]["Capabilities"] == {"V2_0": True}


def test_v3_1_gets_its_orderer_keys_time_window_filter_and_v3_capability(tmp_path: Path) -> None:
    core, orderer, ctx = _render(V3_1, tmp_path)
    assert {"Backoff", "Throttling"} <= set(orderer["General"])
    assert "TimeWindowCheck" in [f["name"] for f in core["peer"]["handlers"]["authFilters"]]
    assert ctx["Profiles"]["FlexChannel"]["Capabilities"] == {"V3_0": True}
    params = core["chaincode"]["runtimeParams"]  # batched reads and write batches offered to the chaincode
    assert params["useWriteBatch"] and params["useGetMultipleKeys"] and params["maxSizeGetMultipleKeys"] >= 6
    yaml.safe_dump(orderer)  # renders as YAML
