"""Registry JWTs: the header and claim shapes distribution needs, verified by PyJWT."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from regauth.signing.jwt import TokenClaims, TokenSigner
from regauth.signing.keys import Algorithm, PublicKey, SigningKey, generate_signing_key

NOW = 1_800_000_000.75
ACCESS = [{"type": "repository", "name": "team/app", "actions": ["pull", "push"]}]
KEYS = {
    algorithm: generate_signing_key(algorithm, "libtrust", now=datetime.now(UTC))
    for algorithm in ("ES256", "RS256")
}


def _segment(text: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    header, claims, signature = token.split(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    return _segment(header), _segment(claims), raw


def _cert_key(key: SigningKey) -> PublicKey:
    """Verify with the certificate's key, as the registry does, not the signer's own."""
    public = key.certificate.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey | rsa.RSAPublicKey)
    return public


def _issue(algorithm: Algorithm, *, include_x5c: bool = False, **overrides: Any) -> str:
    arguments: dict[str, Any] = {
        "issuer": "regauth",
        "subject": "alice",
        "audience": "registry.example",
        "access": ACCESS,
        "now": NOW,
        "ttl": 300,
    } | overrides
    signer = TokenSigner(KEYS[algorithm], include_x5c=include_x5c)
    return signer.issue(TokenClaims(**arguments)).jwt


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
@pytest.mark.parametrize("include_x5c", [True, False])
def test_header(algorithm: Algorithm, include_x5c: bool) -> None:
    header, _, _ = _parts(_issue(algorithm, include_x5c=include_x5c))
    key = KEYS[algorithm]
    expected: dict[str, Any] = {"alg": algorithm, "typ": "JWT", "kid": key.kid}
    if include_x5c:
        der = key.certificate.public_bytes(serialization.Encoding.DER)
        # Standard alphabet with padding: distribution decodes x5c with StdEncoding.
        expected["x5c"] = [base64.b64encode(der).decode()]
        assert base64.b64decode(header["x5c"][0], validate=True) == der
    assert header == expected


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
def test_claims_have_the_types_distribution_decodes(algorithm: Algorithm) -> None:
    _, claims, _ = _parts(_issue(algorithm))
    assert claims == {
        "iss": "regauth",
        "sub": "alice",
        "aud": "registry.example",  # a string: 2.8 rejects an array
        "iat": 1_800_000_000,  # ints: 2.8 rejects 1800000000.75
        "nbf": 1_800_000_000,
        "exp": 1_800_000_300,
        "jti": claims["jti"],
        "access": ACCESS,
    }
    assert all(type(claims[c]) is int for c in ("iat", "nbf", "exp"))


def test_issued_token_reports_time_and_lifetime() -> None:
    issued = TokenSigner(KEYS["ES256"], include_x5c=False).issue(
        TokenClaims(issuer="i", subject="", audience="a", access=[], now=NOW, ttl=900)
    )
    assert (issued.issued_at, issued.expires_in) == (1_800_000_000, 900)
    _, claims, _ = _parts(issued.jwt)
    assert claims["exp"] - claims["iat"] == 900
    assert claims["access"] == []  # not null, not missing
    assert claims["sub"] == ""  # anonymous


@pytest.mark.parametrize(
    ("algorithm", "signature_bytes"),
    [
        ("ES256", 64),  # raw r||s, not DER (which is 70-72 bytes)
        ("RS256", 256),
    ],
)
@pytest.mark.parametrize("include_x5c", [True, False])
def test_pyjwt_verifies_the_token(
    algorithm: Algorithm, signature_bytes: int, include_x5c: bool
) -> None:
    key = KEYS[algorithm]
    token = _issue(algorithm, include_x5c=include_x5c, now=time.time())
    claims = jwt.decode(
        token,
        key=_cert_key(key),
        algorithms=[algorithm],
        audience="registry.example",
        issuer="regauth",
    )
    assert claims["access"] == ACCESS
    assert len(_parts(token)[2]) == signature_bytes


def test_a_token_from_another_key_does_not_verify() -> None:
    other = generate_signing_key("ES256", "libtrust", now=datetime.now(UTC))
    token = _issue("ES256", now=time.time())
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            token,
            key=_cert_key(other),
            algorithms=["ES256"],
            audience="registry.example",
        )


def test_every_token_gets_its_own_jti() -> None:
    jtis = {_parts(_issue("ES256"))[1]["jti"] for _ in range(50)}
    assert len(jtis) == 50
    assert all(len(j) == 22 and "=" not in j for j in jtis)  # 16 random bytes


def test_access_given_as_other_mappings_serialises_as_json() -> None:
    access = (MappingProxyType({"type": "repository", "name": "a", "actions": ("pull",)}),)
    _, claims, _ = _parts(_issue("ES256", access=access))
    assert claims["access"] == [{"type": "repository", "name": "a", "actions": ["pull"]}]


@pytest.mark.parametrize(
    "key",
    [
        SigningKey(KEYS["ES256"].private_key, KEYS["ES256"].certificate, "RS256", "k"),
        SigningKey(KEYS["RS256"].private_key, KEYS["RS256"].certificate, "ES256", "k"),
        SigningKey(
            ec.generate_private_key(ec.SECP384R1()), KEYS["ES256"].certificate, "ES256", "k"
        ),
    ],
)
def test_a_key_that_cannot_sign_its_algorithm_is_refused(key: SigningKey) -> None:
    with pytest.raises(ValueError, match=r"cannot sign|P-256"):
        TokenSigner(key, include_x5c=False)


names = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)


@settings(max_examples=50, deadline=None)
@given(subject=names, issuer=names, repository=names, actions=st.lists(names, max_size=3))
def test_claims_round_trip_through_pyjwt(
    subject: str, issuer: str, repository: str, actions: list[str]
) -> None:
    access = [{"type": "repository", "name": repository, "actions": actions}]
    token = _issue("ES256", subject=subject, issuer=issuer, access=access, now=time.time())
    claims = jwt.decode(
        token,
        key=_cert_key(KEYS["ES256"]),
        algorithms=["ES256"],
        audience="registry.example",
        issuer=issuer,
    )
    assert (claims["sub"], claims["access"]) == (subject, access)
