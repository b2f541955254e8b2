"""A parsed SCIM filter as an SQL condition on the columns of users or groups."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa

from ..models import Group, User
from ..models.user import group_membership
from . import filters, limits, schema
from .errors import ScimError, bad_request


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def type_error(condition: filters.Condition, expected: str):
    return bad_request(
        f"{condition.path} is compared with {json.dumps(condition.value)}: "
        f"it takes a {expected} value.",
        "invalidFilter",
    )


def _compare(column, condition: filters.Condition, *, lower: bool, kind: str = "string"):
    """The SQL for one comparison; a value of the wrong type is a 400 invalidFilter."""
    value = condition.value
    if condition.op == "pr":
        return column.is_not(None)
    if value is None:
        if condition.op not in ("eq", "ne"):
            raise type_error(condition, kind)
        return column.is_(None) if condition.op == "eq" else column.is_not(None)
    if kind == "boolean":
        if not isinstance(value, bool) or condition.op not in ("eq", "ne"):
            raise type_error(condition, "boolean (true or false)")
        clause = column.is_(value)
        return clause if condition.op == "eq" else sa.not_(clause)
    if not isinstance(value, str):
        raise type_error(condition, "string (in double quotes)")
    target = sa.func.lower(column) if lower else column
    value = value.lower() if lower else value
    if condition.op == "eq":
        return target == value
    if condition.op == "ne":
        return sa.or_(target != value, column.is_(None))
    pattern = {"co": "%{}%", "sw": "{}%", "ew": "%{}"}[condition.op].format(_like(value))
    return target.like(pattern, escape="\\")


def id_value(value) -> int | None:
    """A resource id as the database holds it, or None when it cannot be one."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,10}", value):
        number = int(value)
        return number if 0 < number <= limits.MAX_INT else None
    return None


def _id_clause(column, condition: filters.Condition):
    if condition.op == "pr":
        return sa.true()
    if not isinstance(condition.value, str):
        raise type_error(condition, "string (in double quotes)")
    number = id_value(condition.value)
    if condition.op == "eq":
        return column == number if number is not None else sa.false()
    if condition.op == "ne":
        return column != number if number is not None else sa.true()
    return sa.false()


USER_COLUMNS = {
    "username": (sa.func.coalesce(User.upn, User.email), True, "string"),
    "externalid": (User.external_id, False, "string"),
    "displayname": (User.display_name, True, "string"),
    "emails": (User.email, True, "string"),
    "emails.value": (User.email, True, "string"),
    "active": (User.active, False, "boolean"),
}
GROUP_COLUMNS = {
    "displayname": (Group.name, True, "string"),
    "externalid": (Group.external_id, False, "string"),
}
# The one address the portal keeps per account is its work address, and its primary one.
_EMAIL_FACTS = {"type": "work", "primary": True}


class UnknownFilterAttribute(ScimError):
    def __init__(self, path: str):
        super().__init__(400, f"Unknown attribute {path!r} in the filter.", "invalidFilter")


def _attr_for(resource: str, path: str) -> schema.Attr:
    _container, attr = schema.lookup(resource, path.split(".")[0])
    if attr is None:
        raise UnknownFilterAttribute(path)
    return attr


def _condition_clause(resource: str, condition: filters.Condition, columns: dict, id_column):
    _found, rest = schema.split_urn(resource, condition.path)
    attr = _attr_for(resource, condition.path)
    key = rest.lower()
    if key == "id":
        return _id_clause(id_column, condition)
    if key in columns:
        column, lower, kind = columns[key]
        return _compare(column, condition, lower=lower, kind=kind)
    sub = attr.child(key.partition(".")[2]) if "." in key else attr
    kind = (sub or attr).type
    if condition.op != "pr" and condition.value is not None:
        wanted = bool if kind == "boolean" else str
        if not isinstance(condition.value, wanted) or (
            wanted is str and isinstance(condition.value, bool)
        ):
            raise type_error(condition, kind)
    return sa.false()  # known, but not kept by the portal: nothing matches


def _element_clause(resource: str, path: filters.ValuePath, expression, columns, id_column):
    """An expression about one element of `path.attr`, as SQL (or a constant)."""
    if isinstance(expression, filters.Not):
        inner = _element_clause(resource, path, expression.item, columns, id_column)
        return sa.not_(sa.func.coalesce(inner, sa.false()))
    if isinstance(expression, filters.And | filters.Or):
        clauses = [
            _element_clause(resource, path, item, columns, id_column) for item in expression.items
        ]
        return sa.and_(*clauses) if isinstance(expression, filters.And) else sa.or_(*clauses)
    if not isinstance(expression, filters.Condition):
        raise bad_request("Value paths cannot be nested.", "invalidFilter")
    attr = _attr_for(resource, path.attr)
    sub = attr.child(expression.path)
    if sub is None or not attr.multi:
        raise bad_request(
            f"Unknown attribute {path.attr}.{expression.path} in the filter.", "invalidFilter"
        )
    name, field = attr.name.lower(), sub.name.lower()
    if name == "emails" and field in _EMAIL_FACTS:
        fact = _EMAIL_FACTS[field]
        if expression.op != "pr" and type(expression.value) is not type(fact):
            raise type_error(expression, sub.type)
        return sa.true() if expression.matches(fact) else sa.false()
    if name == "members" and field == "value":
        if not isinstance(expression.value, str) and expression.op != "pr":
            raise type_error(expression, "string (in double quotes)")
        clause = _id_clause(group_membership.c.user_id, expression)
        return sa.exists().where(group_membership.c.group_id == Group.id, clause)
    condition = filters.Condition(f"{attr.name}.{sub.name}", expression.op, expression.value)
    return _condition_clause(resource, condition, columns, id_column)


def where(resource: str, expression: filters.Expression, columns: dict, id_column):
    """The SQL condition for a parsed filter."""
    if isinstance(expression, filters.Condition):
        return _condition_clause(resource, expression, columns, id_column)
    if isinstance(expression, filters.ValuePath):
        clause = _element_clause(resource, expression, expression.inner, columns, id_column)
        if expression.condition is None:
            return clause
        element = filters.Condition(
            expression.sub, expression.condition.op, expression.condition.value
        )
        return sa.and_(clause, _element_clause(resource, expression, element, columns, id_column))
    if isinstance(expression, filters.Not):
        inner = where(resource, expression.item, columns, id_column)
        # A comparison with a missing (NULL) value is unknown in SQL; in SCIM it is false,
        # so its negation holds.
        return sa.not_(sa.func.coalesce(inner, sa.false()))
    clauses = [where(resource, item, columns, id_column) for item in expression.items]
    return sa.and_(*clauses) if isinstance(expression, filters.And) else sa.or_(*clauses)
