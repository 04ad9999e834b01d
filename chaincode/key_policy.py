"""Key-level (state-based) endorsement: the policy bytes a key carries, and how the peer is told.

Why: a bid in an owner-endorsed market (chaincode/owner_bids.py) should be one Python execution, on the
bidder's own peer, instead of one per market organisation. Fabric validates a write to a key that carries
a ``VALIDATION_PARAMETER`` against that key's policy instead of the chaincode definition's, and when every
write of a transaction goes to such keys the definition's policy is not asked at all (the peer's gateway
then plans the endorsement from the keys' policies alone). fabric-chaincode-python cannot set one, so the
chaincode server sends the peer protocol's ``PUT_STATE_METADATA`` itself (chaincode/server.py).

The bytes must be identical on every endorser: a ``SignaturePolicyEnvelope`` built from the same fields by
the same protobuf library serialises to the same bytes (no maps, fields in number order).
"""

from __future__ import annotations

from fabric_protos.common import policies_pb2
from fabric_protos.msp import msp_principal_pb2
from fabric_protos.peer import chaincode_shim_pb2 as shim_pb2

#: the metadata key Fabric's validator reads (``peer.MetaDataKeys.VALIDATION_PARAMETER``)
VALIDATION_PARAMETER = "VALIDATION_PARAMETER"


def peers_of(msp_id: str) -> bytes:
    """``AND('<msp>.peer')``: a write of the key must be endorsed by a peer of that organisation."""
    role = msp_principal_pb2.MSPRole(msp_identifier=msp_id, role=msp_principal_pb2.MSPRole.PEER)
    principal = msp_principal_pb2.MSPPrincipal(principal_classification=msp_principal_pb2.MSPPrincipal.ROLE,
                                               principal=role.SerializeToString())
    one_of = policies_pb2.SignaturePolicy.NOutOf(n=1, rules=[policies_pb2.SignaturePolicy(signed_by=0)])
    envelope = policies_pb2.SignaturePolicyEnvelope(version=0, rule=policies_pb2.SignaturePolicy(n_out_of=one_of),
                                                    identities=[principal])
    return envelope.SerializeToString()


def organisations(policy: bytes) -> list[str]:
    """The MSP ids a policy of :func:`peers_of`'s shape names (tests and audits read it back)."""
    envelope = policies_pb2.SignaturePolicyEnvelope()
    envelope.ParseFromString(policy)
    names = []
    for principal in envelope.identities:
        role = msp_principal_pb2.MSPRole()
        role.ParseFromString(principal.principal)
        names.append(role.msp_identifier)
    return names


def put_policy_request(key: str, policy: bytes, channel_id: str, tx_id: str) -> shim_pb2.ChaincodeMessage:
    """The peer protocol's ``PUT_STATE_METADATA`` setting ``key``'s validation parameter to ``policy``."""
    metadata = shim_pb2.StateMetadata(metakey=VALIDATION_PARAMETER, value=policy)
    payload = shim_pb2.PutStateMetadata(key=key, collection="", metadata=metadata).SerializeToString()
    return shim_pb2.ChaincodeMessage(type=shim_pb2.ChaincodeMessage.PUT_STATE_METADATA, payload=payload,
                                     txid=tx_id, channel_id=channel_id)
