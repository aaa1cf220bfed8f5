"""A real PostgreSQL server for the tests: its own data directory on a free loopback port, stopped,
killed and restarted on demand, and a fresh database per test copied from a template.

Also a pytest plugin: the `postgres_server` (session) and `postgres_database` (per test)
fixtures. Without PostgreSQL's binaries the tests that ask for them are skipped, under CI=true
they fail.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.e2e.harness.processes import (
    STOP_TIMEOUT_SECONDS,
    HarnessError,
    Service,
    child_env,
    free_port,
    run,
)
from tests.support.ci import missing
from tests.support.secrets import remember

DEBIAN_ROOT = Path("/usr/lib/postgresql")  # <version>/bin/{initdb,postgres}
SERVER_USER = "postgres"  # the system user Debian's package creates
SUPERUSER = "postgres"
ROLE = "regauth"  # what regauth connects as: owns its databases, is no superuser
DATABASE = "regauth"
TEMPLATE = "regauth_template"  # what `create_database` copies by default: empty, owned by ROLE

# The data lives for one test session: speed over durability. Quoted values are accepted for
# every type of setting.
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    # The tests kill servers, never the machine: with fsync off a commit still hands its WAL
    # to the kernel before it returns (only the flush to disk is skipped), so a killed server
    # recovers it. Not synchronous_commit = off: then a server killed right after a commit
    # loses it (tests/postgres shows it).
    "fsync": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",  # no replication: less WAL, and CREATE DATABASE copies less
    "max_wal_senders": "0",
    "jit": "off",  # compiling queries costs more than the tests' small queries take
    "max_connections": "200",  # replicas' pools and workers, plus the tests' own connections
    "log_line_prefix": "%m [%p] %q%u@%d ",
}


class PostgresUnavailable(Exception):
    """This machine cannot run the test server; the message says what is missing."""


@dataclass(frozen=True)
class PostgresDatabase:
    name: str
    url: str  # postgresql://regauth:<password>@127.0.0.1:<port>/<name>


def find_bindir() -> Path:
    """Debian's newest /usr/lib/postgresql/<version>/bin, else the directory of `initdb` on PATH
    (Debian puts only wrappers for the client programs on PATH, never initdb or postgres)."""
    found = [p.parent for p in DEBIAN_ROOT.glob("*/bin/initdb") if p.parent.parent.name.isdigit()]
    if found:
        return max(found, key=lambda bindir: int(bindir.parent.name))
    on_path = shutil.which("initdb")
    if on_path is not None:
        return Path(on_path).resolve().parent
    raise PostgresUnavailable(
        f"no PostgreSQL server: no initdb under {DEBIAN_ROOT}/*/bin or on PATH"
        " (apt-get install postgresql)"
    )


def server_account() -> pwd.struct_passwd | None:
    """Whom the server runs as: ourselves (None), or, as root, the package's `postgres` user,
    since PostgreSQL refuses to run as root."""
    if os.geteuid() != 0:
        return None
    if shutil.which("setpriv") is None:
        raise PostgresUnavailable("running as root, and no setpriv (apt-get install util-linux)")
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root, and there is no {SERVER_USER!r} user to run PostgreSQL as"
            " (the postgresql package creates it)"
        ) from None


class PostgresServer:
    """One cluster under a temp dir, on a port that stays the same for its whole life, so that
    clients find it again after a restart. `url` is regauth's own database, as its role."""

    def __init__(self, bindir: Path, account: pwd.struct_passwd | None):
        self.bindir = bindir
        self._account = account
        # Not under pytest's tmp dirs: those are root's only, and the socket path must stay
        # under ~107 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="regauth-pg.", dir="/tmp"))
        self.data_dir = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.log_path = self.root / "postgres.log"
        self.port = free_port()
        # URL-safe: they go into URLs as they are. Remembered: the session's log check fails
        # if regauth ever logs its database password.
        self.password = remember(secrets.token_urlsafe(18))
        self._superuser_password = remember(secrets.token_urlsafe(18))
        self.url = self.url_for(DATABASE)
        self._service: Service | None = None
        # setpriv (util-linux) switches user and then execs, so the pid we hold is postgres'.
        self._as_server_user = []
        if account is not None:
            self._as_server_user = [
                *("setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}"),
                *("--init-groups", "--"),
            ]
        self._env = {
            **{k: v for k, v in child_env().items() if not k.startswith("PG")},
            "LC_ALL": "C",
            "HOME": str(self.root),
        }

    def url_for(self, database: str) -> str:
        return f"postgresql://{ROLE}:{self.password}@127.0.0.1:{self.port}/{database}"

    @property
    def admin_url(self) -> str:
        """The superuser, for what the tests set up; regauth never gets this."""
        return f"postgresql://{SUPERUSER}:{self._superuser_password}@127.0.0.1:{self.port}/postgres"

    @property
    def running(self) -> bool:
        return self._service is not None and self._service.alive()

    def init(self) -> None:
        """initdb: password logins only (scram-sha-256), UTF-8, C collation, settings for speed."""
        self.socket_dir.mkdir()
        password_file = self.root / "superuser-password"
        password_file.write_text(self._superuser_password + "\n")
        password_file.chmod(0o600)
        self._give_to_server_user(self.root, self.socket_dir, password_file)
        initdb = [
            *self._as_server_user,
            str(self.bindir / "initdb"),
            *("--pgdata", str(self.data_dir), "--username", SUPERUSER),
            *("--pwfile", str(password_file), "--auth", "scram-sha-256"),
            *("--encoding", "UTF8", "--no-locale", "--no-sync", "--no-instructions"),
        ]
        result = run(initdb, env=self._env)
        password_file.unlink()
        if not result.ok:
            raise HarnessError(f"initdb failed:\n{result}")
        settings = {
            **SETTINGS,
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
        }
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# regauth tests (tests/support/postgres.py)\n")
            conf.writelines(f"{name} = '{value}'\n" for name, value in settings.items())

    def start(self) -> None:
        if self.running:
            return
        if self._service is not None:
            self._service.stop()  # it died by itself: what is left of it, and its log file
        self._service = Service(
            f"postgres[{self.port}]",
            [*self._as_server_user, str(self.bindir / "postgres"), "-D", str(self.data_dir)],
            log_path=self.log_path,
            env=self._env,
        )
        self._service.wait_until(self._accepting, "'ready' in postmaster.pid")

    def provision(self) -> None:
        """regauth's role with its password, its database and the template for per-test copies."""
        with self._admin() as admin:
            admin.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(ROLE), sql.Literal(self.password)
                )
            )
            for name in (DATABASE, TEMPLATE):
                admin.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(name), sql.Identifier(ROLE)
                    )
                )

    def stop(self) -> None:
        """Fast shutdown: clients are disconnected, the data is checkpointed."""
        service, self._service = self._service, None
        if service is None:
            return
        # The postmaster alone: it stops its children in order (SIGINT to the whole group
        # would also reach them, where it means other things).
        with contextlib.suppress(ProcessLookupError):
            os.kill(service.process.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            service.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        service.stop()  # whatever is left of the group, and the log file

    def kill(self) -> None:
        """SIGKILL to every process of the server, as in a crash; the next start recovers."""
        service, self._service = self._service, None
        if service is not None:
            service.stop(signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        self.start()

    @contextlib.contextmanager
    def down(self, *, crash: bool = False) -> Iterator[None]:
        """Stopped (killed, with `crash`) inside the block, started again after it."""
        if crash:
            self.kill()
        else:
            self.stop()
        try:
            yield
        finally:
            self.start()

    def create_database(
        self, name: str | None = None, *, template: str = TEMPLATE
    ) -> PostgresDatabase:
        """A copy of `template`, owned by regauth's role (~0.1 s). Nobody may be connected to
        the template meanwhile: fill one, disconnect, and copy it for each test."""
        name = name or f"test_{secrets.token_hex(6)}"
        with self._admin() as admin:
            admin.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(template), sql.Identifier(ROLE)
                )
            )
        return PostgresDatabase(name, self.url_for(name))

    def drop_database(self, name: str) -> None:
        """Also when regauth still holds connections to it: they are closed."""
        with self._admin() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5)

    def _accepting(self) -> bool:
        # Line 1 is the postmaster's pid (a killed server leaves its file behind), line 8 its
        # state, "ready" once it accepts connections.
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except FileNotFoundError:
            return False
        assert self._service is not None
        return (
            len(lines) >= 8
            and lines[0] == str(self._service.process.pid)
            and lines[7].strip() == "ready"
        )

    def _give_to_server_user(self, *paths: Path) -> None:
        if self._account is not None:
            for path in paths:
                os.chown(path, self._account.pw_uid, self._account.pw_gid)


def start_postgres() -> PostgresServer:
    """A new server, initialised, started and provisioned (~2 s, mostly initdb)."""
    server = PostgresServer(find_bindir(), server_account())
    try:
        server.init()
        server.start()
        server.provision()
    except BaseException:
        server.close()
        raise
    return server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One server for the session; a test that stops it must start it again (`down()` does)."""
    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        missing(str(exc))
    yield server
    server.close()


@pytest.fixture
def postgres_database(postgres_server: PostgresServer) -> Iterator[PostgresDatabase]:
    """A fresh, empty database of this test's own, dropped after it."""
    # A test that failed while the server was down must not fail every test after it.
    postgres_server.start()
    database = postgres_server.create_database()
    yield database
    postgres_server.start()
    postgres_server.drop_database(database.name)
