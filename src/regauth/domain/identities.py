"""Who an identity provider says someone is: the record the OIDC and LDAP adapters and SCIM
hand to provisioning, linked to an account by (source, issuer, subject), never by a name."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class IdentitySource(StrEnum):
    OIDC = "oidc"
    LDAP = "ldap"
    SCIM = "scim"


@dataclass(frozen=True, slots=True)
class ExternalIdentity:
    source: IdentitySource
    # The OpenID Provider's issuer URL; "" for LDAP and SCIM (one directory per deployment).
    issuer: str
    # What never changes for the person at the provider: the ID token's `sub`, the entry's
    # entryUUID (or the configured attribute), the SCIM resource's externalId or userName.
    subject: str
    # The claim or attribute the account's name is derived from at the first sign-in, and
    # what a SCIM User's userName or externalId must be, in full, to link to its account.
    username: str
    # Group names as the provider gives them (the configuration maps them to teams).
    groups: tuple[str, ...] = ()
    display_name: str | None = None
    email: str | None = None
