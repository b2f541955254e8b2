"""What SCIM users and groups have in common: the checks of a document against the schema,
its text values, the audit channel and `meta`."""

from __future__ import annotations

import logging

from .. import schema
from ..errors import bad_request

# One logger for the package, as when it was one module.
log = logging.getLogger("portal.scim.resources")

CHANNEL = "scim"
MAX_TEXT = 500


def _iso(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(resource_type: str, row, location: str) -> dict:
    """A resource's `meta`: its type, when it was created and last changed, its address."""
    return {
        "resourceType": resource_type,
        "created": _iso(row.created_at),
        "lastModified": _iso(row.updated_at or row.created_at),
        "location": location,
    }


def coerce(attr: schema.Attr, value):
    """Entra's shorthand: a complex attribute with a `value` given as that value alone
    (`"manager": "<id>"`), or as a one-element list. An empty text clears it."""
    if attr.type != "complex" or attr.multi or attr.child("value") is None:
        return value
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, str):
        return {"value": value} if value.strip() else None
    if isinstance(value, dict) and not str(value.get("value") or "").strip():
        if all(v in (None, "") for v in value.values()):
            return None  # {"value": ""}: Entra clearing the manager
    return value


def ignored(resource: str, key: str, where: str = "body") -> bool:
    """True (and logged) for an attribute the portal does not keep or an unknown extension."""
    lowered = key.lower()
    if lowered in schema.NOT_KEPT[resource]:
        log.info("SCIM %s: attribute %r is not kept by the portal; ignored", where, key)
        return True
    if lowered.startswith("urn:") and schema.owner(resource, key) is None:
        log.info("SCIM %s: unknown schema extension %r ignored", where, key[:200])
        return True
    return False


def _check(attr: schema.Attr, value, where: str) -> None:
    if value is None:
        return
    if attr.multi and attr.name != "schemas":
        if not isinstance(value, list):
            raise bad_request(f"{where} must be a list.")
        for item in value:
            _check_single(attr, item, where)
        return
    _check_single(attr, value, where)


def _check_single(attr: schema.Attr, value, where: str) -> None:
    if value is None:
        return
    if attr.type == "complex":
        if not isinstance(value, dict):
            raise bad_request(f"{where} must be an object.")
        for key, item in value.items():
            sub = attr.child(key) if isinstance(key, str) else None
            if sub is None:
                if item is None:
                    continue
                raise bad_request(f"Unknown attribute {where}.{key}.", "invalidSyntax")
            _check_single(sub, item, f"{where}.{sub.name}")
    elif attr.type == "boolean":
        boolean_value(value, where)
    elif attr.name == "schemas":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad_request("schemas must be a list of URIs.", "invalidSyntax")
    elif not isinstance(value, str) or len(value) > MAX_TEXT:
        raise bad_request(f"{where} must be a text of at most {MAX_TEXT} characters.")


def boolean_value(value, where: str = "active") -> bool:
    # Entra sends "True"/"False" as strings unless the app opts into compliance.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise bad_request(f"{where} must be true or false.")


def validate(resource: str, doc) -> dict:
    """Check a User or Group document against the schema; returns it with canonical keys."""
    if not isinstance(doc, dict):
        raise bad_request("The request body must be a JSON object.", "invalidSyntax")
    clean: dict = {}
    for key, value in doc.items():
        if not isinstance(key, str):
            raise bad_request("Attribute names must be texts.", "invalidSyntax")
        extension = schema.extension(resource, key)
        if extension is not None:
            if value is None:
                continue
            if not isinstance(value, dict):
                raise bad_request(f"{key} must be an object.")
            part = clean.setdefault(extension.id, {})
            for sub_key, item in value.items():
                attr = extension.attr(sub_key) if isinstance(sub_key, str) else None
                if attr is None:
                    if item is None:
                        continue
                    raise bad_request(f"Unknown attribute {key}:{sub_key}.", "invalidSyntax")
                item = coerce(attr, item)
                _check(attr, item, attr.name)
                if item is not None:
                    part[attr.name] = item
            continue
        container, attr = schema.lookup(resource, key)
        if container is not None and attr is not None:
            # `urn:…:enterprise:2.0:User:manager` at the top level, as Entra may write it.
            item = coerce(attr, value)
            _check(attr, item, attr.name)
            if item is not None:
                clean.setdefault(container, {})[attr.name] = item
            continue
        if attr is None:
            if value is None or ignored(resource, key):
                continue  # Entra sends unmapped attributes as null
            raise bad_request(f"Unknown attribute {key!r}.", "invalidSyntax")
        if attr.mutability == "readOnly":
            continue  # id, meta, groups
        _check(attr, value, attr.name)
        clean[attr.name] = value
    return clean


def text_value(doc: dict, name: str, *, required: bool = False, limit: int = 320) -> str | None:
    value = doc.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise bad_request(f"{name} is required.")
        return None
    value = value.strip()
    if len(value) > limit:
        raise bad_request(f"{name} is too long.")
    return value
