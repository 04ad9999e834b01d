"""Setup and ``up`` tell a usable Fabric from a rejected one, and say which and why."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from network import binaries
from network.binaries import FABRIC_TOOLS, BinariesMissing, BuildOutcome, fabric_build


def _fake_fabric(folder: Path, version: str, commit: str = "86c1172be", skip: tuple[str, ...] = ()) -> Path:
    """Scripts that answer their version command the way Fabric's binaries do."""
    folder.mkdir(parents=True, exist_ok=True)
    for tool in FABRIC_TOOLS:
        if tool in skip:
            continue
        path = folder / tool
        path.write_text(f"#!/bin/sh\nprintf '{tool}:\\n Version: {version}\\n Commit SHA: {commit}\\n'\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return folder


def test_release_binaries_of_a_supported_line_are_detected_from_what_they_say(tmp_path: Path) -> None:
    build = fabric_build(_fake_fabric(tmp_path / "bin", "2.5.16", "f871cf92a"))
    assert build.summary == "Fabric v2.5.16 (Fabric v2.5.x (LTS), commit f871cf92a)"


def test_an_unsupported_release_is_rejected_naming_what_was_found_and_what_is_supported(tmp_path: Path) -> None:
    with pytest.raises(BinariesMissing) as err:
        fabric_build(_fake_fabric(tmp_path / "bin", "3.0.0"))
    message = str(err.value)
    assert "peer rejected" in message and "Fabric 3.0.0" in message and "v3.1.x" in message


def test_tools_of_different_releases_are_refused(tmp_path: Path) -> None:
    folder = _fake_fabric(tmp_path / "bin", "3.1.5")
    _fake_fabric(tmp_path / "other", "2.5.16")
    (folder / "orderer").write_bytes((tmp_path / "other" / "orderer").read_bytes())
    with pytest.raises(BinariesMissing, match="orderer is Fabric v2.5.16"):
        fabric_build(folder)


def test_a_folder_missing_a_tool_names_the_tool(tmp_path: Path) -> None:
    with pytest.raises(BinariesMissing, match="osnadmin: not found"):
        fabric_build(_fake_fabric(tmp_path / "bin", "3.1.5", skip=("osnadmin",)))


def _no_ca_build(monkeypatch) -> None:
    real = binaries._ensure_group

    def group(tools, check, build, what, progress):
        if tools == binaries.FABRIC_CA_TOOLS:
            return [BuildOutcome(t, Path("/ca") / t, "present") for t in tools]
        return real(tools, check, build, what, progress)

    monkeypatch.setattr(binaries, "_ensure_group", group)


def test_setup_says_found_but_rejected_for_an_unsupported_release(monkeypatch, tmp_path, capsys) -> None:
    _no_ca_build(monkeypatch)
    monkeypatch.setenv(binaries.FABRIC_BIN_ENV, str(_fake_fabric(tmp_path / "bin", "2.4.9")))
    assert binaries._main(["ensure", "--strict"]) == 1
    out = capsys.readouterr().out
    assert "found but rejected" in out and "2.4.9" in out and "could not build" not in out


def test_setup_says_could_not_build_with_gos_own_error(monkeypatch, tmp_path, capsys) -> None:
    _no_ca_build(monkeypatch)
    monkeypatch.delenv(binaries.FABRIC_BIN_ENV, raising=False)
    monkeypatch.setattr(binaries, "bin_dir", lambda: tmp_path / "bin")
    monkeypatch.setattr(binaries, "cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(binaries, "_wrapper_build",
                        lambda *a, **k: (1, "go: reading module: 403 Forbidden", "$ go install -mod=mod ..."))  # fmt: skip
    assert binaries._main(["ensure", "--strict"]) == 1
    out = capsys.readouterr().out
    assert "could not build peer" in out and "403 Forbidden" in out and "found but rejected" not in out
