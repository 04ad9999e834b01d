"""Builds the REST app for unit tests: fake ledger, real token store, fake CA over httpx.MockTransport."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from fastapi.testclient import TestClient
from gw_fake_ledger import FakeLedger
from gw_pki import TestCA

from gateway.ca import CAClient
from gateway.identity import signer_from_pem
from gateway.profile import ConnectionProfile
from restapi import create_app
from restapi.auth import TokenStore

USERS = {"admin": ("agg1MSP", "admin"), "trader": ("agg1MSP", "aggregator"),
         "trader2": ("agg2MSP", "aggregator"), "operator": ("dsoMSP", "dso"),
         "settlement": ("dsoMSP", "settlement"), "inspector": ("auditorMSP", "auditor")}


def profile(org: str, msp: str, wallet: Path) -> ConnectionProfile:
    return ConnectionProfile.model_validate({
        "org": org, "msp_id": msp, "channel": "flexchannel", "chaincode": "flexledger",
        "peer": {"endpoint": "127.0.0.1:1", "server_name": "peer", "tls_ca_cert": "unused.pem"},
        "ca": {"url": "https://127.0.0.1:2", "name": f"ca-{org}", "tls_ca_cert": "unused.pem"},
        "identities": {}, "wallet": str(wallet)})


class FakeCA:
    """Fabric CA REST semantics that the service relies on: register (token auth) then enroll (basic auth)."""

    def __init__(self, ca: TestCA) -> None:
        self.ca = ca
        self.registered: dict[str, tuple[str, str]] = {}
        self.tokens_seen: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if request.url.path == "/api/v1/register":
            self.tokens_seen.append(request.headers.get("authorization", ""))
            if body["id"] in self.registered:
                return httpx.Response(400, json={"success": False, "errors": [
                    {"code": 74, "message": f"Identity '{body['id']}' is already registered"}]})
            role = next(a["value"] for a in body["attrs"] if a["name"] == "role")
            self.registered[body["id"]] = (body["secret"], role)
            return httpx.Response(201, json={"success": True, "result": {"secret": body["secret"]}})
        if request.url.path == "/api/v1/enroll":
            user, _, secret = base64.b64decode(request.headers["authorization"].split()[1]).decode().partition(":")
            if self.registered.get(user, ("",))[0] != secret:
                return httpx.Response(401, json={"success": False, "errors": [{"code": 20, "message": "bad"}]})
            csr = x509.load_pem_x509_csr(body["certificate_request"].encode())
            cert = self._sign(csr, self.registered[user][1])
            return httpx.Response(201, json={"success": True, "result": {
                "Cert": base64.b64encode(cert).decode(), "ServerInfo": {}}})
        return httpx.Response(404, json={"success": False, "errors": [{"message": "no route"}]})

    def _sign(self, csr: x509.CertificateSigningRequest, role: str) -> bytes:
        import datetime as dt

        from cryptography.hazmat.primitives import hashes, serialization

        from gateway.identity import FABRIC_ATTRS_OID

        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(self.ca.cert.subject)
                .public_key(csr.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
                .add_extension(x509.UnrecognizedExtension(
                    FABRIC_ATTRS_OID, json.dumps({"attrs": {"role": role}}).encode()), critical=False)
                .sign(self.ca.key, hashes.SHA256()))
        return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class Env:
    ledger: FakeLedger
    agg1: TestClient
    agg2: TestClient
    dso: TestClient
    auditor: TestClient
    tokens: dict[str, str]
    fake_ca: FakeCA

    def close(self) -> None:
        for client in (self.agg1, self.agg2, self.dso, self.auditor):
            client.__exit__(None, None, None)

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}


def build(tmp: Path, ca: TestCA, ledger: Any = None, bid_lane: bool = True) -> Env:
    """The four organisations' apps on one ledger port: the fake ledger unless another is given."""
    ledger = FakeLedger(ca, USERS) if ledger is None else ledger
    fake_ca = FakeCA(ca)
    admin = ca.issue("admin", role="admin")
    tokens: dict[str, str] = {}
    clients = {}
    for org, msp in (("agg1", "agg1MSP"), ("agg2", "agg2MSP"), ("dso", "dsoMSP"), ("auditor", "auditorMSP")):
        wallet = tmp / org / "wallet"
        store = TokenStore(wallet / "api-tokens.json")
        for user, (user_msp, _) in USERS.items():
            if user_msp == msp:
                tokens[user] = store.issue(user)

        def ca_factory(org: str = org) -> CAClient:
            return CAClient("https://ca.test", f"ca-{org}", transport=httpx.MockTransport(fake_ca.handler))

        app = create_app(profile(org, msp, wallet), ledger=ledger, tokens=store, ca_factory=ca_factory,
                         registrar=lambda: (admin.cert_pem, signer_from_pem(admin.key_pem)), bid_lane=bid_lane)
        clients[org] = TestClient(app).__enter__()  # one event-loop portal for all requests: fast
    if not isinstance(ledger, FakeLedger):
        return Env(ledger, clients["agg1"], clients["agg2"], clients["dso"], clients["auditor"], tokens, fake_ca)
    # the fake ledger must know users enrolled through the API, as the wallet does for the real ledger
    original_identity = ledger.identity

    def identity(user: str):
        for org in ("agg1", "agg2", "dso", "auditor"):
            cert = tmp / org / "wallet" / user / "cert.pem"
            if user not in ledger.users and cert.is_file():
                role = (cert.parent / "role").read_text().strip()
                msp = {"agg1": "agg1MSP", "agg2": "agg2MSP", "dso": "dsoMSP", "auditor": "auditorMSP"}[org]
                ledger.add_user(ca, user, msp, role)
        return original_identity(user)

    ledger.identity = identity  # type: ignore[method-assign]
    return Env(ledger, clients["agg1"], clients["agg2"], clients["dso"], clients["auditor"], tokens, fake_ca)


MARKET = {"id": "x1", "kind": "flexibility", "day": "2026-11-21", "gate_opens": "2026-11-21T00:00:00Z",
          "gate_closes": "2026-11-21T10:00:00Z"}


def error_of(response: Any) -> dict:
    """The one error body every REST error has, checked for its shape."""
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
    return body["error"]
