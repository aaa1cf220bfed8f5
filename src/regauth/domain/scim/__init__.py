"""SCIM 2.0 (RFC 7643, RFC 7644) as plain data: schemas, filters and paths, PATCH operations."""
