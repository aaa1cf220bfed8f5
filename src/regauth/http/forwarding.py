"""The client's address: the peer, or X-Forwarded-For when the peer is a trusted proxy."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(e, strict=False) for e in entries)


class TrustedProxies:
    """`[server] trusted_proxies` as now in force (a reload may change them), parsed once
    per value."""

    __slots__ = ("_entries", "_parsed", "_raw")

    def __init__(self, entries: Callable[[], Sequence[str]]) -> None:
        self._entries = entries
        self._raw: Sequence[str] | None = None
        self._parsed: tuple[Network, ...] = ()

    @property
    def networks(self) -> tuple[Network, ...]:
        raw = self._entries()
        if raw is not self._raw:
            self._raw, self._parsed = raw, parse_networks(raw)
        return self._parsed


def client_ip(
    peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]
) -> str | None:
    """Walk X-Forwarded-For from the right, skipping trusted proxies; the first other hop is the client.

    Entries left of an untrusted hop could have been written by the client itself, so they
    are never believed.
    """
    if peer is None or not trusted or not forwarded_for or not _is_trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop if _is_address(hop) else peer
    return hops[0] if hops and _is_address(hops[0]) else peer


def forwarded_https(
    peer: str | None, forwarded_proto: str | None, trusted: tuple[Network, ...]
) -> bool:
    """Whether a trusted proxy says the client's request came over HTTPS (X-Forwarded-Proto);
    the header of any other peer could be the client's own claim."""
    if peer is None or not forwarded_proto or not _is_trusted(peer, trusted):
        return False
    # A chain of proxies may each add theirs; the first is the one the client reached.
    return forwarded_proto.split(",")[0].strip().lower() == "https"


def _is_address(text: str) -> bool:
    # No IPv6 zone ("fe80::1%eth0"): ipaddress takes any text after the "%", which would then be
    # stored and shown as the client's address (bytes that are not UTF-8 included).
    if "%" in text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)
