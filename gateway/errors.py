"""Errors of the Fabric Gateway client.

Every error raised by a gRPC call keeps what the peers said: the gateway service attaches one
``gateway.ErrorDetail`` (endpoint address, MSP ID, message) per peer or orderer that failed, inside the
``grpc-status-details-bin`` trailer. Callers (the REST service, the CLI) need them to tell a chaincode
refusal from an outage and, for divergent endorsements, to name the organisations that disagreed.
A chaincode refusal's kind (:class:`contract.kinds.Kind`) is read from the chaincode response status the
peer relays, so callers branch on it rather than on the words of the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import grpc
from fabric_protos.gateway import gateway_pb2
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory

from contract.kinds import Kind, kind_of_status

#: What Fabric's gateway (internal/pkg/gateway/endorsement.go) writes into the ErrorDetail of an endorser
#: whose ProposalResponsePayload differs from the first endorsement it received.
PAYLOAD_MISMATCH = "ProposalResponsePayloads do not match"

_CHAINCODE_RESPONSE = re.compile(r"^chaincode response (\d+), (.*)$", re.DOTALL)


class GatewayError(Exception):
    """Base of every error of this package."""


class ConfigError(GatewayError):
    """A profile, identity file or argument is missing or wrong: the user can fix it."""


@dataclass(frozen=True)
class ErrorDetail:
    """What one peer or orderer reported (gateway.ErrorDetail)."""

    address: str
    msp_id: str
    message: str

    @property
    def chaincode_status(self) -> int | None:
        """The chaincode's response status when the peer relayed a chaincode error, else None."""
        m = _CHAINCODE_RESPONSE.match(self.message)
        return int(m.group(1)) if m else None

    @property
    def chaincode_message(self) -> str | None:
        """The chaincode's own error message (``field: message``) without the peer's prefix."""
        m = _CHAINCODE_RESPONSE.match(self.message)
        return m.group(2) if m else None

    @property
    def chaincode_kind(self) -> Kind | None:
        """The kind of the chaincode's refusal; None when it gave none (an internal error) or did not answer."""
        return kind_of_status(self.chaincode_status)


@dataclass(eq=False)
class RpcFailure(GatewayError):
    """A gRPC call to the gateway failed; ``details`` are the per-endpoint reports."""

    message: str
    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN
    details: list[ErrorDetail] = field(default_factory=list)
    transaction_id: str = ""

    def __post_init__(self) -> None:
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"{self.message} ({self.code.name})"
        for d in self.details:
            text += f"\n  - {d.msp_id or '?'} at {d.address or '?'}: {d.message}"
        return text

    def _refusal(self) -> ErrorDetail | None:
        return next((d for d in self.details if d.chaincode_message is not None), None)

    @property
    def chaincode_message(self) -> str | None:
        """The first chaincode refusal among the details (``field: message``), if any."""
        refusal = self._refusal()
        return None if refusal is None else refusal.chaincode_message

    @property
    def chaincode_kind(self) -> Kind | None:
        """The kind of that first chaincode refusal (None if there is none, or it has no kind)."""
        refusal = self._refusal()
        return None if refusal is None else refusal.chaincode_kind


class EvaluateError(RpcFailure):
    """Evaluate (query) failed on the peer."""


class EndorseError(RpcFailure):
    """Endorsement failed: a chaincode refusal, an unreachable peer or divergent results."""

    @property
    def mismatched_orgs(self) -> list[str]:
        """MSP IDs whose result differed from the first endorsement the gateway collected.

        Fabric compares every endorsement with the first one it received (from the gateway's own org
        when that org endorses), so the org of that first endorsement is never listed here; see
        :attr:`disagreement` for a full grouping computed by endorsing per organisation.
        """
        return sorted({d.msp_id for d in self.details if d.message == PAYLOAD_MISMATCH})

    #: Filled by the client after a mismatch: ``{result digest (hex): [msp ids]}``, one entry per
    #: distinct result. Empty when the client could not (or was asked not to) diagnose.
    disagreement: dict[str, list[str]]

    def __post_init__(self) -> None:
        self.disagreement = {}
        super().__post_init__()

    def disagreement_summary(self) -> str:
        """Who agreed with whom, labelled: ``agreed: A, B (result 1a2b…); differed: C (result 9f8e…)``.

        Why not Fabric's own list: the gateway compares every endorsement with the *first* it collected, so
        when that first one is the faulty org's, Fabric names the honest orgs as the ones that "do not
        match". The grouping by result digest (:attr:`disagreement`) says which side holds a majority.
        """
        if not self.disagreement:
            if not self.mismatched_orgs:
                return ""
            return f"differed from the first endorsement collected: {', '.join(self.mismatched_orgs)}"
        groups = sorted(((sorted(orgs), digest) for digest, orgs in self.disagreement.items()),
                        key=lambda g: (-len(g[0]), g[0]))  # fmt: skip
        if len(groups) > 1 and len(groups[0][0]) > len(groups[1][0]):
            (agreed, digest), rest = groups[0], groups[1:]
            return "; ".join([f"agreed: {', '.join(agreed)} (result {digest[:12]})"]
                             + [f"differed: {', '.join(orgs)} (result {d[:12]})" for orgs, d in rest])  # fmt: skip
        return "no majority: " + "; ".join(f"{', '.join(orgs)} (result {d[:12]})" for orgs, d in groups)

    def __str__(self) -> str:
        if not self.disagreement:
            return super().__str__()
        text = f"{self.message} ({self.code.name})"
        for d in self.details:
            if d.message != PAYLOAD_MISMATCH:  # superseded by the labelled grouping in the message
                text += f"\n  - {d.msp_id or '?'} at {d.address or '?'}: {d.message}"
        return text


#: what a caller needs to know when the outcome of a submitted transaction is unknown
OUTCOME_UNKNOWN = (
    "outcome unknown: the transaction may still commit or may be lost (e.g. with a failing orderer); look it up "
    "by its id before acting on it, or send the call again as a new transaction when it carries its own id "
    "(a bid, a device: a second copy is refused)"
)
#: how a gateway reports that the orderers could not be reached or did not answer in time
_UNREACHED = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED)


class SubmitError(RpcFailure):
    """The orderers did not accept the endorsed transaction, or could not be reached (outcome unknown)."""

    @property
    def outcome_unknown(self) -> bool:
        """True when the transaction may have reached an orderer although the call failed."""
        return self.code in _UNREACHED

    def __str__(self) -> str:
        text = super().__str__()
        return f"{OUTCOME_UNKNOWN} (transaction {self.transaction_id}): {text}" if self.outcome_unknown else text


class CommitStatusError(RpcFailure):
    """The commit status of a submitted transaction could not be obtained: its outcome is unknown."""

    outcome_unknown = True

    def __str__(self) -> str:
        return f"{OUTCOME_UNKNOWN} (transaction {self.transaction_id}): {super().__str__()}"


class EventsError(RpcFailure):
    """The chaincode event stream failed."""


class CommitError(GatewayError):
    """The transaction was ordered but the peers marked it invalid (validation code not VALID)."""

    def __init__(self, transaction_id: str, code: int, code_name: str, block_number: int) -> None:
        self.transaction_id = transaction_id
        self.code = code
        self.code_name = code_name
        self.block_number = block_number
        super().__init__(
            f"transaction {transaction_id} committed as invalid in block {block_number}: {code_name} ({code})"
        )


def _status_class() -> type:
    """google.rpc.Status, built here from its three fields so no extra package is needed.

    A private descriptor pool keeps it from clashing with googleapis-common-protos if that is installed.
    """
    pool = descriptor_pool.DescriptorPool()
    any_file = descriptor_pb2.FileDescriptorProto()
    any_pb2.DESCRIPTOR.CopyToProto(any_file)
    pool.Add(any_file)
    f = descriptor_pb2.FileDescriptorProto(
        name="flexledger_google_rpc_status.proto", package="google.rpc", syntax="proto3",
        dependency=["google/protobuf/any.proto"],
    )
    msg = f.message_type.add(name="Status")
    label = descriptor_pb2.FieldDescriptorProto
    msg.field.add(name="code", number=1, type=label.TYPE_INT32, label=label.LABEL_OPTIONAL)
    msg.field.add(name="message", number=2, type=label.TYPE_STRING, label=label.LABEL_OPTIONAL)
    msg.field.add(name="details", number=3, type=label.TYPE_MESSAGE, label=label.LABEL_REPEATED,
                  type_name=".google.protobuf.Any")
    pool.Add(f)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("google.rpc.Status"))


_Status = _status_class()
_DETAILS_KEY = "grpc-status-details-bin"


def details_of(error: grpc.RpcError) -> list[ErrorDetail]:
    """The gateway.ErrorDetail entries of a failed call (empty when the server attached none)."""
    trailers = getattr(error, "trailing_metadata", lambda: None)() or ()
    for key, value in trailers:
        if key != _DETAILS_KEY:
            continue
        status = _Status.FromString(value)
        out = []
        for item in status.details:
            detail = gateway_pb2.ErrorDetail()
            if item.Unpack(detail):
                out.append(ErrorDetail(detail.address, detail.msp_id, detail.message))
        return out
    return []


def encode_details(code: grpc.StatusCode, message: str, details: list[ErrorDetail]) -> bytes:
    """Serialise a google.rpc.Status carrying ErrorDetails (used by test servers, like Fabric's)."""
    status = _Status(code=code.value[0], message=message)
    for d in details:
        item = status.details.add()
        item.Pack(gateway_pb2.ErrorDetail(address=d.address, msp_id=d.msp_id, message=d.message))
    return status.SerializeToString()


def from_rpc_error(kind: type[RpcFailure], error: grpc.RpcError, transaction_id: str = "") -> RpcFailure:
    """Wrap a grpc error into ``kind``, keeping the status code, message and per-peer details."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    message = error.details() if hasattr(error, "details") else str(error)
    return kind(message=message or str(code), code=code, details=details_of(error),
                transaction_id=transaction_id)
