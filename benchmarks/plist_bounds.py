"""Plists that expand: how long the portal takes to refuse them (target: well under 1 s).

Binary plists whose arrays each point twice at the next one (2**depth values once
expanded, a few hundred bytes on the wire), one that contains itself, and XML nested 3,000
deep, each checked against the command-result bounds (`portal.mdm.plist_limits.CONNECT`)
as `PUT /mdm/connect` does before any database work. The captured command results of
tests/data/mdm give the cost of an ordinary answer.
"""

from __future__ import annotations

import plistlib
import statistics
import time
from pathlib import Path

TARGET_MS = 1000.0
RUNS = 5
DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "mdm"


def _time(body: bytes) -> tuple[float, str]:
    from portal.mdm import plist_limits
    from portal.mdm.errors import MDMRefusal

    timings = []
    outcome = "accepted"
    for _ in range(RUNS):
        started = time.perf_counter()
        try:
            plist_limits.parse(body, plist_limits.CONNECT)
            outcome = "accepted"
        except MDMRefusal as exc:
            outcome = f"{exc.status} {exc.reason}"
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), outcome


def run() -> int:
    """Print the table; non-zero if a refusal took TARGET_MS or more."""
    return measure()[0]


def measure() -> tuple[int, float]:
    """Print the table; (status, the slowest refusal in ms)."""
    from tests.mdm import bplist

    envelope = {"Status": "Acknowledged", "CommandUUID": "bench"}
    cases = [
        (f"shared references, depth {depth}", bplist.result(envelope, bplist.doubling(depth)))
        for depth in (12, 16, 20, 24, 30)
    ]
    cases.append(("contains itself", bplist.result(envelope, [("array", [0])])))
    nested = b"<array>" * 3000 + b"<string>x</string>" + b"</array>" * 3000
    cases.append(
        ("XML nested 3,000 deep", b"<plist><dict><key>P</key>" + nested + b"</dict></plist>")
    )
    for name in sorted(DATA.glob("result-*.plist")):
        cases.append((name.name, plistlib.dumps(plistlib.loads(name.read_bytes()))))
    print(f"\nPlist bounds (median of {RUNS}; target under {TARGET_MS:.0f} ms)")
    print(f"{'input':<58} {'bytes':>8} {'ms':>8}  outcome")
    worst = 0.0
    for label, body in cases:
        ms, outcome = _time(body)
        worst = max(worst, ms)
        print(f"{label:<58} {len(body):>8} {ms:>8.1f}  {outcome}")
    return (1 if worst >= TARGET_MS else 0), worst


if __name__ == "__main__":
    raise SystemExit(run())
