"""Network-bound tokens: the client networks a token may be used from, and the check."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from regauth.domain.redaction import quoted
from regauth.errors import BadRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# As many as a token may list repositories (policy.MAX_LISTED): a list, not a firewall.
MAX_NETWORKS = 50


def parse_allow_from(entries: Iterable[str]) -> tuple[Network, ...]:
    """A token's allowed networks as its creator gave them (CIDRs or single addresses), in
    their order without repeats; 400 for anything else, naming the entry."""
    networks: dict[Network, None] = {}
    for raw in entries:
        networks[_network(raw.strip())] = None
    if not networks:
        raise BadRequest("allow-from lists no network: give at least one, or none at all")
    if len(networks) > MAX_NETWORKS:
        raise BadRequest(f"a token is allowed from at most {MAX_NETWORKS} networks")
    return tuple(networks)


def _network(entry: str) -> Network:
    # An IPv6 zone ("fe80::1%eth0") names an interface of one machine, not a network.
    if "%" not in entry:
        try:
            return ipaddress.ip_network(entry)
        except ValueError:
            pass
        try:
            meant = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            pass
        else:  # host bits set (10.0.0.1/8): say what was probably meant rather than guess
            raise BadRequest(f"{quoted(entry)} has host bits set: did you mean {meant}?")
    raise BadRequest(f"{quoted(entry)} is not a network: give a CIDR such as 10.0.0.0/8")


def stored_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Networks as parse_allow_from wrote them (already checked): for the store's reads."""
    return tuple(ipaddress.ip_network(e) for e in entries)


def allows(networks: tuple[Network, ...], ip: str | None) -> bool:
    """Whether the client address (the one `trusted_proxies` determined) is in a network.

    An IPv4 client reached over an IPv6 socket (`::ffff:192.0.2.7`) counts as its IPv4
    address, so `192.0.2.0/24` means the same on either kind of listener."""
    if ip is None:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # `in` is False across versions (an IPv4 address is in no IPv6 network), never an error.
    return any(address in network for network in networks)


def not_allowed_from(ip: str | None) -> str:
    """The refusal, as the client sees it: the address it was seen from, so it can act."""
    return f"token not allowed from {ip or 'an unknown address'}"
