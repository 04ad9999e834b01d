"""Users and tokens: the org admin registers and enrols users at the org's Fabric CA.

``POST /users`` (admin token) registers the name at the CA with a ``role`` attribute, enrols it with a
key generated here, stores cert/key in the org wallet and returns the user's bearer token (shown once).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Path

from gateway.errors import ConfigError
from restapi.auth import Principal
from restapi.errors import ERROR_RESPONSES, ApiError
from restapi.models import UserIn, UserOut, WhoAmI
from restapi.state import AppState, principal, require, state_of

router = APIRouter(responses=ERROR_RESPONSES, tags=["users"])
Admin = Annotated[Principal, Depends(require("admin"))]
Anyone = Annotated[Principal, Depends(principal)]
State = Annotated[AppState, Depends(state_of)]
UserName = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


@router.get("/me", summary="Who the token belongs to")
def whoami(who: Anyone) -> WhoAmI:
    return WhoAmI(user=who.user, role=who.role, msp_id=who.msp_id)


@router.post("/users", status_code=201, summary="Register and enrol a user at the org's CA (admin)")
def add_user(body: UserIn, who: Admin, state: State) -> UserOut:
    if state.ca_factory is None or state.registrar is None:
        raise ApiError(503, "ca_unavailable", "this service has no CA configured")
    if (state.wallet / body.name / "cert.pem").exists() or body.name == state.admin_user:
        raise ApiError(409, "conflict", f"user {body.name!r} already exists", "name")
    cert, signer = state.registrar()
    ca = state.ca_factory()
    try:
        secret = ca.register(cert, signer, body.name, body.role, secret=body.secret or secrets.token_urlsafe(18))
        ca.enroll(body.name, secret).save(state.wallet / body.name, body.role)
    finally:
        ca.close()
    return UserOut(name=body.name, role=body.role, msp_id=state.msp_id, token=state.tokens.issue(body.name))


@router.post("/users/{name}/token", status_code=201, summary="New token for an existing user (admin)")
def new_token(name: UserName, who: Admin, state: State) -> UserOut:
    try:
        role = state.role_of(name)
    except ConfigError:
        raise ApiError(404, "not_found", f"no user {name!r} in this organisation's wallet", "name") from None
    state.tokens.revoke_user(name)
    return UserOut(name=name, role=role, msp_id=state.msp_id, token=state.tokens.issue(name))


@router.delete("/users/{name}/token", status_code=204, summary="Revoke a user's tokens (admin)")
def revoke(name: UserName, who: Admin, state: State) -> None:
    if state.tokens.revoke_user(name) == 0:
        raise ApiError(404, "not_found", f"user {name!r} has no token", "name")
