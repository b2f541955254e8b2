"""LDAP into the portal: imports, the periodic sync, and sign-in by bind.

Every operation reads all it needs from the directory first and only then writes, in one
transaction: a directory that fails half-way leaves the portal exactly as it was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import sqlalchemy as sa

from .. import audit
from ..extensions import db
from ..models import Group, Organization, Role, User, UserSource
from . import provisioning
from . import service as directory_service
from .ldap import Directory, DirectoryGroup, DirectoryPerson, LdapError, LdapSettings, normalize_dn

log = logging.getLogger(__name__)


class NothingToSync(LdapError):
    """The directory returned nobody: refusing to deactivate every LDAP account."""


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    invited: int = 0

    def summary(self) -> dict:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "skipped": len(self.skipped),
            "groups": len(self.groups),
            "deactivated": len(self.deactivated),
            "invited": self.invited,
        }


def _ldap_user(person: DirectoryPerson) -> User | None:
    by_dn = db.session.scalar(
        sa.select(User).where(
            User.source == UserSource.LDAP,
            sa.func.lower(User.external_id) == person.dn.lower(),
        )
    )
    if by_dn is not None or not person.email:
        return by_dn
    return db.session.scalar(sa.select(User).where(User.email == person.email))


def upsert_person(
    person: DirectoryPerson,
    org: Organization,
    report: ImportReport,
    *,
    actor: User | None,
    channel: str,
    create: bool = True,
) -> User | None:
    """The portal account for `person`, created or brought up to date; None if skipped."""
    label = person.email or person.dn
    if not person.email:
        report.skipped.append((label, "no e-mail address in the directory"))
        return None
    user = _ldap_user(person)
    if user is not None and user.source != UserSource.LDAP:
        report.skipped.append((label, f"a {user.source.value} account has this e-mail address"))
        return None
    try:
        if user is None:
            if not create:
                return None
            user = directory_service.create_user(
                actor,
                org=org,
                email=person.email,
                display_name=person.display_name,
                role=Role.EMPLOYEE,
                source=UserSource.LDAP,
                upn=person.upn,
                channel=channel,
            )
            user.external_id = person.dn
            user.device_role = person.device_role
            db.session.flush()
            report.created.append(user.email)
            if provisioning.invite_if_wanted(user, org, actor=actor, channel=channel):
                report.invited += 1
            return user
        changes = {
            "email": person.email,
            "display_name": person.display_name,
            "device_role": person.device_role,
            "external_id": person.dn,
        }
        if person.upn or user.upn:
            changes["upn"] = person.upn
        changed = provisioning.update_user(user, org, changes, actor=actor, channel=channel)
        changed = provisioning.reprovision(user, actor=actor, channel=channel) or changed
    except directory_service.DirectoryError as exc:
        report.skipped.append((label, exc.args[0]))
        return None
    (report.updated if changed else report.unchanged).append(user.email)
    return user


def upsert_group(
    group: DirectoryGroup,
    members: list[User],
    report: ImportReport,
    *,
    actor: User | None,
    channel: str,
) -> Group | None:
    """The LDAP-managed portal group for `group`, its members set to `members`."""
    row = db.session.scalar(
        sa.select(Group).where(
            Group.source == UserSource.LDAP, sa.func.lower(Group.external_id) == group.dn.lower()
        )
    )
    if row is None:
        clash = db.session.scalar(sa.select(Group).where(Group.name == group.name))
        if clash is not None:
            report.skipped.append((group.name, "a portal group already has this name"))
            return None
        row = Group(
            name=group.name[:200],
            description="Imported from LDAP",
            external_id=group.dn,
            source=UserSource.LDAP,
        )
        db.session.add(row)
        db.session.flush()
        audit.record(actor, "group.imported", channel=channel, target=row, after={"dn": group.dn})
    before = sorted(u.email for u in row.members)
    row.members = sorted(set(members), key=lambda u: u.email)
    after = sorted(u.email for u in row.members)
    if before != after:
        audit.record(
            actor,
            "group.members_synced",
            channel=channel,
            target=row,
            before={"members": len(before)},
            after={
                "members": len(after),
                "added": sorted(set(after) - set(before)),
                "removed": sorted(set(before) - set(after)),
            },
        )
    db.session.flush()
    report.groups.append(row.name)
    return row


def import_selection(
    settings: LdapSettings,
    *,
    actor: User | None,
    user_dns: list[str] = (),
    group_dns: list[str] = (),
    ou_dns: list[str] = (),
    channel: str = "web",
) -> ImportReport:
    """Import the chosen people, whole groups (with their members) and everyone in the
    chosen organizational units, in one transaction."""
    org = directory_service.organization()
    report = ImportReport()
    people: dict[str, DirectoryPerson] = {}
    groups: list[tuple[DirectoryGroup, list[DirectoryPerson]]] = []
    with Directory(settings) as directory:
        for dn in dict.fromkeys(user_dns):
            person = directory.person(dn)
            if person is None:
                report.skipped.append((dn, "not found in the directory, or outside the filter"))
            else:
                people.setdefault(normalize_dn(person.dn), person)
        for dn in dict.fromkeys(ou_dns):
            for person in directory.all_people(base=dn):
                people.setdefault(normalize_dn(person.dn), person)
        for dn in dict.fromkeys(group_dns):
            group = directory.group(dn)
            if group is None:
                report.skipped.append((dn, "group not found in the directory"))
                continue
            members = directory.members(group)
            groups.append((group, members))
            for person in members:
                people.setdefault(normalize_dn(person.dn), person)
    try:
        provisioning.begin_transaction()
        users = {
            key: upsert_person(person, org, report, actor=actor, channel=channel)
            for key, person in people.items()
        }
        for group, members in groups:
            member_users = [users.get(normalize_dn(p.dn)) for p in members]
            upsert_group(
                group,
                [u for u in member_users if u is not None],
                report,
                actor=actor,
                channel=channel,
            )
        audit.record(actor, "ldap.import", channel=channel, after=report.summary())
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report


def sync(
    settings: LdapSettings,
    *,
    actor: User | None = None,
    channel: str = "cli",
    deactivate_missing: bool = True,
) -> ImportReport:
    """Bring every LDAP account and LDAP group up to date with the directory.

    Names, e-mails, UPNs and device roles are refreshed (and Managed Apple IDs derived
    again); imported groups get the directory's members (new members are imported). With
    `deactivate_missing`, accounts gone from the directory (or out of the filter) are
    deprovisioned: deactivated, signed out, invitations revoked; they come back if the
    directory lists them again. A directory that returns nobody changes nothing.
    """
    org = directory_service.organization()
    report = ImportReport()
    ldap_groups = db.session.scalars(
        sa.select(Group).where(Group.source == UserSource.LDAP).order_by(Group.id)
    ).all()
    with Directory(settings) as directory:
        everyone = directory.all_people()
        fetched = {row.id: directory.group(row.external_id or "") for row in ldap_groups}
    by_dn = {normalize_dn(p.dn): p for p in everyone}
    by_email = {p.email: p for p in everyone if p.email}
    accounts = db.session.scalars(
        sa.select(User).where(User.source == UserSource.LDAP).order_by(User.id)
    ).all()
    if not everyone and accounts:
        raise NothingToSync(
            "the directory returned no people: check LDAP_BASE_DN and LDAP_USER_FILTER "
            "(nothing was changed)"
        )
    try:
        provisioning.begin_transaction()
        users: dict[str, User] = {}
        for user in accounts:
            person = by_dn.get(normalize_dn(user.external_id or "")) or by_email.get(user.email)
            if person is None:
                if deactivate_missing and user.deprovisioned_at is None:
                    provisioning.deprovision(
                        user, actor=actor, channel=channel, reason="gone from LDAP"
                    )
                    report.deactivated.append(user.email)
                continue
            synced = upsert_person(person, org, report, actor=actor, channel=channel)
            if synced is not None:
                users[normalize_dn(person.dn)] = synced
        for row in ldap_groups:
            group = fetched[row.id]
            if group is None:
                report.skipped.append((row.name, "group gone from the directory: emptied"))
                upsert_group(
                    DirectoryGroup(row.external_id or "", row.name, ()),
                    [],
                    report,
                    actor=actor,
                    channel=channel,
                )
                continue
            members = []
            for dn in group.member_dns:
                key = normalize_dn(dn)
                if key not in users and key in by_dn:
                    users[key] = upsert_person(
                        by_dn[key], org, report, actor=actor, channel=channel
                    )
                if users.get(key) is not None:
                    members.append(users[key])
            upsert_group(group, members, report, actor=actor, channel=channel)
        audit.record(actor, "ldap.sync", channel=channel, after=report.summary())
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report


def sign_in(settings: LdapSettings, login: str, password: str) -> User | None:
    """The account of the person whose directory password this is, else None.

    Refreshes the account from the directory; creates it when `settings.jit_users` is on.
    Raises LdapUnavailable when the directory cannot answer. The caller commits.
    """
    with Directory(settings) as directory:
        person = directory.find_person(login)
        if person is None or not directory.check_password(person, password):
            return None
    existing = _ldap_user(person)
    if existing is None and not settings.jit_users:
        return None
    if existing is not None and existing.source != UserSource.LDAP:
        return None
    report = ImportReport()
    provisioning.begin_transaction()
    user = upsert_person(
        person, directory_service.organization(), report, actor=None, channel="web"
    )
    if user is None or not user.active:
        return None
    return user
