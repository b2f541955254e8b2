"""`/scim/v2`: Users, Groups and discovery, for Entra ID's provisioning service.

Authenticated by a bearer token (portal.scim.tokens), CSRF-exempt; every answer is
`application/scim+json`, errors as RFC 7644 §3.12 says.
"""

from __future__ import annotations

import json
import logging
import re

from flask import current_app, request
from werkzeug.exceptions import HTTPException

from ..access import external
from ..directory import provisioning
from ..directory import service as directory_service
from ..extensions import db
from ..models import Group, User
from . import bp, limits, patch, resources, schema, tokens
from .errors import ScimError, bad_request, error_response, scim_response
from .filter_sql import GROUP_COLUMNS, USER_COLUMNS, id_value
from .listing import Listing, project, search

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
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


# -- listings and searches (portal.scim.listing) ---------------------------------------------


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
    return scim_response(search([_users_listing(), _groups_listing()], _search_body()))


@bp.post("/Users/.search")
@external
def search_users():
    """Search users with a SearchRequest body (RFC 7644 §3.4.3)."""
    return scim_response(search([_users_listing()], _search_body()))


@bp.post("/Groups/.search")
@external
def search_groups():
    """Search groups with a SearchRequest body (RFC 7644 §3.4.3)."""
    return scim_response(search([_groups_listing()], _search_body()))


# -- Users --------------------------------------------------------------------------------


def _user(user_id: str) -> User:
    number = id_value(user_id)
    if number is None:
        raise ScimError(404, f"Resource {user_id[:40]} not found.")
    user = db.session.scalar(resources.visible_users().where(User.id == number))
    if user is None:
        raise ScimError(404, f"Resource {user_id[:40]} not found.")
    return user


def _user_answer(user: User, status: int = 200):
    doc = resources.user_document(user, _base_url())
    headers = {"Location": doc["meta"]["location"]} if status == 201 else None
    return scim_response(project(doc), status, headers)


@bp.route("/Users", methods=["GET", "POST"])
@external
def users():
    """List (with filter and paging) or create users."""
    if request.method == "GET":
        return scim_response(search([_users_listing()], request.args))
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
    number = id_value(group_id)
    if number is None:
        raise ScimError(404, f"Resource {group_id[:40]} not found.")
    group = db.session.scalar(resources.visible_groups().where(Group.id == number))
    if group is None:
        raise ScimError(404, f"Resource {group_id[:40]} not found.")
    return group


def _group_answer(group: Group, status: int = 200):
    doc = resources.group_document(group, _base_url())
    headers = {"Location": doc["meta"]["location"]} if status == 201 else None
    return scim_response(project(doc), status, headers)


@bp.route("/Groups", methods=["GET", "POST"])
@external
def groups():
    """List (with filter and paging) or create groups."""
    if request.method == "GET":
        return scim_response(search([_groups_listing()], request.args))
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
