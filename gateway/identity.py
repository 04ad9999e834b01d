"""Who the client is (X.509 identity of an MSP) and how it signs (ECDSA P-256, SHA-256, low-S).

Fabric peers reject high-S ECDSA signatures (signature malleability), so every signature is normalised
to the lower half of the curve order before it is DER-encoded, as the official clients do.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)
from fabric_protos.msp import identities_pb2

from gateway.errors import ConfigError

#: Order of the NIST P-256 group; a signature with s > n/2 is replaced by (r, n - s).
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_HALF_ORDER = P256_ORDER >> 1

#: OID of the Fabric CA attribute extension (JSON ``{"attrs": {...}}``) in enrolment certificates.
FABRIC_ATTRS_OID = x509.ObjectIdentifier("1.2.3.4.5.6.7.8.1")

#: Signs a SHA-256 digest and returns a DER signature; may live outside this process (offline signing).
Signer = Callable[[bytes], bytes]


@dataclass(frozen=True)
class X509Identity:
    """An MSP member: its MSP ID and PEM certificate."""

    msp_id: str
    cert_pem: bytes

    def serialize(self) -> bytes:
        """msp.SerializedIdentity bytes: the ``creator`` of proposals and the identity of signed requests."""
        return identities_pb2.SerializedIdentity(mspid=self.msp_id, id_bytes=self.cert_pem).SerializeToString()

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)

    @property
    def attributes(self) -> dict[str, str]:
        """Fabric CA attributes embedded in the certificate (e.g. ``role``); empty when there are none."""
        try:
            ext = self.certificate.extensions.get_extension_for_oid(FABRIC_ATTRS_OID)
        except x509.ExtensionNotFound:
            return {}
        raw = ext.value.value if hasattr(ext.value, "value") else b""
        try:
            return {str(k): str(v) for k, v in json.loads(raw).get("attrs", {}).items()}
        except (ValueError, AttributeError):
            return {}

    @property
    def common_name(self) -> str:
        names = self.certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return str(names[0].value) if names else ""


def digest(message: bytes) -> bytes:
    """SHA-256, the hash Fabric signs with."""
    return hashlib.sha256(message).digest()


def low_s(signature_der: bytes) -> bytes:
    """Re-encode a DER ECDSA signature with s in the lower half of the P-256 order."""
    r, s = decode_dss_signature(signature_der)
    if s > _HALF_ORDER:
        s = P256_ORDER - s
    return encode_dss_signature(r, s)


def load_private_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ConfigError("key: only ECDSA P-256 private keys are supported")
    return key


def signer_from_key(key: ec.EllipticCurvePrivateKey) -> Signer:
    """A :data:`Signer` that signs SHA-256 digests with ``key`` (low-S)."""

    def sign(message_digest: bytes) -> bytes:
        return low_s(key.sign(message_digest, ec.ECDSA(Prehashed(hashes.SHA256()))))

    return sign


def signer_from_pem(pem: bytes) -> Signer:
    return signer_from_key(load_private_key(pem))


def load_identity(msp_id: str, cert_path: Path) -> X509Identity:
    try:
        return X509Identity(msp_id, Path(cert_path).read_bytes())
    except OSError as exc:
        raise ConfigError(f"cert: cannot read {cert_path}: {exc.strerror}") from None


def load_signer(key_path: Path) -> Signer:
    try:
        return signer_from_pem(Path(key_path).read_bytes())
    except OSError as exc:
        raise ConfigError(f"key: cannot read {key_path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"key: {key_path} is not a PEM private key: {exc}") from None


def verify(cert_pem: bytes, message: bytes, signature: bytes) -> bool:
    """Check an ECDSA signature of ``message`` against a certificate (used by tests and the fake server)."""
    from cryptography.exceptions import InvalidSignature

    public = x509.load_pem_x509_certificate(cert_pem).public_key()
    try:
        public.verify(signature, message, ec.ECDSA(hashes.SHA256()))  # type: ignore[union-attr]
        return True
    except InvalidSignature:
        return False
