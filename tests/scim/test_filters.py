"""List filters with `or`, `not (…)` and parentheses (RFC 7644 §3.4.2.2); bad ones are 400."""

from __future__ import annotations

import pytest

from portal.scim import filters
from portal.scim.errors import ScimError
from tests.scim.conftest import assert_error, sample

PEOPLE = {
    # userName: (externalId, displayName, active)
    "ann@corp.example.com": ("ext-ann", "Ann Archer", True),
    "ben@corp.example.com": ("ext-ben", "Ben Baker", True),
    "cat@corp.example.com": (None, "Cat Carter", False),
}


@pytest.fixture
def people(scim):
    for user_name, (external_id, display_name, active) in PEOPLE.items():
        body = sample("entra_01_user_create.json")["request"]["body"]
        body.update(userName=user_name, displayName=display_name, active=active)
        body["emails"][0]["value"] = user_name.replace("corp.", "")
        if external_id is None:
            body.pop("externalId")
        else:
            body["externalId"] = external_id
        response = scim.post("/Users", body)
        assert response.status_code == 201, response.get_data(as_text=True)
    return scim


def _names(scim, text: str, resource: str = "Users") -> list[str]:
    response = scim.client.get(
        f"/scim/v2/{resource}",
        query_string={"filter": text},
        headers={"Authorization": f"Bearer {scim.token}"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json(force=True)
    assert body["totalResults"] == len(body["Resources"])
    key = "userName" if resource == "Users" else "displayName"
    return sorted(r[key] for r in body["Resources"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "ann@corp.example.com" or userName eq "cat@corp.example.com"', "ac"),
        ('externalId eq "ext-ann" OR externalId eq "ext-ben"', "ab"),
        # `and` binds tighter than `or`: ann, or (ben and inactive) which is nobody.
        ('userName sw "ann" or userName sw "ben" and active eq false', "a"),
        ('(userName sw "ann" or userName sw "ben") and active eq true', "ab"),
        ('(userName sw "ann" or userName sw "cat") and active eq false', "c"),
        ('active eq false or (displayName co "baker")', "bc"),
        ('not (userName eq "ann@corp.example.com")', "bc"),
        ('not(active eq true) or externalId eq "ext-ann"', "ac"),
        # Cat has no externalId: the comparison is false, so its negation holds.
        ('not (externalId eq "ext-ann")', "bc"),
        ("not (externalId pr)", "c"),
        ('not (userName sw "ann" or userName sw "ben")', "c"),
        ('((userName co "a") and (not (active eq false)))', "ab"),
        ('displayName co "Carter" and not (externalId pr) or userName sw "ben"', "bc"),
    ],
)
def test_or_not_and_parentheses(people, text, expected):
    wanted = sorted(
        f"{name}@corp.example.com" for name in ("ann", "ben", "cat") if name[0] in expected
    )
    assert _names(people, text) == wanted


def test_group_filters_take_or_too(scim):
    for name in ("Sales", "Support", "Finance"):
        body = sample("entra_10_group_create.json")["request"]["body"]
        body.update(displayName=name, externalId=f"ext-{name}")
        body.pop("members", None)
        assert scim.post("/Groups", body).status_code == 201
    assert _names(scim, 'displayName eq "Sales" or externalId eq "ext-Finance"', "Groups") == [
        "Finance",
        "Sales",
    ]


@pytest.mark.parametrize(
    "text",
    [
        'userName eq "a" or',
        'or userName eq "a"',
        'userName eq "a" and or userName eq "b"',
        'userName eq "a" userName eq "b"',
        '(userName eq "a"',
        'userName eq "a")',
        "not userName pr",
        "not ()",
        'userName eq "a" xor userName eq "b"',
        'userName eq "a" or favouriteColour eq "green"',
        "(" * 30 + "userName pr" + ")" * 30,
    ],
)
def test_bad_filters_are_400_invalid_filter(people, text):
    response = people.client.get(
        "/scim/v2/Users",
        query_string={"filter": text},
        headers={"Authorization": f"Bearer {people.token}"},
    )
    body = assert_error(response, 400, "invalidFilter")
    assert body["detail"]


def test_patch_value_paths_still_take_only_and():
    assert filters.parse('type eq "work" and primary eq true') == [
        filters.Condition("type", "eq", "work"),
        filters.Condition("primary", "eq", True),
    ]
    with pytest.raises(ScimError) as raised:
        filters.parse('type eq "work" or type eq "home"')
    assert raised.value.scim_type == "invalidFilter"


def test_patch_path_with_or_is_an_invalid_path(people):
    user_id = people.get('/Users?filter=userName eq "ann@corp.example.com"').get_json()[
        "Resources"
    ][0]["id"]
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {
                "op": "replace",
                "path": 'emails[type eq "work" or type eq "home"].value',
                "value": "new@example.com",
            }
        ],
    }
    assert_error(people.patch(f"/Users/{user_id}", body), 400, "invalidPath")
