"""Reading an LDAP directory (ldap3): people, groups, OUs, and password checks by bind.

Everything here reads; nothing writes to the portal's database (see `ldap_import`). Every
failure to reach or use the directory is an `LdapUnavailable` with a message an admin can
act on; a wrong password is simply `False`. Connections, and their TLS, are opened by
`ldap_connection`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

with warnings.catch_warnings():
    # ldap3 imports names pyasn1 has deprecated; nothing we can change.
    warnings.simplefilter("ignore", DeprecationWarning)
    import ldap3
    from ldap3.core.exceptions import LDAPException, LDAPInvalidCredentialsResult
    from ldap3.utils.conv import escape_filter_chars
    from ldap3.utils.dn import parse_dn

from .ldap_connection import LdapError as LdapError
from .ldap_connection import LdapNotConfigured as LdapNotConfigured
from .ldap_connection import LdapUnavailable as LdapUnavailable
from .ldap_connection import close_connection, open_connection

SEARCH_LIMIT = 50
PAGE_SIZE = 500


@dataclass(frozen=True)
class LdapSettings:
    url: str
    bind_dn: str
    bind_password: str
    base_dn: str
    user_filter: str = "(objectClass=inetOrgPerson)"
    group_filter: str = "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))"
    start_tls: bool = False
    ca_file: str = ""
    attr_email: str = "mail"
    attr_name: str = "cn"
    attr_upn: str = ""
    attr_group_name: str = "cn"
    attr_member: str = "member"
    device_group_dn: str = ""
    # "attribute=value": people whose attribute holds value have the device-management role.
    device_attribute: str = ""
    jit_users: bool = False
    timeout: int = 5

    @classmethod
    def from_config(cls, config: Mapping) -> LdapSettings | None:
        """The settings, or None when LDAP_URL is not set."""
        if not config.get("LDAP_URL"):
            return None
        return cls(
            url=config["LDAP_URL"],
            bind_dn=config.get("LDAP_BIND_DN", ""),
            bind_password=config.get("LDAP_BIND_PASSWORD", ""),
            base_dn=config.get("LDAP_BASE_DN", ""),
            user_filter=_wrap(config.get("LDAP_USER_FILTER") or cls.user_filter),
            group_filter=_wrap(config.get("LDAP_GROUP_FILTER") or cls.group_filter),
            start_tls=bool(config.get("LDAP_START_TLS")),
            ca_file=config.get("LDAP_CA_FILE", ""),
            attr_email=config.get("LDAP_ATTR_EMAIL") or "mail",
            attr_name=config.get("LDAP_ATTR_NAME") or "cn",
            attr_upn=config.get("LDAP_ATTR_UPN", ""),
            attr_group_name=config.get("LDAP_ATTR_GROUP_NAME") or "cn",
            attr_member=config.get("LDAP_ATTR_MEMBER") or "member",
            device_group_dn=config.get("LDAP_DEVICE_GROUP_DN", ""),
            device_attribute=config.get("LDAP_DEVICE_ATTRIBUTE", ""),
            jit_users=bool(config.get("LDAP_JIT_USERS")),
            timeout=int(config.get("LDAP_TIMEOUT", 5)),
        )

    @property
    def person_attributes(self) -> list[str]:
        names = [self.attr_email, self.attr_name]
        if self.attr_upn:
            names.append(self.attr_upn)
        if self.device_attribute:
            names.append(self.device_attribute.partition("=")[0])
        return names


@dataclass(frozen=True)
class DirectoryPerson:
    dn: str
    email: str | None
    display_name: str
    upn: str | None
    device_role: bool


@dataclass(frozen=True)
class DirectoryGroup:
    dn: str
    name: str
    member_dns: tuple[str, ...]


@dataclass(frozen=True)
class DirectoryOu:
    dn: str
    name: str


def _wrap(ldap_filter: str) -> str:
    text = ldap_filter.strip()
    return text if text.startswith("(") else f"({text})"


def normalize_dn(dn: str) -> str:
    """A DN in one spelling (`UID=Jane, OU=People` and `uid=jane,ou=people` compare equal)."""
    try:
        parts = parse_dn(dn.strip(), escape=False, strip=True)
    except LDAPException:
        return dn.strip().lower()
    return ",".join(f"{kind.lower()}={value.lower()}" for kind, value, _sep in parts)


def within(dn: str, base_dn: str) -> bool:
    dn, base = normalize_dn(dn), normalize_dn(base_dn)
    return not base or dn == base or dn.endswith("," + base)


def _first(entry: Mapping, name: str) -> str | None:
    if not name:
        return None
    values = entry.get(name) or []
    if isinstance(values, str | bytes):
        values = [values]
    for value in values:
        text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
        if text.strip():
            return text.strip()
    return None


def _all(entry: Mapping, name: str) -> list[str]:
    values = entry.get(name) or []
    if isinstance(values, str):
        values = [values]
    return [str(v) for v in values if str(v).strip()]


class Directory:
    """A service-account connection: `with Directory(settings) as d: d.find_person(…)`."""

    def __init__(self, settings: LdapSettings):
        self.settings = settings
        self._conn = None
        self._device_members: set[str] | None = None

    def __enter__(self) -> Directory:
        try:
            self._conn = open_connection(
                self.settings, self.settings.bind_dn, self.settings.bind_password
            )
        except LDAPInvalidCredentialsResult as exc:
            raise LdapUnavailable(
                "the directory refused the service account (check LDAP_BIND_DN and "
                "LDAP_BIND_PASSWORD)"
            ) from exc
        return self

    def __exit__(self, *exc_info) -> None:
        if self._conn is not None:
            close_connection(self._conn)
            self._conn = None

    def _search(self, base: str, ldap_filter: str, attributes: list[str], *, scope=None, limit=0):
        scope = scope or ldap3.SUBTREE
        try:
            if limit:
                self._conn.search(
                    base, ldap_filter, search_scope=scope, attributes=attributes, size_limit=limit
                )
                entries = list(self._conn.response or [])
            else:
                entries = self._conn.extend.standard.paged_search(
                    base,
                    ldap_filter,
                    search_scope=scope,
                    attributes=attributes,
                    paged_size=PAGE_SIZE,
                    generator=False,
                )
        except ldap3.core.exceptions.LDAPNoSuchObjectResult:
            return []
        except ldap3.core.exceptions.LDAPSizeLimitExceededResult:
            entries = list(self._conn.response or [])
        except LDAPException as exc:
            raise LdapUnavailable(
                f"the directory at {self.settings.url} stopped answering"
            ) from exc
        return [
            (e["dn"], e.get("attributes") or {})
            for e in entries
            if e.get("type") == "searchResEntry"
        ]

    # -- people -------------------------------------------------------------------------

    def _person(self, dn: str, attributes: Mapping) -> DirectoryPerson:
        s = self.settings
        email = _first(attributes, s.attr_email)
        upn = _first(attributes, s.attr_upn) if s.attr_upn else None
        name = _first(attributes, s.attr_name) or email or dn
        return DirectoryPerson(
            dn=dn,
            email=email.lower() if email else None,
            display_name=name,
            upn=upn.lower() if upn else None,
            device_role=self._device_role(dn, attributes),
        )

    def _device_role(self, dn: str, attributes: Mapping) -> bool:
        s = self.settings
        if s.device_group_dn:
            if self._device_members is None:
                group = self.group(s.device_group_dn, require_filter=False)
                members = group.member_dns if group else ()
                self._device_members = {normalize_dn(m) for m in members}
            return normalize_dn(dn) in self._device_members
        if s.device_attribute:
            name, _, wanted = s.device_attribute.partition("=")
            return any(v.lower() == wanted.strip().lower() for v in _all(attributes, name.strip()))
        return True

    def find_person(self, login: str) -> DirectoryPerson | None:
        """The one person in the filter whose e-mail (or UPN) is `login`, else None."""
        s = self.settings
        value = escape_filter_chars(login.strip())
        match = f"({s.attr_email}={value})"
        if s.attr_upn:
            match = f"(|{match}({s.attr_upn}={value}))"
        found = self._search(s.base_dn, f"(&{s.user_filter}{match})", s.person_attributes, limit=2)
        if len(found) != 1:
            return None
        return self._person(*found[0])

    def person(self, dn: str) -> DirectoryPerson | None:
        """The person at `dn` if it lies under the base DN and matches the user filter."""
        if not within(dn, self.settings.base_dn):
            return None
        found = self._search(
            dn, self.settings.user_filter, self.settings.person_attributes, scope=ldap3.BASE
        )
        return self._person(*found[0]) if found else None

    def search_people(self, text: str, *, base: str | None = None) -> list[DirectoryPerson]:
        s = self.settings
        ldap_filter = s.user_filter
        if text.strip():
            value = escape_filter_chars(text.strip())
            names = [s.attr_email, s.attr_name, "uid"] + ([s.attr_upn] if s.attr_upn else [])
            match = "".join(f"({name}=*{value}*)" for name in dict.fromkeys(names))
            ldap_filter = f"(&{s.user_filter}(|{match}))"
        found = self._search(
            base or s.base_dn, ldap_filter, s.person_attributes, limit=SEARCH_LIMIT
        )
        return sorted((self._person(*e) for e in found), key=lambda p: p.display_name.lower())

    def all_people(self, base: str | None = None) -> list[DirectoryPerson]:
        """Everyone in the filter (under `base`, which must lie under the base DN)."""
        s = self.settings
        base = base or s.base_dn
        if not within(base, s.base_dn):
            return []
        return [self._person(*e) for e in self._search(base, s.user_filter, s.person_attributes)]

    # -- groups and OUs -----------------------------------------------------------------

    def group(self, dn: str, *, require_filter: bool = True) -> DirectoryGroup | None:
        s = self.settings
        if require_filter and not within(dn, s.base_dn):
            return None
        ldap_filter = s.group_filter if require_filter else "(objectClass=*)"
        attributes = [s.attr_group_name, s.attr_member, "uniqueMember"]
        found = self._search(dn, ldap_filter, attributes, scope=ldap3.BASE)
        return self._group(*found[0]) if found else None

    def _group(self, dn: str, attributes: Mapping) -> DirectoryGroup:
        s = self.settings
        members = _all(attributes, s.attr_member) + _all(attributes, "uniqueMember")
        # A groupOfNames may list itself to stay valid while empty.
        members = [m for m in dict.fromkeys(members) if normalize_dn(m) != normalize_dn(dn)]
        return DirectoryGroup(
            dn=dn, name=_first(attributes, s.attr_group_name) or dn, member_dns=tuple(members)
        )

    def search_groups(self, text: str) -> list[DirectoryGroup]:
        s = self.settings
        ldap_filter = s.group_filter
        if text.strip():
            value = escape_filter_chars(text.strip())
            ldap_filter = f"(&{s.group_filter}({s.attr_group_name}=*{value}*))"
        attributes = [s.attr_group_name, s.attr_member, "uniqueMember"]
        found = self._search(s.base_dn, ldap_filter, attributes, limit=SEARCH_LIMIT)
        return sorted((self._group(*e) for e in found), key=lambda g: g.name.lower())

    def members(self, group: DirectoryGroup) -> list[DirectoryPerson]:
        """The group's members that are people in the user filter (others are skipped)."""
        people = (self.person(dn) for dn in group.member_dns)
        return [p for p in people if p is not None]

    def search_ous(self, text: str) -> list[DirectoryOu]:
        value = escape_filter_chars(text.strip()) if text.strip() else ""
        match = f"(ou=*{value}*)" if value else "(ou=*)"
        ldap_filter = f"(&(objectClass=organizationalUnit){match})"
        found = self._search(self.settings.base_dn, ldap_filter, ["ou"], limit=SEARCH_LIMIT)
        return sorted(
            (DirectoryOu(dn=dn, name=_first(a, "ou") or dn) for dn, a in found),
            key=lambda o: o.name.lower(),
        )

    # -- passwords ----------------------------------------------------------------------

    def check_password(self, person: DirectoryPerson, password: str) -> bool:
        """Bind as `person`: True when the directory accepts the password."""
        if not password:
            return False  # an empty password would be an anonymous bind, which "succeeds"
        try:
            conn = open_connection(self.settings, person.dn, password)
        except LDAPInvalidCredentialsResult:
            return False
        close_connection(conn)
        return True


def check_connection(settings: LdapSettings) -> int:
    """Bind with the service account and count (up to 50) people in the filter."""
    with Directory(settings) as directory:
        return len(directory.search_people(""))
