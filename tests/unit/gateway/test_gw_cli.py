"""``flexledger gateway`` sub-commands that need no running network."""

from __future__ import annotations

import json

from flexledger.cli import main
from gateway.profile import load_profile
from restapi.auth import TokenStore
from restapi.server import default_address, prepare


def test_gateway_up_without_a_network_says_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FLEXLEDGER_HOME", str(tmp_path))
    assert main(["gateway", "up", "--org", "agg1"]) == 2
    assert "flexledger network up" in capsys.readouterr().err


def test_users_token_prints_a_token_the_service_accepts(tmp_path, monkeypatch, capsys, profile_file):
    monkeypatch.setenv("FLEXLEDGER_HOME", str(tmp_path))
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "agg1.json").write_text(profile_file.read_text())
    assert main(["gateway", "users", "token", "--org", "agg1", "user1"]) == 0
    token = capsys.readouterr().out.strip()
    wallet = load_profile(profile_file).wallet
    assert TokenStore(wallet / "api-tokens.json").user_of(token) == "user1"
    assert main(["gateway", "users", "token", "--org", "agg1", "ghost"]) == 2
    assert "ghost" in capsys.readouterr().err


def test_prepare_listens_where_the_profile_says_and_writes_the_admin_token_0600(tmp_path, profile_file):
    data = json.loads(profile_file.read_text())
    data["gateway_url"] = "http://127.0.0.1:27140"
    profile_file.write_text(json.dumps(data))
    prepared = prepare("agg1", None, None, profile_file)
    assert (prepared.host, prepared.port) == ("127.0.0.1", 27140)
    assert prepared.admin_token_path.stat().st_mode & 0o777 == 0o600
    store = TokenStore(prepared.profile.wallet / "api-tokens.json")
    assert store.user_of(prepared.admin_token) == "admin"
    again = prepare("agg1", None, 9999, profile_file)
    assert store.user_of(prepared.admin_token) is None and store.user_of(again.admin_token) == "admin"
    assert default_address(load_profile(profile_file)) == ("127.0.0.1", 27140)
