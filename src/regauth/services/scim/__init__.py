"""SCIM 2.0 provisioning: the identity provider creates, changes, deactivates and deletes the
accounts it manages and the groups that map them to teams."""
