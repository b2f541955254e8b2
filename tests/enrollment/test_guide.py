import pytest
from flask_babel import force_locale

from portal.enrollment import guide
from portal.models import EnrollmentMethod, EnrollmentType, Platform

SAFARI = "Mozilla/5.0 ({}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/604.1"


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        ("iPhone; CPU iPhone OS 18_1 like Mac OS X", (Platform.IOS, "18")),
        ("iPhone; CPU iPhone OS 16_7_2 like Mac OS X", (Platform.IOS, "15")),
        ("iPhone; CPU iPhone OS 14_8 like Mac OS X", (Platform.IOS, "13")),
        ("iPhone; CPU iPhone OS 12_5_7 like Mac OS X", (Platform.IOS, "old")),
        # iPads and Macs both say "Macintosh" with a frozen version: the person chooses.
        ("Macintosh; Intel Mac OS X 10_15_7", None),
        ("X11; Linux x86_64", None),
        ("", None),
    ],
)
def test_device_from_user_agent(agent, expected):
    assert guide.from_user_agent(SAFARI.format(agent) if agent else "") == expected


@pytest.mark.parametrize(
    ("platform", "version", "key"),
    [
        (Platform.MACOS, (15, 1), "15"),
        (Platform.MACOS, (14, 6), "14"),
        (Platform.MACOS, (13, 0), "10.15"),
        (Platform.MACOS, (10, 15), "10.15"),
        (Platform.MACOS, (10, 14), "old"),
        (Platform.IPADOS, (17, 0), "15"),
    ],
)
def test_range_key(platform, version, key):
    assert guide.range_key(platform, version) == key


def test_unknown_range_falls_back_to_the_newest():
    assert guide.os_range(Platform.IOS, "nonsense").key == "18"


def _steps(**overrides):
    values = dict(
        platform=Platform.IOS,
        enrollment_type=EnrollmentType.USER,
        method=EnrollmentMethod.PROFILE,
        org_name="Example Corp",
        email="alice@example.com",
        managed_apple_id="alice@appleid.example.com",
    )
    values.update(overrides)
    return guide.steps(**values)


def test_profile_based_user_enrollment_steps(ctx):
    steps = _steps()
    titles = [s.title for s in steps]
    assert any("Enroll My iPhone" in t for t in titles)
    assert any("alice@appleid.example.com" in t for t in titles)
    assert [s.download for s in steps].count(True) == 1
    assert steps[-1].screen == "“Enrollment successful”"


def test_account_driven_steps_have_no_download(ctx):
    steps = _steps(method=EnrollmentMethod.ACCOUNT_DRIVEN, platform=Platform.MACOS)
    assert not any(s.download for s in steps)
    assert steps[0].title == "Open System Settings › General › Device Management."


def test_device_enrollment_asks_to_trust_remote_management(ctx):
    titles = [s.title for s in _steps(enrollment_type=EnrollmentType.DEVICE)]
    assert "Tap Install, then Trust to allow remote management." in titles
    assert not any("Managed Apple ID" in t for t in titles)


def test_steps_follow_the_language(app):
    with app.test_request_context(), force_locale("fr"):
        steps = _steps(method=EnrollmentMethod.ACCOUNT_DRIVEN)
    assert steps[0].title.startswith("Ouvrez Réglages")


def test_current_step_moves_with_the_status(ctx):
    steps = _steps()
    assert guide.current_step(steps, 0) == 0
    assert steps[guide.current_step(steps, 1)].done_at == 2
    assert steps[guide.current_step(steps, 2)].done_at == 3
    assert guide.current_step(steps, 3) is None
