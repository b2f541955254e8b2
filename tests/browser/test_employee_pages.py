"""Every employee page, on a phone, in English and French: no serious or critical axe-core
violation, no horizontal scrolling; each one saved as a screenshot.

`make screenshots` runs this file with SCREENSHOTS_DIR set (and laptop-sized pages too); the
pictures land there for reviewers. Otherwise they go to a temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import demo
from portal.extensions import db
from portal.models import Device, DeviceStatus, EnrollmentMethod, EnrollmentType, User, utcnow
from tests.browser.axe import describe, violations

pytestmark = pytest.mark.browser

PHONE = {
    "viewport": {"width": 375, "height": 812},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
    "user_agent": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
    ),
}
LAPTOP = {"viewport": {"width": 1366, "height": 900}}
LOCALES = {"en": "en-US", "fr": "fr-FR"}


def _prepare(app) -> dict[str, int]:
    """Alice: an enrolled iPhone and an unfinished iPad; bob: nothing (Device Enrollment)."""
    with app.app_context():
        demo.seed("testing", devices=True)
        alice = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
        enrolled = db.session.scalar(sa.select(Device).where(Device.user_id == alice.id))
        pending = Device(
            user_id=alice.id,
            platform="ipados",
            os_version="17.5",
            enrollment_type=EnrollmentType.USER,
            enrollment_method=EnrollmentMethod.PROFILE,
            status=DeviceStatus.PROFILE_DOWNLOADED,
            created_at=utcnow(),
        )
        db.session.add(pending)
        bob = db.session.scalar(sa.select(User).where(User.email == "bob@example.com"))
        for device in db.session.scalars(sa.select(Device).where(Device.user_id == bob.id)):
            db.session.delete(device)
        db.session.commit()
        return {"enrolled": enrolled.id, "pending": pending.id}


def _pages(ids: dict[str, int]) -> list[tuple[str, str | None, str]]:
    """(name, who signs in, path)."""
    return [
        ("sign-in", None, "/login"),
        ("invitation-expired", None, "/go/not-a-valid-token"),
        ("not-found", None, "/no-such-page"),
        ("home-alice", "alice@example.com", "/"),
        ("enroll-alice", "alice@example.com", "/enroll"),
        ("enroll-bob", "bob@example.com", "/enroll"),
        ("home-bob", "bob@example.com", "/"),
        ("devices-alice", "alice@example.com", "/devices"),
        ("device-alice", "alice@example.com", f"/devices/{ids['enrolled']}"),
    ]


def _shots_dir(tmp_path: Path) -> Path:
    configured = os.environ.get("SCREENSHOTS_DIR")
    return Path(configured) if configured else tmp_path


@pytest.mark.parametrize("language", ["en", "fr"])
def test_employee_pages_pass_axe_on_a_phone(
    language, page_factory, seeded, live_server, sign_in, tmp_path
):
    ids = _prepare(seeded)
    folder = _shots_dir(tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    sizes = {"phone": PHONE}
    if os.environ.get("SCREENSHOTS_DIR"):
        sizes["laptop"] = LAPTOP
    problems = {}
    for size, options in sizes.items():
        pages = {}
        for name, who, path in _pages(ids):
            if who not in pages:
                pages[who] = page_factory(locale=LOCALES[language], **options)
                if who:
                    sign_in(pages[who], who)
            page = pages[who]
            page.goto(live_server + path)
            page.wait_for_load_state("networkidle")
            assert page.locator("html").get_attribute("lang") == language, name
            if size == "phone":
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= PHONE["viewport"]["width"], f"{name} scrolls sideways ({width})"
            found = violations(page)
            if found:
                problems[f"{size} {name}"] = describe(found)
            page.screenshot(path=str(folder / f"{size}-{language}-{name}.png"), full_page=True)
    assert problems == {}, "\n".join(f"{k}:\n{v}" for k, v in problems.items())
