"""axe-core (npm, tests/support/axe) injected into a Playwright page: WCAG 2.1 A/AA checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

AXE = Path(__file__).resolve().parent.parent / "support/axe/node_modules/axe-core/axe.min.js"
# The rules of WCAG 2.0/2.1 levels A and AA, and axe's best practices.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING = ("serious", "critical")


def axe_source() -> str:
    if not AXE.exists():
        message = "axe-core is not installed (cd tests/support/axe && npm ci)"
        if os.environ.get("CI"):
            pytest.fail(message + ": CI must run the accessibility checks")
        pytest.skip(message)
    return AXE.read_text(encoding="utf-8")


def violations(page) -> list[dict]:
    """Serious and critical violations on the page as it is now."""
    # add_script_tag would be refused by the pages' Content-Security-Policy; evaluate is not.
    page.evaluate(axe_source())
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS
    )
    return [v for v in result["violations"] if v["impact"] in BLOCKING]


def describe(found: list[dict]) -> str:
    lines = []
    for violation in found:
        targets = [", ".join(node["target"]) for node in violation["nodes"][:5]]
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} → {targets}")
    return "\n".join(lines)
