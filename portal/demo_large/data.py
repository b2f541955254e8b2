"""What the large demo set is made of: its sizes, the pools of names, departments, models
and system versions, and random identifiers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ..models import (
    Platform,
)

PEOPLE = 20_000
DEVICES = 15_000
LOG_ENTRIES = 1_000_000
INVITATIONS = 30_000
# The marker: the first generated person. Present means the large set is already there.
MARKER = "person.00001@example.com"
SPAN = timedelta(weeks=10)
CHUNK = 20_000

FIRST_NAMES = (
    "Camille Léa Manon Chloé Inès Jade Louise Emma Alice Lina Sarah Zoé Clara Anna Julia "
    "Lucas Hugo Louis Gabriel Arthur Jules Adam Raphaël Nathan Léo Tom Ethan Noah Paul Sacha "
    "Priya Wei Kenji Amara Tunde Olga Mateo Sofia Yusuf Aiko Nia Diego Ingrid Rohan Mei"
).split()
LAST_NAMES = (
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent "
    "Lefebvre Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard André Mercier "
    "Dupont Lambert Bonnet François Martinez Nguyen Okafor Tanaka Kowalski Silva Novak Haddad"
).split()
DEPARTMENTS = (
    ("Sales", "Account executives and sales engineers."),
    ("Marketing", "Brand, events and growth."),
    ("Engineering", "Product engineering."),
    ("Finance", "Accounting, payroll and purchasing."),
    ("Legal", "Contracts and compliance."),
    ("Support", "Customer support."),
    ("Operations", "Facilities and logistics."),
    ("Human Resources", "People team."),
    ("Design", "Product and brand design."),
    ("Research", "Applied research."),
    ("Field Technicians", "On-site technicians with company iPads."),
    ("Contractors", "External contractors."),
)
BYOD_GROUP = "User Enrollment"
FIELD_SETTING = "Field tablets – Device Enrollment"
MODELS = {
    Platform.IOS: ("iPhone14,5", "iPhone15,2", "iPhone15,4", "iPhone16,1", "iPhone17,3"),
    Platform.IPADOS: ("iPad13,16", "iPad14,3", "iPad16,3"),
    Platform.MACOS: ("Mac14,2", "Mac15,3", "MacBookPro18,1", "Mac16,1"),
}
OS_VERSIONS = {
    Platform.IOS: ("16.7.10", "17.6.1", "17.7", "18.0.1", "18.1", "18.2"),
    Platform.IPADOS: ("17.7", "18.1", "18.2"),
    Platform.MACOS: ("13.7.1", "14.7", "15.1", "15.2"),
}
DEVICE_NAMES = {Platform.IOS: "iPhone", Platform.IPADOS: "iPad", Platform.MACOS: "MacBook"}
# What a device's life adds to its log after enrolling, with how often.
ROUTINE = (
    ("push_token.updated", 30),
    ("command.queued", 25),
    ("command.acknowledged", 24),
    ("command.not_now", 4),
    ("command.error", 2),
    ("configuration", 6),
    ("app.install.requested", 5),
    ("command.timed_out", 1),
)
REQUEST_TYPES = (
    "DeviceInformation",
    "InstalledApplicationList",
    "ProfileList",
    "SecurityInfo",
    "InstallApplication",
    "CertificateList",
)


@dataclass(frozen=True)
class Sizes:
    people: int
    devices: int
    log_entries: int
    invitations: int

    @classmethod
    def scaled(cls, scale: float) -> Sizes:
        if not 0 < scale <= 1:
            raise ValueError("scale must be above 0 and at most 1")
        return cls(
            people=max(10, round(PEOPLE * scale)),
            devices=max(5, round(DEVICES * scale)),
            log_entries=max(50, round(LOG_ENTRIES * scale)),
            invitations=max(10, round(INVITATIONS * scale)),
        )


def random_hex(rng) -> str:
    return f"{rng.getrandbits(256):064x}"
