"""What an ID token's claims (and userinfo's) say about the person, as the identity regauth
links and provisions: the subject, the name claim and the groups claim [oidc] names (an
e-mail address as the name only when the provider says it verified it)."""

from __future__ import annotations

from typing import Any

from regauth.config import OidcConfig
from regauth.domain.identities import ExternalIdentity, IdentitySource
from regauth.sso.errors import SignOnFailed, SignOnRefused

EMAIL, VERIFIED = "email", "email_verified"
_MAX_CLAIM = 256  # OIDC Core §2: `sub` is at most 255 ASCII characters; names are short too


def lacks(claims: dict[str, Any], config: OidcConfig) -> bool:
    """Whether the claims regauth needs are not all in the ID token (as when a provider keeps
    the profile for userinfo, as OIDC Core §5.4 has it for the code flow)."""
    return any(name and name not in claims for name in _needed(config))


def _needed(config: OidcConfig) -> tuple[str, ...]:
    # An e-mail address names the account only with the provider's word that it is verified.
    verified = (VERIFIED,) if config.username_claim == EMAIL else ()
    return (config.username_claim, config.groups_claim, *verified)


def identity(issuer: str, claims: dict[str, Any], config: OidcConfig) -> ExternalIdentity:
    subject = claims["sub"]
    if len(subject) > _MAX_CLAIM:
        raise SignOnFailed("the identity provider's sub is longer than 255 characters")
    username = claims.get(config.username_claim)
    if not isinstance(username, str) or not username.strip() or len(username) > _MAX_CLAIM:
        raise SignOnFailed(
            f"the identity provider sent no {config.username_claim!r} claim to name the account "
            "by: check [oidc] username_claim and scopes"
        )
    if config.username_claim == EMAIL:
        _check_verified(claims.get(VERIFIED))
    return ExternalIdentity(
        source=IdentitySource.OIDC,
        issuer=issuer,
        subject=subject,
        username=username,
        groups=groups_of(claims.get(config.groups_claim)),
        display_name=_text(claims.get("name")),
        email=_text(claims.get("email")),
    )


def _check_verified(verified: object) -> None:
    """The e-mail address names the account (and is what a SCIM userName is compared with):
    only an address the provider says it verified (`email_verified`, OIDC Core §5.1) may.
    Found from outside: an address anyone could type into their profile at the provider
    (`email_verified: false`) signed in to the account SCIM had made for it.

    A claim that is absent counts as unverified (some providers, such as Entra ID, never send
    it: their e-mail claim is not one to name accounts by); so does anything but JSON true."""
    if verified is True:
        return
    if verified is False:
        raise SignOnRefused(
            "the identity provider says your e-mail address is not verified: verify it there, "
            "then sign in again"
        )
    raise SignOnRefused(
        "the identity provider does not say that your e-mail address is verified "
        "(no email_verified claim), and accounts are named by it here ([oidc] username_claim "
        '= "email"): ask an administrator'
    )


def groups_of(value: object) -> tuple[str, ...]:
    """A groups claim as names: a list of strings (or one string). Entries that are not
    strings are left out, never guessed at: a group missing only takes access away."""
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list):
        return tuple(dict.fromkeys(g for g in value if isinstance(g, str) and g))
    return ()


def _text(value: object) -> str | None:
    return value[:_MAX_CLAIM] if isinstance(value, str) and value else None
