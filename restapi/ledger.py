"""The service's door to the ledger: evaluate/submit/events *as a given wallet user*.

Routes depend on the :class:`Ledger` protocol, so unit tests can run the app on an in-memory fake while
production uses :class:`FabricLedger` (one TLS channel to the org's peer, one Gateway per user sharing it,
each signing with that user's own key).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import grpc
import grpc.aio

from gateway.aio import AsyncContract, AsyncGateway
from gateway.blocks import CommittedTransaction, committed_transaction, ledger_height
from gateway.client import Contract, Gateway, Timeouts, channel_options
from gateway.deliver import BlockStream, deliver_blocks
from gateway.events import ChaincodeEvent, ChaincodeEventStream, Checkpoint
from gateway.identity import X509Identity, load_identity, load_signer
from gateway.profile import ConnectionProfile
from gateway.retry import RACE_RETRY, SETTLE_RETRY, EndorseRetry, RetryPolicy


class EventStream(Protocol):
    def __iter__(self) -> Iterator[ChaincodeEvent]: ...

    def close(self) -> None: ...


class Ledger(Protocol):
    """What routes need from Fabric, always on behalf of one wallet user."""

    def identity(self, user: str) -> X509Identity: ...

    def evaluate(self, user: str, function: str, *args: str) -> bytes: ...

    def submit(self, user: str, function: str, *args: str) -> bytes: ...

    async def asubmit(self, user: str, function: str, *args: str) -> bytes:
        """:meth:`submit`, awaited on the service's event loop rather than holding a thread."""
        ...

    def events(self, user: str, checkpoint: Checkpoint | None) -> EventStream: ...

    def committed(self, user: str, tx_id: str) -> CommittedTransaction: ...

    def height(self, user: str) -> int: ...

    def blocks(self, user: str, start: int) -> BlockStream: ...

    def close(self) -> None: ...

    async def aclose(self) -> None:
        """Close what :meth:`asubmit` opened (on the event loop it opened it in)."""
        ...


class FabricLedger:
    """The real thing: the Gateway client library over one shared gRPC channel."""

    def __init__(self, profile: ConnectionProfile, timeouts: Timeouts | None = None,
                 retry: RetryPolicy = RACE_RETRY, endorse_retry: EndorseRetry = SETTLE_RETRY) -> None:
        """``retry``: a transaction that lost a race runs again; ``endorse_retry``: an endorsement refused by a
        passing state of the network (discovery settling, a peer a block behind or restarting) is asked again
        — the service chooses both (:mod:`gateway.retry`), the client library does neither by default."""
        self.profile = profile
        self.timeouts = timeouts or Timeouts()
        self.retry = retry
        self.endorse_retry = endorse_retry
        root = Path(profile.peer.tls_ca_cert).read_bytes()
        self._credentials = credentials = grpc.ssl_channel_credentials(root_certificates=root)
        self._channel = grpc.secure_channel(
            profile.peer.endpoint, credentials,
            options=[("grpc.ssl_target_name_override", profile.peer.server_name),
                     ("grpc.max_receive_message_length", 100 * 1024 * 1024)],
        )
        self._gateways: dict[str, Gateway] = {}
        self._lock = threading.Lock()
        #: the asyncio flavour's channel and gateways, opened on first use in the service's event loop
        self._aio: _LoopConnection | None = None

    def _gateway(self, user: str) -> Gateway:
        with self._lock:
            gw = self._gateways.get(user)
            if gw is None:
                files = self.profile.identity_files(user)
                gw = Gateway(self._channel, load_identity(self.profile.msp_id, files.cert),
                             load_signer(files.key), self.timeouts, endorse_retry=self.endorse_retry)
                self._gateways[user] = gw
            return gw

    def _contract(self, user: str) -> Contract:
        return self._gateway(user).get_network(self.profile.channel).get_contract(self.profile.chaincode)

    def identity(self, user: str) -> X509Identity:
        return self._gateway(user).identity

    def evaluate(self, user: str, function: str, *args: str) -> bytes:
        return self._contract(user).evaluate(function, *args)

    def submit(self, user: str, function: str, *args: str) -> bytes:
        return self._contract(user).submit(function, *args, retry=self.retry)

    async def asubmit(self, user: str, function: str, *args: str) -> bytes:
        contract = self._aio_connection().contract(user, self)
        return await contract.submit(function, *args, retry=self.retry)

    def _aio_connection(self) -> _LoopConnection:
        """The aio channel of the running event loop (``grpc.aio`` objects serve only the loop they began in).

        A service has one loop for its life; a test harness that starts the app again runs a new one, and
        the connection of the loop before is then dropped (closed by that loop's :meth:`aclose`)."""
        loop = asyncio.get_running_loop()
        if self._aio is None or self._aio.loop is not loop:
            self._aio = _LoopConnection(loop, self._open_aio_channel())
        return self._aio

    def _open_aio_channel(self) -> grpc.aio.Channel:
        return grpc.aio.secure_channel(self.profile.peer.endpoint, self._credentials,
                                       options=channel_options(self.profile.peer.server_name))

    async def aclose(self) -> None:
        connection, self._aio = self._aio, None
        if connection is not None and connection.loop is asyncio.get_running_loop():
            await connection.channel.close()

    def committed(self, user: str, tx_id: str) -> CommittedTransaction:
        network = self._gateway(user).get_network(self.profile.channel)
        return committed_transaction(network, self.profile.channel, tx_id)

    def events(self, user: str, checkpoint: Checkpoint | None) -> ChaincodeEventStream:
        network = self._gateway(user).get_network(self.profile.channel)
        return network.chaincode_events(self.profile.chaincode, checkpoint=checkpoint)

    def height(self, user: str) -> int:
        """How many blocks the org's peer has committed (qscc ``GetChainInfo``)."""
        return ledger_height(self._gateway(user).get_network(self.profile.channel), self.profile.channel)

    def blocks(self, user: str, start: int) -> BlockStream:
        """Committed blocks from ``start`` on, as the peer's Deliver service streams them."""
        gw = self._gateway(user)
        return deliver_blocks(self._channel, gw.creator, gw.sign, self.profile.channel, start)

    def close(self) -> None:
        self._channel.close()


@dataclass
class _LoopConnection:
    """One event loop's aio channel to the peer, and a gateway on it per user (signing with the user's key)."""

    loop: asyncio.AbstractEventLoop
    channel: grpc.aio.Channel
    contracts: dict[str, AsyncContract] = field(default_factory=dict)

    def contract(self, user: str, ledger: FabricLedger) -> AsyncContract:
        made = self.contracts.get(user)
        if made is None:
            steps = ledger._gateway(user)
            gateway = AsyncGateway(self.channel, steps.identity, steps.signer, ledger.timeouts,
                                   endorse_retry=ledger.endorse_retry)
            made = self.contracts[user] = gateway.get_network(ledger.profile.channel).get_contract(
                ledger.profile.chaincode)
        return made
