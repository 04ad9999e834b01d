"""FastAPI app factory: one service per organisation, for that organisation's users."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI

from gateway.ca import CAClient
from gateway.identity import Signer, load_signer
from gateway.profile import ConnectionProfile
from restapi import aggregators, auditors, dso, errors, events, markets, sealed_bids, ui, users, wholesale
from restapi import store as query_store
from restapi.auth import TOKEN_FILE, TokenStore
from restapi.bid_lane import BidLane
from restapi.body import StrictJsonBody
from restapi.ledger import FabricLedger, Ledger
from restapi.state import AppState
from restapi.store import routes as store_routes

DESCRIPTION = """
REST access to the flexledger marketplace for the users of one organisation.

**Authentication.** Every call carries `Authorization: Bearer <token>`. A token belongs to one Fabric
identity of this organisation (certificate + key in the org wallet); the service signs that caller's
transactions with that caller's own key. The org admin (token in `<wallet>/admin.token`) registers users
with `POST /users`.

**Errors.** Every error has the body `{"error": {"code", "message", "field"}}`; `field` names the offending
input when there is one. Validation errors are 422 (bodies are strict: JSON types are taken as they are,
a key given twice is refused); a body over the size limit is 413; a 405 names the allowed methods in `Allow`.

**Lists** are paged: `page_size` and `bookmark` (the previous page's `next_bookmark`). Markets, bids and
devices are read from the organisation's off-chain query store (a mirror of the ledger fed by committed
blocks), where the bookmark is the id of the last item returned.

**Web UI** at `/ui` (same bearer tokens; the login page asks for one).
"""

#: Requests the service works on at once. Routes call the blocking Fabric client (a submit waits for the
#: commit, ~0.5-2 s) from worker threads (anyio's pool for plain ``def`` routes; the bid route's own pool,
#: :func:`restapi.state.in_worker`; each this size), and a bid for a market known to be open is awaited on the
#: event loop, as many at once (:func:`restapi.state.on_loop`); Starlette's default of 40 threads capped a busy
#: service at 40 transactions in flight, so every block it could fill held at most 40 and throughput fell behind the
#: client library's (docs/gateway.md, "Throughput"). A waiting thread costs memory, not CPU.
DEFAULT_MAX_IN_FLIGHT = 512


def create_app(
    profile: ConnectionProfile,
    ledger: Ledger | None = None,
    tokens: TokenStore | None = None,
    ca_factory: Callable[[], CAClient] | None = None,
    registrar: Callable[[], tuple[bytes, Signer]] | None = None,
    admin_user: str = "admin",
    query_db: str | None = None,
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    bid_lane: bool = True,
) -> FastAPI:
    """The service of ``profile.org``; ``ledger``/``tokens``/``ca_factory`` default to the real ones.

    The query store (``query_db``, else ``FLEXLEDGER_QUERY_DB``, else a SQLite file in the wallet) is fed
    from the real ledger's blocks; with an injected ``ledger`` it is used only when ``query_db`` is given.
    ``max_in_flight`` sizes the worker-thread pools the routes run in, and bounds the bids submitted awaited on
    the event loop (:func:`restapi.state.on_loop`): requests beyond it wait their turn.
    ``bid_lane``: serve ``POST /bids`` ahead of FastAPI's routing (:mod:`restapi.bid_lane`; off only to hold
    the lane's answers to the route's in tests).
    """
    if max_in_flight < 1:
        raise ValueError(f"max_in_flight: must be >= 1, got {max_in_flight}")
    wallet = Path(profile.wallet)
    with_store = ledger is None or query_db is not None
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
    reader = registrar_name or next(iter(profile.identities), admin_user)  # any member may read blocks
    if with_store:
        state.store = query_store.open_store(wallet, query_db)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        anyio.to_thread.current_default_thread_limiter().total_tokens = max_in_flight
        state.workers = workers = ThreadPoolExecutor(max_in_flight, thread_name_prefix="ledger")
        state.loop_slots = asyncio.Semaphore(max_in_flight)
        # one follower per run of the app (a test harness may run the lifespan of one app more than once)
        follower = None
        if state.store is not None:
            follower = query_store.StoreFollower(state.store, lambda start: ledger.blocks(reader, start),
                                                 profile.chaincode).start()
        yield
        if follower is not None:
            follower.stop()
        workers.shutdown(wait=True)
        await ledger.aclose()
        ledger.close()

    app = FastAPI(title=f"flexledger gateway — {profile.org}", version="1.0.0", description=DESCRIPTION,
                  lifespan=lifespan)
    app.state.flex = state
    errors.install(app)
    if bid_lane:
        app.add_middleware(BidLane)  # added first: inside StrictJsonBody, which checks every body before it
    app.add_middleware(StrictJsonBody)

    @app.get("/health", tags=["service"], summary="Liveness (no authentication)")
    def health() -> dict[str, str]:
        return {"status": "ok", "org": profile.org, "msp_id": profile.msp_id}

    for module in (users, aggregators, sealed_bids, markets, dso, auditors, events, wholesale, store_routes, ui):
        app.include_router(module.router)
    return app
