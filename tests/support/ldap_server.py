"""A throwaway OpenLDAP server (Debian's slapd) for tests: built with slapadd under tmp.

`slapadd` writes the configuration and the data before slapd starts, so no overlay runs:
there is no memberOf, and groups are found by `(member=<dn>)`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SUFFIX = "dc=example,dc=com"
ADMIN_DN = f"cn=admin,{SUFFIX}"
SERVICE_DN = f"cn=portal,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "service-secret"  # noqa: S105
SCHEMAS = ("core", "cosine", "nis", "inetorgperson", "msuser")


def ssha(password: str, salt: bytes = b"pepper42") -> str:
    digest = hashlib.sha1(password.encode() + salt).digest()  # noqa: S324  (LDAP's SSHA)
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _config(directory: Path) -> str:
    schemas = "\n".join(f"include: file:///etc/ldap/schema/{name}.ldif" for name in SCHEMAS)
    return f"""dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {directory}/slapd.pid

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{schemas}

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {SUFFIX}
olcDbDirectory: {directory}/data
olcDbMaxSize: 16777216
olcRootDN: {ADMIN_DN}
olcRootPW: {ssha("admin-secret")}
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to * by dn.exact="{SERVICE_DN}" read by self read by * none
"""


@dataclass
class Person:
    uid: str
    name: str
    mail: str
    password: str = "ldap-password"  # noqa: S105
    ou: str = "people"
    upn: str | None = None
    employee_type: str | None = None

    @property
    def dn(self) -> str:
        return f"uid={self.uid},ou={self.ou},{SUFFIX}"

    def ldif(self) -> str:
        given, _, family = self.name.partition(" ")
        lines = [
            f"dn: {self.dn}",
            "objectClass: inetOrgPerson",
            *(["objectClass: extensibleObject"] if self.upn else []),
            f"uid: {self.uid}",
            f"cn: {self.name}",
            f"givenName: {given}",
            f"sn: {family or given}",
            f"mail: {self.mail}",
            f"userPassword: {ssha(self.password)}",
        ]
        if self.upn:
            lines.append(f"userPrincipalName: {self.upn}")
        if self.employee_type:
            lines.append(f"employeeType: {self.employee_type}")
        return "\n".join(lines) + "\n"


@dataclass
class GroupEntry:
    name: str
    members: list[str] = field(default_factory=list)

    @property
    def dn(self) -> str:
        return f"cn={self.name},ou=groups,{SUFFIX}"

    def ldif(self) -> str:
        # groupOfNames needs at least one member: an empty group names its own DN.
        members = self.members or [self.dn]
        lines = [f"dn: {self.dn}", "objectClass: groupOfNames", f"cn: {self.name}"]
        lines += [f"member: {m}" for m in members]
        return "\n".join(lines) + "\n"


PEOPLE = [
    Person("jane", "Jane Doe", "jane.doe@example.com", upn="jane.doe@corp.example.com"),
    Person("john", "John Smith", "john.smith@example.com"),
    Person("kate", "Kate Moss", "kate.moss@example.com", ou="sales"),
    # In the directory, but outside the portal's user filter.
    Person("olga", "Olga Ext", "olga.ext@example.com", employee_type="external"),
]
GROUPS = [
    GroupEntry("Mobile Staff", [PEOPLE[0].dn, PEOPLE[1].dn, PEOPLE[3].dn]),
    GroupEntry("Device Managers", [PEOPLE[0].dn, PEOPLE[2].dn]),
    GroupEntry("Sales", [PEOPLE[2].dn]),
]
USER_FILTER = "(&(objectClass=inetOrgPerson)(!(employeeType=external)))"


def data_ldif(people=PEOPLE, groups=GROUPS) -> str:
    base = f"""dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
dc: example
o: Example Corp

dn: ou=people,{SUFFIX}
objectClass: organizationalUnit
ou: people

dn: ou=sales,{SUFFIX}
objectClass: organizationalUnit
ou: sales

dn: ou=groups,{SUFFIX}
objectClass: organizationalUnit
ou: groups

dn: ou=services,{SUFFIX}
objectClass: organizationalUnit
ou: services

dn: {SERVICE_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: portal
userPassword: {ssha(SERVICE_PASSWORD)}
"""
    entries = [p.ldif() for p in people] + [g.ldif() for g in groups]
    return base + "\n" + "\n".join(entries)


class LdapServer:
    """One slapd process on a free port, its files under `directory`."""

    def __init__(self, directory: Path, ldif: str | None = None):
        self.directory = directory
        self.ldif = ldif or data_ldif()
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def build(self) -> None:
        config_dir = self.directory / "slapd.d"
        config_dir.mkdir(parents=True)
        (self.directory / "data").mkdir()
        (self.directory / "config.ldif").write_text(_config(self.directory))
        (self.directory / "data.ldif").write_text(self.ldif)
        for db_number, name in (("0", "config.ldif"), ("1", "data.ldif")):
            subprocess.run(  # noqa: S603
                [
                    _slapadd(),
                    "-n",
                    db_number,
                    "-F",
                    str(config_dir),
                    "-l",
                    str(self.directory / name),
                ],
                check=True,
                capture_output=True,
            )

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [_slapd(), "-d", "0", "-F", str(self.directory / "slapd.d"), "-h", self.url + "/"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("slapd exited: " + self.process.stderr.read().decode()[-2000:])
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("slapd did not start listening")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process is not None and self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def settings(self, **overrides) -> dict:
        """The portal configuration that points at this server."""
        config = {
            "LDAP_URL": self.url,
            "LDAP_BIND_DN": SERVICE_DN,
            "LDAP_BIND_PASSWORD": SERVICE_PASSWORD,
            "LDAP_BASE_DN": SUFFIX,
            "LDAP_USER_FILTER": USER_FILTER,
            "LDAP_DEVICE_GROUP_DN": f"cn=Device Managers,ou=groups,{SUFFIX}",
            "LDAP_TIMEOUT": 3,
        }
        config.update(overrides)
        return config


def _binary(name: str) -> str:
    for candidate in (shutil.which(name), f"/usr/sbin/{name}"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    message = "OpenLDAP is not installed (apt-get install slapd ldap-utils)"
    if os.environ.get("CI"):
        pytest.fail(message + ": CI must run the LDAP tests")
    pytest.skip(message)


def _slapadd() -> str:
    return _binary("slapadd")


def _slapd() -> str:
    return _binary("slapd")


def start_server(directory: Path, ldif: str | None = None) -> LdapServer:
    server = LdapServer(directory, ldif)
    server.build()
    server.start()
    return server
