"""Network-bound tokens as a table: the networks a creator gives -> the list, or the 400; a
client address x the list -> allowed or not."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regauth.domain.networks import (
    MAX_NETWORKS,
    allows,
    not_allowed_from,
    parse_allow_from,
    stored_networks,
)
from regauth.errors import BadRequest


@pytest.mark.parametrize(
    ("entries", "parsed"),
    [
        (["10.0.0.0/8"], ("10.0.0.0/8",)),
        (["2001:db8::/32", "10.0.0.0/8"], ("2001:db8::/32", "10.0.0.0/8")),  # order kept
        (["192.0.2.7"], ("192.0.2.7/32",)),  # one address
        (["2001:db8::1"], ("2001:db8::1/128",)),
        ([" 10.0.0.0/8 ", "10.0.0.0/8"], ("10.0.0.0/8",)),  # trimmed, repeats dropped
        (["2001:DB8::/32"], ("2001:db8::/32",)),  # written the one way
        (["0.0.0.0/0"], ("0.0.0.0/0",)),
    ],
)
def test_allowed_networks_are_read(entries: list[str], parsed: tuple[str, ...]) -> None:
    assert tuple(map(str, parse_allow_from(entries))) == parsed


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([], "allow-from lists no network"),
        (["10.0.0.1/8"], "'10.0.0.1/8' has host bits set: did you mean 10.0.0.0/8?"),
        (["10.0.0.0/33"], "'10.0.0.0/33' is not a network: give a CIDR such as 10.0.0.0/8"),
        (["example.com"], "'example.com' is not a network"),
        (["fe80::1%eth0"], "'fe80::1%eth0' is not a network"),  # a zone is one machine's
        (["10.0.0.0/8,10.1.0.0/16"], "is not a network"),  # the CLI splits, the API does not
        (["rgp_" + "a" * 60], "'rgp_<redacted>' is not a network"),  # never echoes a token
        (["x" * 1000], "'" + "x" * 80 + "...' is not a network"),  # nor a page of text
        ([f"10.0.{i}.0/24" for i in range(MAX_NETWORKS + 1)], "at most 50 networks"),
    ],
)
def test_a_bad_network_is_refused_naming_it(entries: list[str], message: str) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_allow_from(entries)
    assert message in refused.value.message


NETWORKS = parse_allow_from(["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"])


@pytest.mark.parametrize(
    ("ip", "allowed"),
    [
        ("10.1.2.3", True),
        ("10.255.255.255", True),
        ("11.0.0.1", False),
        ("192.0.2.7", True),
        ("192.0.2.8", False),
        ("2001:db8::1", True),
        ("2001:db9::1", False),
        ("::ffff:10.1.2.3", True),  # an IPv4 client on an IPv6 listener
        ("::ffff:127.0.0.1", False),
        ("127.0.0.1", False),
        ("::1", False),
        (None, False),  # no address known (a Unix socket): not in any network
        ("not an address", False),
    ],
)
def test_a_client_address_is_allowed_only_inside_the_networks(
    ip: str | None, allowed: bool
) -> None:
    assert allows(NETWORKS, ip) is allowed


def test_the_refusal_says_where_the_client_was_seen_from() -> None:
    assert not_allowed_from("192.0.2.7") == "token not allowed from 192.0.2.7"
    assert not_allowed_from(None) == "token not allowed from an unknown address"


@given(st.lists(st.ip_addresses().map(ipaddress.ip_network), min_size=1, max_size=5))
def test_what_is_stored_reads_back_the_same(networks: list[ipaddress.IPv4Network]) -> None:
    parsed = parse_allow_from(map(str, networks))
    assert stored_networks(map(str, parsed)) == parsed
