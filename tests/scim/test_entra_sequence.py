"""Replaying what Entra ID's provisioning service sends (tests/data/scim), in its order."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent, Group, User, UserSession, UserSource
from portal.scim import schema
from tests.scim.conftest import assert_error, sample

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def _path(entry: dict) -> str:
    request = entry["request"]
    if "path" in request:
        return request["path"]
    return "/" + request["url"].split("/scim/", 1)[1]


def _create(scim, name="entra_01_user_create.json") -> dict:
    response = scim.post("/Users", sample(name)["request"]["body"])
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json(force=True)


def test_test_connection_query_finds_nobody(scim):
    entry = sample("entra_25_test_connection_query.json")
    response = scim.get(_path(entry))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/scim+json")
    body = response.get_json(force=True)
    expected = entry["response"]["body"]
    assert body["schemas"] == expected["schemas"]
    assert body["totalResults"] == 0 and body["Resources"] == []


def test_user_lifecycle_as_entra_sends_it(scim, scim_app):
    # 1. Is the user there? (no: an empty list, not a 404)
    query = sample("entra_04_user_query_by_username.json")
    first = scim.get(_path(query)).get_json(force=True)
    assert first["totalResults"] == 0

    # 2. Create.
    entry = sample("entra_01_user_create.json")
    created = _create(scim)
    expected = entry["response"]["body"]
    for key in ("externalId", "name", "active", "emails"):
        assert created[key] == expected[key], key
    assert created["userName"] == expected["userName"]
    assert USER in created["schemas"]
    assert created["meta"]["resourceType"] == "User"
    user_id = created["id"]

    # 3. Read it back, and find it by userName as Entra does.
    got = scim.get(f"/Users/{user_id}")
    assert got.status_code == 200
    assert got.get_json(force=True)["externalId"] == expected["externalId"]
    found = scim.get(_path(query)).get_json(force=True)
    assert found["schemas"] == [LIST]
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == user_id

    # 4. Replace a multi-valued sub-attribute and a name part.
    patch = sample("entra_06_user_patch_replace_multivalued.json")
    response = scim.patch(f"/Users/{user_id}", patch["request"]["body"])
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json(force=True)
    assert body["emails"][0]["value"] == "updatedEmail@microsoft.com"
    assert body["name"]["familyName"] == "updatedFamilyName"

    # 5. Rename the login.
    patch = sample("entra_07_user_patch_replace_username.json")
    body = scim.patch(f"/Users/{user_id}", patch["request"]["body"]).get_json(force=True)
    assert body["userName"] == "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"

    # 6. Disable (boolean form), then delete.
    patch = sample("entra_08_user_patch_disable_active_false.json")
    body = scim.patch(f"/Users/{user_id}", patch["request"]["body"]).get_json(force=True)
    assert body["active"] is False
    assert scim.delete(f"/Users/{user_id}").status_code == 204
    gone = assert_error(scim.get(f"/Users/{user_id}"), 404)
    assert (
        gone["schemas"]
        == sample("entra_03_user_get_not_found_error.json")["response"]["body"]["schemas"]
    )
    with scim_app.app_context():
        user = db.session.get(User, int(user_id))
        assert user.source == UserSource.ENTRA
        assert not user.active and user.deprovisioned_at is not None
        assert user.managed_apple_id is not None


def test_disable_with_the_string_false_ends_sessions_and_revokes_invitations(scim, scim_app):
    from portal.auth.service import start_session
    from portal.invitations import service as invitations
    from portal.models import InvitationSender

    created = _create(scim, "entra_21_example2_create_user_with_nulls.json")
    with scim_app.app_context():
        user = db.session.get(User, int(created["id"]))
        start_session(user, "oidc")
        invitations.invite(user, actor=None, sent_by=InvitationSender.SYSTEM)
        db.session.commit()
    body = sample("entra_compat_1_disable_user.json")["without_feature_flag"]["body"]
    response = scim.patch(f"/Users/{created['id']}", body)
    assert response.status_code == 200
    assert response.get_json(force=True)["active"] is False
    with scim_app.app_context():
        user = db.session.get(User, int(created["id"]))
        assert user.active is False
        assert db.session.scalar(sa.select(UserSession.ended_at)) is not None
        assert invitations.live_invitations(user) == []
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
        assert "user.deactivated" in actions and "invitation.revoked" in actions
    # And back on, with the compliant spelling of the other flag.
    body = sample("entra_compat_1_disable_user.json")["with_feature_flag"]["body"]
    body["Operations"][0]["value"] = True
    assert scim.patch(f"/Users/{created['id']}", body).get_json(force=True)["active"] is True


def test_create_with_nulls_and_the_malformed_enterprise_urn(scim):
    created = _create(scim, "entra_21_example2_create_user_with_nulls.json")
    assert created["userName"] == "jyoung@testuser.com"
    assert created["emails"][0]["value"] == "jyoung@Contoso.com"
    assert created["displayName"] == "Joy Young"
    # Example 1's unquoted value finds the user by externalId.
    entry = sample("entra_20_example1_query_by_externalid.json")
    found = scim.get(_path(entry)).get_json(force=True)
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == created["id"]


def test_manager_single_attribute_and_multi_replace_without_flag(scim):
    created = _create(scim, "entra_21_example2_create_user_with_nulls.json")
    path = f"/Users/{created['id']}"
    body = sample("entra_23_example5_patch_add_manager.json")["request"]["body"]
    response = scim.patch(path, body)
    assert response.status_code == 200, response.get_data(as_text=True)
    enterprise = response.get_json(force=True)[schema.ENTERPRISE]
    assert enterprise["manager"]["value"] == "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"

    body = sample("entra_compat_2_add_single_value_attribute.json")["without_feature_flag"]["body"]
    assert scim.patch(path, body).status_code == 200

    body = sample("entra_compat_3_replace_multiple_attributes.json")["without_feature_flag"]["body"]
    result = scim.patch(path, body).get_json(force=True)
    assert result["displayName"] == "Pvlo"
    assert result["emails"][0]["value"] == "TestBcwqnm@test.microsoft.com"
    assert result["name"] == {"familyName": "Pkqf", "givenName": "Gtfd"}
    assert result["externalId"] == "Eqpj"
    assert result[schema.ENTERPRISE]["employeeNumber"] == "Eqpj"


def test_replace_without_path_with_dotted_and_urn_keys(scim):
    created = _create(scim, "entra_21_example2_create_user_with_nulls.json")
    body = sample("entra_compat_3_replace_multiple_attributes.json")["with_feature_flag"]["body"]
    response = scim.patch(f"/Users/{created['id']}", body)
    assert response.status_code == 200, response.get_data(as_text=True)
    result = response.get_json(force=True)
    assert result["emails"][0]["value"] == "TestMhvaes@test.microsoft.com"
    operations = body["Operations"]
    no_path = next(op for op in operations if "path" not in op)
    for key, value in no_path["value"].items():
        if key == "name.givenName":
            assert result["name"]["givenName"] == value
        if key.startswith("urn:") and isinstance(value, str):
            assert result[schema.ENTERPRISE][key.rsplit(":", 1)[1]] == value


def test_group_lifecycle_as_entra_sends_it(scim, scim_app):
    member = _create(scim)
    entry = sample("entra_10_group_create.json")
    response = scim.post("/Groups", entry["request"]["body"])
    assert response.status_code == 201, response.get_data(as_text=True)
    group = response.get_json(force=True)
    expected = entry["response"]["body"]
    assert group["displayName"] == expected["displayName"]
    assert group["externalId"] == expected["externalId"]
    assert group["members"] == []
    group_id = group["id"]

    without_members = scim.get(f"/Groups/{group_id}?excludedAttributes=members")
    assert "members" not in without_members.get_json(force=True)
    query = sample("entra_12_group_query_by_displayname.json")
    listed = scim.get(_path(query).replace('"displayName"', f'"{group["displayName"]}"'))
    listed = listed.get_json(force=True)
    assert listed["totalResults"] == 1 and "members" not in listed["Resources"][0]

    add = sample("entra_14_group_patch_add_member.json")["request"]["body"]
    add["Operations"][0]["value"][0]["value"] = member["id"]
    assert scim.patch(f"/Groups/{group_id}", add).status_code == 204
    members = scim.get(f"/Groups/{group_id}").get_json(force=True)["members"]
    assert [m["value"] for m in members] == [member["id"]]

    remove = sample("entra_15_group_patch_remove_member.json")["request"]["body"]
    remove["Operations"][0]["value"][0]["value"] = member["id"]
    assert scim.patch(f"/Groups/{group_id}", remove).status_code == 204
    assert scim.get(f"/Groups/{group_id}").get_json(force=True)["members"] == []

    # The compliant spelling: a filter in the path, no value.
    assert scim.patch(f"/Groups/{group_id}", add).status_code == 204
    flagged = sample("entra_compat_4_remove_group_member.json")["with_feature_flag"]["body"]
    flagged["Operations"][0]["path"] = f'members[value eq "{member["id"]}"]'
    assert scim.patch(f"/Groups/{group_id}", flagged).status_code == 204
    assert scim.get(f"/Groups/{group_id}").get_json(force=True)["members"] == []

    rename = sample("entra_13_group_patch_replace_displayname.json")["request"]["body"]
    assert scim.patch(f"/Groups/{group_id}", rename).status_code == 204
    new_name = rename["Operations"][0]["value"]
    assert scim.get(f"/Groups/{group_id}").get_json(force=True)["displayName"] == new_name

    assert scim.delete(f"/Groups/{group_id}").status_code == 204
    assert_error(scim.get(f"/Groups/{group_id}"), 404)
    with scim_app.app_context():
        assert db.session.get(Group, int(group_id)) is None


def test_schemas_discovery(scim):
    entry = sample("entra_17_schemas_discovery.json")
    body = scim.get(_path(entry)).get_json(force=True)
    assert body["schemas"] == entry["response"]["body"]["schemas"]
    by_id = {s["id"]: s for s in body["Resources"]}
    for expected in entry["response"]["body"]["Resources"]:
        ours = {a["name"]: a for a in by_id[expected["id"]]["attributes"]}
        for attribute in expected["attributes"]:
            mine = ours[attribute["name"]]
            for key in ("type", "multiValued", "caseExact", "mutability", "returned"):
                assert mine[key] == attribute[key], (attribute["name"], key)
    # Stricter than the RFC on purpose: a portal group needs a name of its own.
    group_schema = by_id["urn:ietf:params:scim:schemas:core:2.0:Group"]
    group = {a["name"]: a for a in group_schema["attributes"]}
    assert group["displayName"]["required"] is True
    assert group["displayName"]["uniqueness"] == "server"


def test_service_provider_config_has_the_rfc_shape(scim):
    rfc = sample("rfc7643_8.5_service_provider_config.json")
    rfc_body = rfc.get("body") or rfc.get("response", {}).get("body") or rfc
    ours = scim.get("/ServiceProviderConfig").get_json(force=True)
    for key in ("schemas", "patch", "bulk", "filter", "changePassword", "sort", "etag"):
        assert key in ours
        if isinstance(rfc_body.get(key), dict):
            assert set(rfc_body[key]) <= set(ours[key]) | {"maxOperations", "maxPayloadSize"}
    assert ours["patch"]["supported"] is True
    assert ours["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    types = scim.get("/ResourceTypes").get_json(force=True)
    assert {r["id"] for r in types["Resources"]} == {"User", "Group"}


def test_legacy_manager_check_answers_an_empty_list(scim):
    entry = sample("entra_26_legacy_manager_reference_check.json")
    response = scim.get(_path(entry))
    assert response.status_code == 200
    assert response.get_json(force=True)["totalResults"] == 0


def test_paging_and_attribute_selection(scim):
    for index in range(3):
        body = sample("entra_21_example2_create_user_with_nulls.json")["request"]["body"]
        body["userName"] = f"user{index}@testuser.com"
        body["externalId"] = f"user{index}"
        body["emails"][0]["value"] = f"user{index}@contoso.com"
        assert scim.post("/Users", body).status_code == 201
    page = scim.get("/Users?startIndex=2&count=1&attributes=userName").get_json(force=True)
    assert page["totalResults"] == 3 and page["startIndex"] == 2 and page["itemsPerPage"] == 1
    assert set(page["Resources"][0]) == {"schemas", "id", "userName"}
    assert page["Resources"][0]["userName"] == "user1@testuser.com"
    assert scim.get("/Users?count=0").get_json(force=True)["Resources"] == []
