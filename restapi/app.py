"""FastAPI app factory: one service per organisation, for that organisation's users."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from gateway.ca import CAClient
from gateway.identity import Signer, load_signer
from gateway.profile import ConnectionProfile
from restapi import aggregators, auditors, dso, errors, events, markets, users
from restapi.auth import TOKEN_FILE, TokenStore
from restapi.body import StrictJsonBody
from restapi.ledger import FabricLedger, Ledger
from restapi.state import AppState

DESCRIPTION = """
REST access to the flexledger marketplace for the users of one organisation.

**Authentication.** Every call carries `Authorization: Bearer <token>`. A token belongs to one Fabric
identity of this organisation (certificate + key in the org wallet); the service signs that caller's
transactions with that caller's own key. The org admin (token in `<wallet>/admin.token`) registers users
with `POST /users`.

**Errors.** Every error has the body `{"error": {"code", "message", "field"}}`; `field` names the offending
input when there is one. Validation errors are 422 (bodies are strict: JSON types are taken as they are,
a key given twice is refused); a body over the size limit is 413; a 405 names the allowed methods in `Allow`.

**Lists** are paged: `page_size` and `bookmark` (the previous page's `next_bookmark`).
"""


def create_app(
    profile: ConnectionProfile,
    ledger: Ledger | None = None,
    tokens: TokenStore | None = None,
    ca_factory: Callable[[], CAClient] | None = None,
    registrar: Callable[[], tuple[bytes, Signer]] | None = None,
    admin_user: str = "admin",
) -> FastAPI:
    """The service of ``profile.org``; ``ledger``/``tokens``/``ca_factory`` default to the real ones."""
    wallet = Path(profile.wallet)
    ledger = ledger if ledger is not None else FabricLedger(profile)
    tokens = tokens if tokens is not None else TokenStore(wallet / TOKEN_FILE)
    if ca_factory is None:
        def ca_factory() -> CAClient:
            return CAClient(profile.ca.url, profile.ca.name, profile.ca.tls_ca_cert)
    registrar_name = next((n for n in ("registrar", admin_user) if n in profile.identities), None)
    if registrar is None and registrar_name is not None:
        files = profile.identities[registrar_name]

        def registrar() -> tuple[bytes, Signer]:
            return Path(files.cert).read_bytes(), load_signer(files.key)

    state = AppState(
        org=profile.org, msp_id=profile.msp_id, wallet=wallet, ledger=ledger, tokens=tokens,
        ca_factory=ca_factory, registrar=registrar, admin_user=admin_user,
        profile_roles={name: ident.role for name, ident in profile.identities.items()},
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        ledger.close()

    app = FastAPI(title=f"flexledger gateway — {profile.org}", version="1.0.0", description=DESCRIPTION,
                  lifespan=lifespan)
    app.state.flex = state
    errors.install(app)
    app.add_middleware(StrictJsonBody)

    @app.get("/health", tags=["service"], summary="Liveness (no authentication)")
    def health() -> dict[str, str]:
        return {"status": "ok", "org": profile.org, "msp_id": profile.msp_id}

    for module in (users, aggregators, markets, dso, auditors, events):
        app.include_router(module.router)
    return app
