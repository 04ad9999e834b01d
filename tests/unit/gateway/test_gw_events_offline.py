"""Chaincode event streaming with checkpoints, and offline signing, against the in-process gateway."""

from __future__ import annotations

import threading

import pytest
from gw_pki import PEER_NAME

from gateway.client import connect
from gateway.errors import ConfigError
from gateway.events import Checkpoint, FileCheckpoint
from gateway.identity import X509Identity
from gateway.offline import evaluate_offline, sign_digest, submit_offline


def network(gw):
    return gw.get_network("flexchannel")


def put_keys(gw, *keys):
    c = network(gw).get_contract("flexledger")
    return [c.submit_async("Put", k, "v").status() for k in keys]


def take(stream, n):
    out = []
    for event in stream:
        out.append(event)
        if len(out) == n:
            break
    stream.close()
    return out


def test_events_replay_from_a_block_in_order(gw):
    statuses = put_keys(gw, "a", "b", "c")
    stream = network(gw).chaincode_events("flexledger", start_block=statuses[0].block_number)
    events = take(stream, 3)
    assert [e.json()["key"] for e in events] == ["a", "b", "c"]
    assert [e.transaction_id for e in events] == [s.transaction_id for s in statuses]
    assert events[0].event_name == "Put" and events[0].chaincode_name == "flexledger"


def test_events_resume_after_checkpoint_without_repeat_or_gap(gw):
    first = put_keys(gw, "a", "b", "c")
    checkpoint = Checkpoint()
    seen = take(network(gw).chaincode_events("flexledger", checkpoint=checkpoint,
                                             start_block=first[0].block_number), 2)
    assert [e.json()["key"] for e in seen] == ["a", "b"]
    # the consumer took "b": the checkpoint resumes right after it
    checkpoint.checkpoint_event(seen[-1])
    put_keys(gw, "d")
    resumed = take(network(gw).chaincode_events("flexledger", checkpoint=checkpoint), 2)
    assert [e.json()["key"] for e in resumed] == ["c", "d"]


def test_file_checkpoint_survives_a_restart(gw, tmp_path):
    put_keys(gw, "a", "b")
    path = tmp_path / "cp.json"
    cp = FileCheckpoint(path)
    cp.checkpoint_block(0)
    handled = take(network(gw).chaincode_events("flexledger", checkpoint=cp), 1)
    cp.checkpoint_event(handled[0])
    cp_after = FileCheckpoint(path)
    assert cp_after.block_number is not None
    rest = take(network(gw).chaincode_events("flexledger", checkpoint=cp_after), 1)
    assert rest[0].json()["key"] == "b"


def test_live_events_arrive_after_subscription(gw):
    stream = network(gw).chaincode_events("flexledger")
    got = []
    reader = threading.Thread(target=lambda: got.extend(take(stream, 1)))
    reader.start()
    import time

    time.sleep(0.2)
    put_keys(gw, "live")
    reader.join(5)
    assert [e.json()["key"] for e in got] == ["live"]


def offline_gateway(fake, ca, user1):
    _, port = fake
    return connect(f"127.0.0.1:{port}", X509Identity("agg1MSP", user1.cert_pem), None,
                   tls_root_cert=ca.cert_pem, server_name=PEER_NAME)


def test_offline_signing_submits_with_an_external_signer(fake, ca, user1):
    gw = offline_gateway(fake, ca, user1)
    asked = []

    def external(digest: bytes) -> bytes:
        asked.append(digest)
        return sign_digest(user1.key_pem, digest)

    contract = network(gw).get_contract("flexledger")
    result, status = submit_offline(contract, external, "Put", "off", "line")
    assert result == b"line" and status.successful
    assert len(asked) == 3 and all(len(d) == 32 for d in asked)
    assert evaluate_offline(contract, external, "Get", "off") == b"line"
    gw.close()


def test_without_signer_unsigned_steps_refuse_clearly(fake, ca, user1):
    gw = offline_gateway(fake, ca, user1)
    proposal = network(gw).get_contract("flexledger").new_proposal("WhoAmI")
    with pytest.raises(ConfigError, match="new_signed_proposal"):
        proposal.evaluate()
    with pytest.raises(ConfigError, match="signer"):
        network(gw).get_contract("flexledger").evaluate("WhoAmI")
    gw.close()


def test_offline_signature_by_another_key_is_rejected_by_the_peer(fake, ca, user1):
    from gateway.errors import EvaluateError

    gw = offline_gateway(fake, ca, user1)
    other = ca.issue("mallory", role="aggregator")
    proposal = network(gw).get_contract("flexledger").new_proposal("WhoAmI")
    forged = gw.new_signed_proposal(proposal.bytes, sign_digest(other.key_pem, proposal.digest))
    with pytest.raises(EvaluateError, match="signature"):
        forged.evaluate()
    gw.close()
