"""One fuzz suite over every public input: forms, query strings, JSON, device plists, Slack
payloads, uploads and (lightly) SCIM.

Hypothesis writes the inputs; each answer must be below 500, and a refusal (4xx) must leave
every table as it was (the audit log excepted: refusals are audited by design, and a
session's once-a-minute `last_seen_at`). Run it on PostgreSQL (DATABASE_URL) to catch what
only PostgreSQL refuses (NUL bytes, out-of-range numbers). The figures of a run (inputs
tried, 5xx, rows written on refusal) are printed at the end of the module.
"""

from __future__ import annotations

import base64
import io
import json
import plistlib
import time
import urllib.parse
from collections import Counter

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal import demo
from portal.extensions import db
from portal.models import Base, Group, User
from portal.scim import tokens as scim_tokens
from tests.bot.conftest import bot_app, slack_api, slack_config  # noqa: F401
from tests.conftest import Auth, csrf_token
from tests.mdm import bplist
from tests.mdm.support import BASE, DeviceClient, load, mdm_payload, profile_of, secret_of
from tests.support.pki import signing_config
from tests.support.slack_api import SIGNING_SECRET, signature

FUZZ = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FIGURES: Counter = Counter()
SKIPPED_COLUMNS = {"last_seen_at", "last_used_at"}

# Text as people and attackers type it: any character (NUL included), some long.
text = st.text(max_size=60) | st.sampled_from(["\x00", "a\x00b", "%00", "' OR 1=1 --", "𝔘"])
numbers = st.integers(min_value=-(2**70), max_value=2**70).map(str)
values = text | numbers
FIELD_NAMES = [
    "name",
    "description",
    "email",
    "display_name",
    "role",
    "password",
    "q",
    "next",
    "locale",
    "order",
    "enrollment_type",
    "device_owner",
    "platform",
    "os_version",
    "managed_apple_id",
    "action",
    "user_id",
]
forms = st.dictionaries(st.sampled_from(FIELD_NAMES) | text, values, max_size=6)
QUERY_NAMES = [
    "q",
    "page",
    "filter",
    "platform",
    "kind",
    "status",
    "action",
    "email",
    "edit",
    "os",
    "next",
    "user-identifier",
    "model-family",
]
queries = st.dictionaries(st.sampled_from(QUERY_NAMES) | text, values, max_size=5)


def state() -> dict[str, list[tuple]]:
    """Every row of every table but the audit log (refusals are audited)."""
    snapshot = {}
    for table in Base.metadata.sorted_tables:
        if table.name == "audit_event":
            continue
        columns = [c for c in table.columns if c.name not in SKIPPED_COLUMNS]
        query = sa.select(*columns).order_by(*table.primary_key.columns)
        snapshot[table.name] = [tuple(row) for row in db.session.execute(query)]
    db.session.rollback()
    return snapshot


def check(app, call):
    """Run `call`; no 5xx, and nothing written when it is refused."""
    with app.app_context():
        before = state()
    response = call()
    FIGURES["inputs tried"] += 1
    status = response.status_code
    if status >= 500:
        FIGURES["5xx"] += 1
    assert status < 500, (status, response.get_data(as_text=True)[:500])
    if 400 <= status < 500:
        FIGURES["refusals"] += 1
        with app.app_context():
            after = state()
        if after != before:
            FIGURES["rows written on refusal"] += 1
        assert after == before, status
    return response


@pytest.fixture(scope="module", autouse=True)
def figures(request):
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    line = ", ".join(
        f"{name}: {FIGURES[name]}"
        for name in ("inputs tried", "refusals", "5xx", "rows written on refusal")
    )
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\nfuzz suite: {line}")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return signing_config(tmp_path_factory.mktemp("fuzz-pki"))


@pytest.fixture
def fuzz_app(app_factory, pki):
    """The seeded demo app, limits off (the fuzzer is one client sending many requests)."""
    app = app_factory(RATELIMIT_ENABLED=False, PUBLIC_BASE_URL=BASE, **pki)
    with app.app_context():
        demo.seed("testing")
    return app


def signed_in(app, email: str):
    client = app.test_client()
    assert Auth(client).login(email).status_code == 302
    return client


@pytest.fixture
def admin(fuzz_app):
    """Adam's signed-in client and its CSRF token (once per test, not per example)."""
    client = signed_in(fuzz_app, "adam@example.com")
    return client, csrf_token(client, "/admin/apple")


@pytest.fixture
def alice(fuzz_app):
    client = signed_in(fuzz_app, "alice@example.com")
    return client, csrf_token(client, "/devices")


@pytest.fixture
def ids(fuzz_app):
    with fuzz_app.app_context():
        group = db.session.scalar(sa.select(Group.id).order_by(Group.id))
        user = db.session.scalar(sa.select(User.id).where(User.email == "alice@example.com"))
    return {"group": group, "user": user}


# --- forms -----------------------------------------------------------------------------------


@FUZZ
@given(email=values, password=values, next_=values)
def test_sign_in_form(fuzz_app, email, password, next_):
    client = fuzz_app.test_client()
    token = csrf_token(client)
    data = {"email": email, "password": password, "next": next_, "csrf_token": token}
    check(fuzz_app, lambda: client.post("/login", data=data))


ADMIN_FORMS = [
    "/admin/groups",
    "/admin/groups/{group}/rename",
    "/admin/groups/{group}/members",
    "/admin/users/new",
    "/admin/settings/new",
    "/admin/settings/order",
    "/admin/sign-in/identity",
    "/admin/users/{user}/managed-apple-id",
    "/locale",
]


@FUZZ
@given(path=st.sampled_from(ADMIN_FORMS), data=forms, htmx=st.booleans())
def test_admin_forms(fuzz_app, admin, ids, path, data, htmx):
    client, token = admin
    headers = {"HX-Request": "true"} if htmx else {}
    url = path.format(**ids)
    check(fuzz_app, lambda: client.post(url, data={**data, "csrf_token": token}, headers=headers))


@pytest.fixture
def device_id(fuzz_app):
    from portal.models import EnrollmentType, Platform
    from tests.devices.conftest import add_device

    with fuzz_app.app_context():
        return add_device("alice@example.com", EnrollmentType.USER, Platform.IOS)


@FUZZ
@given(name=values, htmx=st.booleans())
def test_device_rename(fuzz_app, alice, device_id, name, htmx):
    client, token = alice
    headers = {"HX-Request": "true"} if htmx else {}
    check(
        fuzz_app,
        lambda: client.post(
            f"/devices/{device_id}/name", data={"name": name, "csrf_token": token}, headers=headers
        ),
    )


# --- query strings ---------------------------------------------------------------------------

ADMIN_PAGES = [
    "/admin/users",
    "/admin/devices",
    "/admin/audit",
    "/admin/groups",
    "/admin/groups/{group}/candidates",
    "/admin/settings",
    "/admin/outbox",
    "/admin/sign-in/apple-id-preview",
    "/admin/users/{user}/decision",
    "/admin/apps",
]
EMPLOYEE_PAGES = ["/", "/devices", "/enroll", "/enroll/status", "/enroll/qr.svg", "/enroll/qr.png"]


@FUZZ
@given(path=st.sampled_from(ADMIN_PAGES), query=queries, htmx=st.booleans())
def test_admin_query_strings(fuzz_app, admin, ids, path, query, htmx):
    client, _token = admin
    headers = {"HX-Request": "true"} if htmx else {}
    url = path.format(**ids)
    check(fuzz_app, lambda: client.get(url, query_string=query, headers=headers))


@FUZZ
@given(path=st.sampled_from(EMPLOYEE_PAGES), query=queries)
def test_employee_query_strings(fuzz_app, alice, path, query):
    client, _token = alice
    check(fuzz_app, lambda: client.get(path, query_string=query))


@FUZZ
@given(
    identifier=values,
    family=values | st.sampled_from(["iPhone", "iPad", "Mac"]),
    token=st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
    next_=values,
)
def test_anonymous_entry_points(fuzz_app, identifier, family, token, next_):
    client = fuzz_app.test_client()
    query = {"user-identifier": identifier, "model-family": family}
    check(
        fuzz_app, lambda: client.get("/.well-known/com.apple.remotemanagement", query_string=query)
    )
    check(fuzz_app, lambda: client.get("/go/" + token.replace("/", "_").replace("?", "_")))
    check(fuzz_app, lambda: client.get("/login", query_string={"next": next_}))


# --- JSON ------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=10,
)


@FUZZ
@given(document=json_values)
def test_json_bodies_where_forms_are_expected(fuzz_app, admin, document):
    client, token = admin
    body = json.dumps(document)
    check(
        fuzz_app,
        lambda: client.post(
            "/admin/settings/order",
            data=body,
            content_type="application/json",
            headers={"X-CSRFToken": token},
        ),
    )


# --- uploads ---------------------------------------------------------------------------------

dates = st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S")) | text
offsets = st.sampled_from(["Z", "+00:00", "+14:00", "-14:00", "+0000", "", "+99:99"])
vpp_tokens = st.builds(
    lambda org, token, date, offset: base64.b64encode(
        json.dumps({"orgName": org, "token": token, "expDate": date + offset}).encode()
    ),
    values,
    values,
    dates,
    offsets,
)


@FUZZ
@given(
    content=st.binary(max_size=2048) | vpp_tokens,
    target=st.sampled_from(["/admin/apple/vpp-token", "/admin/apple/push"]),
    password=values,
)
def test_uploads(fuzz_app, admin, content, target, password):
    client, token = admin
    field = "token_file" if target.endswith("vpp-token") else "certificate_file"
    form = {
        "csrf_token": token,
        field: (io.BytesIO(content), "upload.bin"),
        "password": password,
    }
    check(fuzz_app, lambda: client.post(target, data=form, content_type="multipart/form-data"))


# --- device plists ---------------------------------------------------------------------------


@pytest.fixture
def enrolled(fuzz_app):
    """Alice's enrolled iPhone (User Enrollment)."""
    client = signed_in(fuzz_app, "alice@example.com")
    response = client.get("/enroll/profile", query_string={"platform": "ios", "os": "16.4"})
    assert response.status_code == 200
    profile = profile_of(response)
    device = DeviceClient(fuzz_app.test_client(), secret=secret_of(profile))
    topic = mdm_payload(profile)["Topic"]
    assert device.checkin(load("ios-ue-authenticate.plist", Topic=topic)).status_code == 200
    assert device.checkin(load("ios-ue-tokenupdate.plist", Topic=topic)).status_code == 200
    return device, topic


def graphs(draw_size: int = 8):
    """Binary plists whose objects point anywhere: shared children, cycles, deep chains."""

    @st.composite
    def build(draw):
        count = draw(st.integers(min_value=1, max_value=draw_size))
        objects = []
        for _ in range(count):
            kind = draw(st.sampled_from(["str", "int", "array", "array", "dict"]))
            if kind == "str":
                objects.append(("str", draw(st.text("abcxyz", max_size=8))))
            elif kind == "int":
                objects.append(("int", draw(st.integers(-(2**63), 2**63 - 1))))
            elif kind == "array":
                refs = draw(st.lists(st.integers(0, count - 1), max_size=6))
                objects.append(("array", refs))
            else:
                pairs = draw(
                    st.lists(
                        st.tuples(st.integers(0, count - 1), st.integers(0, count - 1)), max_size=4
                    )
                )
                objects.append(("dict", pairs))
        envelope = {
            "Status": draw(st.sampled_from(["Acknowledged", "Error", "Idle", "NotNow"])),
            "CommandUUID": draw(st.uuids().map(str)),
        }
        return bplist.result(envelope, objects)

    return build()


plist_values = st.recursive(
    st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | text
    | st.binary(max_size=40)
    | st.datetimes(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


CHECKIN_KEYS = ["MessageType", "Topic", "Token", "PushMagic", "UnlockToken", "EnrollmentID"]


def xml_or_binary(message: dict) -> bytes:
    try:
        return plistlib.dumps(message)
    except (TypeError, ValueError, OverflowError):
        return plistlib.dumps(message, fmt=plistlib.FMT_BINARY)


@FUZZ
@given(body=graphs() | st.dictionaries(text, plist_values, max_size=6).map(xml_or_binary))
def test_command_results(fuzz_app, enrolled, body):
    device, _topic = enrolled
    check(fuzz_app, lambda: device.connect(body))


@FUZZ
@given(
    message=st.dictionaries(
        st.sampled_from(
            ["MessageType", "Topic", "Token", "PushMagic", "UnlockToken", "EnrollmentID"]
        )
        | text,
        plist_values,
        max_size=6,
    ),
    with_topic=st.booleans(),
)
def test_checkins(fuzz_app, enrolled, message, with_topic):
    device, topic = enrolled
    if with_topic:
        message = {**message, "Topic": topic}
    check(fuzz_app, lambda: device.checkin(xml_or_binary(message)))


@FUZZ
@given(body=graphs() | st.binary(max_size=1024))
def test_enrollment_requests(fuzz_app, body):
    client = fuzz_app.test_client()
    check(fuzz_app, lambda: client.post("/mdm/enroll", data=body))


# --- Slack -----------------------------------------------------------------------------------


def _slack_post(client, body: bytes, content_type: str, *, sign: bool):
    headers = {"Content-Type": content_type}
    if sign:
        ts = str(int(time.time()))
        headers["X-Slack-Request-Timestamp"] = ts
        headers["X-Slack-Signature"] = signature(SIGNING_SECRET, ts, body)
    return client.post("/slack/events", data=body, headers=headers)


@pytest.fixture
def settled(bot_app):  # noqa: F811
    """settle(): wait until the assistant's background listeners are done (they use
    `random`, which Hypothesis must not see change while it draws the next input)."""
    futures: list = []
    for executor in bot_app.extensions["slack"].executors:
        submit = executor.submit

        def tracked(fn, /, *args, _submit=submit, **kwargs):
            future = _submit(fn, *args, **kwargs)
            futures.append(future)
            return future

        executor.submit = tracked

    def settle() -> None:
        while futures:
            futures.pop().result(timeout=30)

    return settle


SLACK_USERS = ["U0ALICE", "U0BOB", "U0HELEN", "U0ADAM", "U0NOBODY", "U0NOMAIL", "U0UNKNOWN"]


@settings(FUZZ, max_examples=12)
@given(
    user=st.sampled_from(SLACK_USERS),
    command_text=text,
    action_value=text,
    sign=st.booleans(),
    kind=st.sampled_from(["command", "action"]),
)
def test_slack_payloads(
    bot_app,  # noqa: F811
    slack_api,  # noqa: F811
    settled,
    user,
    command_text,
    action_value,
    sign,
    kind,
):
    client = bot_app.test_client()
    if kind == "command":
        fields = {
            "team_id": "T0PORTAL",
            "user_id": user,
            "user_name": user.lower(),
            "channel_id": "C0GENERAL",
            "command": "/enroll",
            "text": command_text,
            "response_url": slack_api.response_url(),
            "trigger_id": "1.2.3",
        }
        body = urllib.parse.urlencode(fields).encode()
    else:
        payload = {
            "type": "block_actions",
            "team": {"id": "T0PORTAL"},
            "user": {"id": user},
            "trigger_id": "1.2.3",
            "actions": [
                {"action_id": action_value[:40] or "x", "value": action_value, "type": "button"}
            ],
        }
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    response = check(
        bot_app, lambda: _slack_post(client, body, "application/x-www-form-urlencoded", sign=sign)
    )
    settle_error = None
    try:
        settled()
    except Exception as exc:  # a listener that failed in the background is a 5xx too
        settle_error = exc
    assert settle_error is None, settle_error
    if not sign:
        assert response.status_code == 401


# --- SCIM (lightly: its own suite covers its protocol) --------------------------------------


@pytest.fixture
def scim_token(fuzz_app):
    with fuzz_app.app_context():
        admin = db.session.scalar(sa.select(User).where(User.email == "adam@example.com"))
        _row, raw = scim_tokens.issue(admin, days=30)
        db.session.commit()
    return raw


@settings(FUZZ, max_examples=10)
@given(user_name=text, display_name=text, external_id=text, active=st.booleans(), term=text)
def test_scim_lightly(fuzz_app, scim_token, user_name, display_name, external_id, active, term):
    client = fuzz_app.test_client()
    headers = {"Authorization": f"Bearer {scim_token}"}
    document = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "displayName": display_name,
        "externalId": external_id,
        "active": active,
    }
    check(
        fuzz_app,
        lambda: client.post(
            "/scim/v2/Users",
            data=json.dumps(document),
            content_type="application/scim+json",
            headers=headers,
        ),
    )
    quoted = term.replace("\\", "\\\\").replace('"', '\\"')
    check(
        fuzz_app,
        lambda: client.get(
            "/scim/v2/Users", query_string={"filter": f'userName eq "{quoted}"'}, headers=headers
        ),
    )
