"""SCIM 2.0 schemas the portal speaks (RFC 7643), and its discovery documents.

Attribute names are matched case-insensitively (RFC 7643 §2.1); `canonical` gives the
spelling documents use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
MAX_RESULTS = 200


@dataclass(frozen=True)
class Attr:
    name: str
    type: str = "string"
    multi: bool = False
    sub: tuple[Attr, ...] = ()
    mutability: str = "readWrite"
    returned: str = "default"
    required: bool = False
    case_exact: bool = False
    uniqueness: str = "none"
    description: str = ""
    reference_types: tuple[str, ...] = ()
    canonical_values: tuple[str, ...] = ()

    def child(self, name: str) -> Attr | None:
        return _find(self.sub, name)

    def definition(self) -> dict:
        data = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi,
            "description": self.description or self.name,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        }
        if self.reference_types:
            data["referenceTypes"] = list(self.reference_types)
        if self.canonical_values:
            data["canonicalValues"] = list(self.canonical_values)
        if self.sub:
            data["subAttributes"] = [a.definition() for a in self.sub]
        return data


@dataclass(frozen=True)
class Schema:
    id: str
    name: str
    attributes: tuple[Attr, ...] = field(default=())

    def attr(self, name: str) -> Attr | None:
        return _find(self.attributes, name)


def _find(attrs, name: str) -> Attr | None:
    lowered = name.lower()
    return next((a for a in attrs if a.name.lower() == lowered), None)


def _multi(name: str, *extra: Attr, mutability: str = "readWrite", required=False) -> Attr:
    base = (
        Attr("value", mutability=mutability),
        Attr("display", mutability=mutability),
        Attr("type", mutability=mutability),
        Attr("primary", "boolean", mutability=mutability),
    )
    return Attr(
        name, "complex", multi=True, sub=base + extra, mutability=mutability, required=required
    )


def _ref(*types: str, mutability: str = "readWrite") -> Attr:
    return Attr("$ref", "reference", reference_types=types, mutability=mutability)


USER_SCHEMA = Schema(
    USER,
    "User",
    (
        Attr("userName", required=True, uniqueness="server", description="Unique login"),
        Attr(
            "name",
            "complex",
            sub=tuple(
                Attr(n)
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
        Attr("displayName"),
        Attr("nickName"),
        Attr("title"),
        Attr("userType"),
        Attr("preferredLanguage"),
        Attr("locale"),
        Attr("timezone"),
        Attr("active", "boolean"),
        # The portal needs an address to invite and match people: an account has one.
        Attr(
            "emails",
            "complex",
            multi=True,
            required=True,
            sub=(
                Attr("value", required=True),
                Attr("display"),
                Attr("type"),
                Attr("primary", "boolean"),
            ),
        ),
        _multi("groups", _ref("Group", mutability="readOnly"), mutability="readOnly"),
    ),
)
# RFC 7643 User attributes the portal does not keep (personal contact data, credentials,
# entitlements it has no use for): not advertised, and ignored (logged) when sent.
NOT_KEPT = {
    "User": frozenset(
        n.lower()
        for n in (
            "profileUrl",
            "password",
            "phoneNumbers",
            "ims",
            "photos",
            "addresses",
            "entitlements",
            "roles",
            "x509Certificates",
        )
    ),
    "Group": frozenset(),
}
ENTERPRISE_SCHEMA = Schema(
    ENTERPRISE,
    "EnterpriseUser",
    (
        Attr("employeeNumber"),
        Attr("costCenter"),
        Attr("organization"),
        Attr("division"),
        Attr("department"),
        Attr(
            "manager",
            "complex",
            sub=(Attr("value"), _ref("User"), Attr("displayName", mutability="readOnly")),
        ),
    ),
)
GROUP_SCHEMA = Schema(
    GROUP,
    "Group",
    (
        Attr("displayName", required=True, uniqueness="server"),
        Attr(
            "members",
            "complex",
            multi=True,
            sub=(
                Attr("value", mutability="immutable"),
                _ref("User", mutability="immutable"),
                # Accepted and ignored when sent (RFC 7643 §8.7.1 has no display here).
                Attr("display", mutability="readOnly", returned="never"),
                # Members are people: groups in groups are not kept.
                Attr("type", mutability="immutable", canonical_values=("User",)),
            ),
        ),
    ),
)
# Attributes every resource has (RFC 7643 §3.1).
COMMON = (
    Attr("id", mutability="readOnly", returned="always", case_exact=True),
    Attr("externalId", case_exact=True),
    Attr("meta", "complex", mutability="readOnly"),
    Attr("schemas", "reference", multi=True),
)
EXTENSIONS = {"User": (ENTERPRISE_SCHEMA,), "Group": ()}
CORE = {"User": USER_SCHEMA, "Group": GROUP_SCHEMA}


def core_attr(resource: str, name: str) -> Attr | None:
    return _find(COMMON, name) or CORE[resource].attr(name)


def extension(resource: str, urn: str) -> Schema | None:
    return next((s for s in EXTENSIONS[resource] if s.id.lower() == urn.lower()), None)


def split_urn(resource: str, path: str) -> tuple[Schema | None, str]:
    """`urn:…:enterprise:2.0:User:department` → (enterprise schema, "department")."""
    lowered = path.lower()
    for schema in (CORE[resource], *EXTENSIONS[resource]):
        prefix = schema.id.lower() + ":"
        if lowered.startswith(prefix):
            return schema, path[len(prefix) :]
        if lowered == schema.id.lower():
            return schema, ""
    return None, path


def lookup(resource: str, name: str) -> tuple[str | None, Attr | None]:
    """(extension URN or None for core, attribute) for a top-level name, URN-prefixed or not.

    Unqualified names are looked up in the core schema, then in the extensions (Entra
    writes `manager`, not `urn:…:enterprise:2.0:User:manager`).
    """
    found, rest = split_urn(resource, name)
    if found is not None and found.id != CORE[resource].id:
        return found.id, found.attr(rest)
    attr = core_attr(resource, rest)
    if attr is None and found is None:
        for ext in EXTENSIONS[resource]:
            if ext.attr(rest) is not None:
                return ext.id, ext.attr(rest)
    return None, attr


def service_provider_config(base_url: str) -> dict:
    return {
        "schemas": [SPC],
        "documentationUri": base_url + "/admin/sign-in",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A token an administrator creates on the portal's "
                "Sign-in sources page (Authorization: Bearer …).",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": base_url + "/scim/v2/ServiceProviderConfig",
        },
    }


def resource_types(base_url: str) -> list[dict]:
    return [
        {
            "schemas": [RESOURCE_TYPE],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "Employees who enroll their devices",
            "schema": USER,
            "schemaExtensions": [{"schema": ENTERPRISE, "required": False}],
            "meta": {
                "resourceType": "ResourceType",
                "location": base_url + "/scim/v2/ResourceTypes/User",
            },
        },
        {
            "schemas": [RESOURCE_TYPE],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "Static groups that enrollment settings are assigned to",
            "schema": GROUP,
            "schemaExtensions": [],
            "meta": {
                "resourceType": "ResourceType",
                "location": base_url + "/scim/v2/ResourceTypes/Group",
            },
        },
    ]


def schemas(base_url: str) -> list[dict]:
    result = []
    for schema in (USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_SCHEMA):
        result.append(
            {
                "schemas": [SCHEMA],
                "id": schema.id,
                "name": schema.name,
                "description": schema.name,
                "attributes": [a.definition() for a in schema.attributes],
                "meta": {
                    "resourceType": "Schema",
                    "location": f"{base_url}/scim/v2/Schemas/{schema.id}",
                },
            }
        )
    return result


def owner(resource: str, name: str) -> Schema | None:
    """The schema (core or extension) whose URN `name` starts with, if any."""
    return split_urn(resource, name)[0]
