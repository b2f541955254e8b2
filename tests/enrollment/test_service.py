"""Enrollment decisions from the database: effective setting, facts, recording."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from portal.enrollment import service
from portal.extensions import db
from portal.models import (
    Device,
    DeviceOwner,
    EnrollmentDecision,
    EnrollmentMethod,
    EnrollmentSetting,
    EnrollmentType,
    Group,
    Organization,
    User,
    UserSource,
)


@pytest.fixture
def org(ctx):
    org = Organization(
        name="Example Corp",
        abm_linked=True,
        abm_organization_name="Example Corp",
        vpp_token_organization="Example Corp",
    )
    db.session.add(org)
    db.session.flush()
    return org


def user_in(org, *groups, **values):
    values.setdefault("managed_apple_id", "jane@appleid.example.com")
    user = User(org_id=org.id, email="jane@example.com", display_name="Jane", **values)
    user.groups = list(groups)
    db.session.add(user)
    db.session.flush()
    return user


def setting(name, kind, priority, *groups, default=False, owner=DeviceOwner.EMPLOYEE):
    row = EnrollmentSetting(
        name=name, enrollment_type=kind, priority=priority, is_default=default, device_owner=owner
    )
    row.groups = list(groups)
    db.session.add(row)
    db.session.flush()
    return row


def group(name):
    row = Group(name=name)
    db.session.add(row)
    db.session.flush()
    return row


def test_lowest_priority_number_wins_across_groups(org):
    sales, byod, other = group("Sales"), group("BYOD"), group("Other")
    setting("Sales devices", EnrollmentType.DEVICE, 20, sales)
    wanted = setting("BYOD", EnrollmentType.USER, 5, byod)
    setting("Not mine", EnrollmentType.DEVICE, 1, other)
    setting("Default", EnrollmentType.DEVICE, 1000, default=True)
    jane = user_in(org, sales, byod)
    effective = service.effective_setting(jane)
    assert effective.setting == wanted and effective.group == byod
    assert effective.enrollment_type == EnrollmentType.USER and effective.origin == "group"


def test_priority_order_changes_the_winner(org):
    a, b = group("A"), group("B")
    first = setting("First", EnrollmentType.USER, 10, a)
    second = setting("Second", EnrollmentType.DEVICE, 20, b)
    jane = user_in(org, a, b)
    assert service.effective_setting(jane).setting == first
    second.priority = 2
    db.session.flush()
    assert service.effective_setting(jane).setting == second


def test_a_setting_in_two_of_the_users_groups_names_the_first_group(org):
    b, a = group("B group"), group("A group")
    shared = setting("Shared", EnrollmentType.USER, 10, a, b)
    jane = user_in(org, a, b)
    effective = service.effective_setting(jane)
    assert effective.setting == shared and effective.group == a


def test_default_setting_when_no_group_has_one(org):
    lonely = group("No setting here")
    default = setting("Default", EnrollmentType.MAM, 1000, default=True, owner=DeviceOwner.COMPANY)
    jane = user_in(org, lonely)
    effective = service.effective_setting(jane)
    assert effective.setting == default and effective.group is None
    assert effective.origin == "default" and effective.device_owner == DeviceOwner.COMPANY


def test_no_default_falls_back_to_device_enrollment_employee_owned(org):
    setting("Not assigned", EnrollmentType.USER, 1)
    effective = service.effective_setting(user_in(org))
    assert effective == service.BUILTIN_SETTING
    assert effective.enrollment_type == EnrollmentType.DEVICE
    assert effective.device_owner == DeviceOwner.EMPLOYEE and effective.origin == "builtin"


def test_demo_alice_gets_account_driven_user_enrollment(seeded, ctx):
    alice = db.session.scalar(sa.select(User).filter_by(email="alice@example.com"))
    decision = service.explain(alice, platform="ios", os_version="18.1")
    assert decision.type == "user" and decision.method == "account_driven"
    assert decision.summary() == "User Enrollment, account-driven"
    assert all(check.passed for check in decision.checks)


def test_demo_bob_gets_device_enrollment_because_of_his_setting(seeded, ctx):
    bob = db.session.scalar(sa.select(User).filter_by(email="bob@example.com"))
    decision = service.explain(bob, platform="ios", os_version="18.1")
    assert decision.type == "device"
    assert decision.reason_codes == ("setting_not_user_enrollment",)


@pytest.mark.parametrize(
    ("platform", "version", "kind", "method"),
    [
        ("macos", "13", "user", "profile"),
        ("macos", "14.5", "user", "account_driven"),
        ("ios", "12.4", "device", "profile"),
        ("ipados", (17, 2), "user", "account_driven"),
    ],
)
def test_demo_alice_by_platform_and_version(seeded, ctx, platform, version, kind, method):
    alice = db.session.scalar(sa.select(User).filter_by(email="alice@example.com"))
    decision = service.explain(alice, platform=platform, os_version=version)
    assert (decision.type, decision.method) == (kind, method)


def test_user_facts_come_from_the_account(org):
    byod = group("BYOD")
    setting("BYOD", EnrollmentType.USER, 1, byod)
    jane = user_in(org, byod, source=UserSource.LDAP, device_role=False, managed_apple_id=None)
    facts = service.user_facts(jane)
    assert facts.setting_type == "user" and facts.source == "ldap"
    assert not facts.has_managed_apple_id and not facts.has_device_management_role
    decision = service.explain(jane, platform="ios", os_version="17.4")
    assert decision.type == "device"
    assert set(decision.reason_codes) == {"no_managed_apple_id", "ldap_without_device_role"}


def test_org_facts_come_from_the_organization(org):
    org.vpp_token_organization = "Someone Else"
    byod = group("BYOD")
    setting("BYOD", EnrollmentType.USER, 1, byod)
    decision = service.explain(user_in(org, byod), platform="ios", os_version="17.4")
    assert decision.reason_codes == ("vpp_token_other_organization",)


def test_a_listed_device_enrolling_again_keeps_its_type_a_new_device_does_not(org):
    byod = group("BYOD")
    setting("BYOD", EnrollmentType.USER, 1, byod)
    jane = user_in(org, byod)
    enrolled = datetime(2025, 1, 1, tzinfo=UTC)
    devices = {}
    for key, platform, kind, when in [
        ("old_iphone", "ios", EnrollmentType.DEVICE, enrolled),
        ("never", "ios", EnrollmentType.USER, None),  # never enrolled: nothing to keep
        ("mac", "macos", EnrollmentType.USER, enrolled),
    ]:
        devices[key] = Device(
            user_id=jane.id,
            platform=platform,
            enrollment_type=kind,
            enrollment_method=EnrollmentMethod.PROFILE,
            enrolled_at=when,
        )
        db.session.add(devices[key])
    db.session.flush()
    assert service.previous_enrollment_type(jane, "ios") == EnrollmentType.DEVICE
    assert service.previous_enrollment_type(jane, "ipados") is None

    # A second (or replacement) iPhone gets what the setting gives today.
    new = service.explain(jane, platform="ios", os_version="17.4")
    assert new.type == "user" and "reenrollment_keeps_type" not in new.reason_codes
    # The listed iPhone enrolling again keeps Device Enrollment.
    again = service.explain(
        jane, platform="ios", os_version="17.4", reenrolling=devices["old_iphone"]
    )
    assert again.type == "device" and again.reason_codes[0] == "reenrollment_keeps_type"
    # A device never enrolled, or of another platform, has no type to keep.
    for other in (devices["never"], devices["mac"]):
        decision = service.explain(jane, platform="ios", os_version="17.4", reenrolling=other)
        assert decision.type == "user"


def test_the_preview_shows_a_new_device_and_each_listed_device_enrolling_again(org):
    byod = group("BYOD")
    setting("BYOD", EnrollmentType.USER, 1, byod)
    jane = user_in(org, byod)
    enrolled = datetime(2025, 1, 1, tzinfo=UTC)
    listed = []
    for day, kind in [(1, EnrollmentType.DEVICE), (2, EnrollmentType.DEVICE), (3, "user")]:
        device = Device(
            user_id=jane.id,
            platform="ios",
            enrollment_type=kind,
            enrollment_method=EnrollmentMethod.PROFILE,
            enrolled_at=enrolled.replace(day=day),
        )
        db.session.add(device)
        listed.append(device)
    db.session.flush()

    found = service.preview(jane, platform="ios", os_version="17.4", channel="web")
    assert found.new_device.type == "user"
    assert "reenrollment_keeps_type" not in found.new_device.reason_codes
    # Newest first, each with the type it keeps; one decision per type, shared.
    assert [device for device, _ in found.reenrolling] == listed[::-1]
    assert [decision.type for _, decision in found.reenrolling] == ["user", "device", "device"]
    assert found.reenrolling[1][1] is found.reenrolling[2][1]
    assert found.reenrolling[1][1].reason_codes[0] == "reenrollment_keeps_type"
    assert service.preview(jane, platform="macos", os_version="14.5").reenrolling == []
    with pytest.raises(service.InvalidOsVersion):
        service.preview(jane, platform="ios", os_version="seventeen")


def test_supervised_and_channel_reach_the_policy(seeded, ctx):
    alice = db.session.scalar(sa.select(User).filter_by(email="alice@example.com"))
    supervised = service.explain(alice, platform="ios", os_version="17.4", supervised=True)
    assert supervised.type == "device" and "supervised" in supervised.reason_codes
    ade = service.explain(alice, platform="ios", os_version="17.4", channel="ade")
    assert (ade.type, ade.method) == ("device", "ade")


def test_record_keeps_the_decision_and_who_asked(seeded, ctx):
    alice = db.session.scalar(sa.select(User).filter_by(email="alice@example.com"))
    helen = db.session.scalar(sa.select(User).filter_by(email="helen@example.com"))
    service.explain(alice, platform="macos", os_version="13.6.1", record=True, actor=helen)
    service.explain(alice, platform="ios", os_version="18.1", channel="account", via="slack")
    db.session.commit()
    (row,) = db.session.scalars(sa.select(EnrollmentDecision)).all()
    assert row.user_id == alice.id and row.actor_id == helen.id and row.asked_via == "web"
    assert (row.platform, row.os_version, row.channel) == ("macos", "13.6.1", "web")
    assert (row.enrollment_type, row.enrollment_method) == ("user", "profile")
    assert row.reason_codes == ["all_criteria_met"] and row.created_at.tzinfo is not None


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"platform": "android"}, service.InvalidPlatform),
        ({"os_version": "seventeen"}, service.InvalidOsVersion),
        ({"os_version": "17..4"}, service.InvalidOsVersion),
        ({"os_version": "1." * 40}, service.InvalidOsVersion),
        ({"channel": "carrier-pigeon"}, service.InvalidChannel),
    ],
)
def test_bad_device_facts_are_refused_before_deciding(seeded, ctx, values, error):
    alice = db.session.scalar(sa.select(User).filter_by(email="alice@example.com"))
    args = {"platform": "ios", "os_version": "17.4", **values}
    with pytest.raises(error) as raised:
        service.explain(alice, record=True, **args)
    assert raised.value.field in {"platform", "os_version", "channel"}
    assert db.session.scalar(sa.select(sa.func.count(EnrollmentDecision.id))) == 0
