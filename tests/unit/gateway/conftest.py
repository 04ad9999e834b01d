from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import gw_fake_peer as fake_gateway
import pytest
from gw_api_support import Env, build
from gw_pki import PEER_NAME, Issued, TestCA

from gateway.client import Gateway, connect
from gateway.identity import X509Identity, signer_from_pem
from gateway.retry import SETTLE_RETRY

ORGS = ["dsoMSP", "agg1MSP", "agg2MSP"]


@pytest.fixture(scope="session")
def ca() -> TestCA:
    return TestCA()


@pytest.fixture(scope="session")
def user1(ca: TestCA) -> Issued:
    return ca.issue("user1", role="aggregator")


@pytest.fixture(scope="session")
def tls(ca: TestCA) -> Issued:
    return ca.issue(PEER_NAME, dns=[PEER_NAME])


@pytest.fixture()
def fake(tls: Issued) -> Iterator[tuple[fake_gateway.FakeGateway, int]]:
    servicer = fake_gateway.FakeGateway(ORGS, "agg1MSP")
    server, port = fake_gateway.start(servicer, tls.key_pem, tls.cert_pem)
    yield servicer, port
    server.stop(None)


@pytest.fixture()
def gw(fake, ca: TestCA, user1: Issued) -> Iterator[Gateway]:
    _, port = fake
    gateway = connect(f"127.0.0.1:{port}", X509Identity("agg1MSP", user1.cert_pem),
                      signer_from_pem(user1.key_pem), tls_root_cert=ca.cert_pem, server_name=PEER_NAME,
                      endorse_retry=dataclasses.replace(SETTLE_RETRY, peer_catch_up=1.0))
    yield gateway
    gateway.close()


@pytest.fixture()
def profile_file(tmp_path: Path, fake, ca: TestCA, user1: Issued) -> Path:
    """A connection profile in the exact shape ``network up`` writes, pointing at the fake peer."""
    _, port = fake
    (tmp_path / "tlsca.pem").write_bytes(ca.cert_pem)
    (tmp_path / "user1-cert.pem").write_bytes(user1.cert_pem)
    (tmp_path / "user1-key.pem").write_bytes(user1.key_pem)
    profile = {
        "org": "agg1", "msp_id": "agg1MSP", "channel": "flexchannel", "chaincode": "flexledger",
        "peer": {"endpoint": f"127.0.0.1:{port}", "server_name": PEER_NAME,
                 "tls_ca_cert": str(tmp_path / "tlsca.pem")},
        "ca": {"url": "https://127.0.0.1:1", "name": "ca-agg1", "tls_ca_cert": str(tmp_path / "tlsca.pem")},
        "identities": {"user1": {"cert": str(tmp_path / "user1-cert.pem"), "key": str(tmp_path / "user1-key.pem"),
                                 "role": "aggregator"}},
        "wallet": str(tmp_path / "wallet"),
    }
    path = tmp_path / "agg1.json"
    path.write_text(json.dumps(profile))
    return path


@pytest.fixture()
def env(tmp_path: Path, ca: TestCA) -> Iterator[Env]:
    """The REST app on an in-memory ledger (gw_api_support.build), closed after the test."""
    built = build(tmp_path, ca)
    yield built
    built.close()
