"""Adapters to the company's identity providers: an OpenID Provider (oidc.py) and an LDAP
directory (ldap.py). They speak the protocols and return domain records
(regauth.domain.identities); what an identity may become in regauth is the services' business."""
