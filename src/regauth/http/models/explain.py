"""`/admin/v1/explain` (and `regauth explain --json`): what `/token` would grant and why."""

from __future__ import annotations

from typing import Annotated

from regauth.http.models.base import AdminRequest, Response, doc
from regauth.services.explain import Explanation as ExplanationRecord


class ExplainRequest(AdminRequest):
    """`scope` and exactly one of `user` and `token`."""

    scope: Annotated[
        str,
        doc(
            "Scopes as `/token` takes them, separated by spaces.",
            example="repository:team/app:pull,push",
        ),
    ]
    user: Annotated[str | None, doc("Explain for this user signing in with the password.")] = None
    token: Annotated[
        str | None,
        doc(
            "Explain for this token (personal, session or organization): its public id or UUID "
            "(not the secret)."
        ),
    ] = None


class GrantedView(Response):
    type: Annotated[str, doc(example="repository")]
    name: Annotated[str, doc(example="team/app")]
    actions: list[str]
    reasons: list[str]


class DeniedView(Response):
    type: str
    name: str
    action: Annotated[str, doc(example="push")]
    reason: str


class RejectedScopeView(Response):
    scope: str
    reason: str


class Explanation(Response):
    subject: Annotated[str, doc(example="token 0a1B2c3D4e of alice")]
    credential_refused: Annotated[
        str | None,
        doc(
            "Why `/token` would refuse the credential itself (disabled account, inactive or "
            "expired token); null if it is usable.",
            example=None,
        ),
    ]
    granted: list[GrantedView]
    denied: list[DeniedView]
    rejected_scopes: Annotated[
        list[RejectedScopeView], doc("Scopes that did not parse (ignored by `/token`).")
    ]
    allowed_from: Annotated[
        list[str] | None,
        doc(
            "The networks a network-bound token may be used from (`/token` refuses it from "
            "any other address before looking at a scope); null if it may be used anywhere.",
            example=None,
        ),
    ] = None

    @classmethod
    def of(cls, explanation: ExplanationRecord) -> Explanation:
        decision = explanation.decision
        return cls(
            subject=explanation.subject,
            credential_refused=explanation.credential_refusal,
            granted=[
                GrantedView(
                    type=g.type, name=g.name, actions=list(g.actions), reasons=list(g.reasons)
                )
                for g in decision.granted
            ],
            denied=[
                DeniedView(type=d.type, name=d.name, action=d.action, reason=d.reason)
                for d in decision.denied
            ],
            rejected_scopes=[
                RejectedScopeView(scope=r.raw, reason=r.reason) for r in explanation.rejected
            ],
            allowed_from=list(explanation.allowed_from)
            if explanation.allowed_from is not None
            else None,
        )
