"""Configuration: one frozen dataclass per TOML section, loaded from a file plus REGAUTH_* overrides."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

from regauth.domain import group_mappings
from regauth.errors import ConfigError

ENV_PREFIX = "REGAUTH_"
# Paths a config file may give relative to itself (section, key).
_PATH_KEYS = (
    *(("storage", "path"), ("storage", "password_file"), ("keys", "dir")),
    *(("ldap", "ca_file"), ("ldap", "bind_password_file")),
    ("oidc", "client_secret_file"),
    ("notifications", "webhook_secret_file"),
)
_WEB_PREFIX = re.compile(r"(/[A-Za-z0-9._-]+)+")


@dataclass(frozen=True)
class ServerConfig:
    listen: str = "127.0.0.1:5001"
    # The URL clients reach regauth at; the registry's auth.token.realm is built from it.
    public_url: str = "http://localhost:5001"
    # Proxies whose X-Forwarded-For is believed (CIDRs or addresses).
    trusted_proxies: tuple[str, ...] = ()
    # Worker processes; 0 means one per CPU core.
    workers: int = 0
    access_log: bool = True
    # A request's line and headers must arrive within this many seconds of its first byte (of
    # the connection, for its first request); its body within body_timeout_seconds after them.
    # A client that sends part of a request and then nothing is closed, not held.
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    # An idle kept-alive connection is closed after this long; longer than the idle timeout of
    # the pools in front of regauth (nginx and cloud load balancers: 60 s), so that a proxy never
    # sends a request on a connection regauth is closing.
    keepalive_timeout_seconds: float = 75.0
    # Connections one worker holds at once (lowered to fit the open-files limit). At the cap the
    # oldest connection waiting on its client is closed to make room; if none is, the new one.
    max_connections: int = 1000


@dataclass(frozen=True)
class TokenConfig:
    issuer: str = "regauth"
    # Audiences this service issues for; the first is the default when a client sends none.
    service: tuple[str, ...] = ("registry",)
    ttl_seconds: int = 300


@dataclass(frozen=True)
class StorageConfig:
    # SQLite, the embedded default: one file on this host.
    path: str = "data/regauth.db"
    # PostgreSQL, for several replicas: "postgresql://user@host:port/db". When set, `path`
    # is unused (the throttle's counts and the change notifications are in the database).
    url: str = ""
    # The PostgreSQL password, from a file (a mounted secret); else PGPASSWORD or ~/.pgpass.
    password_file: str = ""
    # Bring the schema up to date at start-up (`regauth db migrate` does it on demand).
    migrate: bool = True
    # PostgreSQL connections (and store threads) per process.
    pool_size: int = 4
    # How often batched last-used records are written.
    usage_flush_seconds: float = 1.0


@dataclass(frozen=True)
class KeysConfig:
    dir: str = "data/keys"
    algorithm: Literal["ES256", "RS256"] = "ES256"
    kid_format: Literal["libtrust", "jwk-thumbprint"] = "libtrust"
    # Put the signing certificate in every JWT header (works with registry 2.8 and 3.x alike).
    x5c: bool = True


@dataclass(frozen=True)
class AuthConfig:
    # Accept the account password at /token (as Docker Hub does) besides personal access tokens.
    password_logins: bool = True
    # How long a successful password check is remembered (keyed hash, memory only).
    password_cache_seconds: int = 60
    # Concurrent memory-hard password checks per worker; the rest wait.
    password_check_concurrency: int = 2
    # Lifetime of API sessions (POST /v2/users/login, /v2/auth/token).
    session_ttl_seconds: int = 1800
    # Longest lifetime a personal access token may be given, in days; 0 = no limit
    # (and "never expires" allowed). When set, every token must expire within it.
    max_token_lifetime_days: int = 0


@dataclass(frozen=True)
class LimitsConfig:
    # Failed sign-ins allowed per (client IP, username) before each further one locks them out
    # for a doubling delay (1 s, 2 s, 4 s, ... up to lockout_max_seconds).
    failures_per_user_ip: int = 5
    # The same, per client IP across all usernames (a password spray from one address).
    failures_per_ip: int = 50
    lockout_max_seconds: int = 900
    # Personal access tokens an account may create per hour, and may hold active at once.
    token_creations_per_hour: int = 30
    max_active_tokens: int = 50
    # Auto-generated session tokens kept per account (Docker Hub keeps 5; the oldest goes).
    session_tokens_per_account: int = 5
    # Lifetime of an auto-generated session token (docker login with a password), days.
    session_token_days: int = 30
    # Requests per minute one client IP may send to the credential revocation endpoint.
    revocations_per_minute: int = 10
    # Organization access tokens one organization may hold.
    org_tokens_per_org: int = 25
    # The expiry a personal access token gets when its creator gives none (API, CLI, web
    # page alike): "never" or "Nd" (days).
    default_expiry: str = "never"
    # The longest expiry a personal or organization access token may be given ("Nd");
    # "never": no limit. Set, "never expires" is refused. auth.max_token_lifetime_days is the
    # same rule (the tighter of the two applies).
    max_expiry: str = "never"
    # Personal and organization access tokens unused this long ("Nd": last used, or made,
    # that many days ago) are deactivated, and auto-generated session tokens deleted, with an
    # audit event and a notification; "never": no such policy.
    deactivate_unused_after: str = "never"


@dataclass(frozen=True)
class NotificationsConfig:
    # Where events are POSTed (JSON, HMAC-signed): token.expiring, token.expired,
    # token.deactivated_stale, credential.leaked_revoked. "": no notifications (none kept).
    webhook_url: str = ""
    # The HMAC-SHA256 key the body is signed with, read from this file (required with
    # webhook_url); read again at every round of deliveries, so it can be replaced in place.
    webhook_secret_file: str = ""
    # token.expiring is sent once, this many days before a token expires.
    expiring_days: int = 7
    # Attempts before a delivery is given up; the waits between them double from 30 s to 1 h.
    max_attempts: int = 10
    # How long one attempt waits for the receiver's answer.
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class AuditConfig:
    # Every audit event as one JSON line (a SIEM's input): "stdout", "file:/ABSOLUTE/PATH"
    # (appended to, opened again for every batch, so a log rotation's rename is followed),
    # or "" for none.
    export: str = ""


@dataclass(frozen=True)
class WebConfig:
    # The web page for people (sign in, personal access tokens), served by regauth itself.
    enabled: bool = True
    # Where the pages live: "/ui" serves /ui/sign-in, /ui/settings/tokens, /ui/static/...
    # A path of its own, so that it can never shadow /token, /v2, /admin or /healthz.
    path_prefix: str = "/ui"
    # A signed-in page session ends after this long without a request; it ends in any case
    # when its API session does ([auth] session_ttl_seconds).
    idle_timeout_seconds: int = 900
    # The registry host the "docker login" command on the new-token page names.
    registry_host: str = "localhost:5000"


# Paths the API serves: a web prefix must not be one of them or lie under one.
_API_PATHS = ("/token", "/v2", "/admin", "/healthz", "/openapi.json", "/metrics")


@dataclass(frozen=True)
class MetricsConfig:
    # Prometheus metrics at GET /metrics, one view of all the workers.
    enabled: bool = True
    # "" serves /metrics on the main listener ([server] listen); "HOST:PORT" on a listener of
    # its own instead (e.g. "127.0.0.1:9464", so that it is never public), and the main
    # listener has no /metrics. Not a port by default: two instances on one host would clash.
    listen: str = ""


@dataclass(frozen=True)
class GroupsConfig:
    # An identity provider's groups (the OIDC groups claim, LDAP groups, SCIM groups) to
    # organization teams: "GROUP=ORG/TEAM" makes members of TEAM, "GROUP=ORG:owners" owners of
    # ORG. Applied at every single sign-on and SCIM change; memberships a mapping made go when
    # the group goes, those an owner made by hand stay.
    mappings: tuple[str, ...] = ()

    @property
    def parsed(self) -> tuple[group_mappings.GroupMapping, ...]:
        return tuple(group_mappings.parse(entry) for entry in self.mappings)


@dataclass(frozen=True)
class ScimConfig:
    # SCIM 2.0 provisioning at /scim/v2, authenticated by a SCIM key (`regauth admin-key
    # create --scim`).
    enabled: bool = True


@dataclass(frozen=True)
class LdapConfig:
    # The directory account passwords are checked against by a bind: "ldaps://host:636", or
    # "ldap://host:389" with start_tls. Empty: no LDAP sign-in.
    url: str = ""
    # Upgrade an ldap:// connection with StartTLS before anything is sent; ldap:// without it
    # is refused unless the host is this machine (the password would cross the network).
    start_tls: bool = True
    # The CA certificate (PEM) that signed the directory's certificate; empty: the system's.
    ca_file: str = ""
    # false accepts any certificate (a test directory only).
    tls_verify: bool = True
    # The account searches are made as (a DN, or an AD UPN); empty: anonymous searches.
    bind_dn: str = ""
    bind_password_file: str = ""
    # Where people are looked up, and how: {username} is the name typed, escaped.
    user_base: str = ""
    user_filter: str = "(uid={username})"
    # The account's name at the first sign-in, and the entry's stable id (what links it).
    username_attribute: str = "uid"
    id_attribute: str = "entryUUID"
    # Groups: searched under group_base with group_filter ({dn}: the person's DN), named by
    # group_name_attribute; or, with use_member_of, read from the entry's memberOf.
    group_base: str = ""
    group_filter: str = "(member={dn})"
    group_name_attribute: str = "cn"
    use_member_of: bool = False
    # Connecting, and each answer; past it the directory is taken to be down (503).
    timeout_seconds: int = 5

    def __post_init__(self) -> None:
        if not self.url:
            return
        parts = urlsplit(self.url)
        scheme, host = parts.scheme, parts.hostname
        try:
            parts.port  # noqa: B018 - it parses the port, raising on a bad one
        except ValueError:
            host = None
        if scheme not in ("ldap", "ldaps") or not host or parts.path not in ("", "/"):
            raise ConfigError("ldap.url: must be ldaps://HOST[:PORT] or ldap://HOST[:PORT]")
        if scheme == "ldap" and not self.start_tls and host not in _LOOPBACK:
            raise ConfigError(
                "ldap.start_tls: an ldap:// URL to another host needs start_tls (passwords "
                "would cross the network in clear): set it, or use ldaps://"
            )
        if not self.user_base:
            raise ConfigError("ldap.user_base: required with ldap.url")
        for key, placeholder in (("user_filter", "{username}"), ("group_filter", "{dn}")):
            value = getattr(self, key)
            if placeholder not in value or not (value.startswith("(") and value.endswith(")")):
                raise ConfigError(f"ldap.{key}: must be a (filter) holding {placeholder}")
        if self.bind_dn and not self.bind_password_file:
            raise ConfigError("ldap.bind_password_file: required with ldap.bind_dn")
        for key in ("username_attribute", "id_attribute", "group_name_attribute"):
            if not getattr(self, key):
                raise ConfigError(f"ldap.{key}: must not be empty")
        if not 0 < self.timeout_seconds <= 60:
            raise ConfigError("ldap.timeout_seconds: must be more than 0 and at most 60")


_LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class OidcConfig:
    # Sign-in with the company's OpenID Provider ("Sign in with <display_name>" on the web
    # page), on when `issuer` is set. Discovery: <issuer>/.well-known/openid-configuration.
    issuer: str = ""
    client_id: str = ""
    # The client secret, from a file (a mounted secret), never in this file.
    client_secret_file: str = ""
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    # The claim an account's name is made from at its first sign-in (then it is linked by the
    # issuer and `sub`, never by this claim, which the person may change at the provider).
    username_claim: str = "preferred_username"
    # The claim holding the person's groups ([groups] mappings, allowed_groups).
    groups_claim: str = "groups"
    # Only members of one of these groups may sign in; empty: everyone the provider signs in.
    allowed_groups: tuple[str, ...] = ()
    # The button says "Sign in with <display_name>" ("single sign-on" when empty).
    display_name: str = ""
    # Accounts linked to an identity provider may not use a password anywhere (/token, docker
    # login, the account API, the web page): a personal access token is required.
    enforce: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.issuer)


@dataclass(frozen=True)
class LogConfig:
    level: Literal["debug", "info", "warning", "error"] = "info"


@dataclass(frozen=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    token: TokenConfig = field(default_factory=TokenConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    keys: KeysConfig = field(default_factory=KeysConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    web: WebConfig = field(default_factory=WebConfig)
    log: LogConfig = field(default_factory=LogConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    groups: GroupsConfig = field(default_factory=GroupsConfig)
    scim: ScimConfig = field(default_factory=ScimConfig)
    ldap: LdapConfig = field(default_factory=LdapConfig)
    oidc: OidcConfig = field(default_factory=OidcConfig)
    notifications: NotificationsConfig = field(default_factory=NotificationsConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)

    @property
    def listen_host(self) -> str:
        return self.server.listen.rsplit(":", 1)[0].strip("[]")

    @property
    def listen_port(self) -> int:
        return int(self.server.listen.rsplit(":", 1)[1])

    @property
    def realm(self) -> str:
        return self.server.public_url.rstrip("/") + "/token"

    @property
    def default_service(self) -> str:
        return self.token.service[0]

    @property
    def worker_count(self) -> int:
        return self.server.workers or (os.cpu_count() or 1)


class LiveConfig:
    """The configuration in force in a running process. Services read their live values
    through it at each use (`settings.current.limits...`), so a reload (SIGHUP) that swaps
    `current` reaches all of them and no service keeps a copy of its own."""

    __slots__ = ("current",)

    def __init__(self, config: Config) -> None:
        self.current = config


# What a process reads once, at start (sockets, workers, the store, the keys, the routes, the
# objects sized from it): a reload keeps the old value and says a restart is needed. Every
# other key takes effect on reload. A whole section is named by its name alone.
RESTART_ONLY = frozenset(
    {
        "server.listen",
        "server.workers",
        "server.access_log",
        "server.header_timeout_seconds",
        "server.body_timeout_seconds",
        "server.keepalive_timeout_seconds",
        "server.max_connections",
        "scim.enabled",
        "token.issuer",
        "token.service",
        "storage",
        "keys",
        "auth.password_cache_seconds",
        "auth.password_check_concurrency",
        "web.enabled",
        "web.path_prefix",
        # The endpoint, its listener and the workers' shared folder are set up at start.
        "metrics",
    }
)


@dataclass(frozen=True)
class Reload:
    """A reload's outcome: the config now in force, the keys it changed, and the keys that
    changed in the file but keep their old value until a restart."""

    config: Config
    changed: list[str]
    restart_needed: list[str]


def reload_config(old: Config, new: Config) -> Reload:
    """`new` with every restart-only key kept as in `old`."""
    sections: dict[str, Any] = {}
    changed: list[str] = []
    restart_needed: list[str] = []
    for s in dataclasses.fields(Config):
        before, after = getattr(old, s.name), getattr(new, s.name)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(before):
            key = f"{s.name}.{f.name}"
            value = getattr(after, f.name)
            if value == getattr(before, f.name):
                continue
            if s.name in RESTART_ONLY or key in RESTART_ONLY:
                restart_needed.append(key)
            else:
                changed.append(key)
                values[f.name] = value
        sections[s.name] = dataclasses.replace(before, **values) if values else before
    return Reload(Config(**sections), changed, restart_needed)


_EXPIRY = re.compile(r"never|([1-9][0-9]{0,4})d")


def expiry_days(text: str) -> int:
    """Days of a `[limits]` expiry ("30d"); 0 for "never"."""
    match = _EXPIRY.fullmatch(text)
    if match is None:
        raise ConfigError(f"expected 'never' or a number of days like '90d', got {text!r}")
    return int(match.group(1) or 0)


def load_config(path: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> Config:
    """Read TOML (if given), apply REGAUTH_<SECTION>_<KEY> overrides, validate."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    sections: dict[str, Any] = {}
    for f in dataclasses.fields(Config):
        section_raw = raw.pop(f.name, {})
        if not isinstance(section_raw, dict):
            raise ConfigError(f"[{f.name}] must be a table")
        sections[f.name] = _build_section(f.name, _section_type(f), section_raw, environ)
    if raw:
        raise ConfigError(f"unknown config section: [{sorted(raw)[0]}]")
    if path is not None:
        _relative_to_file(sections, Path(path), environ)
    _reject_unknown_env(environ)
    config = Config(**sections)
    _validate(config)
    return config


def _relative_to_file(sections: dict[str, Any], path: Path, environ: Mapping[str, str]) -> None:
    """A relative path in a config file is relative to the file, wherever the command runs
    (`/etc/regauth/regauth.toml` with `dir = "keys"` is /etc/regauth/keys); one from the
    environment, as any command-line path, is relative to the current directory."""
    base = path.resolve().parent
    for section, key in _PATH_KEYS:
        value = getattr(sections[section], key)
        env_key = f"{ENV_PREFIX}{section.upper()}_{key.upper()}"
        if value and env_key not in environ and not Path(value).is_absolute():
            sections[section] = dataclasses.replace(sections[section], **{key: str(base / value)})


def _section_type(f: dataclasses.Field[Any]) -> type[Any]:
    hints = typing.get_type_hints(Config)
    return typing.cast(type[Any], hints[f.name])


def _build_section(
    name: str, cls: type[Any], raw: dict[str, Any], environ: Mapping[str, str]
) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in known:
            raise ConfigError(f"unknown config key: {name}.{key}")
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        env_key = f"{ENV_PREFIX}{name.upper()}_{f.name.upper()}"
        if env_key in environ:
            values[f.name] = _from_env(f"{name}.{f.name}", hints[f.name], environ[env_key])
        elif f.name in raw:
            values[f.name] = _coerce(f"{name}.{f.name}", hints[f.name], raw[f.name])
    return cls(**values)


def _reject_unknown_env(environ: Mapping[str, str]) -> None:
    known = {
        f"{ENV_PREFIX}{s.name.upper()}_{f.name.upper()}"
        for s in dataclasses.fields(Config)
        for f in dataclasses.fields(_section_type(s))
    }
    # REGAUTH_CONFIG names the file itself.
    known.add(f"{ENV_PREFIX}CONFIG")
    for key in environ:
        if key.startswith(ENV_PREFIX) and key not in known:
            raise ConfigError(f"unknown config environment variable: {key}")


def _from_env(key: str, typ: Any, text: str) -> Any:
    if typ is bool:
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{key}: expected true or false, got {text!r}")
    if get_origin(typ) is tuple:
        return _coerce(key, typ, [p.strip() for p in text.split(",") if p.strip()])
    if typ is int or typ is float:
        try:
            return _coerce(key, typ, typ(text))
        except ValueError:
            raise ConfigError(f"{key}: expected a number, got {text!r}") from None
    return _coerce(key, typ, text)


def _coerce(key: str, typ: Any, value: Any) -> Any:
    origin = get_origin(typ)
    if origin is Literal:
        if value not in get_args(typ):
            choices = ", ".join(repr(a) for a in get_args(typ))
            raise ConfigError(f"{key}: must be one of {choices}, got {value!r}")
        return value
    if origin is tuple:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{key}: expected a string or a list of strings")
        return tuple(value)
    if typ is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if typ is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if typ is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if typ is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{key}: unsupported type {typ!r}")  # pragma: no cover - programming error


def _validate(config: Config) -> None:
    listen = config.server.listen
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"server.listen: expected HOST:PORT, got {listen!r}")
    if not config.server.public_url.startswith(("http://", "https://")):
        raise ConfigError("server.public_url: must start with http:// or https://")
    for proxy in config.server.trusted_proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConfigError(
                f"server.trusted_proxies: not an address or CIDR: {proxy!r}"
            ) from None
    if config.server.workers < 0:
        raise ConfigError("server.workers: must be 0 (one per core) or more")
    # Upper bounds catch milliseconds written where seconds are meant.
    for name, most in (
        ("header_timeout_seconds", 3600),
        ("body_timeout_seconds", 3600),
        ("keepalive_timeout_seconds", 86400),
    ):
        if not 0 < getattr(config.server, name) <= most:
            raise ConfigError(f"server.{name}: must be more than 0 and at most {most}")
    if config.server.max_connections < 1:
        raise ConfigError("server.max_connections: must be at least 1")
    if not config.token.service or not all(config.token.service):
        raise ConfigError("token.service: at least one non-empty audience is required")
    if not config.token.issuer:
        raise ConfigError("token.issuer: must not be empty")
    # Registries allow 60 s of clock leeway and clients treat < 60 s as 60 s.
    if not 60 <= config.token.ttl_seconds <= 86400:
        raise ConfigError("token.ttl_seconds: must be between 60 and 86400")
    if config.storage.url and not config.storage.url.startswith(("postgresql://", "postgres://")):
        # Not echoed: a URL may hold a password.
        raise ConfigError("storage.url: must be a postgresql:// URL")
    if not 1 <= config.storage.pool_size <= 64:
        raise ConfigError("storage.pool_size: must be between 1 and 64")
    if config.storage.usage_flush_seconds <= 0:
        raise ConfigError("storage.usage_flush_seconds: must be positive")
    if config.auth.password_cache_seconds < 0:
        raise ConfigError("auth.password_cache_seconds: must not be negative")
    if not 60 <= config.auth.session_ttl_seconds <= 86400:
        raise ConfigError("auth.session_ttl_seconds: must be between 60 and 86400")
    if config.auth.max_token_lifetime_days < 0:
        raise ConfigError("auth.max_token_lifetime_days: must be 0 (no limit) or more")
    for name in (
        "failures_per_user_ip",
        "failures_per_ip",
        "lockout_max_seconds",
        "token_creations_per_hour",
        "max_active_tokens",
        "session_tokens_per_account",
        "session_token_days",
        "revocations_per_minute",
        "org_tokens_per_org",
    ):
        if getattr(config.limits, name) < 1:
            raise ConfigError(f"limits.{name}: must be at least 1")
    for name in ("default_expiry", "max_expiry", "deactivate_unused_after"):
        try:
            expiry_days(getattr(config.limits, name))
        except ConfigError as exc:
            raise ConfigError(f"limits.{name}: {exc.message}") from None
    most = max_lifetime_days(config)
    if most and expiry_days(config.limits.default_expiry) > most:
        raise ConfigError(
            f"limits.default_expiry: must be at most the longest expiry allowed ({most}d)"
        )
    if config.auth.password_check_concurrency < 1:
        raise ConfigError("auth.password_check_concurrency: must be at least 1")
    _validate_web(config.web)
    _validate_metrics(config.metrics, config.server.listen)
    _validate_notifications(config.notifications)
    _validate_audit(config.audit)
    for entry in config.groups.mappings:
        try:
            group_mappings.parse(entry)
        except ValueError as exc:
            raise ConfigError(f"groups.mappings: {exc}") from None
    _validate_oidc(config.oidc)


def _validate_metrics(metrics: MetricsConfig, server_listen: str) -> None:
    if not metrics.listen:
        return
    host, sep, port = metrics.listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"metrics.listen: expected HOST:PORT or empty, got {metrics.listen!r}")
    if metrics.listen == server_listen:
        raise ConfigError("metrics.listen: must differ from server.listen (empty shares it)")


def _validate_notifications(notifications: NotificationsConfig) -> None:
    url = notifications.webhook_url
    if url:
        if not url.startswith(("http://", "https://")) or any(c.isspace() for c in url):
            # Not echoed: a URL may hold credentials.
            raise ConfigError("notifications.webhook_url: must be an http:// or https:// URL")
        if not notifications.webhook_secret_file:
            raise ConfigError(
                "notifications.webhook_secret_file: required with webhook_url (the bodies "
                "are signed with the key it holds)"
            )
    if not 1 <= notifications.expiring_days <= 365:
        raise ConfigError("notifications.expiring_days: must be between 1 and 365")
    if not 1 <= notifications.max_attempts <= 100:
        raise ConfigError("notifications.max_attempts: must be between 1 and 100")
    if not 0 < notifications.timeout_seconds <= 300:
        raise ConfigError("notifications.timeout_seconds: must be more than 0 and at most 300")


AUDIT_STDOUT, AUDIT_FILE = "stdout", "file:"


def _validate_audit(audit: AuditConfig) -> None:
    export = audit.export
    if export in ("", AUDIT_STDOUT):
        return
    if not export.startswith(AUDIT_FILE) or not Path(export[len(AUDIT_FILE) :]).is_absolute():
        raise ConfigError(
            f'audit.export: must be "", "stdout" or "file:/ABSOLUTE/PATH", got {export!r}'
        )


def max_lifetime_days(config: Config) -> int:
    """The longest lifetime a personal or organization access token may have, in days; 0: no
    limit."""
    limits = [config.auth.max_token_lifetime_days, expiry_days(config.limits.max_expiry)]
    return min((days for days in limits if days), default=0)


def _validate_web(web: WebConfig) -> None:
    prefix = web.path_prefix
    if not _WEB_PREFIX.fullmatch(prefix):
        raise ConfigError(
            "web.path_prefix: must be a path like /ui (a leading '/', no trailing '/', "
            f"letters, digits, '-', '_', '.' and '/' only), got {prefix!r}"
        )
    if any(prefix == path or prefix.startswith(path + "/") for path in _API_PATHS) or any(
        path.startswith(prefix + "/") for path in _API_PATHS
    ):
        raise ConfigError(f"web.path_prefix: {prefix!r} overlaps the API's paths")
    if not 60 <= web.idle_timeout_seconds <= 86400:
        raise ConfigError("web.idle_timeout_seconds: must be between 60 and 86400")
    if not web.registry_host or any(c.isspace() for c in web.registry_host):
        raise ConfigError("web.registry_host: must be a host (and port) without spaces")


def _validate_oidc(oidc: OidcConfig) -> None:
    if not oidc.issuer:
        return
    try:
        issuer = urlsplit(oidc.issuer)
        host = issuer.hostname
        issuer.port  # noqa: B018 - a port that is no number raises here
    except ValueError:
        host = None
    # Discovery, the keys and the code exchange all travel to the issuer: over TLS, except to
    # a provider on this host.
    if not host or not (
        issuer.scheme == "https" or (issuer.scheme == "http" and host in _LOOPBACK)
    ):
        raise ConfigError(
            f"oidc.issuer: must be an https:// URL (http:// only on this host), got {oidc.issuer!r}"
        )
    if issuer.query or issuer.fragment or any(c in oidc.issuer for c in "?# "):
        raise ConfigError("oidc.issuer: must have no query, fragment or spaces")
    for name in ("client_id", "client_secret_file", "username_claim"):
        if not getattr(oidc, name):
            raise ConfigError(f"oidc.{name}: required when oidc.issuer is set")
    if "openid" not in oidc.scopes:
        raise ConfigError("oidc.scopes: must include 'openid'")
    if any(not scope or any(c.isspace() for c in scope) for scope in oidc.scopes):
        raise ConfigError("oidc.scopes: each scope is one word")
