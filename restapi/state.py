"""What every request needs: the org, the ledger door, the token store, the CA; and who is calling."""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
from fastapi import Depends, Request

from gateway.ca import CAClient
from gateway.identity import Signer
from restapi.auth import Principal, TokenStore
from restapi.errors import ApiError
from restapi.ledger import Ledger
from restapi.store.db import QueryStore

T = TypeVar("T")


@dataclass
class AppState:
    org: str
    msp_id: str
    wallet: Path
    ledger: Ledger
    tokens: TokenStore
    ca_factory: Callable[[], CAClient] | None = None
    #: the org registrar's certificate and signer (the profile's admin), for registering users
    registrar: Callable[[], tuple[bytes, Signer]] | None = None
    admin_user: str = "admin"
    #: roles from the profile, used when a certificate carries no role attribute
    profile_roles: dict[str, str] = field(default_factory=dict)
    #: the off-chain read model the list endpoints page from (None: they ask the chaincode)
    store: QueryStore | None = None
    #: worker threads of the bid route (:func:`in_worker`), made and shut down with each run of the app
    workers: ThreadPoolExecutor | None = None
    #: how many submits awaited on the event loop may be in flight at once (:func:`on_loop`): the same bound,
    #: ``max_in_flight``, as the worker threads, made with each run of the app (a semaphore serves one loop)
    loop_slots: asyncio.Semaphore | None = None
    _roles: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _extensions: dict[str, Any] = field(default_factory=dict)

    def extension(self, name: str, make: Callable[[], Any]) -> Any:
        """One long-lived helper object per service (a store, a cache), made on first use.

        Every bid asks for two of them from its worker thread; once made, one is returned by a dict read
        without the lock, which hundreds of worker threads would otherwise queue on."""
        made = self._extensions.get(name)
        if made is not None:
            return made
        with self._lock:
            if name not in self._extensions:
                self._extensions[name] = make()
            return self._extensions[name]

    def known_role(self, user: str) -> str | None:
        """The user's role if it was looked up before (no I/O, no lock: one dict read), else None."""
        return self._roles.get(user)

    def role_of(self, user: str) -> str:
        """The ``role`` attribute of the user's certificate (what the chaincode will see)."""
        cached = self.known_role(user)
        if cached is not None:
            return cached
        role = self.ledger.identity(user).attributes.get("role") or self.profile_roles.get(user, "")
        if not role and user == self.admin_user:
            role = "admin"
        with self._lock:
            self._roles[user] = role
        return role


# The dependencies below are ``async`` although they await nothing in the common case: FastAPI runs a
# plain ``def`` dependency in a worker thread, and three thread hand-offs per request (state, caller,
# role check) cost more CPU than the checks themselves (docs/gateway.md, "Throughput"). They do no
# blocking work on the event loop: the token lookup is a hash and a dict read (plus a stat of the token
# file), and the one call that may read files, a user's first role lookup, goes to a worker thread.


def _state(request: Request) -> AppState:
    return request.app.state.flex


async def state_of(request: Request) -> AppState:
    return _state(request)


def token_user(state: AppState, authorization: str) -> str:
    """The user of an ``Authorization: Bearer <token>`` header's token; 401 otherwise."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "missing bearer token", "Authorization")
    user = state.tokens.user_of(token.strip())
    if user is None:
        raise ApiError(401, "unauthorized", "invalid or revoked token", "Authorization")
    return user


async def principal(request: Request) -> Principal:
    """Authenticate ``Authorization: Bearer <token>``; 401 otherwise."""
    state = _state(request)
    user = token_user(state, request.headers.get("authorization", ""))
    role = state.known_role(user)
    if role is None:
        role = await anyio.to_thread.run_sync(state.role_of, user)
    return Principal(user=user, role=role, msp_id=state.msp_id)


def require(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """Dependency: the caller must hold one of ``roles`` (the chaincode checks again, authoritatively)."""

    async def check(who: Principal = Depends(principal)) -> Principal:  # noqa: B008
        if who.role not in roles:
            raise ApiError(403, "forbidden", f"role {who.role or 'none'!r} may not do this; needs {' or '.join(roles)}",
                           "Authorization")
        return who

    return check


async def in_worker(state: AppState, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``, a blocking ledger call, in the service's worker threads; the event loop goes on meanwhile.

    Why not a plain ``def`` route, which FastAPI runs in anyio's thread pool: that hand-off cost 0.15-0.2 ms
    more CPU per request than an executor's (server CPU per ``POST /bids``, 128 and 256 in flight: 0.97 and
    1.10-1.19 ms through anyio, 0.82 and 0.94 ms through the executor), and ``POST /bids`` is the route a
    gate closure floods. Both pools hold ``max_in_flight`` threads.
    """
    return await asyncio.get_running_loop().run_in_executor(state.workers, functools.partial(fn, *args))


async def on_loop(state: AppState, call: Callable[[], Awaitable[T]]) -> T:
    """``call()``, a ledger call awaited on the event loop, once fewer than ``max_in_flight`` are in flight.

    Why bound it: a peer's Gateway service refuses calls beyond a limit of its own
    (``peer.limits.concurrency.gatewayService``), so a flood of bids waits its turn here, as the worker
    threads' callers do, rather than being handed to the peer all at once."""
    if state.loop_slots is None:
        return await call()
    async with state.loop_slots:
        return await call()


def decode(result: bytes) -> Any:
    """Chaincode results are UTF-8 JSON; anything else is returned as text."""
    if not result:
        return None
    try:
        return json.loads(result)
    except ValueError:
        return result.decode(errors="replace")


def dump(value: Any) -> str:
    """Chaincode arguments: compact JSON with sorted keys (stable across callers)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
