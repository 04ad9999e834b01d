"""Gateway → Network → Contract: the client API, shaped like Fabric's official Gateway clients.

One gRPC connection to one peer's Gateway service. Every request is signed by the caller's own identity.
Each step of a transaction (proposal, endorsed transaction, commit-status request) exposes the bytes it
signs and their digest, so a signer outside the process can sign them (see :mod:`gateway.offline`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.peer import proposal_pb2, transaction_pb2

from gateway import proposal as builder
from gateway.errors import (
    CommitError,
    CommitStatusError,
    ConfigError,
    EndorseError,
    EvaluateError,
    SubmitError,
    details_of,
    from_rpc_error,
)
from gateway.identity import Signer, X509Identity, digest, load_identity, load_signer
from gateway.retry import NO_ENDORSE_RETRY, NO_RETRY, EndorseRetry, RetryPolicy


@dataclass(frozen=True)
class Timeouts:
    """Per-call deadlines in seconds (the gateway has its own, shorter or not)."""

    evaluate: float = 30.0
    endorse: float = 60.0
    submit: float = 30.0
    #: how long to wait for the commit of a transaction the orderers accepted; past it the outcome is unknown
    commit_status: float = 60.0


@dataclass(frozen=True)
class Status:
    """Commit status of a transaction: its validation code and block."""

    transaction_id: str
    code: int
    block_number: int

    @property
    def code_name(self) -> str:
        return transaction_pb2.TxValidationCode.Name(self.code)

    @property
    def successful(self) -> bool:
        return self.code == transaction_pb2.VALID


def _unreachable(detail: str) -> bool:
    """An endorser's error detail saying it could not be reached (as Fabric's gateway words it)."""
    return "code = Unavailable" in detail or "connection refused" in detail


class Gateway:
    """A connection to a peer's Gateway service on behalf of one identity."""

    def __init__(
        self,
        channel: grpc.Channel,
        identity: X509Identity,
        signer: Signer | None = None,
        timeouts: Timeouts | None = None,
        diagnose_mismatch: bool = True,
        owns_channel: bool = False,
        endorse_retry: EndorseRetry = NO_ENDORSE_RETRY,
    ) -> None:
        self._channel = channel
        #: only a channel this gateway opened (:func:`connect`) is closed by :meth:`close`; one passed in
        #: belongs to the caller, who may share it between gateways
        self._owns_channel = owns_channel
        self.stub = gateway_pb2_grpc.GatewayStub(channel)
        self.identity = identity
        self.signer = signer
        self.timeouts = timeouts or Timeouts()
        #: whether and how long an endorsement refused by a passing state is tried again (:mod:`gateway.retry`)
        self.endorse_retry = endorse_retry
        self.diagnose_mismatch = diagnose_mismatch
        self._creator = identity.serialize()

    @property
    def creator(self) -> bytes:
        return self._creator

    def sign(self, message: bytes, what: str) -> bytes:
        """Signature over ``message`` with the in-process signer; without one, explain offline signing."""
        if self.signer is None:
            raise ConfigError(
                f"signer: this gateway has no signer; sign the {what} digest offline and pass the signature "
                f"to Gateway.new_signed_{what}()"
            )
        return self.signer(digest(message))

    def get_network(self, name: str) -> Network:
        return Network(self, name)

    # offline signing: rebuild a step from its bytes and an externally made signature
    def new_signed_proposal(self, proposal_bytes: bytes, signature: bytes) -> Proposal:
        proposed = gateway_pb2.ProposedTransaction.FromString(proposal_bytes)
        proposed.proposal.signature = signature
        tx_id, channel_id = builder.proposal_ids(proposed.proposal.proposal_bytes)
        return Proposal(self, proposed, channel_id)

    def new_signed_transaction(self, transaction_bytes: bytes, signature: bytes) -> Transaction:
        prepared = gateway_pb2.PreparedTransaction.FromString(transaction_bytes)
        prepared.envelope.signature = signature
        payload = common_pb2.Payload.FromString(prepared.envelope.payload)
        channel_id = common_pb2.ChannelHeader.FromString(payload.header.channel_header).channel_id
        return Transaction(self, prepared, channel_id)

    def new_signed_commit(self, commit_bytes: bytes, signature: bytes) -> SubmittedTransaction:
        signed = gateway_pb2.SignedCommitStatusRequest.FromString(commit_bytes)
        signed.signature = signature
        request = gateway_pb2.CommitStatusRequest.FromString(signed.request)
        return SubmittedTransaction(self, request.transaction_id, request.channel_id, b"", signed)

    def close(self) -> None:
        """Close the channel if this gateway opened it (never one the caller passed in)."""
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Network:
    """A channel seen through the gateway."""

    def __init__(self, gateway: Gateway, name: str) -> None:
        self.gateway = gateway
        self.name = name

    def get_contract(self, chaincode_name: str) -> Contract:
        return Contract(self, chaincode_name)

    def chaincode_events(self, chaincode_name: str, **kwargs: object):  # -> events.ChaincodeEventStream
        """Stream of the chaincode's events; see :func:`gateway.events.chaincode_events`."""
        from gateway.events import chaincode_events

        return chaincode_events(self, chaincode_name, **kwargs)  # type: ignore[arg-type]


class Contract:
    """A chaincode on a channel: evaluate queries, submit transactions."""

    def __init__(self, network: Network, chaincode_name: str) -> None:
        self.network = network
        self.gateway = network.gateway
        self.name = chaincode_name

    def new_proposal(
        self,
        function: str,
        *args: str | bytes,
        transient: dict[str, bytes] | None = None,
        endorsing_orgs: Iterable[str] = (),
    ) -> Proposal:
        """An unsigned-or-signed proposal: signed now when the gateway has a signer, else offline."""
        built = builder.build_proposal(
            self.gateway.creator, self.network.name, self.name, function, builder.encode_args(args), transient
        )
        proposed = gateway_pb2.ProposedTransaction(
            transaction_id=built.transaction_id,
            proposal=proposal_pb2.SignedProposal(proposal_bytes=built.proposal_bytes),
            endorsing_organizations=list(endorsing_orgs),
        )
        if self.gateway.signer is not None:
            proposed.proposal.signature = self.gateway.sign(built.proposal_bytes, "proposal")
        return Proposal(self.gateway, proposed, self.network.name)

    def evaluate(self, function: str, *args: str | bytes, transient: dict[str, bytes] | None = None,
                 target_orgs: Iterable[str] = ()) -> bytes:
        """Run ``function`` on one peer without ordering it; returns the chaincode's result."""
        return self.new_proposal(function, *args, transient=transient).evaluate(target_orgs)

    def submit_async(self, function: str, *args: str | bytes, transient: dict[str, bytes] | None = None,
                     endorsing_orgs: Iterable[str] = ()) -> SubmittedTransaction:
        """Endorse and hand to the orderers; returns at once with the result, commit status to follow."""
        proposal = self.new_proposal(function, *args, transient=transient, endorsing_orgs=endorsing_orgs)
        return proposal.endorse().submit()

    def submit(self, function: str, *args: str | bytes, transient: dict[str, bytes] | None = None,
               endorsing_orgs: Iterable[str] = (), retry: RetryPolicy = NO_RETRY) -> bytes:
        """Endorse → submit → wait for commit; returns the result, or raises CommitError if not VALID.

        ``retry`` (see :mod:`gateway.retry`) runs the call again as a new transaction when it lost a race.
        """
        return retry.run(lambda: self.submit_async(function, *args, transient=transient,
                                                   endorsing_orgs=endorsing_orgs).wait())


class Proposal:
    """A transaction proposal; ``bytes``/``digest`` are what an offline signer needs."""

    def __init__(self, gateway: Gateway, proposed: gateway_pb2.ProposedTransaction, channel_id: str) -> None:
        self.gateway = gateway
        self._proposed = proposed
        self.channel_id = channel_id

    @property
    def transaction_id(self) -> str:
        return self._proposed.transaction_id

    @property
    def bytes(self) -> bytes:
        """Serialised gateway.ProposedTransaction: hand it to a signer, rebuild with new_signed_proposal."""
        return self._proposed.SerializeToString()

    @property
    def digest(self) -> bytes:
        """SHA-256 of the proposal bytes: what the creator signs."""
        return digest(self._proposed.proposal.proposal_bytes)

    def _signed(self) -> proposal_pb2.SignedProposal:
        if not self._proposed.proposal.signature:
            raise ConfigError("signature: proposal is not signed and the gateway has no signer; sign .digest offline "
                              "and use Gateway.new_signed_proposal")
        return self._proposed.proposal

    # Each step below is split into the request it sends and the call that sends it, so that
    # :mod:`gateway.aio` awaits the same requests on an asyncio channel without a second copy of them.

    def evaluate_request(self, target_orgs: Iterable[str] = ()) -> gateway_pb2.EvaluateRequest:
        return gateway_pb2.EvaluateRequest(
            transaction_id=self.transaction_id, channel_id=self.channel_id,
            proposed_transaction=self._signed(), target_organizations=list(target_orgs),
        )

    def evaluate(self, target_orgs: Iterable[str] = ()) -> bytes:
        request = self.evaluate_request(target_orgs)
        try:
            response = self.gateway.stub.Evaluate(request, timeout=self.gateway.timeouts.evaluate)
        except grpc.RpcError as exc:
            raise from_rpc_error(EvaluateError, exc, self.transaction_id) from None
        return response.result.payload

    def endorse_request(self, orgs: Iterable[str] | None = None) -> gateway_pb2.EndorseRequest:
        """The request to endorse; ``orgs`` None: the organisations the proposal names (or the gateway's choice)."""
        chosen = self._proposed.endorsing_organizations if orgs is None else orgs
        return gateway_pb2.EndorseRequest(
            transaction_id=self.transaction_id, channel_id=self.channel_id,
            proposed_transaction=self._signed(), endorsing_organizations=list(chosen),
        )

    def _endorse_envelope(self, orgs: list[str] | None = None) -> common_pb2.Envelope:
        response = self.gateway.stub.Endorse(self.endorse_request(orgs), timeout=self.gateway.timeouts.endorse)
        return response.prepared_transaction

    def pause_before_endorsing_again(self, exc: grpc.RpcError, elapsed: float) -> float | None:
        """Seconds to wait before the same proposal is endorsed again after ``exc``, or None: report it.

        The gateway's :class:`EndorseRetry` decides, by the cause the refusal names (discovery settling, a
        peer that cannot be reached, another organisation's peer a block behind)."""
        code, text = exc.code(), exc.details() or ""  # type: ignore[attr-defined]
        discovering = code == grpc.StatusCode.FAILED_PRECONDITION and "no combination of peers" in text
        lagging = unreachable = False
        if code == grpc.StatusCode.ABORTED:
            details = details_of(exc)
            unreachable = bool(details) and all(_unreachable(d.message) for d in details)
            local = self.gateway.identity.msp_id
            lagging = bool(details) and all(d.msp_id and d.msp_id != local for d in details)
        elif code == grpc.StatusCode.UNAVAILABLE:  # the gateway's own peer
            unreachable = True
        return self.gateway.endorse_retry.wait_before_retry(elapsed, discovering=discovering,
                                                            unreachable=unreachable, lagging=lagging)  # fmt: skip

    def _endorse_as_policy_allows(self) -> common_pb2.Envelope:
        """Endorse; a refusal by a passing state is tried again only as the gateway's :class:`EndorseRetry` says."""
        start = time.monotonic()
        while True:
            try:
                return self._endorse_envelope()
            except grpc.RpcError as exc:
                pause = self.pause_before_endorsing_again(exc, time.monotonic() - start)
                if pause is None:
                    raise
                time.sleep(pause)

    def endorse_error(self, exc: grpc.RpcError) -> EndorseError:
        """The error an endorsement refusal is reported as (before any diagnosis of a disagreement)."""
        error = from_rpc_error(EndorseError, exc, self.transaction_id)
        assert isinstance(error, EndorseError)
        return error

    def wants_diagnosis(self, error: EndorseError) -> bool:
        return bool(error.mismatched_orgs) and self.gateway.diagnose_mismatch

    def suspects(self, error: EndorseError, channel_orgs: Iterable[str]) -> list[str]:
        """The organisations whose results a diagnosis compares: the own one, those named, all of the channel."""
        return [self.gateway.identity.msp_id, *[d.msp_id for d in error.details if d.msp_id], *channel_orgs]

    @staticmethod
    def record_disagreement(error: EndorseError, groups: dict[str, list[str]]) -> None:
        error.disagreement = groups
        if groups:
            error.message += "; " + error.disagreement_summary()

    def transaction_of(self, envelope: common_pb2.Envelope) -> Transaction:
        """The endorsed transaction, signed by the gateway's signer when it has one (else offline)."""
        prepared = gateway_pb2.PreparedTransaction(transaction_id=self.transaction_id, envelope=envelope)
        if self.gateway.signer is not None:
            prepared.envelope.signature = self.gateway.sign(envelope.payload, "transaction")
        return Transaction(self.gateway, prepared, self.channel_id)

    def endorse(self) -> Transaction:
        """Collect endorsements; on divergent results name which organisations disagreed."""
        try:
            envelope = self._endorse_as_policy_allows()
        except grpc.RpcError as exc:
            error = self.endorse_error(exc)
            if self.wants_diagnosis(error):
                self.record_disagreement(error, self.diagnose(self.suspects(error, self._channel_orgs())))
            raise error from None
        return self.transaction_of(envelope)

    def _channel_orgs(self) -> list[str]:
        """Every organisation of the channel: Fabric's mismatch details name only those that differed from
        the first endorsement, so the ones that agreed with it would be missing from the diagnosis."""
        from gateway.blocks import channel_organizations

        try:
            return channel_organizations(self.gateway.get_network(self.channel_id))
        except (grpc.RpcError, EvaluateError, ValueError, KeyError):
            return []

    def diagnose(self, orgs: Iterable[str]) -> dict[str, list[str]]:
        """Endorse with each organisation alone and group them by the digest of their result.

        The per-org transactions are never submitted. Orgs whose endorsement fails are left out.
        """
        groups: dict[str, list[str]] = {}
        for org in dict.fromkeys(orgs):
            try:
                envelope = self._endorse_envelope([org])
            except grpc.RpcError:
                continue
            groups.setdefault(builder.response_payload_digest(envelope), []).append(org)
        return groups if len(groups) > 1 else {}


class Transaction:
    """An endorsed transaction, ready to be signed (if not yet) and sent to the orderers."""

    def __init__(self, gateway: Gateway, prepared: gateway_pb2.PreparedTransaction, channel_id: str) -> None:
        self.gateway = gateway
        self._prepared = prepared
        self.channel_id = channel_id

    @property
    def transaction_id(self) -> str:
        return self._prepared.transaction_id

    @property
    def result(self) -> bytes:
        return builder.result_of(self._prepared.envelope)

    @property
    def endorsing_msps(self) -> list[str]:
        """Which organisations' peers endorsed it: the gateway asks as few as the policies of the keys written
        allow (one, the bidder's, for a bid of an owner-endorsed market: docs/chaincode.md, "Endorsement")."""
        return builder.endorsing_msps(self._prepared.envelope)

    @property
    def bytes(self) -> bytes:
        return self._prepared.SerializeToString()

    @property
    def digest(self) -> bytes:
        return digest(self._prepared.envelope.payload)

    def submit_request(self) -> gateway_pb2.SubmitRequest:
        if not self._prepared.envelope.signature:
            raise ConfigError("signature: transaction is not signed and the gateway has no signer; sign .digest "
                              "offline and use Gateway.new_signed_transaction")
        return gateway_pb2.SubmitRequest(
            transaction_id=self.transaction_id, channel_id=self.channel_id,
            prepared_transaction=self._prepared.envelope,
        )

    def submit(self) -> SubmittedTransaction:
        request = self.submit_request()
        try:
            self.gateway.stub.Submit(request, timeout=self.gateway.timeouts.submit)
        except grpc.RpcError as exc:
            raise from_rpc_error(SubmitError, exc, self.transaction_id) from None
        return self.submitted()

    def submitted(self) -> SubmittedTransaction:
        """What follows an accepted submit: the commit-status request, signed when the gateway has a signer."""
        status_request = gateway_pb2.CommitStatusRequest(
            transaction_id=self.transaction_id, channel_id=self.channel_id, identity=self.gateway.creator
        ).SerializeToString()
        signed = gateway_pb2.SignedCommitStatusRequest(request=status_request)
        if self.gateway.signer is not None:
            signed.signature = self.gateway.sign(status_request, "commit")
        return SubmittedTransaction(self.gateway, self.transaction_id, self.channel_id, self.result, signed)


class SubmittedTransaction:
    """A transaction accepted by the orderers; :meth:`status` waits for its commit."""

    def __init__(self, gateway: Gateway, transaction_id: str, channel_id: str, result: bytes,
                 signed_request: gateway_pb2.SignedCommitStatusRequest) -> None:
        self.gateway = gateway
        self.transaction_id = transaction_id
        self.channel_id = channel_id
        self.result = result
        self._signed = signed_request

    @property
    def bytes(self) -> bytes:
        return self._signed.SerializeToString()

    @property
    def digest(self) -> bytes:
        return digest(self._signed.request)

    def status_request(self) -> gateway_pb2.SignedCommitStatusRequest:
        if not self._signed.signature:
            raise ConfigError("signature: commit status request is not signed and the gateway has no signer; "
                              "sign .digest offline and use Gateway.new_signed_commit")
        return self._signed

    def status_of(self, response: gateway_pb2.CommitStatusResponse) -> Status:
        return Status(self.transaction_id, response.result, response.block_number)

    def status(self, timeout: float | None = None) -> Status:
        """Block until the peer has committed the transaction; returns its validation code."""
        request = self.status_request()
        try:
            response = self.gateway.stub.CommitStatus(request, timeout=timeout or self.gateway.timeouts.commit_status)
        except grpc.RpcError as exc:
            raise from_rpc_error(CommitStatusError, exc, self.transaction_id) from None
        return self.status_of(response)

    def result_of(self, status: Status) -> bytes:
        """The result if ``status`` is VALID, else :class:`CommitError` naming the validation code."""
        if not status.successful:
            raise CommitError(status.transaction_id, status.code, status.code_name, status.block_number)
        return self.result

    def wait(self, timeout: float | None = None) -> bytes:
        """Wait for the commit; the result if VALID, else :class:`CommitError` naming the validation code."""
        return self.result_of(self.status(timeout))


def channel_options(server_name: str | None = None) -> list[tuple[str, object]]:
    """gRPC options of a channel to a peer's Gateway service (both flavours, :mod:`gateway.aio` too)."""
    options: list[tuple[str, object]] = [
        ("grpc.max_receive_message_length", 100 * 1024 * 1024),
        ("grpc.max_send_message_length", 100 * 1024 * 1024),
        ("grpc.keepalive_time_ms", 60_000),
    ]
    if server_name:
        options.append(("grpc.ssl_target_name_override", server_name))
    return options


def connect(
    endpoint: str,
    identity: X509Identity,
    signer: Signer | None,
    tls_root_cert: bytes,
    server_name: str | None = None,
    timeouts: Timeouts | None = None,
    endorse_retry: EndorseRetry = NO_ENDORSE_RETRY,
) -> Gateway:
    """Open a TLS gRPC channel to a peer's Gateway service (lazily: the first call connects)."""
    credentials = grpc.ssl_channel_credentials(root_certificates=tls_root_cert)
    channel = grpc.secure_channel(endpoint, credentials, options=channel_options(server_name))
    return Gateway(channel, identity, signer, timeouts, owns_channel=True, endorse_retry=endorse_retry)


@dataclass(frozen=True)
class PeerAccess:
    """What connecting as one user of a connection profile takes: the peer, its TLS root, the user's keys."""

    endpoint: str
    identity: X509Identity
    signer: Signer
    tls_root_cert: bytes
    server_name: str | None


def peer_access(profile: Path | str | object, user: str) -> PeerAccess:
    """Read ``user`` (a profile identity or a wallet user) and the peer's TLS root from an org's profile."""
    from gateway.profile import ConnectionProfile, load_profile

    prof = profile if isinstance(profile, ConnectionProfile) else load_profile(profile)  # type: ignore[arg-type]
    files = prof.identity_files(user)
    try:
        root = Path(prof.peer.tls_ca_cert).read_bytes()
    except OSError as exc:
        raise ConfigError(f"peer.tls_ca_cert: cannot read {prof.peer.tls_ca_cert}: {exc.strerror}") from None
    return PeerAccess(prof.peer.endpoint, load_identity(prof.msp_id, files.cert), load_signer(files.key), root,
                      prof.peer.server_name)


def connect_from_profile(profile: Path | str | object, user: str = "admin", timeouts: Timeouts | None = None,
                         endorse_retry: EndorseRetry = NO_ENDORSE_RETRY) -> Gateway:
    """Connect as ``user`` (a profile identity or a wallet user) using an org's connection profile."""
    access = peer_access(profile, user)
    return connect(access.endpoint, access.identity, access.signer, tls_root_cert=access.tls_root_cert,
                   server_name=access.server_name, timeouts=timeouts, endorse_retry=endorse_retry)
