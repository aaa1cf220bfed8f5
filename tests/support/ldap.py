"""A real OpenLDAP server for the tests: Debian's slapd with its own cn=config and mdb data in a
temp dir, StartTLS on an ldap:// port and TLS on an ldaps:// port (a test CA made at start), the
memberof overlay, and a small directory of people and groups.

Also a pytest plugin: the `ldap_server` fixture (session). The directory is filled through
OpenLDAP's own client programs (ldap-utils), not the library regauth uses, so a mistake in how
regauth speaks LDAP cannot hide in the set-up. Without slapd the tests that ask for it are
skipped, under CI=true they fail.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness.processes import HarnessError, Service, child_env, free_port, run
from tests.support.certificates import make_certificates
from tests.support.ci import missing
from tests.support.secrets import remember

SBIN = Path("/usr/sbin")  # Debian puts slapd and slapadd here, off a normal user's PATH
SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")
SCHEMAS = ("core", "cosine", "nis", "inetorgperson")
CLIENT_PROGRAMS = ("ldapadd", "ldapmodify", "ldappasswd", "ldapsearch", "ldapwhoami")

SUFFIX = "dc=example,dc=test"
ROOT_DN = f"cn=admin,{SUFFIX}"  # the test's own hand on the data; regauth never gets it
SERVICE_DN = f"cn=regauth,ou=services,{SUFFIX}"  # what regauth searches as: reads, no writes
PEOPLE = f"ou=people,{SUFFIX}"
CONTRACTORS = f"ou=contractors,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
# groupOfNames must have a member: this DN (of no entry) keeps a group valid when a test
# removes its last real member.
KEEPER = f"cn=nobody,{SUFFIX}"


@dataclass(frozen=True)
class Person:
    uid: str
    cn: str
    mail: str
    base: str = PEOPLE

    @property
    def dn(self) -> str:
        return f"uid={self.uid},{self.base}"


PERSONS = (
    Person("alice", "Alice Liddell", "alice@example.test"),
    Person("bob", "Bob Builder", "bob@example.test"),
    Person("carol", "Carol Danvers", "carol@example.test"),
    # Two entries with one uid: a search that finds both must refuse, not pick one.
    Person("dave", "Dave People", "dave@example.test"),
    Person("dave", "Dave Contractor", "dave.c@example.test", base=CONTRACTORS),
)
# The groups and their members at the start (a test that changes them puts them back).
GROUP_MEMBERS = {"developers": ("alice", "bob"), "platform": ("alice",)}


class LdapUnavailable(Exception):
    """This machine cannot run the test server; the message says what is missing."""


def find_programs() -> None:
    for name in ("slapd", "slapadd"):
        if not (SBIN / name).exists():
            raise LdapUnavailable(
                f"no OpenLDAP server: {SBIN / name} is missing (apt-get install slapd)"
            )
    for name in CLIENT_PROGRAMS:
        if shutil.which(name) is None:
            raise LdapUnavailable(f"no {name} (apt-get install ldap-utils)")
    for schema in SCHEMAS:
        if not (SCHEMA_DIR / f"{schema}.ldif").exists():
            raise LdapUnavailable(f"no {SCHEMA_DIR}/{schema}.ldif (apt-get install slapd)")


class LdapServer:
    """One slapd under a temp dir, on ports that stay the same for its whole life, so that
    clients find it again after a restart."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="regauth-ldap.", dir="/tmp"))
        self.config_dir = self.root / "slapd.d"
        self.data_dir = self.root / "data"
        self.log_path = self.root / "slapd.log"
        self.port = free_port()
        self.tls_port = free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"  # StartTLS
        self.ldaps_url = f"ldaps://127.0.0.1:{self.tls_port}"
        # The CA that signed the server's certificate, and one that did not.
        self.ca_file = self.root / "ca.pem"
        self.other_ca_file = self.root / "other-ca.pem"
        self._root_password = remember(secrets.token_urlsafe(18))
        self.service_password = remember(secrets.token_urlsafe(18))
        self.service_password_file = self.root / "service-password"
        # Every person's password by DN (both daves share a uid, not a password).
        self.passwords = {p.dn: remember(secrets.token_urlsafe(15)) for p in PERSONS}
        self._service: Service | None = None
        self._env = {**child_env(), "HOME": str(self.root), "LDAPNOINIT": "1"}

    def password(self, uid: str) -> str:
        """The password of the person of ou=people with this uid."""
        return self.passwords[f"uid={uid},{PEOPLE}"]

    @property
    def running(self) -> bool:
        return self._service is not None and self._service.alive()

    def init(self) -> None:
        """The test CA and certificates, cn=config (slapadd -n0) and an empty mdb directory."""
        self.config_dir.mkdir()
        self.data_dir.mkdir()
        make_certificates(self.root)
        self.service_password_file.write_text(self.service_password + "\n")
        root_password_file = self.root / "root-password"
        root_password_file.write_text(self._root_password)  # ldap-utils' -y: no newline
        for path in (root_password_file, self.service_password_file, self.root / "server.key"):
            path.chmod(0o600)
        config_ldif = self.root / "config.ldif"
        config_ldif.write_text(config_text(self.root, self._root_password))
        result = run(
            [str(SBIN / "slapadd"), "-n0", "-F", str(self.config_dir), "-l", str(config_ldif)],
            env=self._env,
        )
        config_ldif.unlink()  # it holds the root password
        if not result.ok:
            raise HarnessError(f"slapadd of cn=config failed:\n{result}")

    def start(self) -> None:
        if self.running:
            return
        if self._service is not None:
            self._service.stop()  # it died by itself: what is left of it, and its log file
        urls = f"{self.url}/ {self.ldaps_url}/"
        # -d keeps slapd in the foreground (its log to our file); 0 logs only what goes wrong.
        self._service = Service(
            f"slapd[{self.port}]",
            [str(SBIN / "slapd"), "-h", urls, "-F", str(self.config_dir), "-d", "0"],
            log_path=self.log_path,
            env=self._env,
        )
        self._service.wait_until(self._accepting, "both ports accepting")

    def populate(self) -> None:
        """The service account, the people (passwords set through the password-modify
        operation, so slapd stores them hashed, {SSHA}) and the groups."""
        self.ldap("ldapadd", directory_ldif())
        for dn, password in [(SERVICE_DN, self.service_password), *self.passwords.items()]:
            self.set_password(dn, password)

    def ldap(self, program: str, ldif: str = "", *args: str) -> str:
        """One of ldap-utils' programs as the root DN, with `ldif` on its standard input;
        what it printed."""
        result = run(
            [
                program,
                "-x",
                "-H",
                self.url,
                "-D",
                ROOT_DN,
                "-y",
                str(self.root / "root-password"),
                *args,
            ],
            env=self._env,
            stdin=ldif,
            timeout=30,
        )
        if not result.ok:
            raise HarnessError(f"{program} failed:\n{result}")
        return result.stdout

    def search(self, search_filter: str, *attributes: str) -> list[dict[str, list[str]]]:
        """Entries under the suffix matching `search_filter` (as ldapsearch runs it): each
        as attribute -> values, "dn" among them."""
        text = self.ldap("ldapsearch", "", "-LLL", "-o", "ldif-wrap=no", "-b", SUFFIX,
                         search_filter, *attributes)  # fmt: skip
        entries: list[dict[str, list[str]]] = []
        for block in text.strip().split("\n\n"):
            entry: dict[str, list[str]] = {}
            for line in block.splitlines():
                name, _, value = line.partition(": ")
                entry.setdefault(name, []).append(value)
            if entry:
                entries.append(entry)
        return entries

    def entry_uuid(self, dn: str) -> str:
        """The entry's entryUUID, as slapd made it."""
        rdn, _, _ = dn.partition(",")
        (entry,) = [e for e in self.search(f"({rdn})", "entryUUID") if e["dn"] == [dn]]
        return entry["entryUUID"][0]

    def set_password(self, dn: str, password: str) -> None:
        """The password-modify extended operation (RFC 3062): slapd hashes it."""
        with tempfile.NamedTemporaryFile("w", dir=self.root, delete=False) as new:
            new.write(password)  # -T: a file, so the password is in no process's arguments
        try:
            self.ldap("ldappasswd", "", "-T", new.name, dn)
        finally:
            os.unlink(new.name)

    def change_password(self, uid: str, password: str) -> None:
        """A new password for the person of ou=people (remembered by the log check)."""
        dn = f"uid={uid},{PEOPLE}"
        self.set_password(dn, remember(password))
        self.passwords[dn] = password

    def add_member(self, group: str, uid: str) -> None:
        self._modify_member("add", group, uid)

    def remove_member(self, group: str, uid: str) -> None:
        self._modify_member("delete", group, uid)

    def _modify_member(self, change: str, group: str, uid: str) -> None:
        ldif = f"dn: cn={group},{GROUPS}\nchangetype: modify\n{change}: member\nmember: uid={uid},{PEOPLE}\n"
        self.ldap("ldapmodify", ldif)

    def reset(self) -> None:
        """The groups and passwords as at the start (after a test that changed them)."""
        for group, members in GROUP_MEMBERS.items():
            values = "".join(f"member: uid={uid},{PEOPLE}\n" for uid in members)
            ldif = f"dn: cn={group},{GROUPS}\nchangetype: modify\nreplace: member\nmember: {KEEPER}\n{values}"
            self.ldap("ldapmodify", ldif)

    def stop(self) -> None:
        """SIGTERM: slapd closes its connections and its database, and exits."""
        service, self._service = self._service, None
        if service is not None:
            service.stop()

    @contextlib.contextmanager
    def down(self) -> Iterator[None]:
        """Stopped inside the block (nothing listens on its ports), started again after it."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """SIGSTOP inside the block: the kernel still accepts connections, nothing answers (a
        hung server, which only a timeout ends); SIGCONT after it."""
        assert self._service is not None
        pid = self._service.process.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(pid, signal.SIGCONT)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _accepting(self) -> bool:
        for port in (self.port, self.tls_port):
            with socket.socket() as sock:
                sock.settimeout(1)
                if sock.connect_ex(("127.0.0.1", port)) != 0:
                    return False
        return True


def regauth_settings(server: LdapServer, **overrides: Any) -> dict[str, Any]:
    """regauth's [ldap] for this server (StartTLS with the test CA, the service account,
    groups searched), with `overrides`."""
    return {
        "url": server.url,
        "ca_file": str(server.ca_file),
        "bind_dn": SERVICE_DN,
        "bind_password_file": str(server.service_password_file),
        "user_base": SUFFIX,
        "group_base": GROUPS,
        "timeout_seconds": 2,
        **overrides,
    }


def config_text(root: Path, root_password: str) -> str:
    """cn=config as LDIF: modules, schemas, TLS, one mdb database with the memberof overlay."""
    includes = "".join(f"include: file://{SCHEMA_DIR}/{name}.ldif\n\n" for name in SCHEMAS)
    return f"""\
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {root}/slapd.pid
olcArgsFile: {root}/slapd.args
olcTLSCACertificateFile: {root}/ca.pem
olcTLSCertificateFile: {root}/server.pem
olcTLSCertificateKeyFile: {root}/server.key
olcTLSVerifyClient: never
# As many servers do: a simple bind with a DN and no password succeeds ("unauthenticated",
# RFC 4513 §5.1.2), so a client that sent an empty password would let anyone in.
olcAllows: bind_anon_dn

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: {MODULE_DIR}
olcModuleLoad: back_mdb
olcModuleLoad: memberof

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{includes}\
dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend
olcPasswordHash: {{SSHA}}

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {SUFFIX}
olcRootDN: {ROOT_DN}
olcRootPW: {root_password}
olcDbDirectory: {root}/data
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcDbIndex: member eq
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to * by dn.exact="{SERVICE_DN}" read by self read by * none

dn: olcOverlay={{0}}memberof,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {{0}}memberof
olcMemberOfGroupOC: groupOfNames
olcMemberOfMemberAD: member
olcMemberOfMemberOfAD: memberOf
"""


def directory_ldif() -> str:
    """The suffix, its units, the service account, the people and the groups (no passwords:
    populate() sets them)."""
    entries = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example",
        *(
            f"dn: ou={ou},{SUFFIX}\nobjectClass: organizationalUnit\nou: {ou}"
            for ou in ("people", "contractors", "groups", "services")
        ),
        f"dn: {SERVICE_DN}\nobjectClass: person\ncn: regauth\nsn: regauth",
        *(
            f"dn: {p.dn}\nobjectClass: inetOrgPerson\nuid: {p.uid}\ncn: {p.cn}\n"
            f"sn: {p.cn.split()[-1]}\nmail: {p.mail}"
            for p in PERSONS
        ),
        *(
            f"dn: cn={group},{GROUPS}\nobjectClass: groupOfNames\ncn: {group}\nmember: {KEEPER}\n"
            + "\n".join(f"member: uid={uid},{PEOPLE}" for uid in members)
            for group, members in GROUP_MEMBERS.items()
        ),
    ]
    return "\n\n".join(entries) + "\n"


def start_ldap() -> LdapServer:
    """A new server, configured, started and filled (~1 s)."""
    find_programs()
    server = LdapServer()
    try:
        server.init()
        server.start()
        server.populate()
    except BaseException:
        server.close()
        raise
    return server


@pytest.fixture(scope="session")
def ldap_server() -> Iterator[LdapServer]:
    """One server for the session. A test that stops it or changes its groups or passwords
    must put them back (`down()`, `frozen()` and `reset()` do)."""
    try:
        server = start_ldap()
    except LdapUnavailable as exc:
        missing(str(exc))
    yield server
    server.close()
