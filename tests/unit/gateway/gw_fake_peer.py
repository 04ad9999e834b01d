"""An in-process Fabric Gateway gRPC server built from the official protos, for client unit tests.

It checks what a real peer checks about the client's messages (signatures by the creator's key, low-S,
TxID = SHA-256(nonce ‖ creator)) and answers like Fabric's gateway (ErrorDetails in the status trailer,
"ProposalResponsePayloads do not match" for divergent endorsers). Its "chaincode" is a tiny KV store.
It is no substitute for the real network: integration tests cover the same behaviours there.
"""

from __future__ import annotations

import hashlib
import threading
from concurrent import futures
from dataclasses import dataclass, field

import grpc
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    chaincode_pb2,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)

from gateway.errors import ErrorDetail, encode_details
from gateway.identity import P256_ORDER, verify

MVCC_READ_CONFLICT = transaction_pb2.MVCC_READ_CONFLICT


@dataclass
class Chaincode:
    """KV chaincode: Put(k, v) emits event "Put"; Get(k); Fail; Conflict (commits invalid); WhoAmI."""

    state: dict[str, bytes] = field(default_factory=dict)

    def invoke(self, fn: str, args: list[bytes], msp: str) -> tuple[int, str, bytes, tuple[str, bytes] | None]:
        if fn == "Put":
            return 200, "", args[1], ("Put", b'{"key": "%s"}' % args[0])
        if fn == "Get":
            key = args[0].decode()
            if key not in self.state:
                return 404, f"key: {key} not found", b"", None
            return 200, "", self.state[key], None
        if fn == "Fail":
            return 400, "device.max_power_mw: must be > 0", b"", None
        if fn == "WhoAmI":
            return 200, "", msp.encode(), None
        if fn in ("Conflict", "ConflictTwice"):
            return 200, "", b"late", None
        return 400, f"function: unknown {fn}", b"", None


class FakeGateway(gateway_pb2_grpc.GatewayServicer):
    def __init__(self, orgs: list[str], local_org: str, channel: str = "flexchannel") -> None:
        self.orgs = orgs
        self.local_org = local_org
        self.channel = channel
        self.chaincode = Chaincode()
        self.diverging: set[str] = set()
        #: the next N endorsements are refused by a remote org's peer, as one that lags a block behind
        self.lagging_refusals = 0
        #: the next N endorsements fail because a remote org's peer is down (being restarted)
        self.unreachable_endorsements = 0
        #: the next N endorse calls find this (the gateway's own) peer unavailable, as while it restarts
        self.unavailable_endorsements = 0
        self.calls: list[tuple[str, list[str]]] = []
        self.height = 1
        self.blocks: dict[int, list[chaincode_event_pb2.ChaincodeEvent]] = {}
        self.status: dict[str, tuple[int, int]] = {}
        self.pending: dict[str, tuple[str, list[bytes]]] = {}
        self.cond = threading.Condition()

    # checks a real peer makes
    def _check(self, data: bytes, signature: bytes, creator: bytes, context: grpc.ServicerContext) -> str:
        identity = identities_pb2.SerializedIdentity.FromString(creator)
        _, s = decode_dss_signature(signature)
        if s > P256_ORDER // 2:
            self._abort(context, grpc.StatusCode.PERMISSION_DENIED, "high-S signature", [])
        if not verify(identity.id_bytes, data, signature):
            self._abort(context, grpc.StatusCode.PERMISSION_DENIED, "signature invalid", [])
        x509.load_pem_x509_certificate(identity.id_bytes)
        return identity.mspid

    def _abort(self, context: grpc.ServicerContext, code: grpc.StatusCode, message: str,
               details: list[ErrorDetail]) -> None:
        context.set_trailing_metadata((("grpc-status-details-bin", encode_details(code, message, details)),))
        context.abort(code, message)

    def _open(self, signed: proposal_pb2.SignedProposal, context: grpc.ServicerContext):
        proposal = proposal_pb2.Proposal.FromString(signed.proposal_bytes)
        header = common_pb2.Header.FromString(proposal.header)
        sig_header = common_pb2.SignatureHeader.FromString(header.signature_header)
        channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
        msp = self._check(signed.proposal_bytes, signed.signature, sig_header.creator, context)
        if channel_header.tx_id != hashlib.sha256(sig_header.nonce + sig_header.creator).hexdigest():
            self._abort(context, grpc.StatusCode.FAILED_PRECONDITION, "invalid txid", [])
        if channel_header.channel_id != self.channel:
            self._abort(context, grpc.StatusCode.NOT_FOUND, f"channel {channel_header.channel_id} not found", [])
        payload = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
        spec = chaincode_pb2.ChaincodeInvocationSpec.FromString(payload.input).chaincode_spec
        args = list(spec.input.args)
        return proposal, header, payload, spec.chaincode_id.name, args[0].decode(), args[1:], msp, channel_header

    def Evaluate(self, request, context):
        _, _, _, _, fn, args, msp, _ = self._open(request.proposed_transaction, context)
        self.calls.append(("Evaluate", [fn]))
        status, message, payload, _ = self.chaincode.invoke(fn, args, msp)
        if status >= 400:
            text = f"chaincode response {status}, {message}"
            self._abort(context, grpc.StatusCode.UNKNOWN, "evaluate call to endorser returned error: " + text,
                        [ErrorDetail(f"peer0.{self.local_org}:7051", self.local_org, text)])
        return gateway_pb2.EvaluateResponse(result=proposal_response_pb2.Response(status=200, payload=payload))

    def _response_payload(self, proposal_bytes: bytes, fn: str, payload: bytes, event, org: str) -> bytes:
        results = b"rwset:" + fn.encode() + (b":diverged-" + org.encode() if org in self.diverging else b"")
        action = proposal_pb2.ChaincodeAction(
            results=results, response=proposal_response_pb2.Response(status=200, payload=payload),
            events=chaincode_event_pb2.ChaincodeEvent(event_name=event[0], payload=event[1]).SerializeToString()
            if event else b"",
        )
        return proposal_response_pb2.ProposalResponsePayload(
            proposal_hash=hashlib.sha256(proposal_bytes).digest(), extension=action.SerializeToString()
        ).SerializeToString()

    def Endorse(self, request, context):
        signed = request.proposed_transaction
        proposal, header, payload, cc, fn, args, msp, ch = self._open(signed, context)
        orgs = list(request.endorsing_organizations) or [self.local_org] + [o for o in self.orgs
                                                                          if o != self.local_org]
        self.calls.append(("Endorse", orgs))
        status, message, result, event = self.chaincode.invoke(fn, args, msp)
        if self.unavailable_endorsements > 0:
            self.unavailable_endorsements -= 1
            context.abort(grpc.StatusCode.UNAVAILABLE, "connection refused")
        if self.unreachable_endorsements > 0 and len(orgs) > 1:
            self.unreachable_endorsements -= 1
            self._abort(context, grpc.StatusCode.ABORTED, "failed to collect enough transaction endorsements, "
                        "see attached details for more info", [ErrorDetail(
                            f"peer0.{orgs[-1]}:7051", orgs[-1], "rpc error: code = Unavailable desc = connection "
                            "error: desc = \"transport: Error while dialing: dial tcp: connect: connection refused\"")])
        if self.lagging_refusals > 0 and len(orgs) > 1:
            self.lagging_refusals -= 1
            text = f"chaincode response 412, bid.market_id: {msp} is not enrolled in market m1"
            self._abort(context, grpc.StatusCode.ABORTED, "failed to collect enough transaction endorsements, "
                        "see attached details for more info", [ErrorDetail(f"peer0.{orgs[-1]}:7051", orgs[-1], text)])
        if status >= 400:
            text = f"chaincode response {status}, {message}"
            self._abort(context, grpc.StatusCode.ABORTED, "failed to endorse transaction, see attached details "
                        "for more info", [ErrorDetail(f"peer0.{orgs[0]}:7051", orgs[0], text)])
        first = self._response_payload(signed.proposal_bytes, fn, result, event, orgs[0])
        mismatched = [o for o in orgs[1:]
                      if self._response_payload(signed.proposal_bytes, fn, result, event, o) != first]
        if mismatched:
            self._abort(context, grpc.StatusCode.ABORTED, "failed to collect enough transaction endorsements, "
                        "see attached details for more info",
                        [ErrorDetail(f"peer0.{o}:7051", o, "ProposalResponsePayloads do not match")
                         for o in mismatched])
        endorsements = [proposal_response_pb2.Endorsement(endorser=o.encode(), signature=b"sig") for o in orgs]
        action_payload = transaction_pb2.ChaincodeActionPayload(
            chaincode_proposal_payload=proposal.payload,
            action=transaction_pb2.ChaincodeEndorsedAction(proposal_response_payload=first,
                                                           endorsements=endorsements),
        )
        tx = transaction_pb2.Transaction(actions=[transaction_pb2.TransactionAction(
            header=header.signature_header, payload=action_payload.SerializeToString())])
        envelope_payload = common_pb2.Payload(header=header, data=tx.SerializeToString())
        self.pending[ch.tx_id] = (fn, args)
        return gateway_pb2.EndorseResponse(
            prepared_transaction=common_pb2.Envelope(payload=envelope_payload.SerializeToString()))

    def Submit(self, request, context):
        envelope = request.prepared_transaction
        payload = common_pb2.Payload.FromString(envelope.payload)
        creator = common_pb2.SignatureHeader.FromString(payload.header.signature_header).creator
        self._check(envelope.payload, envelope.signature, creator, context)
        self.calls.append(("Submit", [request.transaction_id]))
        fn, args = self.pending.pop(request.transaction_id)
        code = MVCC_READ_CONFLICT if fn == "Conflict" else transaction_pb2.VALID
        if fn == "ConflictTwice":  # loses its race twice, then commits
            self.races = getattr(self, "races", 0) + 1
            code = MVCC_READ_CONFLICT if self.races <= 2 else transaction_pb2.VALID
        with self.cond:
            block = self.height
            self.height += 1
            self.status[request.transaction_id] = (code, block)
            events = []
            if code == transaction_pb2.VALID and fn == "Put":
                self.chaincode.state[args[0].decode()] = args[1]
                events.append(chaincode_event_pb2.ChaincodeEvent(
                    chaincode_id="flexledger", tx_id=request.transaction_id, event_name="Put",
                    payload=b'{"key": "%s"}' % args[0]))
            self.blocks[block] = events
            self.cond.notify_all()
        return gateway_pb2.SubmitResponse()

    def CommitStatus(self, request, context):
        inner = gateway_pb2.CommitStatusRequest.FromString(request.request)
        self._check(request.request, request.signature, inner.identity, context)
        code, block = self.status[inner.transaction_id]
        return gateway_pb2.CommitStatusResponse(result=code, block_number=block)

    def ChaincodeEvents(self, request, context):
        inner = gateway_pb2.ChaincodeEventsRequest.FromString(request.request)
        self._check(request.request, request.signature, inner.identity, context)
        block = inner.start_position.specified.number if inner.start_position.HasField("specified") \
            else self.height
        passed = not inner.after_transaction_id
        while context.is_active():
            with self.cond:
                if block >= self.height:
                    self.cond.wait(0.05)
                    continue
                events = self.blocks.get(block, [])
            out = []
            for ev in events:
                if not passed:
                    passed = ev.tx_id == inner.after_transaction_id
                    continue
                if ev.chaincode_id == inner.chaincode_id:
                    out.append(ev)
            if out:
                yield gateway_pb2.ChaincodeEventsResponse(events=out, block_number=block)
            block += 1


def start(servicer: FakeGateway, key_pem: bytes, cert_pem: bytes) -> tuple[grpc.Server, int]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    gateway_pb2_grpc.add_GatewayServicer_to_server(servicer, server)
    port = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials([(key_pem, cert_pem)]))
    server.start()
    return server, port
