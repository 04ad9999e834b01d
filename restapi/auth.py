"""API tokens bound to Fabric identities.

Each API user is a Fabric identity of this organisation (cert + key in the wallet). The service hands out
one random bearer token per user and keeps only its SHA-256, so a stolen token file grants nothing. A
request's token selects the identity whose key signs that request's Fabric transactions: there is no
shared super-identity, and the chaincode sees the real caller.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

TOKEN_FILE = "api-tokens.json"
ADMIN_TOKEN_FILE = "admin.token"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: wallet user name, role (from its certificate) and MSP."""

    user: str
    role: str
    msp_id: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def write_private(path: Path, text: str) -> None:
    """Write a file readable only by its owner (0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


class TokenStore:
    """Hashed tokens in ``<wallet>/api-tokens.json`` (0600): ``{sha256: {user, created}}``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._records: dict[str, dict] = {}
        self._mtime: int | None = None
        self._reload()

    def _reload(self) -> None:
        """Re-read the file when another process (``flexledger gateway users``) changed it."""
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return
        if mtime != self._mtime:
            self._records = json.loads(self.path.read_text() or "{}")
            self._mtime = mtime

    def _write(self) -> None:
        write_private(self.path, json.dumps(self._records, indent=1, sort_keys=True))
        self._mtime = self.path.stat().st_mtime_ns

    def issue(self, user: str) -> str:
        """A new token for ``user`` (earlier tokens of the user stay valid until revoked)."""
        token = "flx_" + secrets.token_urlsafe(32)
        with self._lock:
            self._reload()
            self._records[_hash(token)] = {"user": user, "created": int(time.time())}
            self._write()
        return token

    def revoke_user(self, user: str) -> int:
        with self._lock:
            self._reload()
            before = len(self._records)
            self._records = {h: r for h, r in self._records.items() if r["user"] != user}
            self._write()
            return before - len(self._records)

    def user_of(self, token: str) -> str | None:
        # the lookup key is a hash of the token, so its timing reveals nothing about valid tokens
        with self._lock:
            self._reload()
            record = self._records.get(_hash(token))
        return str(record["user"]) if record else None


def ensure_admin_token(store: TokenStore, wallet: Path, admin_user: str = "admin") -> tuple[str, Path]:
    """A fresh admin token, written to ``<wallet>/admin.token`` (0600) for the org operator."""
    store.revoke_user(admin_user)
    token = store.issue(admin_user)
    path = wallet / ADMIN_TOKEN_FILE
    write_private(path, token + "\n")
    return token, path
