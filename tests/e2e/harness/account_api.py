"""regauth's self-service API in Docker Hub's /v2 shapes, called the way a script or web UI would."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.harness.processes import HarnessError, HttpAnswer, http_request


class AccountApi:
    """Anonymous calls (sign-in) against one regauth; `sign_in` opens a `Session`."""

    def __init__(self, base_url: str):
        self.base_url = base_url

    def call(
        self, method: str, path: str, *, body: Any = None, session_jwt: str | None = None
    ) -> HttpAnswer:
        headers = {} if session_jwt is None else {"Authorization": f"Bearer {session_jwt}"}
        return http_request(method, f"{self.base_url}{path}", headers=headers, json_body=body)

    def sign_in(self, username: str, password: str) -> Session:
        """`POST /v2/users/login`; a refusal is a harness error (tests that expect one use `call`)."""
        answer = self.call(
            "POST", "/v2/users/login", body={"username": username, "password": password}
        )
        return Session(self, str(_expect(answer, "POST /v2/users/login", 200)["token"]))


class Session:
    """A signed-in account: its access tokens and its two-factor settings."""

    def __init__(self, api: AccountApi, jwt: str):
        self._api = api
        self.jwt = jwt

    def call(self, method: str, path: str, body: Any = None) -> HttpAnswer:
        return self._api.call(method, path, body=body, session_jwt=self.jwt)

    def create_token(self, label: str, scope: str = "repo:admin") -> dict[str, Any]:
        """A new personal access token; its secret is in `token`, shown this once."""
        body = {"token_label": label, "scopes": [scope]}
        created = _expect(
            self.call("POST", "/v2/access-tokens", body), "POST /v2/access-tokens", 201
        )
        return dict(created)

    def tokens(self) -> list[dict[str, Any]]:
        listing = _expect(self.call("GET", "/v2/access-tokens?page_size=100"), "GET tokens", 200)
        return list(listing["results"])

    def token(self, uuid: str) -> dict[str, Any]:
        path = f"/v2/access-tokens/{uuid}"
        return dict(_expect(self.call("GET", path), f"GET {path}", 200))

    def set_active(self, uuid: str, active: bool) -> dict[str, Any]:
        path = f"/v2/access-tokens/{uuid}"
        answer = self.call("PATCH", path, {"is_active": active})
        return dict(_expect(answer, f"PATCH {path}", 200))

    def delete_token(self, uuid: str) -> None:
        path = f"/v2/access-tokens/{uuid}"
        _expect(self.call("DELETE", path), f"DELETE {path}", 204)

    def enroll_two_factor(self) -> dict[str, Any]:
        """`{"secret": <base32>, "otpauth_uri": ...}`: two-factor is on once a code confirms it."""
        answer = self.call("POST", "/v2/account/2fa/enroll", {})
        return dict(_expect(answer, "POST /v2/account/2fa/enroll", 200))

    def confirm_two_factor(self, code: str) -> list[str]:
        """Switches two-factor on; the answer is the account's recovery codes."""
        answer = self.call("POST", "/v2/account/2fa/confirm", {"code": code})
        return list(_expect(answer, "POST /v2/account/2fa/confirm", 200)["recovery_codes"])


def _expect(answer: HttpAnswer, request: str, status: int) -> Any:
    if answer.status != status:
        raise HarnessError(f"{request} answered {answer.status}, not {status}: {answer.body}")
    return json.loads(answer.body) if answer.body else None
