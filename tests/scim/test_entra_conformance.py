"""What a real Entra ID tenant and RFC 7644 expect beyond the documented samples.

Manager as a plain id, existing accounts matched by userName, only kept attributes
advertised, removals, extension paths, discovery writes, searches and value-path filters.
"""

from __future__ import annotations

import logging
import time

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent, User, UserSource
from portal.scim import schema
from tests.conftest import Auth
from tests.scim.conftest import assert_error, sample

ENTERPRISE = schema.ENTERPRISE
MANAGER_ID = "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"


def _body(name="entra_01_user_create.json") -> dict:
    return sample(name)["request"]["body"]


@pytest.fixture
def user(scim) -> dict:
    response = scim.post("/Users", _body())
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json(force=True)


@pytest.fixture
def admin_client(scim_app):
    client = scim_app.test_client()
    assert Auth(client).login("adam@example.com").status_code == 302
    return client


def _patch(*operations) -> dict:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": list(operations),
    }


# -- manager as Entra really sends it -------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "add", "path": f"{ENTERPRISE}:manager", "value": MANAGER_ID},
        {"op": "Replace", "path": "manager", "value": MANAGER_ID},
        {"op": "add", "value": {f"{ENTERPRISE}:manager": MANAGER_ID}},
        {"op": "replace", "value": {ENTERPRISE: {"manager": MANAGER_ID}}},
    ],
    ids=["urn-path", "short-path", "no-path-urn-key", "no-path-extension"],
)
def test_manager_as_a_plain_string_is_kept_with_the_other_changes(scim, user, operation):
    body = _patch(operation, {"op": "Replace", "path": "displayName", "value": "Renamed"})
    response = scim.patch(f"/Users/{user['id']}", body)
    assert response.status_code == 200, response.get_data(as_text=True)
    got = scim.get(f"/Users/{user['id']}").get_json(force=True)
    assert got[ENTERPRISE]["manager"] == {"value": MANAGER_ID}
    assert got["displayName"] == "Renamed"


def test_manager_string_in_a_create_and_removal(scim):
    body = _body()
    body[ENTERPRISE] = {"manager": MANAGER_ID, "department": "Sales"}
    created = scim.post("/Users", body).get_json(force=True)
    assert created[ENTERPRISE]["manager"] == {"value": MANAGER_ID}
    path = f"/Users/{created['id']}"
    assert scim.patch(path, _patch({"op": "remove", "path": "manager"})).status_code == 200
    assert "manager" not in scim.get(path).get_json(force=True).get(ENTERPRISE, {})
    # Set again, then cleared the other ways Entra writes it: an empty id or value.
    for empty in ("", {"value": ""}):
        scim.patch(path, _patch({"op": "add", "path": "manager", "value": MANAGER_ID}))
        response = scim.patch(path, _patch({"op": "replace", "path": "manager", "value": empty}))
        assert response.status_code == 200, response.get_data(as_text=True)
        assert "manager" not in response.get_json(force=True).get(ENTERPRISE, {})


# -- existing accounts matched by userName ----------------------------------------------------


def _add_account(app, email: str, source: UserSource) -> int:
    from portal.directory import service as directory_service
    from portal.models import Role

    with app.app_context():
        user = directory_service.create_user(
            None,
            org=directory_service.organization(),
            email=email,
            display_name="Existing Person",
            role=Role.EMPLOYEE,
            source=source,
        )
        db.session.commit()
        return user.id


@pytest.mark.parametrize("source", [UserSource.LOCAL, UserSource.LDAP, UserSource.ENTRA])
def test_existing_account_is_found_by_username_and_becomes_entra_provisioned(
    scim, scim_app, source
):
    # ENTRA: an account made at a first OpenID sign-in (just-in-time).
    if source == UserSource.LOCAL:
        user_id, email = None, "alice@example.com"
    else:
        email = f"existing-{source}@example.com"
        user_id = _add_account(scim_app, email, source)
    found = scim.get(f'/Users?filter=userName eq "{email.upper()}"').get_json(force=True)
    assert found["totalResults"] == 1
    resource = found["Resources"][0]
    assert resource["userName"] == email
    user_id = user_id or int(resource["id"])
    # Entra then updates it through its id, like any account it provisioned.
    body = _patch({"op": "Replace", "path": "externalId", "value": "entra-object-id"})
    assert scim.patch(f"/Users/{user_id}", body).status_code == 200
    with scim_app.app_context():
        account = db.session.get(User, user_id)
        assert account.source == UserSource.ENTRA and account.external_id == "entra-object-id"
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "user.matched")
        ).all()
        if source != UserSource.ENTRA:
            assert [(e.target_id, e.before["source"]) for e in events] == [
                (str(user_id), str(source))
            ]


def test_admin_sees_the_source_change(scim, scim_app, admin_client):
    found = scim.get('/Users?filter=userName eq "bob@example.com"').get_json(force=True)
    user_id = found["Resources"][0]["id"]
    page = admin_client.get(f"/admin/users/{user_id}").get_data(as_text=True)
    assert "Entra ID" in page
    audit = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "user.matched" in audit


def test_a_matched_local_account_keeps_its_password(scim, scim_app):
    found = scim.get('/Users?filter=userName eq "alice@example.com"').get_json(force=True)
    assert found["totalResults"] == 1
    client = scim_app.test_client()
    assert Auth(client).login("alice@example.com").status_code == 302
    # Once Entra deactivates it, the password no longer opens it.
    user_id = found["Resources"][0]["id"]
    body = _patch({"op": "Replace", "path": "active", "value": False})
    assert scim.patch(f"/Users/{user_id}", body).status_code == 200
    assert Auth(scim_app.test_client()).login("alice@example.com").status_code == 401


def test_deprovisioned_and_unknown_accounts_are_not_matched(scim):
    found = scim.get('/Users?filter=userName eq "nobody@example.com"').get_json(force=True)
    assert found["totalResults"] == 0


# -- advertised = kept ------------------------------------------------------------------------


NOT_KEPT = ["phoneNumbers", "addresses", "roles", "entitlements", "x509Certificates", "ims"]


def test_schemas_advertise_only_what_is_kept(scim):
    listed = scim.get("/Schemas").get_json(force=True)["Resources"]
    user_schema = next(s for s in listed if s["id"] == schema.USER)
    names = {a["name"] for a in user_schema["attributes"]}
    assert not names & set(NOT_KEPT + ["password", "photos", "profileUrl"])
    assert {"userName", "displayName", "active", "emails", "name"} <= names


def test_every_advertised_writable_attribute_is_kept(scim):
    """Each readWrite attribute of /Schemas, set by PATCH, comes back from a GET."""
    created = scim.post("/Users", _body()).get_json(force=True)
    path = f"/Users/{created['id']}"
    listed = scim.get("/Schemas").get_json(force=True)["Resources"]
    for definition in listed:
        if definition["id"] not in (schema.USER, ENTERPRISE):
            continue
        prefix = "" if definition["id"] == schema.USER else definition["id"] + ":"
        for attr in definition["attributes"]:
            if attr["mutability"] != "readWrite" or attr["name"] in ("userName", "emails"):
                continue
            value = _sample_value(attr)
            response = scim.patch(
                path, _patch({"op": "replace", "path": prefix + attr["name"], "value": value})
            )
            assert response.status_code == 200, (attr["name"], response.get_data(as_text=True))
            got = scim.get(path).get_json(force=True)
            holder = got if not prefix else got[definition["id"]]
            assert holder.get(attr["name"]) == value, attr["name"]


def _sample_value(attr: dict):
    if attr["type"] == "boolean":
        return False
    if attr["type"] == "complex":
        subs = [s for s in attr["subAttributes"] if s["mutability"] == "readWrite"]
        element = {s["name"]: _sample_value(s) for s in subs if s["type"] != "reference"}
        return [element] if attr["multiValued"] else element
    return f"{attr['name']}-kept"


def test_attributes_not_kept_are_ignored_and_logged(scim, user, caplog):
    caplog.set_level(logging.INFO, logger="portal.scim")
    body = _body()
    body["userName"] = body["emails"][0]["value"] = "phones@example.com"
    body["phoneNumbers"] = [{"value": "+33 1 23 45 67 89", "type": "work"}]
    body["urn:example:params:scim:schemas:extension:custom:2.0:User"] = {"badge": "42"}
    created = scim.post("/Users", body)
    assert created.status_code == 201, created.get_data(as_text=True)
    assert "phoneNumbers" not in created.get_json(force=True)
    patch = _patch(
        {"op": "add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+33 6"},
        {"op": "add", "path": "urn:example:ext:2.0:User:badge", "value": "1"},
        {"op": "Replace", "path": "title", "value": "Engineer"},
    )
    response = scim.patch(f"/Users/{user['id']}", patch)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json(force=True)["title"] == "Engineer"
    assert "not kept by the portal" in caplog.text
    assert "unknown schema extension" in caplog.text


# -- removals and the enterprise extension as a path -----------------------------------------


@pytest.mark.parametrize("attribute", ["displayName", "active", "title", "externalId"])
def test_removing_an_attribute_leaves_it_unassigned(scim, scim_app, user, attribute):
    path = f"/Users/{user['id']}"
    if attribute == "title":
        scim.patch(path, _patch({"op": "add", "path": "title", "value": "Engineer"}))
    response = scim.patch(path, _patch({"op": "remove", "path": attribute}))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert attribute not in response.get_json(force=True)
    assert attribute not in scim.get(path).get_json(force=True)
    with scim_app.app_context():
        account = db.session.get(User, int(user["id"]))
        assert account.display_name  # the portal still has a name to show
        assert account.active  # unassigned counts as active, as at creation
    # Setting it again brings it back.
    value = True if attribute == "active" else "Back"
    again = scim.patch(path, _patch({"op": "add", "path": attribute, "value": value}))
    assert again.get_json(force=True)[attribute] == value


def test_extension_urn_as_a_path(scim, user):
    path = f"/Users/{user['id']}"
    add = _patch({"op": "add", "path": f"{ENTERPRISE}:employeeNumber", "value": "701984"})
    assert scim.patch(path, add).status_code == 200
    response = scim.patch(
        path, _patch({"op": "add", "path": ENTERPRISE, "value": {"department": "Sales"}})
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    got = response.get_json(force=True)[ENTERPRISE]
    assert got["department"] == "Sales"
    assert got["employeeNumber"] == "701984"  # the others are kept
    response = scim.patch(path, _patch({"op": "remove", "path": ENTERPRISE}))
    assert response.status_code == 200
    body = response.get_json(force=True)
    assert ENTERPRISE not in body and ENTERPRISE not in body["schemas"]


def test_core_schema_urn_alone_is_still_not_a_path(scim, user):
    response = scim.patch(f"/Users/{user['id']}", _patch({"op": "remove", "path": schema.USER}))
    assert_error(response, 400, "invalidPath")


# -- RFC 7644 details ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/ServiceProviderConfig", "/Schemas", "/ResourceTypes", "/ResourceTypes/User"]
)
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_writes_to_discovery_endpoints_are_405(scim, path, method):
    response = scim.request(method, path, {"schemas": []})
    assert_error(response, 405)
    assert response.headers["Allow"] == "GET, HEAD"


def test_search_with_post(scim, user):
    request = {
        "schemas": [schema.SEARCH_REQUEST],
        "filter": f'userName eq "{user["userName"]}"',
        "attributes": ["userName"],
        "startIndex": 1,
        "count": 10,
    }
    for path in ("/Users/.search", "/.search"):
        response = scim.post(path, request)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json(force=True)
        assert body["schemas"] == [schema.LIST] and body["totalResults"] == 1
        assert set(body["Resources"][0]) == {"id", "schemas", "userName"}


def test_root_search_spans_users_and_groups(scim, user):
    scim.post("/Groups", sample("entra_10_group_create.json")["request"]["body"])
    body = scim.post("/.search", {"schemas": [schema.SEARCH_REQUEST]}).get_json(force=True)
    kinds = {r["meta"]["resourceType"] for r in body["Resources"]}
    assert kinds == {"User", "Group"}
    page = scim.post(
        "/.search", {"schemas": [schema.SEARCH_REQUEST], "startIndex": 2, "count": 1}
    ).get_json(force=True)
    assert page["totalResults"] == body["totalResults"] and len(page["Resources"]) == 1
    assert page["Resources"][0]["id"] == body["Resources"][1]["id"]


def test_search_rejects_a_body_that_is_not_a_search_request(scim):
    assert_error(scim.post("/Users/.search", {"schemas": [schema.USER]}), 400)
    assert_error(scim.get("/Users/.search"), 404)


@pytest.mark.parametrize(
    ("query", "hits"),
    [
        ('emails[type eq "work"].value eq "{email}"', 1),
        ('emails[type eq "work" and value eq "{email}"]', 1),
        ('emails[type eq "home"].value eq "{email}"', 0),
        ('emails[primary eq true].value sw "{prefix}"', 1),
        ('emails[type eq "work"].value eq "other@example.com"', 0),
    ],
)
def test_email_value_path_filters(scim, user, query, hits):
    email = user["emails"][0]["value"]
    text = query.format(email=email.upper(), prefix=email[:4])
    response = scim.get("/Users", query_string={"filter": text})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json(force=True)["totalResults"] == hits


def test_group_members_filter(scim, user):
    body = sample("entra_10_group_create.json")["request"]["body"]
    body["members"] = [{"value": user["id"]}]
    group = scim.post("/Groups", body).get_json(force=True)
    text = f'id eq "{group["id"]}" and members[value eq "{user["id"]}"]'
    found = scim.get("/Groups", query_string={"filter": text}).get_json(force=True)
    assert found["totalResults"] == 1
    text = f'members[value eq "{int(user["id"]) + 1000}"]'
    assert scim.get("/Groups", query_string={"filter": text}).get_json()["totalResults"] == 0


def test_group_last_modified_moves_when_it_changes(scim, user):
    created = scim.post(
        "/Groups", sample("entra_10_group_create.json")["request"]["body"]
    ).get_json(force=True)
    path = f"/Groups/{created['id']}"
    assert created["meta"]["lastModified"] == created["meta"]["created"]
    time.sleep(1.1)  # meta times have a one-second resolution
    add = _patch({"op": "Add", "path": "members", "value": [{"value": user["id"]}]})
    assert scim.patch(path, add).status_code == 204
    after_member = scim.get(path).get_json(force=True)["meta"]["lastModified"]
    assert after_member > created["meta"]["lastModified"]
    # A PATCH that changes nothing leaves it.
    time.sleep(1.1)
    assert scim.patch(path, add).status_code == 204
    assert scim.get(path).get_json(force=True)["meta"]["lastModified"] == after_member


# -- every Entra sample, replayed against resources of this portal ----------------------------


def _entra_samples() -> list[str]:
    from tests.scim.conftest import DATA

    return sorted(p.name for p in DATA.glob("entra_*.json") if "request" in sample(p.name))


@pytest.mark.parametrize("name", _entra_samples())
def test_every_entra_sample_gets_the_documented_status(scim, name):
    import re

    entry = sample(name)
    request = entry["request"]
    expected = (entry.get("response") or {}).get("status")
    user = scim.post("/Users", _body()).get_json(force=True)
    group_body = dict(sample("entra_10_group_create.json")["request"]["body"])
    group_body["displayName"] = "Replayed group"
    group = scim.post("/Groups", group_body).get_json(force=True)
    path = request.get("path") or "/" + request["url"].split("/scim/", 1)[1]
    if expected != 404:  # the sample's own ids stand for resources of Entra's test server
        path = re.sub(r"/Users/[^/?]+", f"/Users/{user['id']}", path)
        path = re.sub(r"/Groups/[^/?]+", f"/Groups/{group['id']}", path)
    body = request.get("body")
    if isinstance(body, dict) and "/Groups/" in path:
        for operation in body.get("Operations", []):
            if isinstance(operation.get("value"), list):
                for member in operation["value"]:
                    member["value"] = user["id"]
    if name in ("entra_01_user_create.json",):
        scim.delete(f"/Users/{user['id']}")  # the sample creates this very user again
    response = scim.request(request["method"], path, body)
    if expected != 404:
        assert response.status_code < 300, (name, response.get_data(as_text=True))
    if expected is not None:
        assert response.status_code == expected, name
    documented = (entry.get("response") or {}).get("body")
    if isinstance(documented, dict) and "schemas" in documented:
        assert response.get_json(force=True)["schemas"][0] == documented["schemas"][0]
