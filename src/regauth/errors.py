"""Every error regauth raises, each declaring its HTTP status and error code once."""

from __future__ import annotations

from typing import Any, ClassVar


class RegauthError(Exception):
    """Base class. `message` is shown to clients and in logs, so it never holds a secret."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "UNKNOWN"
    # OAuth2 `error` value (RFC 6749 §5.2) for the POST /token form, where one applies.
    oauth_error: ClassVar[str | None] = None
    default_message: ClassVar[str] = "internal error"
    # For errors that say something about the connection, not the request: the middleware logs
    # this event (one line, the cause's type, never request bytes) instead of nothing.
    log_event: ClassVar[str | None] = None

    def __init__(self, message: str | None = None, **fields: Any) -> None:
        self.message = message or self.default_message
        # Extra machine-readable fields for the error body (never secrets).
        self.fields = fields
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        """The JSON error body: `details` is what docker prints, `errors` what OCI clients read."""
        body: dict[str, Any] = {
            "details": self.message,
            # Docker Hub's API error shape, for scripts written against it.
            "detail": self.message,
            "message": self.message,
            "errors": [{"code": self.code, "message": self.message}],
        }
        if self.oauth_error:
            body["error"] = self.oauth_error
            body["error_description"] = self.message
        body.update(self.fields)
        return body

    def headers(self) -> dict[str, str]:
        return {}


class ConfigError(RegauthError):
    """Bad configuration; stops start-up with a message naming the key."""

    code = "CONFIG"


class BadRequest(RegauthError):
    status = 400
    code = "BAD_REQUEST"
    oauth_error = "invalid_request"
    default_message = "bad request"


class UnsupportedGrantType(BadRequest):
    code = "UNSUPPORTED"
    oauth_error = "unsupported_grant_type"
    default_message = "unsupported grant_type"


class ClientDisconnected(BadRequest):
    """The connection ended before the request body was complete: nobody reads the answer."""

    default_message = "the connection closed before the request body was complete"
    log_event = "client_disconnected"


class RequestTimeout(BadRequest):
    """The request body did not arrive in time."""

    status = 408
    code = "TIMEOUT"
    default_message = "the request body did not arrive in time"
    log_event = "client_timeout"


class PayloadTooLarge(RegauthError):
    status = 413
    code = "SIZE_INVALID"
    oauth_error = "invalid_request"
    default_message = "request body too large"


class UnsupportedMediaType(RegauthError):
    """A Content-Encoding regauth does not decode (RFC 9110 §15.5.16: name the ones it does)."""

    status = 415
    code = "UNSUPPORTED"
    oauth_error = "invalid_request"
    default_message = "unsupported content encoding"

    def __init__(self, message: str | None = None, *, accept_encoding: str) -> None:
        super().__init__(message)
        self.accept_encoding = accept_encoding

    def headers(self) -> dict[str, str]:
        return {"Accept-Encoding": self.accept_encoding}


class HeadersTooLarge(BadRequest):
    """A request line or header field over the parser's limit, or too many header fields."""

    status = 431
    default_message = "request header fields too large"


class Unauthorized(RegauthError):
    status = 401
    code = "UNAUTHORIZED"
    oauth_error = "invalid_grant"
    default_message = "incorrect username or password"
    # Set where the refusal shows that the presented username names an account (a wrong
    # password of an existing user, a disabled account): only then may a log line quote it,
    # as the name field may hold a password typed in the wrong place.
    names_an_account: bool = False

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Basic realm="regauth"'}

    def of_an_account(self) -> Unauthorized:
        self.names_an_account = True
        return self


class MalformedToken(Unauthorized):
    """A secret carrying a regauth prefix that fails the format or checksum test."""

    default_message = "malformed personal access token"


class SecondFactorRequired(Unauthorized):
    """The password was right but the account has two-factor auth on."""

    default_message = (
        "two-factor authentication is enabled for this account: "
        "use a personal access token instead of the password"
    )

    def __init__(self, user_id: int, message: str | None = None) -> None:
        super().__init__(message)
        self.user_id = user_id


class TooManyRequests(RegauthError):
    status = 429
    code = "TOOMANYREQUESTS"
    oauth_error = "slow_down"
    default_message = "too many requests"

    def __init__(self, message: str | None = None, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Forbidden(RegauthError):
    status = 403
    code = "DENIED"
    default_message = "access denied"


class NotFound(RegauthError):
    status = 404
    code = "NOT_FOUND"
    default_message = "not found"


class MethodNotAllowed(RegauthError):
    status = 405
    code = "UNSUPPORTED"
    default_message = "method not allowed"


class Conflict(RegauthError):
    status = 409
    code = "CONFLICT"
    default_message = "conflict"


class NotFoundInStore(NotFound):
    """A store lookup by key found nothing (users, tokens, repositories)."""


class Unavailable(RegauthError):
    """The database cannot answer now (down, restarting, locked past the busy timeout): the
    request may be retried as it is. The message never holds a row, a query or a value."""

    status = 503
    code = "UNAVAILABLE"
    oauth_error = "temporarily_unavailable"
    default_message = "service temporarily unavailable: try again"
    log_event = "database_unavailable"

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}


class BackupError(RegauthError):
    """A copy that could not be made or put in place; the target is as it was."""

    code = "BACKUP"
    default_message = "backup failed"


class CopyError(RegauthError):
    """A copy that was refused or failed; the target is as it was."""

    code = "COPY"
    default_message = "copy failed"


class DirectoryUnavailable(RegauthError):
    """The directory is down, too slow, or refused regauth's own connection (TLS, the service
    account): password sign-ins cannot be checked, personal access tokens still work.

    Not an errors.Unavailable: that one is the database's (its metric, its closed connection);
    this adapter logs the cause itself, in one line."""

    status = 503
    code = "UNAVAILABLE"
    oauth_error = "temporarily_unavailable"
    default_message = "the directory is unavailable: use a personal access token"
