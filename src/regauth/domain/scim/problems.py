"""SCIM's error types (RFC 7644 §3.12 `scimType`) on regauth's errors: each problem is the
usual error with its status, and carries the SCIM type the /scim/v2 answers put in the body."""

from __future__ import annotations

from regauth.errors import BadRequest, Conflict

INVALID_FILTER = "invalidFilter"
INVALID_SYNTAX = "invalidSyntax"
INVALID_PATH = "invalidPath"
INVALID_VALUE = "invalidValue"
NO_TARGET = "noTarget"
MUTABILITY = "mutability"
UNIQUENESS = "uniqueness"
TOO_MANY = "tooMany"


def bad(scim_type: str, message: str) -> BadRequest:
    """A 400 of SCIM type `scim_type`; `message` never quotes a secret (a password sent in a
    PATCH is dropped, never echoed)."""
    return BadRequest(message, scimType=scim_type)


def taken(message: str) -> Conflict:
    return Conflict(message, scimType=UNIQUENESS)
