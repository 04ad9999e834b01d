"""Who is calling: the MSP ID of the signer plus the ``role`` attribute of its Fabric CA certificate.

Why our own parser: ``fabric-chaincode-python``'s ``ClientIdentity.get_attribute`` never reads the
certificate. Fabric CA writes enrolment attributes (those registered with ``:ecert``) into an X.509
extension with OID 1.2.3.4.5.6.7.8.1 whose value is the raw JSON ``{"attrs": {"role": "aggregator"}}``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from chaincode.errors import ChaincodeError

#: OID of Fabric CA's attribute extension.
ATTRIBUTE_OID = x509.ObjectIdentifier("1.2.3.4.5.6.7.8.1")

#: Every role the contract knows; a certificate with any other role value is refused.
ROLES = ("dso", "aggregator", "tso", "auditor", "settlement", "admin")


@dataclass(frozen=True)
class Caller:
    """The signer of the proposal: its organisation, its certified role and its certificate subject."""

    msp_id: str
    role: str
    subject: str


def certificate_attributes(cert_pem: bytes) -> dict[str, str]:
    """The Fabric CA attributes of a PEM certificate (empty when it carries none)."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        raise ChaincodeError("creator", f"the signer's certificate cannot be read: {exc}") from exc
    try:
        ext = cert.extensions.get_extension_for_oid(ATTRIBUTE_OID)
    except x509.ExtensionNotFound:
        return {}
    raw = ext.value.value if isinstance(ext.value, x509.UnrecognizedExtension) else b""
    try:
        attrs = json.loads(raw).get("attrs", {})
    except (ValueError, AttributeError) as exc:
        raise ChaincodeError("creator", "the certificate's attribute extension is not valid JSON") from exc
    if not isinstance(attrs, dict):
        raise ChaincodeError("creator", "the certificate's attribute extension has no attrs object")
    return {str(k): str(v) for k, v in attrs.items()}


def caller_of(stub: Any) -> Caller:
    """Read the signer from the stub (``get_creator()`` → ``{"mspid", "idBytes"}``)."""
    creator = stub.get_creator() or {}
    msp_id = creator.get("mspid") or ""
    cert = creator.get("idBytes") or b""
    if not msp_id or not cert:
        raise ChaincodeError("creator", "the proposal carries no signer identity")
    if isinstance(cert, str):
        cert = cert.encode()
    role, subject = _role_and_subject(bytes(cert))
    return Caller(msp_id=msp_id, role=role, subject=subject)


@functools.lru_cache(maxsize=1024)
def _role_and_subject(cert: bytes) -> tuple[str, str]:
    """Parsed once per certificate: the same few users sign every transaction, and parsing shows in profiles."""
    loaded = x509.load_pem_x509_certificate(cert) if b"BEGIN CERTIFICATE" in cert else None
    if loaded is None:
        raise ChaincodeError("creator", "the signer's identity is not a PEM X.509 certificate")
    return certificate_attributes(cert).get("role", ""), loaded.subject.rfc4514_string()
