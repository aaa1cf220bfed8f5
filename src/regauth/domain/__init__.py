"""The domain: models, scopes, tokens, credentials, policy, time; the standard library and `errors` only."""
