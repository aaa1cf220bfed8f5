"""Credential hygiene in the tests: a webhook's settings for a runtime, and reading what the
webhook was given."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from regauth.domain.hygiene import NotificationQuery
from regauth.runtime import Runtime


def webhook_settings(url: str, key_file: Path, **more: Any) -> dict[str, Any]:
    """[notifications] for `url`, signing with the key in `key_file`."""
    return {"webhook_url": url, "webhook_secret_file": str(key_file), **more}


def configure(runtime: Runtime, **sections: dict[str, Any]) -> None:
    """As a reload would: the runtime's live config with `sections` changed."""
    config = runtime.config
    changes = {
        name: dataclasses.replace(getattr(config, name), **values)
        for name, values in sections.items()
    }
    runtime.settings.current = dataclasses.replace(config, **changes)


def events(runtime: Runtime, event: str | None = None) -> list[str]:
    """The kept notifications' events, oldest first."""
    found = runtime.notifier.list(NotificationQuery(event=event, limit=1000))
    return [n.event for n in reversed(found)]
