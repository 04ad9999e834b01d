"""Every bootstrap step's outcome is checked: an orderer's refusal or a foreign genesis stops ``up``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from network import channel, manager
from network.fabric_versions import SNAPSHOT, V3_1, FabricBuild
from network.layout import Layout
from network.processes import last_words
from network.topology import default_topology


def _admin_tls(layout: Layout, org: str) -> None:
    keystore = layout.user_dir(org, "admin") / "tls" / "keystore"
    keystore.mkdir(parents=True)
    (keystore / "key_sk").write_text("")


def test_an_orderer_answering_400_to_channel_join_stops_up_with_its_own_words(monkeypatch, tmp_path: Path) -> None:
    layout, topo = Layout(tmp_path), default_topology(30000)
    _admin_tls(layout, "dso")
    answers = iter(['Status: 200\n{"systemChannel": null, "channels": null}',
                    'Status: 400\n{\n\t"error": "cannot join: channel capability V3_0 is not supported"\n}'])  # fmt: skip
    monkeypatch.setattr(channel.fabric_cli, "run", lambda *a, **k: next(answers))
    with pytest.raises(channel.OrdererRefused) as err:
        channel.join_orderers(layout, topo)
    message = str(err.value)
    assert "dso-orderer" in message and "HTTP 400" in message and "V3_0 is not supported" in message


def test_a_channel_list_without_a_status_line_is_not_taken_as_success(monkeypatch, tmp_path: Path) -> None:
    layout, topo = Layout(tmp_path), default_topology(30000)
    _admin_tls(layout, "agg1")
    monkeypatch.setattr(channel.fabric_cli, "run", lambda *a, **k: "Error: connection refused")
    with pytest.raises(channel.OrdererRefused, match="connection refused"):
        channel.orderer_channels(layout, topo, "agg1")


def test_last_words_are_the_nodes_error_and_panic_lines(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    layout.logs.mkdir(parents=True)
    layout.log("dso-peer").write_text(
        "\x1b[34m2026-12-03 INFO\x1b[0m starting\n"
        "2026-12-03 ERRO [core.handlers] unknown auth filter TimeWindowCheck\n"
        "panic: Failed loading auth filter TimeWindowCheck\n"
        "goroutine 1 [running]:\n"
    )
    words = last_words(layout, "dso-peer")
    assert words == ["2026-12-03 ERRO [core.handlers] unknown auth filter TimeWindowCheck",
                     "panic: Failed loading auth filter TimeWindowCheck"]  # fmt: skip


def test_up_refuses_a_state_folder_made_for_another_fabric_line(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(manager, "locate", lambda tool: Path("/bin/true"))
    made = manager.Network(topo=default_topology(30000), layout=Layout(tmp_path), progress=lambda m: None)
    made.__dict__["fabric"] = FabricBuild(V3_1, "v3.1.5", "86c1172be")
    tmp_path.mkdir(exist_ok=True)
    made.layout.state_file.write_text(json.dumps({"fingerprint": made.fingerprint(), "fabric": made.fabric.summary,
                                                  "ready": True}))  # fmt: skip
    now = manager.Network(topo=default_topology(30000), layout=Layout(tmp_path), progress=lambda m: None)
    now.__dict__["fabric"] = FabricBuild(SNAPSHOT, "main@695dd57e01c2", "695dd57e01c2")
    with pytest.raises(RuntimeError, match="network down") as err:
        now.up()
    assert "made with Fabric v3.1.5" in str(err.value) and "main@695dd57e01c2" in str(err.value)


def test_up_refuses_a_state_folder_made_for_other_ports(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(manager, "locate", lambda tool: Path("/bin/true"))
    build = FabricBuild(SNAPSHOT, "main@695dd57e01c2", "695dd57e01c2")
    made = manager.Network(topo=default_topology(30000), layout=Layout(tmp_path), progress=lambda m: None)
    made.__dict__["fabric"] = build
    made.layout.state_file.write_text(json.dumps({"fingerprint": made.fingerprint(), "ready": True}))
    moved = manager.Network(topo=default_topology(31000), layout=Layout(tmp_path), progress=lambda m: None)
    moved.__dict__["fabric"] = build
    with pytest.raises(RuntimeError, match="ports or channel differ") as err:
        moved.up()
    assert "network down" in str(err.value)
