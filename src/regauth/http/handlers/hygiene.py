"""Credential hygiene over HTTP: regenerating a personal or organization token, the stale-token
report, and the webhook's notifications for admins."""

from __future__ import annotations

import msgspec
from aiohttp import web

from regauth.domain.durations import parse_duration
from regauth.domain.hygiene import NotificationQuery
from regauth.domain.timefmt import rfc3339
from regauth.http.appkeys import RUNTIME
from regauth.http.handlers.common import Body, Params, admin, call, caller, org_as_owner
from regauth.http.models.account import AccessToken
from regauth.http.models.hygiene import (
    AdminRegenerateTokenRequest,
    NotificationList,
    NotificationSearch,
    NotificationView,
    RegenerateAccessTokenRequest,
    RegeneratedAccessToken,
    RegeneratedOrgAccessToken,
    RegeneratedToken,
    StaleToken,
    StaleTokenList,
    StaleTokenSearch,
)
from regauth.services.rotation import MAX_GRACE_SECONDS


def _grace(text: str | None) -> int:
    return parse_duration(text, name="grace_period", most=MAX_GRACE_SECONDS) if text else 0


async def regenerate_token(
    request: web.Request, body: Body[RegenerateAccessTokenRequest]
) -> RegeneratedAccessToken:
    """Regenerate a personal access token's secret

    A new secret for the same token: its `uuid`, `id`, label, scope and expiry stay, and so
    do its uses (the old secret's `last_used` is the token's). The new secret is in `token`,
    the only time it is shown. The old secret stops working at once, or, with
    `grace_period`, at `previous_token_valid_until` (at most 7 days later), and never after;
    regenerating again ends an earlier grace period at once. Useful for CI secrets replaced
    on a schedule. A session token (`generated_by: auto`) or an expired token is a 409.
    """
    who = await caller(request)
    owner = who.require_account_management("regenerate access tokens")
    runtime = request.app[RUNTIME]
    record = await call(request, runtime.tokens.get_owned, owner, request.match_info["uuid"])
    grace = _grace((await body.read()).grace_period)
    made = await call(request, runtime.rotation.regenerate, record, who.actor, grace_seconds=grace)
    view = AccessToken.of(made.record, runtime.clock(), secret=str(made.token))
    return RegeneratedAccessToken(
        **msgspec.structs.asdict(view),
        previous_token_valid_until=rfc3339(made.previous_valid_until),
    )


async def admin_regenerate_token(
    request: web.Request, body: Body[AdminRegenerateTokenRequest]
) -> RegeneratedToken:
    """Regenerate a personal access token's secret

    Any user's token, as `POST /v2/access-tokens/{uuid}/regenerate` does for the owner: the
    same token with a new secret (in `token`, shown this once); the old one stops working at
    once or after `grace_period`.
    """
    actor = await admin(request)
    runtime = request.app[RUNTIME]
    record = await call(request, runtime.tokens.get, request.match_info["id"])
    grace = _grace((await body.read()).grace_period)
    made = await call(request, runtime.rotation.regenerate, record, actor, grace_seconds=grace)
    return RegeneratedToken.made(
        made.record, runtime.clock(), str(made.token), made.previous_valid_until
    )


async def regenerate_org_token(
    request: web.Request, body: Body[RegenerateAccessTokenRequest]
) -> RegeneratedOrgAccessToken:
    """Regenerate an organization access token's secret

    As for a personal access token: the same token (`id`, `token_id`, label, resources,
    expiry, uses) with a new secret in `token`, the only time it is shown. The old secret
    stops working at once, or, with `grace_period`, at `previous_token_valid_until` (at most
    7 days later); regenerating again ends an earlier grace period at once. For owners
    only. An expired token is a 409.
    """
    runtime, org, actor = await org_as_owner(request)
    record = await call(request, runtime.org_tokens.get, org, request.match_info["token"])
    grace = _grace((await body.read()).grace_period)
    made = await call(
        request, runtime.rotation.regenerate_org_token, org, record, actor, grace_seconds=grace
    )
    return RegeneratedOrgAccessToken.made(
        made.record, runtime.clock(), str(made.token), made.previous_valid_until
    )


async def stale_tokens(request: web.Request, params: Params[StaleTokenSearch]) -> StaleTokenList:
    """Report tokens unused for a while

    Personal, session and organization access tokens (unexpired, active or not) that nobody
    used for `unused` (or never, and made that long ago), the longest unused first: what a
    staleness policy (`limits.deactivate_unused_after`) of that period acts on, and what it
    has deactivated. The same report as `regauth token stale --unused 60d`.
    """
    await admin(request)
    query, runtime = params.read(), request.app[RUNTIME]
    unused = parse_duration(query.unused, name="unused")
    found = await call(request, runtime.staleness.report, unused_seconds=unused, limit=query.limit)
    return StaleTokenList(
        unused_since=rfc3339(int(runtime.clock()) - unused),
        tokens=[StaleToken.of(c) for c in found],
    )


async def list_notifications(
    request: web.Request, params: Params[NotificationSearch]
) -> NotificationList:
    """List webhook notifications

    The events kept for `notifications.webhook_url`, newest first, with how their delivery
    went: `pending` (not yet delivered; retried with backoff), `delivered` or `failed` (given
    up after `notifications.max_attempts`).
    """
    await admin(request)
    query, runtime = params.read(), request.app[RUNTIME]
    search = NotificationQuery(
        state=query.state, event=query.event, limit=query.limit, offset=query.offset
    )
    found = await call(request, runtime.notifier.list, search)
    return NotificationList(notifications=[NotificationView.of(n) for n in found])


async def get_notification(request: web.Request) -> NotificationView:
    """Get a webhook notification

    One notification by its id (the `X-Regauth-Delivery` header of its attempts).
    """
    await admin(request)
    runtime = request.app[RUNTIME]
    return NotificationView.of(await call(request, runtime.notifier.get, request.match_info["id"]))


async def retry_notification(request: web.Request) -> NotificationView:
    """Retry a webhook notification

    A notification that was given up (or is waiting for its next attempt) is due again now,
    with its attempts counted from 0: after the receiver is fixed. A delivered one is a 409.
    """
    actor = await admin(request)
    runtime = request.app[RUNTIME]
    return NotificationView.of(
        await call(request, runtime.notifier.retry, request.match_info["id"], actor)
    )
