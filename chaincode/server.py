"""The chaincode-as-a-service process: a gRPC server the organisation's peer connects to.

Configured only by environment (the peer's external builder / ``network/`` starts it):

* ``CHAINCODE_ID`` — the package id the peer knows this chaincode by (required);
* ``CHAINCODE_SERVER_ADDRESS`` — ``host:port`` to listen on (required);
* ``CHAINCODE_TLS_KEY_FILE``, ``CHAINCODE_TLS_CERT_FILE``, ``CHAINCODE_TLS_CLIENT_CA_FILE`` — all three
  turn TLS on with client authentication of the peer; the server refuses to start without TLS unless
  ``CHAINCODE_TLS_DISABLED=1``;
* ``FLEXLEDGER_ORACLE_FAULT=1`` — deliberately perturbed oracle (tests of the endorsement guard);
* ``FLEXLEDGER_STATE_BATCHING=0`` — decline the peer's batched state access (one message per key, as with
  peers before Fabric 3.1): the baseline of ``tests.benchmarks.batching``, and a switch to rule batching out.

Why our own server loop instead of ``fabric_shim.server.start``: the shim's handler never copies the
chaincode event into the COMPLETED message (events would silently vanish) and an exception escaping
``invoke`` would leave the peer waiting; :class:`EventingHandler` fixes both. The oracle runs in a
thread pool, so a long clearing never blocks this event loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import grpc
from fabric_chaincode_python.fabric_shim.handler import STATES, Handler
from fabric_chaincode_python.fabric_shim.msg_queue_handler import MsgQueueHandler, QueueMessage
from fabric_chaincode_python.fabric_shim.stub import ChaincodeStub
from fabric_protos.peer import chaincode_pb2 as cc_pb2
from fabric_protos.peer import chaincode_shim_pb2 as shim_pb2
from fabric_protos.peer import chaincode_shim_pb2_grpc as shim_grpc
from fabric_protos.peer import proposal_response_pb2 as pr_pb2

from chaincode import __version__
from chaincode.batching import NONE as NO_BATCHING
from chaincode.batching import (
    PeerBatching,
    check_answer,
    check_written,
    read_request,
    read_values,
    write_request,
)
from chaincode.contract import build_chaincode
from chaincode.key_policy import put_policy_request
from chaincode.oracle import Oracle

LOG = logging.getLogger("chaincode.server")


class ConfigError(Exception):
    """A bad or missing environment variable; the message names it."""


@dataclass(frozen=True)
class ServerConfig:
    chaincode_id: str
    address: str
    tls_key_file: str | None
    tls_cert_file: str | None
    tls_client_ca_file: str | None
    oracle_fault: bool
    state_batching: bool = True

    @property
    def tls(self) -> bool:
        return self.tls_key_file is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ServerConfig:
        chaincode_id = env.get("CHAINCODE_ID", "").strip()
        if not chaincode_id:
            raise ConfigError("CHAINCODE_ID: must be set to the chaincode package id")
        address = env.get("CHAINCODE_SERVER_ADDRESS", "").strip()
        host, sep, port = address.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"CHAINCODE_SERVER_ADDRESS: must be host:port, got {address!r}")
        names = ("CHAINCODE_TLS_KEY_FILE", "CHAINCODE_TLS_CERT_FILE", "CHAINCODE_TLS_CLIENT_CA_FILE")
        files = {name: env.get(name, "").strip() or None for name in names}
        given = [name for name in names if files[name]]
        disabled = env.get("CHAINCODE_TLS_DISABLED", "").strip() == "1"
        if given and len(given) != len(names):
            missing = [name for name in names if not files[name]]
            raise ConfigError(f"{missing[0]}: TLS needs all of {', '.join(names)}")
        if not given and not disabled:
            raise ConfigError(f"{names[0]}: TLS is required (set all of {', '.join(names)}), "
                              "or CHAINCODE_TLS_DISABLED=1 to run without TLS")
        for name in given:
            if not os.path.isfile(files[name] or ""):
                raise ConfigError(f"{name}: no such file {files[name]}")
        fault = env.get("FLEXLEDGER_ORACLE_FAULT", "").strip()
        if fault not in ("", "0", "1"):
            raise ConfigError(f"FLEXLEDGER_ORACLE_FAULT: must be 0 or 1, got {fault!r}")
        batching = env.get("FLEXLEDGER_STATE_BATCHING", "").strip()
        if batching not in ("", "0", "1"):
            raise ConfigError(f"FLEXLEDGER_STATE_BATCHING: must be 0 or 1, got {batching!r}")
        return cls(chaincode_id=chaincode_id, address=address, tls_key_file=files[names[0]],
                   tls_cert_file=files[names[1]], tls_client_ca_file=files[names[2]], oracle_fault=fault == "1",
                   state_batching=batching != "0")


class BatchingStub(ChaincodeStub):
    """The shim's stub, plus the peer's batched reads and writes where the peer offers them (Fabric 3.1+).

    :class:`chaincode.state.Ledger` asks :attr:`batching` and uses :meth:`get_states` / :meth:`write_states`
    only within the limits the peer announced.
    """

    client: EventingHandler

    @property
    def batching(self) -> PeerBatching:
        return self.client.batching

    async def get_states(self, keys: list[str]) -> list[bytes | None]:
        """The values of ``keys`` in one message (no more keys than ``batching.max_read_keys``)."""
        answer = await self.client.ask_peer(read_request(keys, self.channel_id, self.tx_id))
        return read_values(keys, answer)

    async def write_states(self, writes: list[tuple[str, bytes | None]]) -> None:
        """Puts (and deletes, value None) in one message (no more than ``batching.max_write_records``)."""
        check_written(await self.client.ask_peer(write_request(writes, self.channel_id, self.tx_id)))

    async def put_state_policy(self, key: str, policy: bytes) -> None:
        """Set ``key``'s own endorsement policy (chaincode/key_policy.py); the shim has no call for it."""
        check_answer(await self.client.ask_peer(put_policy_request(key, policy, self.channel_id, self.tx_id)),
                     "PutStateMetadata")


class EventingHandler(Handler):
    """The shim's handler, but the COMPLETED message carries the transaction's chaincode event, and the
    peer's offer of batched state access (in its READY message) is kept for :class:`BatchingStub`."""

    batching: PeerBatching = NO_BATCHING
    #: False: decline the peer's offer (``FLEXLEDGER_STATE_BATCHING=0``)
    accept_batching: bool = True

    async def handle_message_established(self, msg: Any) -> None:
        if msg.type == shim_pb2.ChaincodeMessage.READY and not self.accept_batching:
            LOG.info("batched state access declined (FLEXLEDGER_STATE_BATCHING=0)")
        elif msg.type == shim_pb2.ChaincodeMessage.READY:
            try:
                self.batching = PeerBatching.from_ready(msg.payload)
            except Exception:  # an unreadable offer: talk one message per key, as to an older peer
                LOG.exception("cannot read the peer's READY parameters; state access stays unbatched")
            LOG.info("peer offers batched reads of %d keys, write batches of %d records",
                     self.batching.max_read_keys, self.batching.max_write_records)
        await super().handle_message_established(msg)

    async def chat_with_peer(self, stream: Any, context: Any) -> None:
        """The shim's conversation loop, without its per-message log lines: it formats every message's
        proposal and payload into f-strings that the log level then drops (~5 % of the chaincode's CPU)."""
        self.state = STATES.CREATED
        self.context = context
        self.msg_queue_handler = MsgQueueHandler(self)
        register = shim_pb2.ChaincodeMessage(type=shim_pb2.ChaincodeMessage.REGISTER,
                                             payload=self.chaincode_id.SerializeToString())
        register.timestamp.GetCurrentTime()
        await self.context.write(register)
        async for message in stream:
            if message is None:
                LOG.error("received nil message, ending chaincode stream")
                break
            self._track_task(self.handle_message(message))  # each message concurrently: answers arrive meanwhile
        if self._pending_tasks:
            await asyncio.gather(*self._pending_tasks, return_exceptions=True)

    async def ask_peer(self, message: Any) -> Any:
        """Send ``message`` in its transaction's turn and wait for the peer's answer (RESPONSE or ERROR)."""
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self.msg_queue_handler.queue_msg(QueueMessage(message, shim_pb2.ChaincodeMessage.Type.Name(message.type),
                                                            answer))
        return await answer

    async def handle_stub_interaction(self, msg: Any, action: str = "Invoke") -> None:
        cc_input = cc_pb2.ChaincodeInput()
        cc_input.ParseFromString(msg.payload)
        try:
            stub = BatchingStub(self, msg.channel_id, msg.txid, cc_input, msg.proposal)
            stub.chaincode_id_name = self.chaincode_id.name
            if (action or "").lower() == "init":
                resp = await self.chaincode.init(stub)
            else:
                resp = await self.chaincode.invoke(stub)
            events = stub.get_events()
        except Exception as exc:  # never leave the peer waiting for an answer
            LOG.exception("transaction %s failed inside the shim", msg.txid)
            resp, events = pr_pb2.Response(status=500, message=f"internal: {exc}"), []
        if resp is None or not resp.status:
            resp, events = pr_pb2.Response(status=500, message="chaincode returned no response"), []
        completed = shim_pb2.ChaincodeMessage(type=shim_pb2.ChaincodeMessage.COMPLETED,
                                              payload=resp.SerializeToString(), txid=msg.txid,
                                              channel_id=msg.channel_id)
        if events and resp.status < 400:
            completed.chaincode_event.CopyFrom(events[-1])
        await self.context.write(completed)


class SerialWriter:
    """The stream context, with writes serialised.

    The peer multiplexes concurrent transactions over one ``Connect`` stream, and the shim writes
    each transaction's messages as they come; grpc.aio allows one write in flight per call, so two
    transactions writing at once fail with GRPC_CALL_ERROR_TOO_MANY_OPERATIONS. One lock per
    stream restores the order the protocol needs.
    """

    def __init__(self, context: grpc.aio.ServicerContext) -> None:
        self._context = context
        self._lock = asyncio.Lock()

    async def write(self, message: Any) -> None:
        async with self._lock:
            await self._context.write(message)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


class ChaincodeService(shim_grpc.ChaincodeServicer):
    """One ``Connect`` stream per peer connection, each with its own handler."""

    def __init__(self, chaincode_id: str, chaincode: Any, *, state_batching: bool = True) -> None:
        self._ccid = chaincode_id
        self._cc = chaincode
        self._state_batching = state_batching

    async def Connect(self, request_iterator: Any, context: grpc.aio.ServicerContext) -> None:  # noqa: N802
        handler = EventingHandler(self._ccid, self._cc)
        handler.accept_batching = self._state_batching
        try:
            await handler.chat_with_peer(request_iterator, SerialWriter(context))
        except asyncio.CancelledError:
            LOG.info("peer stream cancelled")


def _read(path: str | None) -> bytes:
    with open(path or "", "rb") as fh:
        return fh.read()


def create_server(config: ServerConfig, chaincode: Any) -> tuple[grpc.aio.Server, int]:
    """The gRPC server with the chaincode service bound to ``config.address``; returns it and the bound port."""
    server = grpc.aio.server()
    service = ChaincodeService(config.chaincode_id, chaincode, state_batching=config.state_batching)
    shim_grpc.add_ChaincodeServicer_to_server(service, server)
    if config.tls:
        credentials = grpc.ssl_server_credentials(
            [(_read(config.tls_key_file), _read(config.tls_cert_file))],
            root_certificates=_read(config.tls_client_ca_file),
            require_client_auth=True,
        )
        port = server.add_secure_port(config.address, credentials)
    else:
        LOG.warning("TLS DISABLED (CHAINCODE_TLS_DISABLED=1): the peer connection is not encrypted")
        port = server.add_insecure_port(config.address)
    return server, port


def warm_up() -> None:
    """Load the oracle (pyomo, HiGHS) before taking requests.

    Why: imported lazily, the first clearing after a start paid seconds of imports on this peer, and the
    gateway only sends the proposal on to the other organisations' peers once its own has answered; the
    claimed time of that proposal then looked stale to them (chaincode.clock).
    """
    import clearing.api  # noqa: F401 - the import is the point
    from clearing.provenance import highs_version

    highs_version()


async def serve(config: ServerConfig) -> None:
    warm_up()
    # One worker: pyomo keeps process-global state, so clearings run one at a time, but off the event loop.
    oracle = Oracle(fault=config.oracle_fault, executor=ThreadPoolExecutor(max_workers=1, thread_name_prefix="oracle"))
    server, port = create_server(config, build_chaincode(oracle))
    await server.start()
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[None]] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda: stopping.append(asyncio.ensure_future(server.stop(3))))
    LOG.info("flexledger chaincode %s (id %s) listening on %s (port %d), TLS %s", __version__, config.chaincode_id,
             config.address, port, "on with client auth" if config.tls else "off")
    await server.wait_for_termination()
    LOG.info("stopped")


def main(env: Mapping[str, str] | None = None) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("fabric_chaincode_python", "grpc"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # fabric-chaincode-python logs through the "asyncio" logger, at WARNING for every message from the peer
    # ("-->> Look out!"): hundreds of thousands of lines and a measurable share of the chaincode's CPU
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    try:
        config = ServerConfig.from_env(os.environ if env is None else env)
    except ConfigError as exc:
        print(f"chaincode: error: {exc}", file=sys.stderr)
        return 2
    if config.oracle_fault:
        banner = "!" * 78
        LOG.warning("%s\nFLEXLEDGER_ORACLE_FAULT=1: THIS SERVER'S ORACLE IS DELIBERATELY PERTURBED.\n"
                    "Its clearing results differ from honest peers; endorsements must disagree.\n%s",
                    banner, banner)
    try:
        asyncio.run(serve(config))
    except KeyboardInterrupt:
        LOG.info("stopped")
    return 0
