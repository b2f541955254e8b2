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
from ..models.user import group_membership
from . import bp, filters, limits, patch, resources, schema, tokens
from .errors import ScimError, bad_request, error_response, scim_response

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
DEFAULT_COUNT = 100
KNOWN_PATHS = re.compile(
    r"^/scim/v2/(?:(?:Users|Groups)(?:/[^/]+)?|\.search|(?:Users|Groups)/\.search"
    r"|ServiceProviderConfig|(?:Schemas|ResourceTypes)(?:/.+)?)/?$"
)
READ_ONLY_PATHS = re.compile(r"^/scim/v2/(?:ServiceProviderConfig|Schemas|ResourceTypes)")


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
    response = error_response(error.status, error.detail, error.scim_type)
    if error.allow:
        response.headers["Allow"] = error.allow
    return response


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
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request("The request body is not valid JSON.", "invalidSyntax") from exc
    except RecursionError as exc:
        raise bad_request("The request body is nested too deeply.") from exc
    limits.check_document(document)
    return document


# -- listing, filters, attribute selection ---------------------------------------------------


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


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _type_error(condition: filters.Condition, expected: str):
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
            raise _type_error(condition, kind)
        return column.is_(None) if condition.op == "eq" else column.is_not(None)
    if kind == "boolean":
        if not isinstance(value, bool) or condition.op not in ("eq", "ne"):
            raise _type_error(condition, "boolean (true or false)")
        clause = column.is_(value)
        return clause if condition.op == "eq" else sa.not_(clause)
    if not isinstance(value, str):
        raise _type_error(condition, "string (in double quotes)")
    target = sa.func.lower(column) if lower else column
    value = value.lower() if lower else value
    if condition.op == "eq":
        return target == value
    if condition.op == "ne":
        return sa.or_(target != value, column.is_(None))
    pattern = {"co": "%{}%", "sw": "{}%", "ew": "%{}"}[condition.op].format(_like(value))
    return target.like(pattern, escape="\\")


def _id_value(value) -> int | None:
    """A resource id as the database holds it, or None when it cannot be one."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,10}", value):
        number = int(value)
        return number if 0 < number <= limits.MAX_INT else None
    return None


def _id_clause(column, condition: filters.Condition):
    if condition.op == "pr":
        return sa.true()
    if not isinstance(condition.value, str):
        raise _type_error(condition, "string (in double quotes)")
    number = _id_value(condition.value)
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
            raise _type_error(condition, kind)
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
            raise _type_error(expression, sub.type)
        return sa.true() if expression.matches(fact) else sa.false()
    if name == "members" and field == "value":
        if not isinstance(expression.value, str) and expression.op != "pr":
            raise _type_error(expression, "string (in double quotes)")
        clause = _id_clause(group_membership.c.user_id, expression)
        return sa.exists().where(group_membership.c.group_id == Group.id, clause)
    condition = filters.Condition(f"{attr.name}.{sub.name}", expression.op, expression.value)
    return _condition_clause(resource, condition, columns, id_column)


def _where(resource: str, expression: filters.Expression, columns: dict, id_column):
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
        inner = _where(resource, expression.item, columns, id_column)
        # A comparison with a missing (NULL) value is unknown in SQL; in SCIM it is false,
        # so its negation holds.
        return sa.not_(sa.func.coalesce(inner, sa.false()))
    clauses = [_where(resource, item, columns, id_column) for item in expression.items]
    return sa.and_(*clauses) if isinstance(expression, filters.And) else sa.or_(*clauses)


def _names(value, name: str) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request(f"{name} must be a list of attribute names.")
    return {limits.check_text(v, name).strip().split(".")[0].lower() for v in value if v.strip()}


def _selection(params) -> tuple[set[str], set[str]]:
    return (
        _names(params.get("attributes"), "attributes"),
        _names(params.get("excludedAttributes"), "excludedAttributes"),
    )


def _project(doc: dict, params=None) -> dict:
    """Apply `attributes` / `excludedAttributes` (top-level names, case-insensitive)."""
    wanted, excluded = _selection(request.args if params is None else params)
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
            clause = _where(self.resource, expression, self.columns, self.id_column)
        except UnknownFilterAttribute:
            if among_others:  # a search across types: this type simply has no match
                return self.query.where(sa.false())
            raise
        return self.query.where(clause)


def _page(params) -> tuple[int, int]:
    start = max(_int_param(params, "startIndex", 1), 1)
    count = min(max(_int_param(params, "count", DEFAULT_COUNT), 0), schema.MAX_RESULTS)
    return start, count


def _search(listings: list[Listing], params) -> dict:
    """A ListResponse over one or more resource types (RFC 7644 §3.4.2 and §3.4.3)."""
    if params.get("sortBy") not in (None, ""):
        raise bad_request("Sorting is not supported (see /ServiceProviderConfig).")
    text = params.get("filter")
    if text is not None and not isinstance(text, str):
        raise bad_request("filter must be a text.", "invalidFilter")
    expression = filters.parse_expression(text)
    start, count = _page(params)
    _selection(params)  # refuse a bad selection before any query
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
            resources_out.extend(_project(listing.render(row), params) for row in rows)
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
                raise _type_error(condition, "string (in double quotes)")
            if resources.match_account(condition.value):
                db.session.commit()


def _users_listing() -> Listing:
    return Listing(
        "User",
        resources.visible_users(),
        USER_COLUMNS,
        User.id,
        lambda u: resources.user_document(u, _base_url()),
    )


def _groups_listing() -> Listing:
    return Listing(
        "Group",
        resources.visible_groups(),
        GROUP_COLUMNS,
        Group.id,
        lambda grp: resources.group_document(grp, _base_url()),
    )


def _search_body() -> dict:
    body = _body()
    if not isinstance(body, dict):
        raise bad_request("A SearchRequest must be a JSON object.", "invalidSyntax")
    declared = body.get("schemas")
    if declared is not None and (
        not isinstance(declared, list) or schema.SEARCH_REQUEST not in declared
    ):
        raise bad_request(f"A SearchRequest declares the schema {schema.SEARCH_REQUEST}.")
    return body


@bp.post("/.search")
@external
def search_all():
    """Search users and groups at once (RFC 7644 §3.4.3), users first."""
    return scim_response(_search([_users_listing(), _groups_listing()], _search_body()))


@bp.post("/Users/.search")
@external
def search_users():
    """Search users with a SearchRequest body (RFC 7644 §3.4.3)."""
    return scim_response(_search([_users_listing()], _search_body()))


@bp.post("/Groups/.search")
@external
def search_groups():
    """Search groups with a SearchRequest body (RFC 7644 §3.4.3)."""
    return scim_response(_search([_groups_listing()], _search_body()))


# -- Users --------------------------------------------------------------------------------


def _user(user_id: str) -> User:
    number = _id_value(user_id)
    if number is None:
        raise ScimError(404, f"Resource {user_id[:40]} not found.")
    user = db.session.scalar(resources.visible_users().where(User.id == number))
    if user is None:
        raise ScimError(404, f"Resource {user_id[:40]} not found.")
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
        return scim_response(_search([_users_listing()], request.args))
    user = resources.create_user(_body(), directory_service.organization())
    # The answer is built before the commit: once the row is saved, nothing is left that
    # could fail and leave Entra believing the create failed (it would retry into a 409).
    answer = _user_answer(user, 201)
    db.session.commit()
    return answer


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
    answer = _user_answer(found)
    db.session.commit()
    return answer


# -- Groups -------------------------------------------------------------------------------


def _group(group_id: str) -> Group:
    number = _id_value(group_id)
    if number is None:
        raise ScimError(404, f"Resource {group_id[:40]} not found.")
    group = db.session.scalar(resources.visible_groups().where(Group.id == number))
    if group is None:
        raise ScimError(404, f"Resource {group_id[:40]} not found.")
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
        return scim_response(_search([_groups_listing()], request.args))
    group = resources.save_group(None, _body())
    answer = _group_answer(group, 201)
    db.session.commit()
    return answer


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
    answer = scim_response(None, 204) if request.method == "PATCH" else _group_answer(found)
    db.session.commit()
    return answer


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
        if READ_ONLY_PATHS.match(request.path):
            allowed = "GET, HEAD"
        elif request.path.rstrip("/").endswith(".search"):
            allowed = "POST"
        elif re.match(r"^/scim/v2/(Users|Groups)/?$", request.path):
            allowed = "GET, POST"
        else:
            allowed = "GET, PUT, PATCH, DELETE"
        raise ScimError(405, f"{request.method} is not supported here.", allow=allowed)
    raise ScimError(404, f"/{rest} is not a SCIM endpoint here.")
