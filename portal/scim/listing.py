"""ListResponses (RFC 7644 §3.4.2): paging, attribute selection, and the listing of one
resource type filtered, for a GET or a .search over one or more types."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import request

from ..extensions import db
from . import filters, limits, resources, schema
from .errors import bad_request
from .filter_sql import UnknownFilterAttribute, type_error, where

DEFAULT_COUNT = 100


def _int_param(params, name: str, default: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    if isinstance(raw, bool):
        raise bad_request(f"{name} must be a whole number.")
    if isinstance(raw, str):
        if not re.fullmatch(r"-?[0-9]{1,12}", raw.strip()):
            raise bad_request(f"{name} must be a whole number of at most {limits.MAX_INT}.")
        raw = int(raw)
    if not isinstance(raw, int) or abs(raw) > limits.MAX_INT:
        raise bad_request(f"{name} must be a whole number of at most {limits.MAX_INT}.")
    return raw


def _names(value, name: str) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request(f"{name} must be a list of attribute names.")
    return {limits.check_text(v, name).strip().split(".")[0].lower() for v in value if v.strip()}


def selection(params) -> tuple[set[str], set[str]]:
    return (
        _names(params.get("attributes"), "attributes"),
        _names(params.get("excludedAttributes"), "excludedAttributes"),
    )


def project(doc: dict, params=None) -> dict:
    """Apply `attributes` / `excludedAttributes` (top-level names, case-insensitive)."""
    wanted, excluded = selection(request.args if params is None else params)
    always = {"id", "schemas"}
    if wanted:
        return {k: v for k, v in doc.items() if k.lower() in wanted | always}
    return {k: v for k, v in doc.items() if k.lower() in always or k.lower() not in excluded}


class Listing:
    """One resource type's listing: its query, filter columns and rendering."""

    def __init__(self, resource: str, query, columns: dict, id_column, render):
        self.resource = resource
        self.query = query
        self.columns = columns
        self.id_column = id_column
        self.render = render

    def filtered(self, expression, *, among_others: bool = False):
        if expression is None:
            return self.query
        try:
            clause = where(self.resource, expression, self.columns, self.id_column)
        except UnknownFilterAttribute:
            if among_others:  # a search across types: this type simply has no match
                return self.query.where(sa.false())
            raise
        return self.query.where(clause)


def _page(params) -> tuple[int, int]:
    start = max(_int_param(params, "startIndex", 1), 1)
    count = min(max(_int_param(params, "count", DEFAULT_COUNT), 0), schema.MAX_RESULTS)
    return start, count


def search(listings: list[Listing], params) -> dict:
    """A ListResponse over one or more resource types (RFC 7644 §3.4.2 and §3.4.3)."""
    if params.get("sortBy") not in (None, ""):
        raise bad_request("Sorting is not supported (see /ServiceProviderConfig).")
    text = params.get("filter")
    if text is not None and not isinstance(text, str):
        raise bad_request("filter must be a text.", "invalidFilter")
    expression = filters.parse_expression(text)
    start, count = _page(params)
    selection(params)  # refuse a bad selection before any query
    if listings[0].resource == "User":
        _match_existing(expression)
    resources_out, total, skip = [], 0, start - 1
    for listing in listings:
        query = listing.filtered(expression, among_others=len(listings) > 1)
        found = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
        total += found
        if skip >= found:
            skip -= found
            continue
        wanted = count - len(resources_out)
        if wanted > 0:
            rows = db.session.scalars(
                query.order_by(listing.id_column).offset(skip).limit(wanted)
            ).all()
            resources_out.extend(project(listing.render(row), params) for row in rows)
        skip = 0
    return {
        "schemas": [schema.LIST],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(resources_out),
        "Resources": resources_out,
    }


def _match_existing(expression) -> None:
    """Entra matches people by `userName eq "…"`: an account the portal already has (local,
    LDAP, or created at an OpenID sign-in) becomes provisioned by Entra from then on."""
    conditions = []
    if isinstance(expression, filters.Condition):
        conditions = [expression]
    elif isinstance(expression, filters.And):
        conditions = [c for c in expression.items if isinstance(c, filters.Condition)]
    for condition in conditions:
        _found, rest = schema.split_urn("User", condition.path)
        if rest.lower() == "username" and condition.op == "eq":
            if not isinstance(condition.value, str):
                raise type_error(condition, "string (in double quotes)")
            if resources.match_account(condition.value):
                db.session.commit()
