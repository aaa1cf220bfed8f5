"""regauth: a token-auth gateway for OCI/Docker registries with personal access tokens."""

__version__ = "0.1.0"
