"""Fabric CA REST client: register users (as the org's registrar) and enrol them.

Registration is authorised by Fabric CA's token scheme: ``<b64 cert>.<b64 sig>`` where the signature
covers ``METHOD.b64(uri).b64(body).b64(cert)``; enrolment uses HTTP basic auth with the enrolment secret
and a CSR for a key generated here, so the private key never leaves this host.
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.errors import GatewayError
from gateway.identity import Signer, digest


class CAError(GatewayError):
    """The CA refused a request; ``code`` is Fabric CA's error code (e.g. 74 = already registered)."""

    def __init__(self, message: str, code: int = 0, http_status: int = 0) -> None:
        self.code = code
        self.http_status = http_status
        super().__init__(message)

    @property
    def already_registered(self) -> bool:
        return "already registered" in str(self).lower()

    @property
    def authentication_failed(self) -> bool:
        return self.http_status == 401


@dataclass(frozen=True)
class Enrollment:
    """A freshly enrolled identity: its certificate and the private key generated for it (PEM)."""

    cert_pem: bytes
    key_pem: bytes

    def save(self, folder: Path, role: str = "") -> None:
        """Store as ``<folder>/cert.pem`` and ``key.pem`` (0600), the wallet layout of the profiles."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "cert.pem").write_bytes(self.cert_pem)
        key = folder / "key.pem"
        key.touch(mode=0o600, exist_ok=True)
        key.chmod(0o600)
        key.write_bytes(self.key_pem)
        if role:
            (folder / "role").write_text(role + "\n")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def token(method: str, url_path: str, body: bytes, cert_pem: bytes, signer: Signer) -> str:
    """Fabric CA authorisation token for one request, signed by the registrar."""
    payload = f"{method}.{b64(url_path.encode())}.{b64(body)}.{b64(cert_pem)}"
    return f"{b64(cert_pem)}.{b64(signer(digest(payload.encode())))}"


class CAClient:
    """One Fabric CA server (``url``) and CA instance (``ca_name``)."""

    def __init__(self, url: str, ca_name: str, tls_ca_cert: Path | None = None,
                 transport: httpx.BaseTransport | None = None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.ca_name = ca_name
        verify: ssl.SSLContext | bool = True
        if tls_ca_cert is not None:
            verify = ssl.create_default_context(cafile=str(tls_ca_cert))
        self._http = httpx.Client(verify=verify, timeout=timeout, transport=transport)

    def _post(self, path: str, body: dict, headers: dict[str, str] | None = None,
              auth: tuple[str, str] | None = None) -> dict:
        raw = json.dumps(body).encode()
        try:
            response = self._http.post(self.url + path, content=raw, headers=headers or {}, auth=auth)
        except httpx.HTTPError as exc:
            raise CAError(f"ca: cannot reach {self.url}: {exc}") from None
        try:
            data = response.json()
        except ValueError:
            raise CAError(f"ca: {path} answered HTTP {response.status_code} without JSON",
                          http_status=response.status_code) from None
        if not data.get("success"):
            errors = data.get("errors") or [{"message": f"HTTP {response.status_code}"}]
            first = errors[0]
            raise CAError(f"ca: {first.get('message', 'failed')}", int(first.get("code", 0) or 0),
                          response.status_code)
        return data.get("result") or {}

    def register(self, registrar_cert: bytes, registrar_signer: Signer, enrollment_id: str, role: str,
                 secret: str | None = None, affiliation: str = "", max_enrollments: int = 0) -> str:
        """Register a client identity with a ``role`` attribute put into its certificates; returns the secret."""
        body = {
            "id": enrollment_id, "type": "client", "secret": secret or secrets.token_urlsafe(18),
            "affiliation": affiliation, "max_enrollments": max_enrollments, "caname": self.ca_name,
            "attrs": [{"name": "role", "value": role, "ecert": True}],
        }
        raw = json.dumps(body).encode()
        path = "/api/v1/register"
        base_path = urlsplit(self.url).path
        auth = token("POST", base_path + path, raw, registrar_cert, registrar_signer)
        result = self._post(path, body, headers={"Authorization": auth, "Content-Type": "application/json"})
        return str(result.get("secret", body["secret"]))

    def enroll(self, enrollment_id: str, secret: str) -> Enrollment:
        """Generate a P-256 key, send a CSR, return the certificate and key."""
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, enrollment_id)]))
            .sign(key, hashes.SHA256())
        )
        body = {"certificate_request": csr.public_bytes(serialization.Encoding.PEM).decode(),
                "caname": self.ca_name}
        result = self._post("/api/v1/enroll", body, auth=(enrollment_id, secret))
        cert_pem = base64.b64decode(result["Cert"])
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        return Enrollment(cert_pem, key_pem)

    def close(self) -> None:
        self._http.close()
