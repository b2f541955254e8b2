"""SCIM PATCH (RFC 7644 §3.5.2) on a resource's JSON document, Entra's dialect included.

Entra capitalises `op` ("Replace"), sends `active` as the string "False", puts filters in
paths (`emails[type eq "work"].value`, `members[value eq "…"]`), sends replace without a
path whose keys are dotted or extension URNs, and removes members with a value list. The
operations change a copy of the document; the caller validates and stores it afterwards,
so a request with one bad operation changes nothing.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass

from . import filters, resources, schema
from .errors import ScimError, bad_request

PATH_RE = re.compile(
    r"^(?P<attr>[A-Za-z$][\w$-]*)(?:\[(?P<filter>[^\]]*)\])?(?:\.(?P<sub>[A-Za-z$][\w$-]*))?$"
)
READ_ONLY = {"id", "meta", "groups"}
MAX_OPERATIONS = 1000


@dataclass(frozen=True)
class Path:
    container: str | None  # None: the core schema; else the extension's URN key
    attr: schema.Attr
    conditions: tuple[filters.Condition, ...]
    has_filter: bool
    sub: schema.Attr | None


def parse_path(resource: str, text: str) -> Path | str | None:
    """The operation's target: a Path, an extension's URN (the whole extension), or None
    for an attribute the portal does not keep or an unknown extension (ignored, logged)."""
    if not isinstance(text, str) or not text.strip():
        raise bad_request("The operation's path is empty.", "invalidPath")
    found, rest = schema.split_urn(resource, text.strip())
    if found is not None and rest == "":
        if found.id == schema.CORE[resource].id:
            raise bad_request(f"The path {text!r} names a schema, not an attribute.", "invalidPath")
        return found.id
    match = PATH_RE.match(rest)
    if found is None and resources.ignored(resource, text.strip(), "PATCH path"):
        return None
    if not match:
        raise bad_request(f"The path {text!r} cannot be read.", "invalidPath")
    prefix = f"{found.id}:" if found is not None else ""
    container, attr = schema.lookup(resource, prefix + match["attr"])
    if attr is None:
        if found is None and resources.ignored(resource, match["attr"], "PATCH path"):
            return None
        raise bad_request(f"Unknown attribute in path {text!r}.", "invalidPath")
    if attr.name in READ_ONLY or attr.mutability == "readOnly":
        raise ScimError(400, f"The attribute {attr.name!r} cannot be changed.", "mutability")
    sub = None
    if match["sub"]:
        sub = attr.child(match["sub"])
        if sub is None:
            raise bad_request(f"Unknown sub-attribute in path {text!r}.", "invalidPath")
    conditions: tuple[filters.Condition, ...] = ()
    if match["filter"] is not None:
        if not attr.multi:
            raise bad_request(f"{attr.name!r} is not multi-valued.", "invalidPath")
        try:
            conditions = tuple(filters.parse(match["filter"]))
        except ScimError as exc:
            raise bad_request(
                f"The filter in path {text!r} cannot be read.", "invalidPath"
            ) from exc
        if not conditions:
            raise bad_request(f"The filter in path {text!r} is empty.", "invalidPath")
        for condition in conditions:
            if attr.child(condition.path) is None:
                raise bad_request(f"Unknown attribute in path {text!r}.", "invalidPath")
    return Path(container, attr, conditions, match["filter"] is not None, sub)


def _holder(doc: dict, path: Path, create: bool) -> dict | None:
    if path.container is None:
        return doc
    key = next((k for k in doc if k.lower() == path.container.lower()), path.container)
    if key not in doc:
        if not create:
            return None
        doc[key] = {}
    if not isinstance(doc[key], dict):
        raise bad_request(f"{path.container} must be an object.")
    return doc[key]


def _key(holder: dict, name: str) -> str:
    """The key `holder` already uses for `name` (any case), else `name`."""
    return next((k for k in holder if k.lower() == name.lower()), name)


def _matches(element, path: Path) -> bool:
    if not isinstance(element, dict):
        return False
    for condition in path.conditions:
        sub = path.attr.child(condition.path)
        actual = element.get(_key(element, sub.name))
        if not condition.matches(actual, sub.case_exact):
            return False
    return True


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _identity(item):
    """What makes two values of a multi-valued attribute the same one (hashable)."""
    if isinstance(item, dict) and "value" in item:
        return ("value", str(item["value"]).lower())
    try:
        return ("item", json.dumps(item, sort_keys=True))
    except (TypeError, ValueError):
        return ("object", id(item))


def _set(doc: dict, path: Path, value, replace: bool) -> None:
    holder = _holder(doc, path, create=True)
    key = _key(holder, path.attr.name)
    attr = path.attr
    if attr.multi and (path.has_filter or path.sub):
        elements = holder.setdefault(key, []) if isinstance(holder.get(key), list) else None
        if elements is None:
            holder[key] = elements = []
        targets = [e for e in elements if _matches(e, path)] if path.has_filter else elements
        if not targets:
            # Entra replaces `emails[type eq "work"].value` even when there is none yet.
            element = {c.path: c.value for c in path.conditions if c.op == "eq"}
            elements.append(element)
            targets = [element]
        for element in targets:
            if path.sub:
                element[_key(element, path.sub.name)] = value
            elif isinstance(value, dict):
                element.update(value)
            else:
                raise bad_request(f"The value for {attr.name!r} must be an object.")
        return
    if attr.multi:
        values = _as_list(value)
        if replace or not isinstance(holder.get(key), list):
            holder[key] = values
        else:
            # One pass with a set: a group PATCH adding 20,000 members stays linear.
            existing = holder[key]
            seen = {_identity(e) for e in existing}
            for item in values:
                identity = _identity(item)
                if identity not in seen:
                    seen.add(identity)
                    existing.append(item)
        return
    if path.sub:
        current = holder.get(key)
        if not isinstance(current, dict):
            holder[key] = current = {}
        current[_key(current, path.sub.name)] = value
        return
    if attr.type == "complex":
        # Entra sends the manager as a one-element list, or as the id alone.
        value = resources.coerce(attr, value)
        if value is None:
            holder.pop(key, None)
            return
        if isinstance(value, dict) and isinstance(holder.get(key), dict):
            holder[key].update(value)
            return
    holder[key] = value


def _remove(doc: dict, path: Path, value) -> None:
    holder = _holder(doc, path, create=False)
    if holder is None:
        return
    key = _key(holder, path.attr.name)
    if key not in holder:
        return
    if path.attr.multi and isinstance(holder[key], list):
        elements = holder[key]
        if path.has_filter:
            targets = [e for e in elements if _matches(e, path)]
        elif value is not None and not path.sub:
            # Entra: {"op": "Remove", "path": "members", "value": [{"value": "id"}]}
            gone = {_identity(v) for v in _as_list(value)}
            targets = [e for e in elements if _identity(e) in gone]
        else:
            targets = list(elements)
        if path.sub:
            for element in targets:
                element.pop(_key(element, path.sub.name), None)
        else:
            removed = {id(t) for t in targets}
            holder[key] = [e for e in elements if id(e) not in removed]
        return
    if path.sub and isinstance(holder[key], dict):
        holder[key].pop(_key(holder[key], path.sub.name), None)
        return
    del holder[key]


def apply(resource: str, doc: dict, body) -> dict:
    """Apply a PatchOp `body` to a copy of `doc`; returns the new document."""
    if not isinstance(body, dict):
        raise bad_request("The request must be a PatchOp object.", "invalidSyntax")
    operations = body.get("Operations", body.get("operations"))
    if not isinstance(operations, list) or not operations:
        raise bad_request("A PatchOp needs a list of Operations.", "invalidSyntax")
    if len(operations) > MAX_OPERATIONS:
        raise ScimError(413, "Too many operations in one request.")
    doc = copy.deepcopy(doc)
    for operation in operations:
        _apply_one(resource, doc, operation)
    return doc


def _apply_one(resource: str, doc: dict, operation) -> None:
    if not isinstance(operation, dict):
        raise bad_request("Each operation must be an object.", "invalidSyntax")
    op = operation.get("op")
    if not isinstance(op, str) or op.lower() not in ("add", "replace", "remove"):
        raise bad_request("Each operation's op must be add, replace or remove.", "invalidSyntax")
    op = op.lower()
    value = operation.get("value")
    path_text = operation.get("path")
    if path_text is None:
        if op == "remove":
            raise ScimError(400, "A remove operation needs a path.", "noTarget")
        if not isinstance(value, dict):
            raise bad_request("Without a path, the value must be an object.", "invalidValue")
        for key, item in value.items():
            if not isinstance(key, str):
                raise bad_request("Attribute names must be texts.", "invalidSyntax")
            if key.lower() == "schemas":
                continue
            _set_target(resource, doc, parse_path(resource, key), item, op == "replace")
        return
    target = parse_path(resource, path_text)
    if target is None:
        return
    if op == "remove":
        if isinstance(target, str):
            _holder_remove(doc, target)
        else:
            _remove(doc, target, value)
    else:
        if "value" not in operation:
            raise bad_request(f"The {op} operation has no value.", "invalidValue")
        _set_target(resource, doc, target, value, op == "replace")


def _set_target(resource: str, doc: dict, target: Path | str | None, value, replace: bool):
    if target is None:
        return
    if isinstance(target, Path):
        _set(doc, target, value, replace)
        return
    # The whole extension, a complex value: the attributes given are set, the others kept
    # (RFC 7644 §3.5.2.3).
    if value is None:
        return
    if not isinstance(value, dict):
        raise bad_request(f"The value for {target} must be an object.")
    for sub_key, sub_item in value.items():
        if not isinstance(sub_key, str):
            raise bad_request("Attribute names must be texts.", "invalidSyntax")
        if sub_key.lower() == "schemas":
            continue
        found = parse_path(resource, f"{target}:{sub_key}")
        if isinstance(found, Path):
            _set(doc, found, sub_item, replace)


def _holder_remove(doc: dict, urn: str) -> None:
    for key in [k for k in doc if k.lower() == urn.lower()]:
        del doc[key]
