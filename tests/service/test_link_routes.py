"""A password sign-in's route (who checks the password, and whether single sign-on refuses it)
is remembered until data changes: linking or unlinking an account is such a change, made by
any process (found from outside: after `regauth user link` the password kept working for up
to a minute on SQLite, and until some unrelated write on PostgreSQL)."""

from __future__ import annotations

import pytest

from regauth.domain.credentials import Credentials
from regauth.domain.identities import IdentitySource
from regauth.domain.models import CLI_ACTOR
from regauth.errors import Unauthorized
from regauth.runtime import Runtime
from tests.support.builders import OpenRuntime, add_user, password_of, reconfigured, settled


async def test_linking_an_account_ends_its_remembered_password_at_once(
    runtime: Runtime, another_runtime: OpenRuntime
) -> None:
    add_user(runtime, "pglocal")
    runtime.settings.current = reconfigured(runtime.settings.current, oidc={"enforce": True})
    password = Credentials("pglocal", password_of("pglocal"))
    await runtime.authenticator.authenticate(password)
    await runtime.authenticator.authenticate(password)  # the route is remembered now

    cli = another_runtime()  # `regauth user link`, in a process of its own
    cli.provisioning.link("pglocal", IdentitySource.OIDC, "https://idp.example", "sub-1", CLI_ACTOR)
    settled(runtime)

    with pytest.raises(Unauthorized, match="single sign-on is enforced"):
        await runtime.authenticator.authenticate(password)
    cli.provisioning.unlink("pglocal", IdentitySource.OIDC, CLI_ACTOR)
    settled(runtime)
    await runtime.authenticator.authenticate(password)  # a local account again
