"""The client API for asyncio: Gateway → Network → Contract, every call awaited on a ``grpc.aio`` channel.

The same steps as :mod:`gateway.client` — proposal, endorsement, submit, commit status, each signed by the
caller's own identity — and the same errors and retry policies; only the calls to the peer are awaited.
Each step's request is built by the synchronous classes (one copy of the protocol), which these wrap.

Why a second flavour: Fabric's official Gateway clients for Node are asynchronous throughout, and a service
that keeps hundreds of transactions in flight on one event loop (the REST service's ``POST /bids``) would
otherwise park a thread on each. Measured on the local network, 256 ``Ping`` transactions in flight from one
process: 0.87–0.91 ms of client CPU per transaction awaited here against 1.27–1.31 ms with a thread per call
(docs/gateway.md, "Throughput")::

    from gateway.aio import connect_from_profile
    async with connect_from_profile(".flexledger/profiles/agg1.json", "user1") as gw:
        contract = gw.get_network("flexchannel").get_contract("flexledger")
        await contract.submit("RegisterDevice", device_json)

Objects of this module belong to the event loop their channel was opened in (a rule of ``grpc.aio``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

import grpc
import grpc.aio
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2_grpc

from gateway import proposal as builder
from gateway.blocks import parse_channel_organizations
from gateway.client import (
    Gateway,
    Proposal,
    Status,
    SubmittedTransaction,
    Timeouts,
    Transaction,
    channel_options,
    peer_access,
)
from gateway.errors import (
    CommitStatusError,
    EndorseError,
    EvaluateError,
    SubmitError,
    from_rpc_error,
)
from gateway.identity import Signer, X509Identity
from gateway.retry import NO_ENDORSE_RETRY, NO_RETRY, EndorseRetry, RetryPolicy


class AsyncGateway:
    """A connection to a peer's Gateway service on behalf of one identity, for asyncio callers."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        identity: X509Identity,
        signer: Signer | None = None,
        timeouts: Timeouts | None = None,
        diagnose_mismatch: bool = True,
        owns_channel: bool = False,
        endorse_retry: EndorseRetry = NO_ENDORSE_RETRY,
    ) -> None:
        # the synchronous gateway builds and signs every request; its stub, made on an aio channel, awaits
        self._steps = Gateway(channel, identity, signer, timeouts, diagnose_mismatch=diagnose_mismatch,
                              endorse_retry=endorse_retry)
        self._channel = channel
        self._owns_channel = owns_channel

    @property
    def identity(self) -> X509Identity:
        return self._steps.identity

    @property
    def creator(self) -> bytes:
        return self._steps.creator

    @property
    def timeouts(self) -> Timeouts:
        return self._steps.timeouts

    def get_network(self, name: str) -> AsyncNetwork:
        return AsyncNetwork(self, name)

    async def close(self) -> None:
        """Close the channel if this gateway opened it (never one the caller passed in)."""
        if self._owns_channel:
            await self._channel.close()

    async def __aenter__(self) -> AsyncGateway:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()


class AsyncNetwork:
    """A channel seen through the gateway."""

    def __init__(self, gateway: AsyncGateway, name: str) -> None:
        self.gateway = gateway
        self.name = name

    def get_contract(self, chaincode_name: str) -> AsyncContract:
        return AsyncContract(self, chaincode_name)


class AsyncContract:
    """A chaincode on a channel: evaluate queries, submit transactions — awaited."""

    def __init__(self, network: AsyncNetwork, chaincode_name: str) -> None:
        self.network = network
        self.gateway = network.gateway
        self.name = chaincode_name
        self._steps = self.gateway._steps.get_network(network.name).get_contract(chaincode_name)

    def new_proposal(self, function: str, *args: str | bytes, transient: dict[str, bytes] | None = None,
                     endorsing_orgs: Iterable[str] = ()) -> AsyncProposal:
        """A proposal, signed now when the gateway has a signer (building it does no I/O)."""
        proposal = self._steps.new_proposal(function, *args, transient=transient, endorsing_orgs=endorsing_orgs)
        return AsyncProposal(self.gateway, proposal)

    async def evaluate(self, function: str, *args: str | bytes, transient: dict[str, bytes] | None = None,
                       target_orgs: Iterable[str] = ()) -> bytes:
        """Run ``function`` on one peer without ordering it; returns the chaincode's result."""
        return await self.new_proposal(function, *args, transient=transient).evaluate(target_orgs)

    async def submit_async(self, function: str, *args: str | bytes, transient: dict[str, bytes] | None = None,
                           endorsing_orgs: Iterable[str] = ()) -> AsyncSubmittedTransaction:
        """Endorse and hand to the orderers; returns with the result, commit status to follow."""
        proposal = self.new_proposal(function, *args, transient=transient, endorsing_orgs=endorsing_orgs)
        return await (await proposal.endorse()).submit()

    async def submit(self, function: str, *args: str | bytes, transient: dict[str, bytes] | None = None,
                     endorsing_orgs: Iterable[str] = (), retry: RetryPolicy = NO_RETRY) -> bytes:
        """Endorse → submit → wait for commit; returns the result, or raises CommitError if not VALID.

        ``retry`` (see :mod:`gateway.retry`) runs the call again as a new transaction when it lost a race.
        """
        async def attempt() -> bytes:
            submitted = await self.submit_async(function, *args, transient=transient, endorsing_orgs=endorsing_orgs)
            return await submitted.wait()

        return await retry.run_async(attempt)


class _Step:
    """One step of a transaction, awaited: the synchronous step it wraps holds its request and signatures."""

    def __init__(self, gateway: AsyncGateway, steps: Proposal | Transaction | SubmittedTransaction) -> None:
        self.gateway = gateway
        self._steps = steps

    @property
    def transaction_id(self) -> str:
        return self._steps.transaction_id

    @property
    def bytes(self) -> bytes:
        """What an offline signer signs (see :mod:`gateway.offline`), as the synchronous step gives it."""
        return self._steps.bytes

    @property
    def digest(self) -> bytes:
        return self._steps.digest


class AsyncProposal(_Step):
    """A transaction proposal; ``bytes``/``digest`` are what an offline signer needs."""

    _steps: Proposal

    @property
    def _stub(self) -> gateway_pb2_grpc.GatewayStub:
        """The generated stub, made on an aio channel: its calls return awaitables."""
        return self.gateway._steps.stub

    async def evaluate(self, target_orgs: Iterable[str] = ()) -> bytes:
        request = self._steps.evaluate_request(target_orgs)
        try:
            response = await self._stub.Evaluate(request, timeout=self.gateway.timeouts.evaluate)
        except grpc.RpcError as exc:
            raise from_rpc_error(EvaluateError, exc, self.transaction_id) from None
        return response.result.payload

    async def _endorse_envelope(self, orgs: list[str] | None = None) -> common_pb2.Envelope:
        response = await self._stub.Endorse(self._steps.endorse_request(orgs), timeout=self.gateway.timeouts.endorse)
        return response.prepared_transaction

    async def endorse(self) -> AsyncTransaction:
        """Collect endorsements (again, as the gateway's :class:`EndorseRetry` allows); name who disagreed."""
        start = time.monotonic()
        while True:
            try:
                envelope = await self._endorse_envelope()
                break
            except grpc.RpcError as exc:
                pause = self._steps.pause_before_endorsing_again(exc, time.monotonic() - start)
                if pause is None:
                    error = self._steps.endorse_error(exc)
                    if self._steps.wants_diagnosis(error):
                        groups = await self.diagnose(self._steps.suspects(error, await self._channel_orgs()))
                        self._steps.record_disagreement(error, groups)
                    raise error from None
                await asyncio.sleep(pause)
        return AsyncTransaction(self.gateway, self._steps.transaction_of(envelope))

    async def _channel_orgs(self) -> list[str]:
        """Every organisation of the channel (see :meth:`gateway.client.Proposal._channel_orgs`)."""
        network = self.gateway.get_network(self._steps.channel_id)
        try:
            config = await network.get_contract("cscc").evaluate("GetChannelConfig", network.name)
            return parse_channel_organizations(config)
        except (grpc.RpcError, EvaluateError, ValueError, KeyError):
            return []

    async def diagnose(self, orgs: Iterable[str]) -> dict[str, list[str]]:
        """Endorse with each organisation alone and group them by the digest of their result (never submitted)."""
        groups: dict[str, list[str]] = {}
        for org in dict.fromkeys(orgs):
            try:
                envelope = await self._endorse_envelope([org])
            except grpc.RpcError:
                continue
            groups.setdefault(builder.response_payload_digest(envelope), []).append(org)
        return groups if len(groups) > 1 else {}


class AsyncTransaction(_Step):
    """An endorsed transaction, ready to be sent to the orderers."""

    _steps: Transaction

    @property
    def result(self) -> bytes:
        return self._steps.result

    @property
    def endorsing_msps(self) -> list[str]:
        return self._steps.endorsing_msps

    async def submit(self) -> AsyncSubmittedTransaction:
        request = self._steps.submit_request()
        try:
            await self.gateway._steps.stub.Submit(request, timeout=self.gateway.timeouts.submit)
        except grpc.RpcError as exc:
            raise from_rpc_error(SubmitError, exc, self.transaction_id) from None
        return AsyncSubmittedTransaction(self.gateway, self._steps.submitted())


class AsyncSubmittedTransaction(_Step):
    """A transaction the orderers accepted; :meth:`status` awaits its commit."""

    _steps: SubmittedTransaction

    @property
    def result(self) -> bytes:
        return self._steps.result

    async def status(self, timeout: float | None = None) -> Status:
        """Wait until the peer has committed the transaction; its validation code and block."""
        request = self._steps.status_request()
        try:
            response = await self.gateway._steps.stub.CommitStatus(
                request, timeout=timeout or self.gateway.timeouts.commit_status)
        except grpc.RpcError as exc:
            raise from_rpc_error(CommitStatusError, exc, self.transaction_id) from None
        return self._steps.status_of(response)

    async def wait(self, timeout: float | None = None) -> bytes:
        """Wait for the commit; the result if VALID, else :class:`CommitError` naming the validation code."""
        return self._steps.result_of(await self.status(timeout))


def connect(
    endpoint: str,
    identity: X509Identity,
    signer: Signer | None,
    tls_root_cert: bytes,
    server_name: str | None = None,
    timeouts: Timeouts | None = None,
    endorse_retry: EndorseRetry = NO_ENDORSE_RETRY,
) -> AsyncGateway:
    """Open a TLS ``grpc.aio`` channel to a peer's Gateway service (lazily: the first call connects)."""
    credentials = grpc.ssl_channel_credentials(root_certificates=tls_root_cert)
    channel = grpc.aio.secure_channel(endpoint, credentials, options=channel_options(server_name))
    return AsyncGateway(channel, identity, signer, timeouts, owns_channel=True, endorse_retry=endorse_retry)


def connect_from_profile(profile: Path | str | object, user: str = "admin", timeouts: Timeouts | None = None,
                         endorse_retry: EndorseRetry = NO_ENDORSE_RETRY) -> AsyncGateway:
    """Connect as ``user`` (a profile identity or a wallet user) using an org's connection profile."""
    access = peer_access(profile, user)
    return connect(access.endpoint, access.identity, access.signer, tls_root_cert=access.tls_root_cert,
                   server_name=access.server_name, timeouts=timeouts, endorse_retry=endorse_retry)


__all__ = ["AsyncContract", "AsyncGateway", "AsyncNetwork", "AsyncProposal", "AsyncSubmittedTransaction",
           "AsyncTransaction", "EndorseError", "connect", "connect_from_profile"]
