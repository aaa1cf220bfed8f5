"""A real OpenID Provider for the tests: panva's certified `oidc-provider` from npm, run by the
machine's Node.js (tests/support/oidc_provider/server.mjs) on a free loopback port.

The harness chooses everything the provider knows: its signing keys (RSA, made here, so a
test can rotate them: a restart with a new key), its clients (id, secret, redirect URIs) and its
accounts (login, password, a UUID `sub` that is not the login, preferred_username, email,
groups), written to a JSON file the provider reads at every login and claims lookup, so a test
can rename someone at the IdP or change their groups while it runs.

Also a pytest plugin: the `oidc_provider` (session) fixture; `start_oidc_provider()` makes one
of a test's own (to rotate its keys, restart it, or set other options). Without node or the
installed node_modules (scripts/test runs `npm ci` in tests/support/oidc_provider) they are
skipped, under CI=true they fail. `sign_in_at_provider` (tests/support/oidc_provider_login.py)
drives its real login form over HTTP.
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import urllib.error
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.e2e.harness.processes import Service, child_env, free_port, http_get
from tests.support.ci import missing
from tests.support.secrets import remember

DIRECTORY = Path(__file__).parent / "oidc_provider"
SCRIPT = DIRECTORY / "server.mjs"
# What the web page's redirect URI is under the tests' default config ([server] public_url).
DEFAULT_REDIRECT_URI = "http://localhost:5001/ui/sign-in/oidc/callback"
DEFAULT_CLIENT_ID = "regauth-tests"


class OidcProviderUnavailable(Exception):
    """This machine cannot run the provider; the message says what is missing."""


@dataclass(frozen=True)
class OidcAccount:
    login: str
    password: str = field(repr=False)
    # What links the account in regauth: never the login, which a person may change.
    sub: str = field(default_factory=lambda: str(uuid.uuid4()))
    preferred_username: str | None = None  # None: the login
    email: str | None = None
    name: str | None = None
    groups: tuple[str, ...] = ()
    # What the provider says of the e-mail address; None: it sends no email_verified claim.
    email_verified: bool | None = True

    def claims(self) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "preferred_username": self.preferred_username or self.login,
            "groups": list(self.groups),
            "email_verified": self.email_verified,  # null: left out (server.mjs)
        }
        if self.email is not None:
            claims["email"] = self.email
        if self.name is not None:
            claims["name"] = self.name
        return claims


@dataclass(frozen=True)
class OidcClient:
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uris: tuple[str, ...]
    auth_method: str = "client_secret_basic"

    def metadata(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uris": list(self.redirect_uris),
            "response_types": ["code"],
            "grant_types": ["authorization_code"],
            "token_endpoint_auth_method": self.auth_method,
        }


def find_node() -> str:
    node = shutil.which("node")
    if node is None:
        raise OidcProviderUnavailable("no node on PATH (apt-get install nodejs npm)")
    if not (DIRECTORY / "node_modules" / "oidc-provider").is_dir():
        raise OidcProviderUnavailable(
            f"oidc-provider is not installed in {DIRECTORY}/node_modules"
            " (scripts/test runs npm ci there)"
        )
    return node


def new_signing_key() -> dict[str, Any]:
    """A private RSA JWK with a fresh random `kid`."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    jwk.update(kid=secrets.token_hex(8), use="sig", alg="RS256")
    return jwk


class OidcProvider:
    """One provider, on a port it keeps across restarts (so its issuer stays the same)."""

    def __init__(self, node: str, *, claims_in_id_token: bool = True) -> None:
        self.node = node
        self.root = Path(tempfile.mkdtemp(prefix="regauth-oidc."))
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.claims_in_id_token = claims_in_id_token
        self.signing_keys = [new_signing_key()]
        # The methods the token endpoint accepts (discovery lists them); None: the provider's.
        self.auth_methods: list[str] | None = None
        self.clients: dict[str, OidcClient] = {}
        self.accounts: dict[str, OidcAccount] = {}
        self.log_path = self.root / "oidc-provider.log"
        self._accounts_file = self.root / "accounts.json"
        self._config_file = self.root / "config.json"
        self._cookie_keys = [secrets.token_urlsafe(24)]
        self._service: Service | None = None
        self._write_accounts()

    @property
    def running(self) -> bool:
        return self._service is not None and self._service.alive()

    @property
    def kids(self) -> list[str]:
        return [key["kid"] for key in self.signing_keys]

    # -- accounts and clients ------------------------------------------------------------------

    def add_account(self, account: OidcAccount) -> OidcAccount:
        """Known to the running provider at its next login (the file is read per login)."""
        remember(account.password)
        self.accounts[account.login] = account
        self._write_accounts()
        return account

    def change_account(self, login: str, **changes: Any) -> OidcAccount:
        """A change at the IdP (a rename, other groups): the next token carries it."""
        account = replace(self.accounts[login], **changes)
        del self.accounts[login]
        self.accounts[account.login] = account
        self._write_accounts()
        return account

    def add_client(
        self,
        redirect_uris: tuple[str, ...] = (DEFAULT_REDIRECT_URI,),
        *,
        client_id: str | None = None,
        auth_method: str = "client_secret_basic",
    ) -> OidcClient:
        """A confidential client; the provider restarts to learn it if it runs."""
        client = OidcClient(
            client_id or f"client-{secrets.token_hex(4)}",
            remember(secrets.token_urlsafe(32)),
            redirect_uris,
            auth_method,
        )
        self.clients[client.client_id] = client
        if self.running:
            self.restart()
        return client

    def write_client_secret(self, client: OidcClient, directory: Path) -> Path:
        """The client secret in a file of its own, as regauth's [oidc] client_secret_file."""
        path = directory / f"{client.client_id}.secret"
        path.write_text(client.client_secret + "\n")
        path.chmod(0o600)
        return path

    # -- keys ------------------------------------------------------------------------------------

    def rotate_key(self, *, keep_old: bool = False) -> str:
        """A new signing key (first: it signs), the old one kept in the JWKS or dropped, and a
        restart: what an IdP's key rollover looks like to its relying parties. The new kid."""
        key = new_signing_key()
        self.signing_keys = [key, *self.signing_keys] if keep_old else [key]
        if self.running:
            self.restart()
        return str(key["kid"])

    def private_key(self, kid: str | None = None) -> Any:
        """A signing key of the provider, for a test that forges what only it could sign."""
        jwk = next(k for k in self.signing_keys if kid is None or k["kid"] == kid)
        return jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(jwk))

    # -- the process -------------------------------------------------------------------------

    def start(self) -> None:
        if self.running:
            return
        if self._service is not None:
            self._service.stop()  # it died by itself: what is left of it
        self._write_config()
        self._service = Service(
            f"oidc-provider[{self.port}]",
            [self.node, str(SCRIPT), str(self._config_file)],
            log_path=self.log_path,
            env=child_env({"NODE_ENV": "test"}),
        )
        self._service.wait_until(self._discovered, f"discovery at {self.issuer}")

    def stop(self) -> None:
        service, self._service = self._service, None
        if service is not None:
            service.stop()

    def restart(self) -> None:
        """Sessions, grants and codes are in the provider's memory: they are gone after it."""
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def discovery(self) -> dict[str, Any]:
        answer = http_get(f"{self.issuer}/.well-known/openid-configuration")
        assert answer.status == 200, answer
        document: dict[str, Any] = answer.json()
        return document

    def _discovered(self) -> bool:
        try:
            answer = http_get(f"{self.issuer}/.well-known/openid-configuration", timeout=2)
        except (OSError, urllib.error.URLError):
            return False
        return answer.status == 200 and answer.json().get("issuer") == self.issuer

    def _write_accounts(self) -> None:
        accounts = [
            {"login": a.login, "password": a.password, "sub": a.sub, "claims": a.claims()}
            for a in self.accounts.values()
        ]
        # Whole or not at all: the provider may read it at any moment.
        partial = self._accounts_file.with_suffix(".partial")
        partial.write_text(json.dumps({"accounts": accounts}))
        partial.replace(self._accounts_file)

    def _write_config(self) -> None:
        config = {
            "issuer": self.issuer,
            "port": self.port,
            "jwks": {"keys": self.signing_keys},
            "clients": [client.metadata() for client in self.clients.values()],
            "accounts_file": str(self._accounts_file),
            "cookie_keys": self._cookie_keys,
            "claims_in_id_token": self.claims_in_id_token,
            "auth_methods": self.auth_methods,
        }
        self._config_file.write_text(json.dumps(config))
        self._config_file.chmod(0o600)


def start_oidc_provider(**options: Any) -> OidcProvider:
    """A new provider with the default client (DEFAULT_CLIENT_ID, DEFAULT_REDIRECT_URI), started
    (~0.5 s). The caller closes it. Where node or oidc-provider is missing, the test asking
    for it is skipped (under CI=true it fails)."""
    try:
        node = find_node()
    except OidcProviderUnavailable as exc:
        missing(str(exc))
    provider = OidcProvider(node, **options)
    provider.add_client(client_id=DEFAULT_CLIENT_ID)
    try:
        provider.start()
    except BaseException:
        provider.close()
        raise
    return provider


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """One provider for the session, with the default client. Tests add accounts to it; one
    that would change its keys or options starts a provider of its own."""
    provider = start_oidc_provider()
    yield provider
    provider.close()
