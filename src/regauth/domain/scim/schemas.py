"""What a SCIM resource may hold (RFC 7643 §2, §7): attributes with their type, plurality,
mutability and case rule, grouped in schemas, and the resource types built of them. The same
definitions check what a provisioner sends, resolve PATCH paths and filters, and are served
at /Schemas and /ResourceTypes, so what is accepted and what is published cannot differ."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from regauth.domain.scim.filters import AttrPath

READ_WRITE, READ_ONLY, IMMUTABLE, WRITE_ONLY = "readWrite", "readOnly", "immutable", "writeOnly"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"


@dataclass(frozen=True, slots=True)
class Attribute:
    name: str
    type: str = "string"  # string boolean decimal integer dateTime binary reference complex
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: str = READ_WRITE
    returned: str = "default"
    uniqueness: str = "none"
    description: str = ""
    sub_attributes: tuple[Attribute, ...] = ()
    reference_types: tuple[str, ...] = ()
    canonical_values: tuple[str, ...] = ()

    def sub(self, name: str) -> Attribute | None:
        return _named(self.sub_attributes, name)

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description or self.name,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        }
        if self.sub_attributes:
            doc["subAttributes"] = [a.document() for a in self.sub_attributes]
        if self.reference_types:
            doc["referenceTypes"] = list(self.reference_types)
        if self.canonical_values:
            doc["canonicalValues"] = list(self.canonical_values)
        return doc


def _named(attributes: tuple[Attribute, ...], name: str) -> Attribute | None:
    folded = name.casefold()
    return next((a for a in attributes if a.name.casefold() == folded), None)


@dataclass(frozen=True, slots=True)
class Schema:
    id: str  # its URN
    name: str
    description: str
    attributes: tuple[Attribute, ...]

    def attribute(self, name: str) -> Attribute | None:
        return _named(self.attributes, name)

    def document(self, base_url: str) -> dict[str, Any]:
        return {
            "schemas": [SCHEMA_SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [a.document() for a in self.attributes],
            "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{self.id}"},
        }


# The attributes every resource has (RFC 7643 §3.1), in no schema's list.
ID = Attribute("id", case_exact=True, mutability=READ_ONLY, returned="always", uniqueness="server")
EXTERNAL_ID = Attribute("externalId", case_exact=True)
META = Attribute("meta", type="complex", mutability=READ_ONLY)
COMMON = (ID, EXTERNAL_ID, META)


@dataclass(frozen=True, slots=True)
class Resolved:
    """Where a path points: the schema (None: the common attributes), the attribute in it,
    and the sub-attribute when the path names one."""

    schema: Schema | None
    attribute: Attribute
    sub: Attribute | None


@dataclass(frozen=True, slots=True)
class ResourceType:
    name: str
    endpoint: str
    description: str
    schema: Schema
    extensions: tuple[Schema, ...] = ()

    def schema_of(self, urn: str) -> Schema | None:
        folded = urn.casefold()
        return next((s for s in (self.schema, *self.extensions) if s.id.casefold() == folded), None)

    def extension(self, urn: str) -> Schema | None:
        schema = self.schema_of(urn)
        return schema if schema is not None and schema is not self.schema else None

    def resolve(self, path: AttrPath) -> Resolved | None:
        """The attribute `path` names, or None when no schema of this type has it."""
        if path.schema is not None:
            schema = self.schema_of(path.schema)
            if schema is None:
                return None
            attribute = schema.attribute(path.attr)
            home: Schema | None = schema
        else:
            home = None
            attribute = _named(COMMON, path.attr)
            if attribute is None:
                home, attribute = self.schema, self.schema.attribute(path.attr)
        if attribute is None:
            return None
        if path.sub is None:
            return Resolved(home, attribute, None)
        sub = attribute.sub(path.sub)
        return Resolved(home, attribute, sub) if sub is not None else None

    def case_exact(self, path: AttrPath) -> bool:
        found = self.resolve(path)
        if found is None:
            return False
        return (found.sub or found.attribute).case_exact

    def document(self, base_url: str) -> dict[str, Any]:
        return {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.schema.id,
            "schemaExtensions": [{"schema": s.id, "required": False} for s in self.extensions],
            "meta": {
                "resourceType": "ResourceType",
                "location": f"{base_url}/ResourceTypes/{self.name}",
            },
        }
