"""Offline signing: the private key stays with a signer outside this process (HSM, another host).

A gateway created without a signer still builds every message; each step exposes ``bytes`` (to carry to
the signer and back) and ``digest`` (SHA-256, what is signed). The signer returns a DER ECDSA signature
that the client injects with ``Gateway.new_signed_proposal`` / ``new_signed_transaction`` /
``new_signed_commit``. :func:`submit_offline` runs the whole flow with any digest-signing callable.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.client import Contract, Status
from gateway.identity import signer_from_pem

#: Takes a SHA-256 digest, returns a DER ECDSA signature (low-S).
DigestSigner = Callable[[bytes], bytes]


def sign_digest(key_pem: bytes, message_digest: bytes) -> bytes:
    """What the external signer runs: sign a digest with its own P-256 key (low-S normalised)."""
    return signer_from_pem(key_pem)(message_digest)


def submit_offline(contract: Contract, sign: DigestSigner, function: str,
                   *args: str | bytes) -> tuple[bytes, Status]:
    """Endorse, submit and await commit, asking ``sign`` for each of the three signatures."""
    gateway = contract.gateway
    unsigned = contract.new_proposal(function, *args)
    proposal = gateway.new_signed_proposal(unsigned.bytes, sign(unsigned.digest))
    unsigned_tx = proposal.endorse()
    transaction = gateway.new_signed_transaction(unsigned_tx.bytes, sign(unsigned_tx.digest))
    unsigned_commit = transaction.submit()
    commit = gateway.new_signed_commit(unsigned_commit.bytes, sign(unsigned_commit.digest))
    return unsigned_tx.result, commit.status()


def evaluate_offline(contract: Contract, sign: DigestSigner, function: str, *args: str | bytes) -> bytes:
    unsigned = contract.new_proposal(function, *args)
    return contract.gateway.new_signed_proposal(unsigned.bytes, sign(unsigned.digest)).evaluate()
