"""The resources regauth serves: User (with the enterprise extension) and Group, with the
attributes identity providers send (Okta's and Entra ID's default mappings among them).

A User's attributes are kept as the provisioner sent them; only `userName` and `active` mean
something here (the account's name at its creation, and whether it is disabled). There is no
`password`: accounts made by SCIM sign in through the identity provider, never with one."""

from __future__ import annotations

from regauth.domain.scim.schemas import IMMUTABLE, READ_ONLY, Attribute, ResourceType, Schema

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SERVICE_PROVIDER_CONFIG = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"


def _plural(name: str, *types: str, display: bool = True) -> Attribute:
    """emails, phoneNumbers: a value, a label, a type and which one is primary."""
    return Attribute(
        name,
        type="complex",
        multi_valued=True,
        sub_attributes=(
            Attribute("value"),
            *((Attribute("display"),) if display else ()),
            Attribute("type", canonical_values=types),
            Attribute("primary", type="boolean"),
        ),
    )


USER = Schema(
    USER_SCHEMA,
    "User",
    "User Account",
    (
        Attribute(
            "userName",
            required=True,
            uniqueness="server",
            description="Unique identifier for the User; the account's name is made of it when "
            "it is created (an e-mail address gives its local part).",
        ),
        Attribute(
            "name",
            type="complex",
            sub_attributes=tuple(
                Attribute(n)
                for n in (
                    "formatted",
                    "familyName",
                    "givenName",
                    "middleName",
                    "honorificPrefix",
                    "honorificSuffix",
                )
            ),
        ),
        Attribute("displayName"),
        Attribute("nickName"),
        Attribute("profileUrl", type="reference", reference_types=("external",)),
        Attribute("title"),
        Attribute("userType"),
        Attribute("preferredLanguage"),
        Attribute("locale"),
        Attribute("timezone"),
        Attribute(
            "active",
            type="boolean",
            description="false disables the account: its sessions and tokens are refused.",
        ),
        _plural("emails", "work", "home", "other"),
        _plural("phoneNumbers", "work", "home", "mobile", "fax", "pager", "other"),
        Attribute(
            "addresses",
            type="complex",
            multi_valued=True,
            sub_attributes=(
                *(
                    Attribute(n)
                    for n in (
                        "formatted",
                        "streetAddress",
                        "locality",
                        "region",
                        "postalCode",
                        "country",
                    )
                ),
                Attribute("type", canonical_values=("work", "home", "other")),
                Attribute("primary", type="boolean"),
            ),
        ),
        Attribute(
            "groups",
            type="complex",
            multi_valued=True,
            mutability=READ_ONLY,
            description="The Groups that list the User (changed through the Groups).",
            sub_attributes=(
                Attribute("value", mutability=READ_ONLY),
                Attribute(
                    "$ref", type="reference", reference_types=("Group",), mutability=READ_ONLY
                ),
                Attribute("display", mutability=READ_ONLY),
                Attribute("type", mutability=READ_ONLY, canonical_values=("direct",)),
            ),
        ),
    ),
)

ENTERPRISE_USER = Schema(
    ENTERPRISE_SCHEMA,
    "EnterpriseUser",
    "Enterprise User",
    (
        *(
            Attribute(n)
            for n in ("employeeNumber", "costCenter", "organization", "division", "department")
        ),
        Attribute(
            "manager",
            type="complex",
            sub_attributes=(
                Attribute("value"),
                Attribute("$ref", type="reference", reference_types=("User",)),
                Attribute("displayName", mutability=READ_ONLY),
            ),
        ),
    ),
)

GROUP = Schema(
    GROUP_SCHEMA,
    "Group",
    "Group: its displayName is what [groups] mappings map to teams",
    (
        Attribute(
            "displayName",
            required=True,
            uniqueness="server",
            description="The group's name, as the [groups] mappings name it.",
        ),
        Attribute(
            "members",
            type="complex",
            multi_valued=True,
            description="The Users in the group (Groups in groups are not supported).",
            sub_attributes=(
                Attribute("value", case_exact=True, mutability=IMMUTABLE),
                Attribute(
                    "$ref", type="reference", reference_types=("User",), mutability=IMMUTABLE
                ),
                Attribute("type", mutability=IMMUTABLE, canonical_values=("User",)),
            ),
        ),
    ),
)

USERS = ResourceType("User", "/Users", "User Account", USER, (ENTERPRISE_USER,))
GROUPS = ResourceType("Group", "/Groups", "Group", GROUP)
RESOURCE_TYPES = (USERS, GROUPS)
SCHEMAS = (USER, ENTERPRISE_USER, GROUP)
