"""Bad tokens, malformed bodies and unknown attributes get RFC 7644 errors; nothing changes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.extensions import db
from portal.models import AuditEvent, Group, ScimToken, User, utcnow
from tests.scim.conftest import assert_error, sample


def _body(name="entra_01_user_create.json") -> dict:
    return sample(name)["request"]["body"]


def _counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(
            db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (User, Group, AuditEvent)
        )


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc", "Bearer ", "bearer"])
def test_wrong_or_missing_token_is_401(scim, header):
    headers = {"Authorization": header} if header else {}
    response = scim.client.get("/scim/v2/Users", headers=headers)
    body = assert_error(response, 401)
    assert "detail" in body
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_paths_need_the_token_too(scim):
    assert_error(scim.client.get("/scim/v2/Nope"), 401)
    assert_error(scim.get("/Nope"), 404)
    assert_error(scim.delete("/Users"), 405)


def test_revoked_and_expired_tokens_are_refused(scim, scim_app, token):
    assert scim.get("/Users").status_code == 200
    with scim_app.app_context():
        row = db.session.scalar(sa.select(ScimToken))
        assert row.last_used_at is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert_error(scim.get("/Users"), 401)
    with scim_app.app_context():
        row = db.session.scalar(sa.select(ScimToken))
        row.expires_at = utcnow() + timedelta(days=1)
        row.revoked_at = utcnow()
        db.session.commit()
    assert_error(scim.get("/Users"), 401)


def test_token_is_stored_only_as_a_hash(scim_app, token):
    with scim_app.app_context():
        row = db.session.scalar(sa.select(ScimToken))
        assert token not in (row.token_hash, row.hint)
        assert len(row.token_hash) == 64 and row.hint == token[-4:]
        events = db.session.scalars(sa.select(AuditEvent)).all()
        assert all(token not in json.dumps(e.after or {}) for e in events)


def test_malformed_json_is_invalid_syntax(scim, scim_app):
    before = _counts(scim_app)
    assert_error(scim.post("/Users", raw=b'{"userName": "x", '), 400, "invalidSyntax")
    assert_error(scim.post("/Users", raw=b"\xff\xfe"), 400, "invalidSyntax")
    assert_error(scim.post("/Users", [1, 2]), 400, "invalidSyntax")
    assert _counts(scim_app) == before


def test_unknown_attribute_is_invalid_syntax(scim, scim_app):
    before = _counts(scim_app)
    body = _body()
    body["favouriteColour"] = "green"
    assert_error(scim.post("/Users", body), 400, "invalidSyntax")
    body = _body()
    body["name"]["nickname2"] = "x"
    assert_error(scim.post("/Users", body), 400, "invalidSyntax")
    assert _counts(scim_app) == before


def test_wrong_types_are_invalid_value(scim, scim_app):
    before = _counts(scim_app)
    for change in ({"active": "maybe"}, {"emails": "a@b.c"}, {"name": "Jane"}, {"userName": 42}):
        body = {**_body(), **change}
        assert_error(scim.post("/Users", body), 400, "invalidValue")
    body = {k: v for k, v in _body().items() if k != "userName"}
    assert_error(scim.post("/Users", body), 400, "invalidValue")
    assert _counts(scim_app) == before


def test_duplicate_user_is_409_uniqueness(scim, scim_app):
    assert scim.post("/Users", _body()).status_code == 201
    before = _counts(scim_app)
    assert_error(scim.post("/Users", _body()), 409, "uniqueness")
    # An address held by a local account is not taken over either.
    body = _body()
    body["userName"] = "alice@example.com"
    body["emails"][0]["value"] = "alice@example.com"
    assert_error(scim.post("/Users", body), 409, "uniqueness")
    assert _counts(scim_app) == before


def test_scim_does_not_see_local_accounts_until_entra_matches_them(scim, scim_app):
    listed = scim.get("/Users").get_json(force=True)
    assert "alice@example.com" not in {r["userName"] for r in listed["Resources"]}
    with scim_app.app_context():
        alice = db.session.scalar(sa.select(User).filter_by(email="alice@example.com"))
    assert_error(scim.get(f"/Users/{alice.id}"), 404)
    assert_error(scim.patch(f"/Users/{alice.id}", {"Operations": []}), 404)


def test_roles_from_scim_are_ignored(scim, scim_app):
    body = _body()
    body["roles"] = [{"value": "admin", "primary": True}]
    created = scim.post("/Users", body).get_json(force=True)
    with scim_app.app_context():
        assert db.session.get(User, int(created["id"])).role == "employee"


@pytest.fixture
def user_id(scim):
    return scim.post("/Users", _body()).get_json(force=True)["id"]


@pytest.mark.parametrize(
    ("operation", "scim_type"),
    [
        ({"op": "Replace", "path": "favouriteColour", "value": "x"}, "invalidPath"),
        ({"op": "Replace", "path": "name.middle_name2", "value": "x"}, "invalidPath"),
        ({"op": "Replace", "path": 'emails[colour eq "work"].value', "value": "x"}, "invalidPath"),
        ({"op": "Replace", "path": "emails[type eq ", "value": "x"}, "invalidPath"),
        ({"op": "Replace", "path": "id", "value": "1"}, "mutability"),
        ({"op": "Replace", "path": "meta", "value": {}}, "mutability"),
        ({"op": "Remove"}, "noTarget"),
        ({"op": "Replace", "path": "active", "value": "perhaps"}, "invalidValue"),
        ({"op": "Replace", "path": "active", "value": 1}, "invalidValue"),
        ({"op": "Replace", "value": "not an object"}, "invalidValue"),
        ({"op": "Replace", "path": "userName"}, "invalidValue"),
        ({"op": "Remove", "path": "userName"}, "invalidValue"),
        ({"op": "Move", "path": "userName", "value": "x"}, "invalidSyntax"),
        ("not an operation", "invalidSyntax"),
    ],
)
def test_bad_patch_operations_change_nothing(scim, scim_app, user_id, operation, scim_type):
    before = scim.get(f"/Users/{user_id}").get_json(force=True)
    counts = _counts(scim_app)
    good = {"op": "Replace", "path": "displayName", "value": "Changed"}
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [good, operation],
    }
    assert_error(scim.patch(f"/Users/{user_id}", body), 400, scim_type)
    assert scim.get(f"/Users/{user_id}").get_json(force=True) == before
    assert _counts(scim_app) == counts


def test_patch_without_operations_is_invalid_syntax(scim, user_id):
    assert_error(scim.patch(f"/Users/{user_id}", {"schemas": []}), 400, "invalidSyntax")


@pytest.mark.parametrize(
    "query",
    [
        "filter=userName",
        'filter=userName xx "a"',
        'filter=userName gt "a"',
        'filter=favouriteColour eq "green"',
        'filter=userName eq "a" or',
        'filter=userName eq "unterminated',
        "startIndex=abc",
    ],
)
def test_bad_queries_are_400(scim, query):
    body = assert_error(scim.get("/Users?" + query), 400)
    assert body["scimType"] in ("invalidFilter", "invalidValue")


def test_group_with_unknown_member_changes_nothing(scim, scim_app):
    before = _counts(scim_app)
    body = _body("entra_10_group_create.json")
    body["members"] = [{"value": "999999"}]
    assert_error(scim.post("/Groups", body), 400, "invalidValue")
    assert _counts(scim_app) == before


def test_group_name_of_a_portal_group_is_409(scim):
    body = _body("entra_10_group_create.json")
    body["displayName"] = "User Enrollment"  # the demo's local group
    assert_error(scim.post("/Groups", body), 409, "uniqueness")


def test_too_large_body_is_413(scim):
    body = _body()
    body["displayName"] = "x" * (1024 * 1024 + 10)
    assert_error(scim.post("/Users", body), 413)


def _garbage_requests():
    collection = sample("azuread_scimreferencecode_postman_requests.json")
    return [r for r in collection["requests"] if "garbage" in (r["folder"] or "").lower()]


def test_microsofts_garbage_requests_get_4xx_never_5xx(scim, scim_app):
    ids: dict[str, str] = {}
    statuses = {}
    for request in _garbage_requests():
        path = request["url"].replace("{{Protocol}}://{{Server}}{{Port}}/{{Api}}", "")
        body = request.get("body_raw")
        for name, value in ids.items():
            path = path.replace("{{" + name + "}}", value)
            body = body.replace("{{" + name + "}}", value) if body else body
        raw = body.encode() if body else None
        response = scim.request(request["method"], path.split("#")[0], raw=raw)
        statuses[request["name"]] = response.status_code
        assert response.status_code < 500, (request["name"], response.get_data(as_text=True))
        if response.status_code >= 400:
            assert_error(response, response.status_code)
        if request["method"] == "POST" and response.status_code == 201:
            created = response.get_json(force=True)["id"]
            key = {"Post group": "1stgroupid", "Post enterprise user": "enteruserid"}.get(
                request["name"], "1stuserid" if "1stuserid" not in ids else None
            )
            if key:
                ids[key] = created
    assert statuses["Post junk"] == 400
    assert statuses["Post no username"] == 400
    assert statuses["Group patch add member"] == 400


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "userName",
                        "emails",
                        "value",
                        "op",
                        "path",
                        "Operations",
                        "active",
                        "name",
                        "members",
                        "displayName",
                        "x",
                        "schemas",
                        "externalId",
                        "primary",
                    ]
                ),
                children,
                max_size=5,
            )
        ),
        max_leaves=12,
    ),
    method=st.sampled_from(
        [
            "POST /Users",
            "PATCH /Users/{id}",
            "PUT /Users/{id}",
            "POST /Groups",
            "PATCH /Groups/{gid}",
        ]
    ),
)
def test_arbitrary_json_never_breaks_the_endpoint(scim, scim_app, body, method):
    if not hasattr(scim, "_ids"):
        user = scim.post("/Users", _body()).get_json(force=True)["id"]
        group = scim.post("/Groups", _body("entra_10_group_create.json")).get_json(force=True)
        scim._ids = (user, group["id"])
    user, group = scim._ids
    before_user = scim.get(f"/Users/{user}").get_json(force=True)
    before_counts = _counts(scim_app)
    verb, path = method.split(" ")
    response = scim.request(verb, path.format(id=user, gid=group), body)
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert_error(response, response.status_code)
        assert scim.get(f"/Users/{user}").get_json(force=True) == before_user
        assert _counts(scim_app) == before_counts
    else:
        # Something valid got through: put things back for the next example.
        scim.put(f"/Users/{user}", _body())


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_are_4xx(scim, scim_app, raw):
    before = _counts(scim_app)
    response = scim.post("/Users", raw=raw)
    assert 400 <= response.status_code < 500
    assert _counts(scim_app) == before


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=60))
def test_arbitrary_filters_are_never_5xx(scim, text):
    response = scim.client.get(
        "/scim/v2/Users",
        query_string={"filter": text},
        headers={"Authorization": f"Bearer {scim.token}"},
    )
    assert response.status_code in (200, 400)
