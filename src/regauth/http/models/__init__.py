"""The HTTP API's shapes as typed models (msgspec Structs), written once.

A request body or query is decoded into its model at the input boundary
(`handlers/common.py`), a handler returns a response model, the CLI's `--json` prints the
same models, and the OpenAPI document is generated from them (`regauth.http.openapi`).
One module per route family: `registry` (/token, /healthz), `account` (Docker Hub's sign-in,
personal access tokens, account security), `org_tokens`, `orgs` (members, groups), `admin`
(and the audit log), `explain`; `errors` is the error body, `base` what they all share.
"""
