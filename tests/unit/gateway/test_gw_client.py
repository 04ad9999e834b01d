"""Client library against an in-process Gateway server (the real-network tests are in tests/integration)."""

from __future__ import annotations

import dataclasses

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from contract.kinds import Kind
from gateway import CommitError, EndorseError, EvaluateError, connect_from_profile
from gateway.errors import ConfigError
from gateway.identity import P256_ORDER, X509Identity, digest, low_s, signer_from_key, verify
from gateway.proposal import build_proposal, transaction_id
from gateway.retry import RetryPolicy


def contract(gw):
    return gw.get_network("flexchannel").get_contract("flexledger")


def test_transaction_id_is_sha256_of_nonce_and_creator():
    creator = X509Identity("agg1MSP", b"cert").serialize()
    built = build_proposal(creator, "flexchannel", "flexledger", "Get", [b"k"], nonce=b"n" * 24)
    import hashlib

    assert built.transaction_id == hashlib.sha256(b"n" * 24 + creator).hexdigest()
    assert transaction_id(b"n" * 24, creator) == built.transaction_id


def test_signatures_are_always_low_s():
    key = ec.generate_private_key(ec.SECP256R1())
    sign = signer_from_key(key)
    for i in range(40):
        _, s = decode_dss_signature(sign(digest(b"message %d" % i)))
        assert s <= P256_ORDER // 2


def test_low_s_flips_a_high_s_signature_and_keeps_it_valid(user1):
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    from gateway.identity import load_private_key

    key = load_private_key(user1.key_pem)
    sig = signer_from_key(key)(digest(b"m"))
    r, s = decode_dss_signature(sig)
    high = encode_dss_signature(r, P256_ORDER - s)
    assert low_s(high) == sig
    assert verify(user1.cert_pem, b"m", high) and verify(user1.cert_pem, b"m", low_s(high))


def test_identity_reads_role_attribute_from_certificate(user1):
    assert X509Identity("agg1MSP", user1.cert_pem).attributes["role"] == "aggregator"


def test_evaluate_returns_chaincode_result_signed_by_caller(gw):
    assert contract(gw).evaluate("WhoAmI") == b"agg1MSP"


def test_submit_waits_for_commit_and_returns_result(gw, fake):
    servicer, _ = fake
    assert contract(gw).submit("Put", "k1", "v1") == b"v1"
    assert servicer.chaincode.state["k1"] == b"v1"
    assert [c[0] for c in servicer.calls] == ["Endorse", "Submit"]
    assert contract(gw).evaluate("Get", "k1") == b"v1"


def test_submit_async_returns_before_status_with_block_number(gw):
    submitted = contract(gw).submit_async("Put", "k2", "v2")
    assert submitted.result == b"v2"
    status = submitted.status()
    assert status.successful and status.code_name == "VALID" and status.block_number >= 1
    assert status.transaction_id == submitted.transaction_id


def test_invalid_commit_raises_commit_error_naming_validation_code(gw):
    with pytest.raises(CommitError) as err:
        contract(gw).submit("Conflict")
    assert err.value.code_name == "MVCC_READ_CONFLICT"
    assert "MVCC_READ_CONFLICT" in str(err.value)


def test_chaincode_refusal_on_evaluate_carries_peer_details(gw):
    with pytest.raises(EvaluateError) as err:
        contract(gw).evaluate("Get", "missing")
    assert err.value.code == grpc.StatusCode.UNKNOWN
    assert err.value.details[0].msp_id == "agg1MSP"
    assert err.value.chaincode_message == "key: missing not found"
    assert err.value.chaincode_kind == Kind.NOT_FOUND


def test_chaincode_refusal_on_submit_is_endorse_error_with_field_message(gw, fake):
    with pytest.raises(EndorseError) as err:
        contract(gw).submit("Fail")
    assert err.value.chaincode_message == "device.max_power_mw: must be > 0"
    assert err.value.chaincode_kind == Kind.INVALID_ARGUMENT
    assert err.value.mismatched_orgs == []
    assert not any(c[0] == "Submit" for c in fake[0].calls)


def test_divergent_endorsement_names_the_disagreeing_organisation(gw, fake):
    servicer, _ = fake
    servicer.diverging = {"agg2MSP"}
    with pytest.raises(EndorseError) as err:
        contract(gw).submit("Put", "k", "v")
    assert err.value.mismatched_orgs == ["agg2MSP"]
    groups = sorted(sorted(orgs) for orgs in err.value.disagreement.values())
    assert groups == [["agg1MSP"], ["agg2MSP"]]
    assert "agg2MSP" in str(err.value)
    assert not any(c[0] == "Submit" for c in servicer.calls)


def test_refusal_by_a_lagging_remote_peer_is_endorsed_again(gw, fake):
    servicer, _ = fake
    servicer.lagging_refusals = 2
    assert contract(gw).submit("Put", "lag", "v") == b"v"
    assert [c[0] for c in servicer.calls].count("Endorse") == 3


def test_refusal_that_persists_on_a_remote_peer_is_reported_after_the_catch_up_window(gw, fake):
    servicer, _ = fake
    servicer.lagging_refusals = 1000
    with pytest.raises(EndorseError) as err:
        contract(gw).submit("Put", "lag", "v")
    assert err.value.chaincode_message.startswith("bid.market_id:")
    assert err.value.details[0].msp_id == "agg2MSP"


def test_refusal_by_the_own_orgs_peer_is_not_retried(gw, fake):
    with pytest.raises(EndorseError):
        contract(gw).submit("Fail")
    assert [c[0] for c in fake[0].calls].count("Endorse") == 1


def test_endorsing_orgs_are_passed_to_the_gateway(gw, fake):
    contract(gw).submit("Put", "k3", "v", endorsing_orgs=["agg1MSP", "dsoMSP"])
    assert ("Endorse", ["agg1MSP", "dsoMSP"]) in fake[0].calls


def test_connect_from_profile_uses_named_identity(profile_file):
    with connect_from_profile(profile_file, "user1") as gw:
        assert contract(gw).evaluate("WhoAmI") == b"agg1MSP"


def test_unknown_user_in_profile_is_a_config_error_listing_known_users(profile_file):
    with pytest.raises(ConfigError, match="user1"):
        connect_from_profile(profile_file, "nobody")


def test_missing_profile_says_to_start_the_network(tmp_path):
    with pytest.raises(ConfigError, match="network up"):
        connect_from_profile(tmp_path / "none.json", "user1")


def test_wrong_server_name_fails_tls(fake, ca, user1):
    from gateway import connect
    from gateway.identity import signer_from_pem

    _, port = fake
    gw = connect(f"127.0.0.1:{port}", X509Identity("agg1MSP", user1.cert_pem), signer_from_pem(user1.key_pem),
                 tls_root_cert=ca.cert_pem, server_name="wrong.name")
    with pytest.raises(EvaluateError) as err:
        contract(gw).evaluate("WhoAmI")
    assert err.value.code == grpc.StatusCode.UNAVAILABLE
    gw.close()


def test_contract_session_opens_the_orgs_chaincode_from_flexledger_home(profile_file, tmp_path):
    from flexledger.home import contract_session

    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "agg1.json").write_text(profile_file.read_text())
    with contract_session("agg1", "user1", home=tmp_path) as c:
        assert c.name == "flexledger" and c.network.name == "flexchannel"
        assert c.evaluate("WhoAmI") == b"agg1MSP"


def test_a_lost_race_is_not_retried_unless_the_caller_chooses_a_policy(gw, fake):
    servicer, _ = fake
    with pytest.raises(CommitError, match="MVCC_READ_CONFLICT"):
        contract(gw).submit("ConflictTwice")
    assert [c[0] for c in servicer.calls].count("Submit") == 1


def test_a_retry_policy_runs_a_lost_race_again_as_new_transactions_until_it_commits(gw, fake):
    servicer, _ = fake
    assert contract(gw).submit("ConflictTwice", retry=RetryPolicy(attempts=3, backoff=0)) == b"late"
    submitted = [c[1][0] for c in servicer.calls if c[0] == "Submit"]
    assert len(submitted) == 3 and len(set(submitted)) == 3, "each attempt is a new transaction"


def test_a_retry_policy_gives_up_after_its_attempts_naming_the_last_code(gw):
    with pytest.raises(CommitError, match="MVCC_READ_CONFLICT"):
        contract(gw).submit("ConflictTwice", retry=RetryPolicy(attempts=2, backoff=0))


def test_a_chaincode_refusal_is_never_retried(gw, fake):
    servicer, _ = fake
    with pytest.raises(EndorseError):
        contract(gw).submit("Fail", retry=RetryPolicy(attempts=5, backoff=0))
    assert [c[0] for c in servicer.calls].count("Endorse") == 1


def test_an_endorsing_peer_being_restarted_is_waited_for_within_a_bound(gw, fake):
    servicer, _ = fake
    servicer.unreachable_endorsements = 2
    assert contract(gw).submit("Put", "k-restart", "v") == b"v"
    assert [c[0] for c in servicer.calls].count("Endorse") == 3


def test_the_gateways_own_peer_being_restarted_is_waited_for_too(gw, fake):
    servicer, _ = fake
    servicer.unavailable_endorsements = 2
    assert contract(gw).submit("Put", "k-own-restart", "v") == b"v"


def test_an_unreachable_peer_is_reported_once_the_bound_has_passed(ca, user1, fake):
    from conftest import PEER_NAME

    from gateway.client import connect
    from gateway.identity import signer_from_pem
    from gateway.retry import SETTLE_RETRY

    servicer, port = fake
    servicer.unreachable_endorsements = 1000
    g = connect(f"127.0.0.1:{port}", X509Identity("agg1MSP", user1.cert_pem), signer_from_pem(user1.key_pem),
                tls_root_cert=ca.cert_pem, server_name=PEER_NAME,
                endorse_retry=dataclasses.replace(SETTLE_RETRY, peer_unreachable=1.0))
    with g, pytest.raises(EndorseError, match="connection refused"):
        contract(g).submit("Put", "k-down", "v")
    assert 2 <= [c[0] for c in servicer.calls].count("Endorse") <= 4


@pytest.mark.parametrize("transient", ["lagging_refusals", "unreachable_endorsements", "unavailable_endorsements"])
def test_without_an_endorse_retry_policy_the_library_reports_a_passing_refusal_at_once(ca, user1, fake, transient):
    from conftest import PEER_NAME

    from gateway.client import connect
    from gateway.identity import signer_from_pem

    servicer, port = fake
    setattr(servicer, transient, 1)
    g = connect(f"127.0.0.1:{port}", X509Identity("agg1MSP", user1.cert_pem), signer_from_pem(user1.key_pem),
                tls_root_cert=ca.cert_pem, server_name=PEER_NAME)
    with g, pytest.raises(EndorseError):
        contract(g).submit("Put", f"k-{transient}", "v")
    assert [c[0] for c in servicer.calls].count("Endorse") == 1


def test_an_endorse_retry_policy_waits_only_for_the_causes_it_names() -> None:
    from gateway.retry import EndorseRetry

    policy = EndorseRetry(discovery_settle=10, peer_catch_up=0, peer_unreachable=2)
    assert policy.wait_before_retry(1, discovering=True, unreachable=False, lagging=False) == policy.PAUSE
    assert policy.wait_before_retry(11, discovering=True, unreachable=False, lagging=False) is None
    assert policy.wait_before_retry(1, discovering=False, unreachable=True, lagging=False) == policy.PAUSE
    assert policy.wait_before_retry(3, discovering=False, unreachable=True, lagging=False) is None
    assert policy.wait_before_retry(0, discovering=False, unreachable=False, lagging=True) is None
    with pytest.raises(ValueError, match="peer_catch_up"):
        EndorseRetry(peer_catch_up=-1)


def test_a_gateway_never_closes_a_channel_it_did_not_open(gw, user1):
    from gateway.client import Gateway
    from gateway.identity import signer_from_pem

    borrowed = Gateway(gw._channel, X509Identity("agg1MSP", user1.cert_pem), signer_from_pem(user1.key_pem))
    borrowed.close()
    assert contract(gw).evaluate("WhoAmI") == b"agg1MSP", "the channel still serves its owner"
    gw.close()
    with pytest.raises(ValueError):
        contract(borrowed).evaluate("WhoAmI")  # the owner closed it
