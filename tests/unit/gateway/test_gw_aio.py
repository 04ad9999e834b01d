"""The asyncio flavour of the client library (:mod:`gateway.aio`) against the in-process Gateway server.

The same behaviours as the synchronous client's tests: what differs is only that the calls are awaited, so
these hold the two flavours to the same requests, errors and retries. The real network is in
tests/integration/test_gateway_aio.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from conftest import PEER_NAME

from contract.kinds import Kind
from gateway import CommitError, EndorseError, EvaluateError
from gateway.aio import AsyncContract, AsyncGateway, connect, connect_from_profile
from gateway.errors import ConfigError
from gateway.identity import X509Identity, signer_from_pem, verify
from gateway.retry import SETTLE_RETRY, RetryPolicy


def run(fake, ca, user1, body: Callable[[AsyncContract], Awaitable[Any]], **options: Any) -> Any:
    """``body(contract)`` on a fresh event loop, with a gateway to the fake peer opened and closed in it."""
    _, port = fake
    options.setdefault("endorse_retry", dataclasses.replace(SETTLE_RETRY, peer_catch_up=1.0))
    options.setdefault("server_name", PEER_NAME)

    async def main() -> Any:
        async with connect(f"127.0.0.1:{port}", X509Identity("agg1MSP", user1.cert_pem),
                           signer_from_pem(user1.key_pem), tls_root_cert=ca.cert_pem, **options) as gw:
            return await body(gw.get_network("flexchannel").get_contract("flexledger"))

    return asyncio.run(main())


def calls(fake, name: str) -> int:
    return [c[0] for c in fake[0].calls].count(name)


def test_an_awaited_evaluate_returns_the_chaincode_result_signed_by_the_caller(fake, ca, user1):
    assert run(fake, ca, user1, lambda c: c.evaluate("WhoAmI")) == b"agg1MSP"


def test_an_awaited_submit_returns_once_committed(fake, ca, user1):
    async def body(c: AsyncContract) -> tuple[bytes, bytes]:
        return await c.submit("Put", "k1", "v1"), await c.evaluate("Get", "k1")

    assert run(fake, ca, user1, body) == (b"v1", b"v1")
    assert fake[0].chaincode.state["k1"] == b"v1"
    assert [c[0] for c in fake[0].calls] == ["Endorse", "Submit", "Evaluate"]


def test_many_submits_in_flight_on_one_loop_each_commit_once(fake, ca, user1):
    async def body(c: AsyncContract) -> list[bytes]:
        return list(await asyncio.gather(*(c.submit("Put", f"k{i}", f"v{i}") for i in range(40))))

    assert run(fake, ca, user1, body) == [f"v{i}".encode() for i in range(40)]
    assert calls(fake, "Submit") == 40


def test_awaited_steps_expose_the_transaction_and_its_commit_block(fake, ca, user1):
    async def body(c: AsyncContract):
        proposal = c.new_proposal("Put", "k2", "v2")
        transaction = await proposal.endorse()
        assert transaction.transaction_id == proposal.transaction_id and transaction.result == b"v2"
        assert verify(user1.cert_pem, proposal._steps._proposed.proposal.proposal_bytes,
                      proposal._steps._proposed.proposal.signature)
        submitted = await transaction.submit()
        return submitted, await submitted.status()

    submitted, status = run(fake, ca, user1, body)
    assert status.successful and status.block_number >= 1 and status.transaction_id == submitted.transaction_id


def test_an_invalid_commit_is_a_commit_error_naming_the_validation_code(fake, ca, user1):
    with pytest.raises(CommitError) as err:
        run(fake, ca, user1, lambda c: c.submit("Conflict"))
    assert err.value.code_name == "MVCC_READ_CONFLICT"


def test_a_refusal_on_evaluate_carries_the_peers_details(fake, ca, user1):
    with pytest.raises(EvaluateError) as err:
        run(fake, ca, user1, lambda c: c.evaluate("Get", "missing"))
    assert err.value.details[0].msp_id == "agg1MSP"
    assert err.value.chaincode_message == "key: missing not found"
    assert err.value.chaincode_kind == Kind.NOT_FOUND


def test_a_refusal_on_submit_is_an_endorse_error_and_nothing_is_ordered(fake, ca, user1):
    with pytest.raises(EndorseError) as err:
        run(fake, ca, user1, lambda c: c.submit("Fail", retry=RetryPolicy(attempts=5, backoff=0)))
    assert err.value.chaincode_message == "device.max_power_mw: must be > 0"
    assert err.value.chaincode_kind == Kind.INVALID_ARGUMENT
    assert calls(fake, "Endorse") == 1 and calls(fake, "Submit") == 0


def test_a_divergent_endorsement_names_the_disagreeing_organisation(fake, ca, user1):
    fake[0].diverging = {"agg2MSP"}
    with pytest.raises(EndorseError) as err:
        run(fake, ca, user1, lambda c: c.submit("Put", "k", "v"))
    assert err.value.mismatched_orgs == ["agg2MSP"]
    assert sorted(sorted(orgs) for orgs in err.value.disagreement.values()) == [["agg1MSP"], ["agg2MSP"]]
    assert "agg2MSP" in str(err.value) and calls(fake, "Submit") == 0


@pytest.mark.parametrize("transient", ["lagging_refusals", "unreachable_endorsements", "unavailable_endorsements"])
def test_a_passing_refusal_is_endorsed_again_as_the_policy_allows(fake, ca, user1, transient):
    setattr(fake[0], transient, 2)
    assert run(fake, ca, user1, lambda c: c.submit("Put", f"k-{transient}", "v")) == b"v"
    assert calls(fake, "Endorse") == 3


def test_without_an_endorse_retry_policy_a_passing_refusal_is_reported_at_once(fake, ca, user1):
    from gateway.retry import NO_ENDORSE_RETRY

    fake[0].lagging_refusals = 1
    with pytest.raises(EndorseError):
        run(fake, ca, user1, lambda c: c.submit("Put", "k-lag", "v"), endorse_retry=NO_ENDORSE_RETRY)
    assert calls(fake, "Endorse") == 1


def test_a_lost_race_is_not_run_again_unless_the_caller_chooses_a_policy(fake, ca, user1):
    with pytest.raises(CommitError, match="MVCC_READ_CONFLICT"):
        run(fake, ca, user1, lambda c: c.submit("ConflictTwice"))
    assert calls(fake, "Submit") == 1


def test_a_retry_policy_runs_a_lost_race_again_as_new_transactions_until_it_commits(fake, ca, user1):
    assert run(fake, ca, user1, lambda c: c.submit("ConflictTwice", retry=RetryPolicy(attempts=3, backoff=0))) \
        == b"late"
    submitted = [c[1][0] for c in fake[0].calls if c[0] == "Submit"]
    assert len(submitted) == 3 and len(set(submitted)) == 3, "each attempt is a new transaction"


def test_endorsing_orgs_are_passed_to_the_gateway(fake, ca, user1):
    run(fake, ca, user1, lambda c: c.submit("Put", "k3", "v", endorsing_orgs=["agg1MSP", "dsoMSP"]))
    assert ("Endorse", ["agg1MSP", "dsoMSP"]) in fake[0].calls


def test_a_wrong_tls_server_name_is_an_unavailable_peer(fake, ca, user1):
    with pytest.raises(EvaluateError) as err:
        run(fake, ca, user1, lambda c: c.evaluate("WhoAmI"), server_name="wrong.name")
    assert err.value.code == grpc.StatusCode.UNAVAILABLE


def test_connect_from_profile_uses_the_named_identity(profile_file):
    async def main() -> bytes:
        async with connect_from_profile(profile_file, "user1") as gw:
            return await gw.get_network("flexchannel").get_contract("flexledger").evaluate("WhoAmI")

    assert asyncio.run(main()) == b"agg1MSP"


def test_an_unknown_profile_user_is_a_config_error_naming_the_known_ones(profile_file):
    with pytest.raises(ConfigError, match="user1"):
        connect_from_profile(profile_file, "nobody")


def test_a_gateway_never_closes_a_channel_it_did_not_open(fake, ca, user1):
    _, port = fake

    async def main() -> bytes:
        async with connect(f"127.0.0.1:{port}", X509Identity("agg1MSP", user1.cert_pem),
                           signer_from_pem(user1.key_pem), tls_root_cert=ca.cert_pem, server_name=PEER_NAME) as gw:
            borrowed = AsyncGateway(gw._channel, gw.identity, signer_from_pem(user1.key_pem))
            await borrowed.close()
            return await gw.get_network("flexchannel").get_contract("flexledger").evaluate("WhoAmI")

    assert asyncio.run(main()) == b"agg1MSP"
