"""A throwaway OpenLDAP server (Debian's slapd) for tests: built with slapadd under tmp.

`slapadd` writes the configuration and the data before slapd starts, so no overlay runs:
there is no memberOf, and groups are found by `(member=<dn>)`. With `tls=True` the server
also takes StartTLS on its ldap:// port and listens on an ldaps:// port, with a certificate
for localhost and 127.0.0.1 from a throwaway CA made at start.
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

from tests.support.tls import Authority

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


def can_listen_on(host: str) -> bool:
    """Whether this machine has `host` (127.0.0.2 exists on Linux, not on every system)."""
    try:
        with socket.socket() as sock:
            sock.bind((host, 0))
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path
    cert_file: Path
    key_file: Path

    @classmethod
    def create(cls, directory: Path) -> TlsFiles:
        authority = Authority.create(directory, "Test LDAP CA")
        cert_file, key_file = authority.issue_server(directory)
        return cls(authority.cert_file, cert_file, key_file)


def _config(directory: Path, tls: TlsFiles | None = None) -> str:
    schemas = "\n".join(f"include: file:///etc/ldap/schema/{name}.ldif" for name in SCHEMAS)
    tls_lines = ""
    if tls is not None:
        tls_lines = (
            f"olcTLSCACertificateFile: {tls.ca_file}\n"
            f"olcTLSCertificateFile: {tls.cert_file}\n"
            f"olcTLSCertificateKeyFile: {tls.key_file}\n"
        )
    return f"""dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {directory}/slapd.pid
{tls_lines}
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
    """One slapd process on a free port, its files under `directory`.

    With `tls`, a second port speaks LDAPS, on 127.0.0.1 and, where the machine has it, on
    127.0.0.2 too: an address the certificate does not name (`other_ldaps_url`).
    """

    def __init__(self, directory: Path, ldif: str | None = None, tls: TlsFiles | None = None):
        self.directory = directory
        self.ldif = ldif or data_ldif()
        self.tls = tls
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.other_host = "127.0.0.2" if tls and can_listen_on("127.0.0.2") else None
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        assert self.tls_port, "this server was started without TLS"
        return f"ldaps://127.0.0.1:{self.tls_port}"

    @property
    def other_ldaps_url(self) -> str | None:
        return f"ldaps://{self.other_host}:{self.tls_port}" if self.other_host else None

    def _listeners(self) -> list[tuple[str, str, int]]:
        """(scheme, host, port) for every address slapd listens on."""
        listeners = [("ldap", "127.0.0.1", self.port)]
        if self.tls_port:
            listeners.append(("ldaps", "127.0.0.1", self.tls_port))
            if self.other_host:
                listeners.append(("ldaps", self.other_host, self.tls_port))
        return listeners

    def build(self) -> None:
        config_dir = self.directory / "slapd.d"
        config_dir.mkdir(parents=True)
        (self.directory / "data").mkdir()
        (self.directory / "config.ldif").write_text(_config(self.directory, self.tls))
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
        listeners = self._listeners()
        urls = " ".join(f"{scheme}://{host}:{port}/" for scheme, host, port in listeners)
        self.process = subprocess.Popen(  # noqa: S603
            [_slapd(), "-d", "0", "-F", str(self.directory / "slapd.d"), "-h", urls],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        waiting = [(host, port) for _scheme, host, port in listeners]
        deadline = time.monotonic() + 10
        while waiting and time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("slapd exited: " + self.process.stderr.read().decode()[-2000:])
            try:
                with socket.create_connection(waiting[0], timeout=0.2):
                    waiting.pop(0)
            except OSError:
                time.sleep(0.05)
        if waiting:
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


def start_server(directory: Path, ldif: str | None = None, *, tls: bool = False) -> LdapServer:
    server = LdapServer(directory, ldif, TlsFiles.create(directory / "tls") if tls else None)
    server.build()
    server.start()
    return server
