"""Hostile and unlucky input at the SCIM boundary: 400s (never 500), nothing half-written.

Run on PostgreSQL too (CI does): wrong-typed filter values, ids beyond 32-bit integers and
NUL bytes are errors of PostgreSQL's that SQLite would let pass.
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent, Group, User, UserSource
from tests.scim.conftest import Scim, assert_error, sample


def _body() -> dict:
    return sample("entra_01_user_create.json")["request"]["body"]


def _counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(
            db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (User, Group, AuditEvent)
        )


@pytest.mark.parametrize(
    "text",
    [
        'active eq "true"',
        "userName eq 5",
        "externalId eq 12345",
        "displayName eq true",
        'active co "t"',
        'emails[type eq 5].value eq "a@example.com"',
        'emails[primary eq "yes"]',
        "members[value eq 5]",
        "name.givenName eq 5",
    ],
)
def test_filter_values_of_the_wrong_type_are_invalid_filter(scim, text):
    for path in ("/Users", "/Groups"):
        response = scim.get(path, query_string={"filter": text})
        assert response.status_code == 400, (path, response.get_data(as_text=True))
        assert response.get_json(force=True)["scimType"] == "invalidFilter"


@pytest.mark.parametrize(
    "text", ['id eq "99999999999999999"', 'id eq "2147483648"', 'id eq "-1"', 'id eq "١٢"']
)
def test_ids_beyond_the_integer_range_match_nothing(scim, text):
    response = scim.get("/Users", query_string={"filter": text})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json(force=True)["totalResults"] == 0


@pytest.mark.parametrize("resource_id", ["99999999999999999", "2147483648", "١٢", "²"])
def test_resource_ids_beyond_the_integer_range_are_404(scim, resource_id):
    assert_error(scim.get(f"/Users/{resource_id}"), 404)
    assert_error(scim.get(f"/Groups/{resource_id}"), 404)


@pytest.mark.parametrize(
    "query",
    [
        {"startIndex": str(10**24)},
        {"count": str(10**24)},
        {"startIndex": "2147483648"},
        {"startIndex": "1.5"},
    ],
)
def test_paging_beyond_the_integer_range_is_invalid_value(scim, query):
    assert_error(scim.get("/Users", query_string=query), 400, "invalidValue")


def test_large_but_valid_start_index_is_an_empty_page(scim):
    body = scim.get("/Users", query_string={"startIndex": "2147483647"}).get_json(force=True)
    assert body["Resources"] == [] and body["startIndex"] == 2147483647


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_json_nested_100000_deep_is_refused(scim, scim_app, method):
    before = _counts(scim_app)
    raw = (b"[" * 100_000) + (b"]" * 100_000)
    path = "/Users" if method == "POST" else "/Users/1"
    response = scim.request(method, path, raw=raw)
    assert response.status_code in (400, 404), response.get_data(as_text=True)
    created = scim.post("/Users", _body()).get_json(force=True)
    deep = b'{"a":' * 50 + b"1" + b"}" * 50
    target = "/Users" if method == "POST" else f"/Users/{created['id']}"
    assert_error(scim.request(method, target, raw=deep), 400, "invalidValue")
    assert _counts(scim_app)[0] == before[0] + 1


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("displayName", "Nul\x00Byte"),
        ("externalId", "x\x00"),
        ("userName", "nul\x00@example.com"),
        ("title", "\ud800"),
    ],
)
def test_unstorable_characters_in_attributes_are_invalid_value(scim, scim_app, where, value):
    before = _counts(scim_app)
    body = _body()
    body[where] = value
    assert_error(scim.post("/Users", body), 400, "invalidValue")
    created = scim.post("/Users", _body()).get_json(force=True)
    patch = {"Operations": [{"op": "replace", "path": where, "value": value}]}
    assert_error(scim.patch(f"/Users/{created['id']}", patch), 400, "invalidValue")
    assert scim.get(f"/Users/{created['id']}").get_json(force=True).get(where) != value
    assert _counts(scim_app)[0] == before[0] + 1


@pytest.mark.parametrize(
    "text",
    ['userName eq "a\x00b"', 'userName eq "a\\u0000b"', 'displayName eq "\\ud800"'],
)
def test_unstorable_characters_in_filters_are_invalid_filter(scim, text):
    response = scim.get("/Users", query_string={"filter": text})
    assert_error(response, 400, "invalidFilter")


def test_nul_in_a_search_body_attribute_list(scim):
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "attributes": ["user\x00Name"],
    }
    assert_error(scim.post("/Users/.search", body), 400, "invalidValue")


def test_user_create_is_not_saved_when_its_answer_fails(scim, scim_app, monkeypatch):
    """The answer is built before the commit: if building it fails, nothing is saved."""
    from portal.scim import resources

    def broken(user, base_url):
        raise ConnectionError("connection dropped")

    before = _counts(scim_app)
    monkeypatch.setattr(resources, "user_document", broken)
    response = scim.post("/Users", _body())
    assert_error(response, 500)
    assert _counts(scim_app) == before
    monkeypatch.undo()
    # Entra's retry then creates it once.
    assert scim.post("/Users", _body()).status_code == 201


def test_user_create_answer_needs_no_query_after_the_commit(scim, scim_app):
    """After the commit nothing is read back: a connection lost then cannot turn a saved
    create into a 500."""
    from sqlalchemy import event

    from portal.extensions import db as database

    assert scim.get("/Users").status_code == 200  # the token's last use is now recorded
    with scim_app.app_context():
        engine = database.engine
    state = {"committed": False, "queries_after": 0}

    def after_commit(conn):
        state["committed"] = True

    def before_execute(conn, cursor, statement, params, context, executemany):
        if state["committed"]:
            state["queries_after"] += 1
            raise ConnectionError("connection dropped after the commit")

    event.listen(engine, "commit", after_commit)
    event.listen(engine, "before_cursor_execute", before_execute)
    try:
        response = scim.post("/Users", _body())
    finally:
        event.remove(engine, "commit", after_commit)
        event.remove(engine, "before_cursor_execute", before_execute)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert state == {"committed": True, "queries_after": 0}


def test_rate_limit_per_token(app_factory):
    from portal import demo
    from portal.models import User as UserModel
    from portal.scim import tokens

    app = app_factory(SCIM_RATE_LIMIT="3 per minute")
    with app.app_context():
        demo.seed("testing")
        admin = db.session.scalar(sa.select(UserModel).filter_by(email="adam@example.com"))
        _row, first = tokens.issue(admin, days=1)
        db.session.commit()
    scim = Scim(app.test_client(), first)
    assert [scim.get("/Users").status_code for _ in range(3)] == [200, 200, 200]
    limited = scim.get("/Users")
    assert_error(limited, 429)
    assert int(limited.headers["Retry-After"]) > 0
    # Another token has its own allowance (the rotation revokes the first).
    with app.app_context():
        admin = db.session.scalar(sa.select(UserModel).filter_by(email="adam@example.com"))
        _row, second = tokens.issue(admin, days=1)
        db.session.commit()
    assert Scim(app.test_client(), second).get("/Users").status_code == 200


def test_group_patch_adding_20000_members_is_linear(scim, scim_app):
    """20,000 members in one PATCH, well within a worker's 30-second timeout."""
    with scim_app.app_context():
        org_id = db.session.scalar(sa.select(User.org_id).limit(1))
        db.session.execute(
            sa.insert(User),
            [
                {
                    "org_id": org_id,
                    "email": f"member{n}@example.com",
                    "display_name": f"Member {n}",
                    "source": UserSource.ENTRA,
                    "role": "employee",
                }
                for n in range(20_000)
            ],
        )
        db.session.commit()
        ids = db.session.scalars(
            sa.select(User.id).where(User.email.like("member%@example.com"))
        ).all()
    group = scim.post("/Groups", sample("entra_10_group_create.json")["request"]["body"]).get_json(
        force=True
    )
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Add", "path": "members", "value": [{"value": str(i)} for i in ids]}],
    }
    started = time.monotonic()
    response = scim.patch(f"/Groups/{group['id']}", patch)
    elapsed = time.monotonic() - started
    assert response.status_code == 204, response.get_data(as_text=True)[:500]
    assert elapsed < 30, f"{elapsed:.1f} s"
    with scim_app.app_context():
        assert len(db.session.get(Group, int(group["id"])).members) == 20_000
    print(f"20,000-member group PATCH: {elapsed:.1f} s")
