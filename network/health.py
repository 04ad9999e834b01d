"""Is a node healthy? Operations ``/healthz`` over TLS for peers and orderers, ``/cainfo`` for CAs."""

from __future__ import annotations

import json
import ssl
import urllib.request
from pathlib import Path


def https_ok(url: str, ca_file: Path, timeout: float = 2.0) -> bool:
    context = ssl.create_default_context(cafile=str(ca_file))
    try:
        with urllib.request.urlopen(url, context=context, timeout=timeout) as resp:  # noqa: S310 - loopback URL we built
            body = resp.read()
            if resp.status != 200:
                return False
            if url.endswith("/healthz"):
                return json.loads(body or b"{}").get("status") == "OK"
            return True
    except (OSError, ValueError):
        return False
