"""ID tokens (OpenID Connect Core §3.1.3.7): the provider's signing keys (its JWKS, cached and
fetched again once for a `kid` it does not hold) and the checks of a token's signature,
issuer, audience, lifetime and nonce. The signature is pyjwt's; what is allowed is decided
here: only asymmetric algorithms, each only with a key of its kind."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from regauth import logs
from regauth.domain.clock import Clock
from regauth.sso.errors import IdentityProviderFailed, IdTokenInvalid

if TYPE_CHECKING:
    import jwt

log = logging.getLogger("regauth.sso")

# Never "none" nor HS*: a symmetric key would be the client secret, which the provider does not
# sign ID tokens with unless asked, and which an attacker who knows a public key could not
# otherwise abuse (RFC 8725 §2.1, algorithm confusion).
_FAMILIES: dict[tuple[str, str | None], frozenset[str]] = {
    ("RSA", None): frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}),
    ("EC", "P-256"): frozenset({"ES256"}),
    ("EC", "P-384"): frozenset({"ES384"}),
    ("EC", "P-521"): frozenset({"ES512"}),
    ("OKP", "Ed25519"): frozenset({"EdDSA"}),
}
# Clock skew allowed between the provider and regauth, for `exp`, `iat` and `nbf`.
LEEWAY_SECONDS = 60
# The key set is kept this long, then fetched again (a key the provider withdrew goes with it).
JWKS_TTL_SECONDS = 3600
# A token with a kid the cached set lacks fetches it again, at most this often: a stream of
# tokens with made-up kids must not become a stream of requests to the provider.
JWKS_REFETCH_SECONDS = 10


def algorithms_of(jwk: dict[str, Any]) -> frozenset[str]:
    """The algorithms a JWK may verify: what it declares (if of its kind), else its family's."""
    kty, use = jwk.get("kty"), jwk.get("use")
    if use not in (None, "sig") or not isinstance(kty, str):
        return frozenset()
    crv = jwk.get("crv") if kty != "RSA" else None
    family = _FAMILIES.get((kty, crv if isinstance(crv, str) else None), frozenset())
    declared = jwk.get("alg")
    if declared is None:
        return family
    return frozenset({declared}) & family


@dataclass(frozen=True, slots=True)
class Expected:
    """What the token must say."""

    issuer: str
    client_id: str
    nonce: str


class KeySet:
    """The provider's signing keys, as its `jwks_uri` serves them."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[dict[str, Any]]],
        *,
        clock: Clock,
        ttl_seconds: float = JWKS_TTL_SECONDS,
        refetch_seconds: float = JWKS_REFETCH_SECONDS,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._ttl = ttl_seconds
        self._refetch = refetch_seconds
        self._keys: list[dict[str, Any]] = []
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        # How often the set was fetched (for tests and the curious).
        self.fetches = 0

    async def key_for(self, kid: str | None, alg: str) -> jwt.PyJWK:
        """The key that verifies a token with this header, fetching the set again once if it
        does not hold the kid."""
        async with self._lock:
            now = self._clock()
            if self._fetched_at is None or now - self._fetched_at >= self._ttl:
                await self._load(now)
            found = self._match(kid, alg)
            if found is None and now - (self._fetched_at or 0) >= self._refetch:
                # The provider may have rolled its keys over since the set was fetched.
                logs.event(log, logging.INFO, "oidc_jwks_refetch", kid=_printable(kid))
                await self._load(now)
                found = self._match(kid, alg)
        if found is None:
            raise IdTokenInvalid(
                "the ID token is signed with a key the identity provider does not publish"
            )
        import jwt  # here: PyJWT (~0.7 MiB) only in a worker that checks an ID token

        try:
            return jwt.PyJWK(found, algorithm=alg)
        except jwt.PyJWKError:
            # The message would quote the key; it is public, but useless to the person.
            raise IdentityProviderFailed(
                "the identity provider publishes a signing key regauth cannot read"
            ) from None

    async def _load(self, now: float) -> None:
        document = await self._fetch()
        keys = document.get("keys")
        if not isinstance(keys, list):
            raise IdentityProviderFailed("the identity provider's JWKS holds no key list")
        self._keys = [k for k in keys if isinstance(k, dict) and algorithms_of(k)]
        self._fetched_at = now
        self.fetches += 1

    def _match(self, kid: str | None, alg: str) -> dict[str, Any] | None:
        usable = [k for k in self._keys if alg in algorithms_of(k)]
        if kid is None:
            # Without a kid only an unambiguous set will do (OIDC Core §10.1).
            return usable[0] if len(usable) == 1 else None
        return next((k for k in usable if k.get("kid") == kid), None)


async def verify(token: str, keys: KeySet, expected: Expected, clock: Clock) -> dict[str, Any]:
    """The claims of a valid ID token; IdTokenInvalid (saying which check failed) otherwise."""
    import jwt

    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise IdTokenInvalid("the ID token is not a JWT") from None
    alg, kid = header.get("alg"), header.get("kid")
    if not isinstance(alg, str) or not any(alg in family for family in _FAMILIES.values()):
        raise IdTokenInvalid("the ID token is not signed with an asymmetric algorithm") from None
    if kid is not None and not isinstance(kid, str):
        raise IdTokenInvalid("the ID token's kid is not a string")
    key = await keys.key_for(kid, alg)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[alg],
            audience=expected.client_id,
            issuer=expected.issuer,
            # Times are checked below, against regauth's clock, which tests can pin.
            options={
                "require": ["iss", "aud", "exp", "iat", "sub"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidSignatureError:
        raise IdTokenInvalid("the ID token's signature is not valid") from None
    except jwt.InvalidIssuerError:
        raise IdTokenInvalid("the ID token is from another issuer") from None
    except jwt.InvalidAudienceError:
        raise IdTokenInvalid("the ID token is for another client") from None
    except jwt.MissingRequiredClaimError as exc:
        raise IdTokenInvalid(f"the ID token has no {exc.claim!r} claim") from None
    except jwt.PyJWTError:
        raise IdTokenInvalid() from None
    _check_times(claims, clock())
    _check_party(claims, expected.client_id)
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not hmac.compare_digest(nonce, expected.nonce):
        raise IdTokenInvalid("the ID token's nonce is not this sign-in's")
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise IdTokenInvalid("the ID token's sub is not a string")
    return claims


def _check_times(claims: dict[str, Any], now: float) -> None:
    exp, iat, nbf = claims["exp"], claims["iat"], claims.get("nbf")
    for name, value in (("exp", exp), ("iat", iat), ("nbf", nbf)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise IdTokenInvalid(f"the ID token's {name} is not a number")
    if now >= exp + LEEWAY_SECONDS:
        raise IdTokenInvalid("the ID token has expired")
    if iat > now + LEEWAY_SECONDS or (nbf is not None and nbf > now + LEEWAY_SECONDS):
        raise IdTokenInvalid("the ID token is not valid yet (is a clock wrong?)")


def _check_party(claims: dict[str, Any], client_id: str) -> None:
    """OIDC Core §3.1.3.7 items 4 and 5: with several audiences, the authorized party is us."""
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != client_id:
        raise IdTokenInvalid("the ID token's authorized party (azp) is another client")


def _printable(kid: str | None) -> str | None:
    """A kid for a log line: anyone can put anything in a header."""
    return None if kid is None else kid[:64].encode("ascii", "replace").decode()
