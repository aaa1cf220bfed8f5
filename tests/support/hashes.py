"""Counting the memory-hard password checks a test causes."""

from __future__ import annotations

import pytest

import regauth.services.passwords as passwords


def count_password_hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The passwords of every argon2id check from now on, in order (the test's own)."""
    calls: list[str] = []
    real = passwords._verify

    def counting(stored_hash: str, password: str) -> bool:
        calls.append(password)
        return real(stored_hash, password)

    monkeypatch.setattr(passwords, "_verify", counting)
    return calls
