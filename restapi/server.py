"""Run one organisation's REST service in the foreground (uvicorn).

Defaults need no configuration: the profile written by ``flexledger network up`` gives the peer, CA,
wallet and the address the service should listen on (``gateway_url``).
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from gateway.profile import ConnectionProfile, load_profile
from restapi.auth import TOKEN_FILE, TokenStore, ensure_admin_token, write_private

FALLBACK_PORT = 8400
SERVICE_FILE = "gateway.json"


def default_address(profile: ConnectionProfile) -> tuple[str, int]:
    """(host, port) of the profile's ``gateway_url``; 127.0.0.1:8400 when the profile has none."""
    if profile.gateway_url:
        parts = urlsplit(profile.gateway_url)
        return parts.hostname or "127.0.0.1", parts.port or FALLBACK_PORT
    return "127.0.0.1", FALLBACK_PORT


@dataclass(frozen=True)
class Prepared:
    profile: ConnectionProfile
    admin_token: str
    admin_token_path: Path
    url: str
    host: str
    port: int


def prepare(org: str, host: str | None, port: int | None, profile_file: Path) -> Prepared:
    """Load the profile, mint the admin token, record where the service listens (``<wallet>/gateway.json``)."""
    profile = load_profile(profile_file)
    default_host, default_port = default_address(profile)
    host, port = host or default_host, port or default_port
    wallet = Path(profile.wallet)
    wallet.mkdir(parents=True, exist_ok=True)
    token, path = ensure_admin_token(TokenStore(wallet / TOKEN_FILE), wallet)
    url = f"http://{host}:{port}"
    write_private(wallet / SERVICE_FILE, json.dumps({"org": org, "url": url, "admin_token_file": str(path)}))
    return Prepared(profile, token, path, url, host, port)


def serve(prepared: Prepared, log_level: str = "info", max_in_flight: int | None = None) -> None:
    import uvicorn

    from restapi import create_app
    from restapi.app import DEFAULT_MAX_IN_FLIGHT

    logging.basicConfig(level=log_level.upper(), stream=sys.stderr)
    app = create_app(prepared.profile, max_in_flight=max_in_flight or DEFAULT_MAX_IN_FLIGHT)
    uvicorn.run(app, host=prepared.host, port=prepared.port, log_level=log_level, access_log=log_level == "debug")
