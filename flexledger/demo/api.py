"""A small REST client for one user of one organisation's gateway (what an aggregator's tool would use)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx


class ApiError(RuntimeError):
    """The gateway refused a request; carries its error model (status, code, message, field)."""

    def __init__(self, status: int, body: dict[str, Any], what: str) -> None:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        self.status = status
        self.code = error.get("code", "")
        self.field = error.get("field")
        self.message = error.get("message", str(body))
        where = f"{self.field}: " if self.field else ""
        super().__init__(f"{what}: HTTP {status} {self.code}: {where}{self.message}")


@dataclass
class OrgApi:
    """One user's session with an organisation's gateway."""

    org: str
    url: str
    token: str
    user: str = "admin"
    timeout: float = 180.0
    _client: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._client = httpx.Client(base_url=self.url, timeout=self.timeout,
                                    headers={"Authorization": f"Bearer {self.token}"})  # fmt: skip

    @classmethod
    def admin_of(cls, org: str, url: str, wallet: Path) -> OrgApi:
        return cls(org, url, (wallet / "admin.token").read_text().strip())

    def as_user(self, name: str, role: str) -> OrgApi:
        """A session for ``name``: enrolled at the org's CA through the gateway on first use."""
        try:
            out = self.call("POST", "/users", {"name": name, "role": role})
        except ApiError as exc:
            if exc.status != 409:
                raise
            out = self.call("POST", f"/users/{name}/token")
        return OrgApi(self.org, self.url, out["token"], name, self.timeout)

    def call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        response = self._client.request(method, path, json=body, params=params)
        try:
            data = response.json() if response.content else None
        except json.JSONDecodeError:
            data = {"error": {"message": response.text}}
        if response.status_code >= 400:
            raise ApiError(response.status_code, data or {}, f"{self.org}/{self.user} {method} {path}")
        return data

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params=params or None)

    def post(self, path: str, body: Any = None) -> Any:
        return self.call("POST", path, body)

    def put(self, path: str, body: Any) -> Any:
        return self.call("PUT", path, body)

    def items(self, path: str, **params: Any) -> list[Any]:
        """Every item of a paginated list."""
        out: list[Any] = []
        bookmark = None
        while True:
            page = self.get(path, **params, **({"bookmark": bookmark} if bookmark else {}))
            out.extend(page["items"])
            bookmark = page.get("next_bookmark")
            if not bookmark:
                return out

    def close(self) -> None:
        self._client.close()
