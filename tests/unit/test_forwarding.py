"""Client address: X-Forwarded-For is believed only from trusted proxies."""

from __future__ import annotations

import pytest

from regauth.http.forwarding import client_ip, parse_networks

TRUSTED = parse_networks(["10.0.0.0/8"])


@pytest.mark.parametrize(
    ("peer", "xff", "trusted", "expected"),
    [
        ("1.2.3.4", None, TRUSTED, "1.2.3.4"),
        ("1.2.3.4", "9.9.9.9", TRUSTED, "1.2.3.4"),  # untrusted peer: header ignored
        ("10.0.0.1", "9.9.9.9", TRUSTED, "9.9.9.9"),
        ("10.0.0.1", "6.6.6.6, 9.9.9.9, 10.0.0.2", TRUSTED, "9.9.9.9"),  # spoofed left part skipped
        ("10.0.0.1", "garbage", TRUSTED, "10.0.0.1"),
        ("10.0.0.1", "9.9.9.9", (), "10.0.0.1"),  # no trusted proxies configured
        (None, "9.9.9.9", TRUSTED, None),
        ("10.0.0.1", "10.0.0.3, 10.0.0.2", TRUSTED, "10.0.0.3"),
        # an IPv6 zone is free text (here bytes that were not UTF-8): not an address we keep
        ("10.0.0.1", "fe80::1%\udcff", TRUSTED, "10.0.0.1"),
        ("10.0.0.1", "fe80::1%eth0, 10.0.0.2", TRUSTED, "10.0.0.1"),
        ("10.0.0.1", "\u0661.2.3.4", TRUSTED, "10.0.0.1"),  # Arabic-Indic digit one
    ],
)
def test_client_ip(peer: str | None, xff: str | None, trusted: tuple, expected: str | None) -> None:  # type: ignore[type-arg]
    assert client_ip(peer, xff, trusted) == expected
