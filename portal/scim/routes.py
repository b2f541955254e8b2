"""`/scim/v2`: Users, Groups and discovery, for Entra ID's provisioning service.

Authenticated by a bearer token (portal.scim.tokens), CSRF-exempt; every answer is
`application/scim+json`, errors as RFC 7644 §3.12 says.
"""

from __future__ import annotations

import json
import logging
import re

import sqlalchemy as sa
from flask import current_app, request
from werkzeug.exceptions import HTTPException

from ..access import external
from ..directory import provisioning
from ..directory import service as directory_service
from ..extensions import db
from ..models import Group, User
from . import bp, filters, patch, resources, schema, tokens
from .errors import ScimError, bad_request, error_response, scim_response

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
DEFAULT_COUNT = 100
KNOWN_PATHS = re.compile(r"^/scim/v2/(Users|Groups)(/[^/]+)?/?$")


def _base_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


# -- authentication and errors --------------------------------------------------------------


@bp.before_request
def _authenticate():
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or tokens.verify(raw.strip()) is None:
        return error_response(401, "A valid bearer token is required.")
    if request.method not in ("GET", "HEAD"):
        provisioning.begin_transaction()  # one request, one transaction
    return None


@bp.errorhandler(ScimError)
def _scim_error(error: ScimError):
    db.session.rollback()
    return error_response(error.status, error.detail, error.scim_type)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    db.session.rollback()
    return error_response(error.code or 500, error.description or error.name)


@bp.errorhandler(Exception)
def _unexpected(error: Exception):
    db.session.rollback()
    log.exception("SCIM request failed: %s %s", request.method, request.path)
    return error_response(500, "The request could not be completed.")


def _body():
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ScimError(413, "The request body is too large.")
    data = request.get_data(cache=False)
    if len(data) > MAX_BODY:
        raise ScimError(413, "The request body is too large.")
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request("The request body is not valid JSON.", "invalidSyntax") from exc


# -- listing, filters, attribute selection ---------------------------------------------------


def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise bad_request(f"{name} must be a whole number.") from exc


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _compare(column, condition: filters.Condition, *, lower: bool):
    value = condition.value
    if condition.op == "pr":
        return column.is_not(None)
    if value is None:
        return column.is_(None) if condition.op == "eq" else column.is_not(None)
    if isinstance(value, bool) or not isinstance(value, str):
        if condition.op in ("eq", "ne") and isinstance(value, bool | int):
            clause = column == value
            return clause if condition.op == "eq" else ~clause
        return sa.false()
    target = sa.func.lower(column) if lower else column
    value = value.lower() if lower else value
    if condition.op == "eq":
        return target == value
    if condition.op == "ne":
        return target != value
    pattern = {"co": "%{}%", "sw": "{}%", "ew": "%{}"}[condition.op].format(_like(value))
    return target.like(pattern, escape="\\")


def _id_clause(column, condition: filters.Condition):
    value = condition.value
    if condition.op == "eq" and isinstance(value, str) and value.isdigit() and len(value) < 18:
        return column == int(value)
    return sa.false()


USER_COLUMNS = {
    "username": (sa.func.coalesce(User.upn, User.email), True),
    "externalid": (User.external_id, False),
    "displayname": (User.display_name, True),
    "emails": (User.email, True),
    "emails.value": (User.email, True),
    "active": (User.active, False),
}
GROUP_COLUMNS = {
    "displayname": (Group.name, True),
    "externalid": (Group.external_id, False),
}


def _condition_clause(resource: str, condition: filters.Condition, columns: dict, id_column):
    _found, rest = schema.split_urn(resource, condition.path)
    _container, attr = schema.lookup(resource, condition.path.split(".")[0])
    if attr is None:
        raise bad_request(f"Unknown attribute {condition.path!r} in the filter.", "invalidFilter")
    key = rest.lower()
    if key == "id":
        return _id_clause(id_column, condition)
    if key in columns:
        column, lower = columns[key]
        return _compare(column, condition, lower=lower)
    return sa.false()  # known, but not kept by the portal: nothing matches


def _where(resource: str, expression: filters.Expression, columns: dict, id_column):
    """The SQL condition for a parsed filter."""
    if isinstance(expression, filters.Condition):
        return _condition_clause(resource, expression, columns, id_column)
    if isinstance(expression, filters.Not):
        inner = _where(resource, expression.item, columns, id_column)
        # A comparison with a missing (NULL) value is unknown in SQL; in SCIM it is false,
        # so its negation holds.
        return sa.not_(sa.func.coalesce(inner, sa.false()))
    clauses = [_where(resource, item, columns, id_column) for item in expression.items]
    return sa.and_(*clauses) if isinstance(expression, filters.And) else sa.or_(*clauses)


def _project(doc: dict) -> dict:
    """Apply `attributes` / `excludedAttributes` (top-level names, case-insensitive)."""
    wanted = {
        a.strip().split(".")[0].lower()
        for a in request.args.get("attributes", "").split(",")
        if a.strip()
    }
    excluded = {
        a.strip().split(".")[0].lower()
        for a in request.args.get("excludedAttributes", "").split(",")
        if a.strip()
    }
    always = {"id", "schemas"}
    if wanted:
        return {k: v for k, v in doc.items() if k.lower() in wanted | always}
    return {k: v for k, v in doc.items() if k.lower() in always or k.lower() not in excluded}


def _list(query, resource: str, columns: dict, id_column, render):
    expression = filters.parse_expression(request.args.get("filter"))
    if expression is not None:
        query = query.where(_where(resource, expression, columns, id_column))
    start = max(_int_arg("startIndex", 1), 1)
    count = min(max(_int_arg("count", DEFAULT_COUNT), 0), schema.MAX_RESULTS)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(id_column).offset(start - 1).limit(count)).all()
    return scim_response(
        {
            "schemas": [schema.LIST],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": len(rows),
            "Resources": [_project(render(row)) for row in rows],
        }
    )


# -- Users --------------------------------------------------------------------------------


def _user(user_id: str) -> User:
    if not user_id.isdigit() or len(user_id) > 18:
        raise ScimError(404, f"Resource {user_id} not found.")
    user = db.session.scalar(resources.visible_users().where(User.id == int(user_id)))
    if user is None:
        raise ScimError(404, f"Resource {user_id} not found.")
    return user


def _user_answer(user: User, status: int = 200):
    doc = resources.user_document(user, _base_url())
    headers = {"Location": doc["meta"]["location"]} if status == 201 else None
    return scim_response(_project(doc), status, headers)


@bp.route("/Users", methods=["GET", "POST"])
@external
def users():
    """List (with filter and paging) or create users."""
    if request.method == "GET":
        return _list(
            resources.visible_users(),
            "User",
            USER_COLUMNS,
            User.id,
            lambda u: resources.user_document(u, _base_url()),
        )
    user = resources.create_user(_body(), directory_service.organization())
    db.session.commit()
    return _user_answer(user, 201)


@bp.route("/Users/<user_id>", methods=["GET", "PUT", "PATCH", "DELETE"])
@external
def user(user_id: str):
    """Read, replace, patch or delete (deprovision) one user."""
    found = _user(user_id)
    if request.method == "GET":
        return _user_answer(found)
    if request.method == "DELETE":
        resources.delete_user(found)
        db.session.commit()
        return scim_response(None, 204)
    body = _body()
    if request.method == "PATCH":
        body = patch.apply("User", resources.user_document(found, _base_url()), body)
    resources.replace_user(found, body, directory_service.organization())
    db.session.commit()
    return _user_answer(found)


# -- Groups -------------------------------------------------------------------------------


def _group(group_id: str) -> Group:
    if not group_id.isdigit() or len(group_id) > 18:
        raise ScimError(404, f"Resource {group_id} not found.")
    group = db.session.scalar(resources.visible_groups().where(Group.id == int(group_id)))
    if group is None:
        raise ScimError(404, f"Resource {group_id} not found.")
    return group


def _group_answer(group: Group, status: int = 200):
    doc = resources.group_document(group, _base_url())
    headers = {"Location": doc["meta"]["location"]} if status == 201 else None
    return scim_response(_project(doc), status, headers)


@bp.route("/Groups", methods=["GET", "POST"])
@external
def groups():
    """List (with filter and paging) or create groups."""
    if request.method == "GET":
        return _list(
            resources.visible_groups(),
            "Group",
            GROUP_COLUMNS,
            Group.id,
            lambda grp: resources.group_document(grp, _base_url()),
        )
    group = resources.save_group(None, _body())
    db.session.commit()
    return _group_answer(group, 201)


@bp.route("/Groups/<group_id>", methods=["GET", "PUT", "PATCH", "DELETE"])
@external
def group(group_id: str):
    """Read, replace, patch (Entra answers 204) or delete one group."""
    found = _group(group_id)
    if request.method == "GET":
        return _group_answer(found)
    if request.method == "DELETE":
        resources.delete_group(found)
        db.session.commit()
        return scim_response(None, 204)
    body = _body()
    if request.method == "PATCH":
        body = patch.apply("Group", resources.group_document(found, _base_url()), body)
    resources.save_group(found, body)
    db.session.commit()
    if request.method == "PATCH":
        return scim_response(None, 204)
    return _group_answer(found)


# -- discovery ----------------------------------------------------------------------------


@bp.get("/ServiceProviderConfig")
@external
def service_provider_config():
    """What this SCIM server supports."""
    return scim_response(schema.service_provider_config(_base_url()))


def _listed(items: list[dict]):
    return scim_response(
        {
            "schemas": [schema.LIST],
            "totalResults": len(items),
            "startIndex": 1,
            "itemsPerPage": len(items),
            "Resources": items,
        }
    )


@bp.get("/ResourceTypes")
@external
def resource_types():
    """User and Group."""
    return _listed(schema.resource_types(_base_url()))


@bp.get("/ResourceTypes/<name>")
@external
def resource_type(name: str):
    """One resource type."""
    found = [r for r in schema.resource_types(_base_url()) if r["id"].lower() == name.lower()]
    if not found:
        raise ScimError(404, f"Resource type {name} not found.")
    return scim_response(found[0])


@bp.get("/Schemas")
@external
def schemas():
    """The User, Group and enterprise User schemas."""
    return _listed(schema.schemas(_base_url()))


@bp.get("/Schemas/<path:urn>")
@external
def one_schema(urn: str):
    """One schema by its URN."""
    found = [s for s in schema.schemas(_base_url()) if s["id"].lower() == urn.lower()]
    if not found:
        raise ScimError(404, f"Schema {urn} not found.")
    return scim_response(found[0])


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@external
def unknown(rest: str):
    """Anything else under /scim/v2: a SCIM 404 (or 405 for a known path)."""
    if KNOWN_PATHS.match(request.path):
        raise ScimError(405, f"{request.method} is not supported here.")
    raise ScimError(404, f"/{rest} is not a SCIM endpoint here.")
