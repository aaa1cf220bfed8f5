"""LDAP sign-in: a password checked by a bind to the company's directory, and the entry read as
an ExternalIdentity (its stable id, its account name, its groups).

Blocking (ldap3's synchronous strategy): callers run `authenticate` in a thread. Imported
only where [ldap] is configured: ldap3 and pyasn1 are ~8 MiB of every worker otherwise.
"""

from __future__ import annotations

import contextlib
import logging
import re
import ssl
import uuid
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from regauth.config import LdapConfig
from regauth.domain.identities import ExternalIdentity, IdentitySource
from regauth.errors import ConfigError, DirectoryUnavailable

with warnings.catch_warnings():
    # ldap3 2.9.1 (its latest) imports names that pyasn1 0.6.1 deprecated (tagMap, typeMap);
    # they still work. Quietened here only, so that every other deprecation still shows.
    warnings.filterwarnings("ignore", r"(tagMap|typeMap) is deprecated", DeprecationWarning)
    import ldap3
    from ldap3.core import exceptions as ldap_errors
    from ldap3.utils.conv import escape_filter_chars
    from ldap3.utils.dn import parse_dn

log = logging.getLogger("regauth.sso.ldap")

# What can be an account name in a directory (uid, sAMAccountName, a UPN): letters, digits and
# . _ - @ +. Anything else (filter syntax, control characters, a backslash) never reaches the
# directory, even escaped: an unusual name is far likelier an attack than a person.
_ACCOUNT_NAME = re.compile(r"\w[\w.@+-]{0,255}")
MAX_PASSWORD_LENGTH = 1024  # as for local passwords: a longer one is no password anyone types
# A person's bind answered with these (RFC 4511 §4.1.9) means the directory cannot answer
# now, not "no".
_BUSY = frozenset({"busy", "unavailable"})
# A search that ends otherwise is a directory regauth cannot use (a wrong base, no rights).
_SEARCHED = frozenset({"success", "sizeLimitExceeded"})


class _VerifiedTls(ldap3.Tls):
    """ldap3's TLS with the standard library's certificate and host name check.

    ldap3 turns the context's own host name check off and calls ssl.match_hostname, which
    Python deprecated (3.7) and removed (3.12); this context checks the name (IP addresses
    too) during the handshake instead, and refuses anything below TLS 1.2."""

    def __init__(self, config: LdapConfig, host: str) -> None:
        super().__init__()
        if config.tls_verify:
            context = ssl.create_default_context(cafile=config.ca_file or None)
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._context = context
        self._host = host

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        connection.socket = self._context.wrap_socket(
            connection.socket,
            server_hostname=self._host,
            do_handshake_on_connect=do_handshake,
        )


class Directory:
    """One directory, as `[ldap]` describes it."""

    def __init__(self, config: LdapConfig) -> None:
        self._config = config
        self._bind_password = _read_password(config) if config.bind_dn else ""
        url = urlsplit(config.url)  # checked by LdapConfig
        self._host = url.hostname or ""
        self._port = url.port
        self._ldaps = url.scheme == "ldaps"
        if config.ca_file and not Path(config.ca_file).is_file():
            raise ConfigError(f"ldap.ca_file: no such file: {config.ca_file}")

    @property
    def config(self) -> LdapConfig:
        return self._config

    def authenticate(self, username: str, password: str) -> ExternalIdentity | None:
        """The identity whose directory password this is, or None (no such person, several
        entries, a wrong password). DirectoryUnavailable when the directory cannot tell."""
        # An empty password is never sent: a simple bind with a DN and no password is an
        # "unauthenticated bind" (RFC 4513 §5.1.2), which many servers answer with success.
        if not password or len(password) > MAX_PASSWORD_LENGTH:
            return None
        if not _ACCOUNT_NAME.fullmatch(username):
            return None
        try:
            return self._authenticate(username, password)
        except ldap_errors.LDAPException as exc:
            # Down, too slow, or its TLS certificate refused. Logged by type: an ldap3 message
            # can quote a certificate or an address, never anything the client sent.
            log.warning(
                "ldap_unavailable",
                extra={"fields": {"cause": type(exc).__name__, "reason": _reason(exc)}},
            )
            raise DirectoryUnavailable() from None

    def _authenticate(self, username: str, password: str) -> ExternalIdentity | None:
        with self._connection(self._config.bind_dn, self._bind_password) as search:
            if not search.bound:
                # The service account was refused: regauth cannot look anyone up.
                _refused("service", search)
                raise DirectoryUnavailable()
            entry = self._find_person(search, username)
            if entry is None:
                return None
            groups = self._groups(search, entry)
        # A connection of its own: the search connection stays the service account's.
        with self._connection(entry.dn, password) as person:
            if not person.bound:
                if _result(person) in _BUSY:
                    _refused("person", person)
                    raise DirectoryUnavailable()
                return None  # a wrong password, or an account the directory locked
        return self._identity(entry, groups)

    def _find_person(self, conn: ldap3.Connection, username: str) -> _Entry | None:
        config = self._config
        search_filter = fill(config.user_filter, "{username}", username)
        attributes = [config.username_attribute, config.id_attribute, "cn", "displayName", "mail"]
        if config.use_member_of:
            attributes.append("memberOf")
        # Two are enough to know there is more than one.
        entries = self._search(conn, config.user_base, search_filter, attributes, size_limit=2)
        if len(entries) != 1:
            if entries:
                log.warning("ldap_ambiguous_user", extra={"fields": {"entries": "more than one"}})
            return None
        return entries[0]

    def _groups(self, conn: ldap3.Connection, entry: _Entry) -> tuple[str, ...]:
        config = self._config
        if config.use_member_of:
            # memberOf holds DNs: the group's name is the value of its first RDN (cn=...).
            names = [_first_rdn_value(dn) for dn in entry.texts("memberOf")]
        elif config.group_base:
            group_filter = fill(config.group_filter, "{dn}", entry.dn)
            found = self._search(
                conn, config.group_base, group_filter, [config.group_name_attribute]
            )
            names = [name for group in found for name in group.texts(config.group_name_attribute)]
        else:
            return ()
        return tuple(sorted({name for name in names if name}))

    def _search(
        self,
        conn: ldap3.Connection,
        base: str,
        search_filter: str,
        attributes: Sequence[str],
        *,
        size_limit: int = 0,
    ) -> list[_Entry]:
        conn.search(
            base,
            search_filter,
            search_scope=ldap3.SUBTREE,
            attributes=list(attributes),
            size_limit=size_limit,
            time_limit=self._config.timeout_seconds,
        )
        if _result(conn) not in _SEARCHED:
            log.warning("ldap_search_failed", extra={"fields": {"result": _result(conn)}})
            raise DirectoryUnavailable()
        return [
            _Entry(item["dn"], item.get("raw_attributes", {}))
            for item in conn.response or ()
            if item.get("type") == "searchResEntry"
        ]

    def _identity(self, entry: _Entry, groups: tuple[str, ...]) -> ExternalIdentity | None:
        config = self._config
        subject = entry.identifier(config.id_attribute)
        username = next(iter(entry.texts(config.username_attribute)), "")
        if not subject or not username:
            # Nothing stable to link an account to: refuse rather than link by a name.
            log.warning(
                "ldap_entry_incomplete",
                extra={"fields": {"missing": config.id_attribute if not subject else "username"}},
            )
            return None
        display_name = next(iter(entry.texts("displayName") or entry.texts("cn")), None)
        return ExternalIdentity(
            source=IdentitySource.LDAP,
            issuer="",
            subject=subject,
            username=username,
            groups=groups,
            display_name=display_name,
            email=next(iter(entry.texts("mail")), None),
        )

    @contextlib.contextmanager
    def _connection(self, user: str, password: str) -> Iterator[ldap3.Connection]:
        """A connection opened (TLS first, never a byte in clear before it), with the bind
        tried (see `bound`), unbound at the end of the block."""
        timeout = self._config.timeout_seconds
        server = ldap3.Server(
            self._host,
            port=self._port,
            use_ssl=self._ldaps,
            tls=_VerifiedTls(self._config, self._host),
            get_info=ldap3.NONE,
            connect_timeout=timeout,
        )
        conn = ldap3.Connection(
            server,
            user=user or None,
            password=password or None,
            authentication=ldap3.SIMPLE if user else ldap3.ANONYMOUS,
            read_only=True,
            receive_timeout=timeout,
            auto_referrals=False,  # a referral would send the password to another server
            raise_exceptions=False,
        )
        try:
            conn.open()
            if not self._ldaps and self._config.start_tls and not conn.start_tls():
                raise ldap_errors.LDAPStartTLSError("StartTLS did not start")
            conn.bind()
            yield conn
        finally:
            with contextlib.suppress(ldap_errors.LDAPException):
                conn.unbind()  # the connection may be gone already: nothing to close
            # ldap3 leaves the socket of a failed open (refused, timed out) unclosed.
            if conn.socket is not None:
                conn.socket.close()


class _Entry:
    """A search result's DN and raw attribute values (bytes), looked up without case."""

    __slots__ = ("_values", "dn")

    def __init__(self, dn: str, raw: Mapping[str, Sequence[bytes]]) -> None:
        self.dn = dn
        self._values = {name.lower(): list(values) for name, values in raw.items()}

    def texts(self, attribute: str) -> list[str]:
        return [
            value.decode("utf-8", "replace")
            for value in self._values.get(attribute.lower(), ())
            if isinstance(value, bytes)
        ]

    def identifier(self, attribute: str) -> str:
        values = self._values.get(attribute.lower(), ())
        if not values or not isinstance(values[0], bytes):
            return ""
        return identifier_text(attribute, values[0])


def fill(template: str, placeholder: str, value: str) -> str:
    """A configured filter with `value` in place of `placeholder`, escaped (RFC 4515 §3):
    `*)(uid=*` is looked for as those characters, never read as filter syntax."""
    return template.replace(placeholder, escape_filter_chars(value))


def identifier_text(attribute: str, raw: bytes) -> str:
    """An entry's stable id as text. Active Directory's objectGUID is 16 bytes, shown as AD's
    own tools print it (a GUID: its first three fields little-endian); others are text."""
    if attribute.lower() == "objectguid" and len(raw) == 16:
        return str(uuid.UUID(bytes_le=raw))
    return raw.decode("utf-8", "replace")


def _result(conn: ldap3.Connection) -> str:
    """The last operation's LDAP result, as its RFC 4511 name ("invalidCredentials")."""
    return str(conn.result["description"]) if conn.result else "none"


def _refused(whose: str, conn: ldap3.Connection) -> None:
    log.warning("ldap_bind_failed", extra={"fields": {"account": whose, "result": _result(conn)}})


def _reason(exc: BaseException) -> str:
    """What lies under an ldap3 error: it raises a class made of its own and the socket or
    TLS error's (ConnectionRefusedError, TimeoutError, SSLCertVerificationError)."""
    for cls in type(exc).__mro__[1:]:
        if not cls.__module__.startswith("ldap3") and cls not in (BaseException, Exception):
            return cls.__name__
    return type(exc).__name__


def _first_rdn_value(dn: str) -> str:
    try:
        parsed = parse_dn(dn)
    except ldap_errors.LDAPInvalidDnError:
        return ""
    return str(parsed[0][1]) if parsed else ""


def _read_password(config: LdapConfig) -> str:
    try:
        return Path(config.bind_password_file).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            f"ldap.bind_password_file: cannot read {config.bind_password_file}: {exc.strerror}"
        ) from None
