"""Before any load: make sure each server answers /token with a real token, not an error page."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from regauth_fixture import Credential
from servers import OPENER, BenchError

REQUIRED_FIELDS = ("token", "access_token", "expires_in", "issued_at")


def _get(url: str, authorization: str | None) -> tuple[int, bytes]:
    headers = {"Authorization": authorization} if authorization else {}
    if not url.startswith("http://127.0.0.1:"):
        raise BenchError(f"refusing to send credentials off this machine: {url}")
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - http://127.0.0.1 only
    try:
        with OPENER.open(request, timeout=5.0) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _segment(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode_jwt(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    """(header, payload, signature) without verifying: we check shape and claims only."""
    parts = token.split(".")
    if len(parts) != 3:
        raise BenchError(f"not a JWS compact token: {token[:40]}...")
    header, payload, signature = (_segment(p) for p in parts)
    return json.loads(header), json.loads(payload), signature


def check_token_endpoint(base_url: str, credential: Credential) -> dict[str, Any]:
    """One token for `<user>/check` must carry exactly that access; returns a summary to show."""
    repository = f"{credential.user}/check"
    query = urllib.parse.urlencode(
        {"service": "registry", "scope": f"repository:{repository}:pull,push"}
    )
    status, body = _get(f"{base_url}/token?{query}", credential.authorization)
    if status != 200:
        raise BenchError(f"{base_url}/token answered {status}: {body[:300]!r}")
    document = json.loads(body)
    missing = [f for f in REQUIRED_FIELDS if f not in document]
    if missing or document["token"] != document["access_token"]:
        raise BenchError(f"unexpected /token body (missing {missing}): {body[:300]!r}")
    header, payload, signature = decode_jwt(document["token"])
    access = payload.get("access")
    expected = [{"type": "repository", "name": repository, "actions": ["pull", "push"]}]
    if _normalised(access) != expected:
        raise BenchError(f"token grants {access!r}, expected {expected!r}")
    if header.get("alg") != "ES256" or len(signature) != 64:
        raise BenchError(f"expected an ES256 JWS with a 64-byte r||s signature: {header!r}")
    return {
        "alg": header["alg"],
        "aud": payload.get("aud"),
        "sub": payload.get("sub"),
        "access": access,
        "ttl": payload.get("exp", 0) - payload.get("iat", 0),
        "jwt_bytes": len(document["token"]),
        "body_bytes": len(body),
    }


def check_foreign_pat_refused(base_url: str, user: str, other: Credential) -> int:
    """Another user's valid PAT must be a 401, or the load test would measure a bypass."""
    forged = Credential(user, other.pat)
    query = f"service=registry&scope=repository:{user}/check:pull"
    status, body = _get(f"{base_url}/token?{query}", forged.authorization)
    if status != 401:
        raise BenchError(
            f"{user} with {other.user}'s PAT got {status}, expected 401: {body[:200]!r}"
        )
    return status


def _normalised(access: Any) -> Any:
    if not isinstance(access, list):
        return access
    return [{**entry, "actions": sorted(entry.get("actions", []))} for entry in access]
