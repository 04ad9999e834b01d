"""Fabric CA REST client (against a stub CA over httpx.MockTransport) and the profile loader."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from cryptography import x509
from gw_api_support import FakeCA

from gateway.ca import CAClient, CAError, token
from gateway.errors import ConfigError
from gateway.identity import X509Identity, digest, signer_from_pem, verify
from gateway.profile import load_profile


def test_registration_token_is_cert_dot_signature_over_method_uri_body_cert(ca):
    registrar = ca.issue("admin", role="admin")
    body = b'{"id": "alice"}'
    tok = token("POST", "/api/v1/register", body, registrar.cert_pem, signer_from_pem(registrar.key_pem))
    b64cert, b64sig = tok.split(".")
    assert base64.b64decode(b64cert) == registrar.cert_pem
    payload = "POST." + base64.b64encode(b"/api/v1/register").decode() + "." + base64.b64encode(body).decode() \
        + "." + b64cert
    assert verify(registrar.cert_pem, payload.encode(), base64.b64decode(b64sig))
    assert len(digest(payload.encode())) == 32


def test_register_then_enroll_gives_a_cert_for_our_own_key_with_the_role(ca):
    stub = FakeCA(ca)
    client = CAClient("https://ca.test", "ca-agg1", transport=httpx.MockTransport(stub.handler))
    registrar = ca.issue("admin", role="admin")
    secret = client.register(registrar.cert_pem, signer_from_pem(registrar.key_pem), "alice", "aggregator")
    enrolled = client.enroll("alice", secret)
    cert = x509.load_pem_x509_certificate(enrolled.cert_pem)
    key = signer_from_pem(enrolled.key_pem)
    assert verify(enrolled.cert_pem, b"hello", key(digest(b"hello")))  # the cert certifies the key we kept
    assert X509Identity("agg1MSP", enrolled.cert_pem).attributes["role"] == "aggregator"
    assert cert.subject.rfc4514_string() == "CN=alice"


def test_ca_refusals_become_ca_errors(ca):
    stub = FakeCA(ca)
    client = CAClient("https://ca.test", "ca-agg1", transport=httpx.MockTransport(stub.handler))
    registrar = ca.issue("admin", role="admin")
    client.register(registrar.cert_pem, signer_from_pem(registrar.key_pem), "bob", "aggregator")
    with pytest.raises(CAError) as err:
        client.register(registrar.cert_pem, signer_from_pem(registrar.key_pem), "bob", "aggregator")
    assert err.value.already_registered and err.value.code == 74
    with pytest.raises(CAError) as err:
        client.enroll("bob", "wrong-secret")
    assert err.value.authentication_failed


def test_unreachable_ca_is_a_clear_error():
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with pytest.raises(CAError, match="cannot reach"):
        CAClient("https://ca.test", "ca", transport=httpx.MockTransport(down)).enroll("a", "b")


def test_profile_errors_name_the_field(tmp_path, profile_file):
    data = json.loads(profile_file.read_text())
    del data["peer"]["endpoint"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"profile\.peer\.endpoint"):
        load_profile(bad)
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not JSON"):
        load_profile(bad)


def test_profile_finds_users_enrolled_into_the_wallet(profile_file, ca):
    profile = load_profile(profile_file)
    alice = ca.issue("alice", role="aggregator")
    folder = profile.wallet / "alice"
    folder.mkdir(parents=True)
    (folder / "cert.pem").write_bytes(alice.cert_pem)
    (folder / "key.pem").write_bytes(alice.key_pem)
    (folder / "role").write_text("aggregator\n")
    files = profile.identity_files("alice")
    assert files.role == "aggregator" and files.cert == folder / "cert.pem"
    assert profile.wallet_users() == ["alice"]
