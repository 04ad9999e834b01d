"""The CCaaS server: environment configuration and chaincode events reaching the peer."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from fabric_protos.peer import chaincode_pb2 as cc_pb2
from fabric_protos.peer import chaincode_shim_pb2 as shim_pb2
from fabric_protos.peer import proposal_response_pb2 as pr_pb2

from chaincode.oracle import perturb, result_hash_of
from chaincode.server import ConfigError, EventingHandler, ServerConfig, main

BASE = {"CHAINCODE_ID": "flexledger_1.0:abc", "CHAINCODE_SERVER_ADDRESS": "127.0.0.1:9999"}


@pytest.fixture
def tls_files(tmp_path: Path) -> dict[str, str]:
    files = {}
    for name in ("CHAINCODE_TLS_KEY_FILE", "CHAINCODE_TLS_CERT_FILE", "CHAINCODE_TLS_CLIENT_CA_FILE"):
        path = tmp_path / name.lower()
        path.write_text("pem")
        files[name] = str(path)
    return files


def test_tls_with_client_auth_when_all_three_files_are_given(tls_files: dict[str, str]) -> None:
    config = ServerConfig.from_env({**BASE, **tls_files})
    assert config.tls and config.tls_client_ca_file == tls_files["CHAINCODE_TLS_CLIENT_CA_FILE"]
    assert not config.oracle_fault


def test_server_refuses_to_start_without_tls_unless_disabled() -> None:
    with pytest.raises(ConfigError, match="^CHAINCODE_TLS_KEY_FILE:"):
        ServerConfig.from_env(BASE)
    config = ServerConfig.from_env({**BASE, "CHAINCODE_TLS_DISABLED": "1"})
    assert not config.tls


def test_partial_tls_configuration_is_refused(tls_files: dict[str, str]) -> None:
    partial = {k: v for k, v in tls_files.items() if k != "CHAINCODE_TLS_CLIENT_CA_FILE"}
    with pytest.raises(ConfigError, match="^CHAINCODE_TLS_CLIENT_CA_FILE:"):
        ServerConfig.from_env({**BASE, **partial})
    with pytest.raises(ConfigError, match="^CHAINCODE_TLS_CERT_FILE:"):
        ServerConfig.from_env({**BASE, **tls_files, "CHAINCODE_TLS_CERT_FILE": "/nonexistent/cert.pem"})


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"CHAINCODE_ID": ""}, "CHAINCODE_ID"),
        ({"CHAINCODE_SERVER_ADDRESS": "9999"}, "CHAINCODE_SERVER_ADDRESS"),
        ({"CHAINCODE_SERVER_ADDRESS": "host:http"}, "CHAINCODE_SERVER_ADDRESS"),
        ({"FLEXLEDGER_ORACLE_FAULT": "yes"}, "FLEXLEDGER_ORACLE_FAULT"),
        ({"FLEXLEDGER_STATE_BATCHING": "off"}, "FLEXLEDGER_STATE_BATCHING"),
    ],
)
def test_bad_environment_is_named(env: dict[str, str], name: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name}:"):
        ServerConfig.from_env({**BASE, "CHAINCODE_TLS_DISABLED": "1", **env})


def test_oracle_fault_switch_is_read_from_the_environment() -> None:
    config = ServerConfig.from_env({**BASE, "CHAINCODE_TLS_DISABLED": "1", "FLEXLEDGER_ORACLE_FAULT": "1"})
    assert config.oracle_fault


def test_main_exits_with_an_error_naming_the_variable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(BASE) == 2
    assert "CHAINCODE_TLS_KEY_FILE" in capsys.readouterr().err


def test_perturbed_result_differs_and_is_rehashed() -> None:
    honest = {"payments_eur": {"b": 2.0, "a": 1.0}, "input_hash": "x"}
    honest["result_hash"] = result_hash_of(honest)
    faulty = perturb(honest)
    assert faulty["payments_eur"] == {"a": 1.01, "b": 2.0}
    assert faulty["result_hash"] == result_hash_of(faulty) != honest["result_hash"]
    assert perturb({"payments_eur": {}})["oracle_fault"] is True


class _EventChaincode:
    async def init(self, stub: object) -> pr_pb2.Response:
        return pr_pb2.Response(status=200)

    async def invoke(self, stub: object) -> pr_pb2.Response:
        fn, _ = stub.get_function_and_parameters()  # type: ignore[attr-defined]
        stub.set_event("BidPlaced", json.dumps({"bid_id": "B1"}))  # type: ignore[attr-defined]
        if fn == "fail":
            return pr_pb2.Response(status=500, message="bid.id: refused")
        if fn == "crash":
            raise RuntimeError("boom")
        return pr_pb2.Response(status=200, payload=b"{}")


class _Context:
    def __init__(self) -> None:
        self.sent: list[shim_pb2.ChaincodeMessage] = []

    async def write(self, msg: shim_pb2.ChaincodeMessage) -> None:
        self.sent.append(msg)


def _transaction(fn: str) -> shim_pb2.ChaincodeMessage:
    payload = cc_pb2.ChaincodeInput(args=[fn.encode()]).SerializeToString()
    return shim_pb2.ChaincodeMessage(type=shim_pb2.ChaincodeMessage.TRANSACTION, payload=payload,
                                     txid="tx1", channel_id="flexchannel")


def _complete(fn: str) -> tuple[shim_pb2.ChaincodeMessage, pr_pb2.Response]:
    handler = EventingHandler("flexledger_1.0:abc", _EventChaincode())
    handler.context = _Context()
    asyncio.run(handler.handle_stub_interaction(_transaction(fn)))
    (msg,) = handler.context.sent
    return msg, pr_pb2.Response.FromString(msg.payload)


def test_completed_message_carries_the_chaincode_event() -> None:
    msg, response = _complete("ok")
    assert msg.type == shim_pb2.ChaincodeMessage.COMPLETED
    assert response.status == 200
    assert msg.chaincode_event.event_name == "BidPlaced"
    assert json.loads(msg.chaincode_event.payload) == {"bid_id": "B1"}
    assert msg.chaincode_event.chaincode_id == "flexledger_1.0:abc"


def test_refused_transaction_carries_no_event() -> None:
    msg, response = _complete("fail")
    assert response.status == 500 and response.message == "bid.id: refused"
    assert not msg.HasField("chaincode_event")


def test_exception_inside_the_chaincode_still_answers_the_peer() -> None:
    msg, response = _complete("crash")
    assert response.status == 500 and "boom" in response.message


def _signed_proposal(msp: str, pem: bytes, seconds: int) -> object:
    from fabric_protos.common import common_pb2
    from fabric_protos.msp import identities_pb2
    from fabric_protos.peer import proposal_pb2
    from google.protobuf.timestamp_pb2 import Timestamp

    creator = identities_pb2.SerializedIdentity(mspid=msp, id_bytes=pem).SerializeToString()
    header = common_pb2.Header(
        channel_header=common_pb2.ChannelHeader(timestamp=Timestamp(seconds=seconds), tx_id="tx1",
                                                channel_id="flexchannel").SerializeToString(),
        signature_header=common_pb2.SignatureHeader(creator=creator, nonce=b"n").SerializeToString(),
    )
    proposal = proposal_pb2.Proposal(header=header.SerializeToString(),
                                     payload=proposal_pb2.ChaincodeProposalPayload(input=b"x").SerializeToString())
    return proposal_pb2.SignedProposal(proposal_bytes=proposal.SerializeToString(), signature=b"sig")


def test_peer_conversation_over_grpc_reaches_the_contract() -> None:
    """Act as the peer: register, then a GetMarketplace proposal whose GET_STATE we answer."""
    import grpc
    from cc_fakes import certificate
    from fabric_protos.peer import chaincode_shim_pb2_grpc as shim_grpc

    from chaincode.contract import build_chaincode
    from chaincode.server import create_server

    config = ServerConfig("flexledger_1.0:abc", "127.0.0.1:0", None, None, None, False)
    governance = {"dso": "dsoMSP", "aggregators": ["agg1MSP"], "auditors": ["auditorMSP"], "tso": [],
                  "settlement": ["dsoMSP"], "admins": ["dsoMSP"]}

    async def conversation() -> shim_pb2.ChaincodeMessage:
        server, port = create_server(config, build_chaincode())
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                outbox: asyncio.Queue = asyncio.Queue()

                async def requests():
                    while True:
                        item = await outbox.get()
                        if item is None:
                            return
                        yield item

                call = shim_grpc.ChaincodeStub(channel).Connect(requests())
                register = await call.read()
                assert register.type == shim_pb2.ChaincodeMessage.REGISTER
                await outbox.put(shim_pb2.ChaincodeMessage(type=shim_pb2.ChaincodeMessage.REGISTERED))
                await outbox.put(shim_pb2.ChaincodeMessage(type=shim_pb2.ChaincodeMessage.READY))
                tx = _transaction("GetMarketplace")
                tx.proposal.CopyFrom(_signed_proposal("auditorMSP", certificate("auditorMSP", "auditor", "a1"),
                                                      1_795_168_800))
                await outbox.put(tx)
                while True:
                    msg = await asyncio.wait_for(call.read(), 10)
                    if msg.type == shim_pb2.ChaincodeMessage.GET_STATE:
                        value = json.dumps(governance).encode()
                        await outbox.put(shim_pb2.ChaincodeMessage(
                            type=shim_pb2.ChaincodeMessage.RESPONSE, payload=value, txid=msg.txid,
                            channel_id=msg.channel_id))
                    elif msg.type == shim_pb2.ChaincodeMessage.COMPLETED:
                        await outbox.put(None)
                        call.cancel()
                        return msg
        finally:
            await server.stop(0)

    completed = asyncio.run(conversation())
    response = pr_pb2.Response.FromString(completed.payload)
    assert response.status == 200, response.message
    assert json.loads(response.payload)["aggregators"] == ["agg1MSP"]
