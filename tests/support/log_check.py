"""No credential in the session's log: a pytest plugin that checks everything logged, at the end.

While the tests run it keeps every stdlib log record of the session, formatted as the server
formats it (`logs.JsonFormatter` on the root logger, level DEBUG), and every test's captured
stderr, where the access log writes (fd 2; the shared `config` fixture turns it on). A last test
item, appended after collection, fails if any of it holds a token-shaped string, a JWT-shaped
string, base64 of `user:secret` (a Basic header value), or a secret the builders made
(`secrets.remember()`: passwords of `add_user`, PATs of `add_token`, session JWTs of `sign_in`).

What a test reads with `capfd` or `capsys` is kept too (the plugin's fixtures of those names
wrap pytest's). Its limits: `-s` captures no stderr (the check then checks records only and says
so), and `tests/e2e` is left out (its servers log in other processes).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from regauth.logs import REPLACED_LOGGERS, JsonFormatter
from tests.support.secrets import SECRETS, Leak, excerpt, find_leaks

if TYPE_CHECKING:
    from _pytest.capture import CaptureResult  # what readouterr() returns; pytest exports no name

CHECK_NAME = "no credential in the session's log"
_LEFT_OUT = ("tests/e2e/",)


class _Collector(logging.Handler):
    """Every record of the session, formatted the way the server would write it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.node = "(outside any test)"
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        # aiohttp's access log runs in the test server; the server disables it (logs.configure)
        if record.name not in REPLACED_LOGGERS:
            self.lines.append((self.node, self.format(record)))


@pytest.fixture
def capfd(capfd: pytest.CaptureFixture[str]) -> pytest.CaptureFixture[str]:
    """pytest's capfd, except that what a test reads is checked at the end like the rest."""
    return _seen(capfd)


@pytest.fixture
def capsys(capsys: pytest.CaptureFixture[str]) -> pytest.CaptureFixture[str]:
    """pytest's capsys, except that what a test reads is checked at the end like the rest."""
    return _seen(capsys)


def _seen(capture: pytest.CaptureFixture[str]) -> pytest.CaptureFixture[str]:
    read = capture.readouterr

    def readouterr() -> CaptureResult[str]:
        result = read()
        log = _log()
        log.stderr.append((log.collector.node, result.err))
        return result

    capture.readouterr = readouterr  # type: ignore[method-assign]
    return capture


class _SessionLog:
    def __init__(self) -> None:
        self.collector = _Collector()
        self.stderr: list[tuple[str, str]] = []
        self.problems: list[str] = []  # ways the check could have gone blind
        self._root_level = logging.root.level

    def start(self) -> None:
        logging.root.addHandler(self.collector)
        logging.root.setLevel(logging.DEBUG)

    def stop(self) -> None:
        logging.root.removeHandler(self.collector)
        logging.root.setLevel(self._root_level)

    def still_listening(self, node: str) -> None:
        """After each test: a test that took the handler away or raised the level is named."""
        if self.collector not in logging.root.handlers:
            self.problems.append(f"{node} removed the log collector from the root logger")
            logging.root.addHandler(self.collector)
        if logging.root.level != logging.DEBUG or logging.root.manager.disable:
            self.problems.append(f"{node} left the root logger above DEBUG")
            logging.root.setLevel(logging.DEBUG)
            logging.disable(logging.NOTSET)

    def leaks(self) -> list[Leak]:
        texts: dict[str, list[str]] = {}
        for node, line in self.collector.lines:
            texts.setdefault(f"{node} (log record)", []).append(line)
        for node, text in self.stderr:
            texts.setdefault(f"{node} (stderr)", []).append(text)
        found = []
        for where, parts in texts.items():
            if where.startswith(_LEFT_OUT):
                continue
            text = "\n".join(parts)
            for kind, start, end in find_leaks(text, SECRETS):
                found.append(Leak(where, kind, excerpt(text, start, end)))
        return found


_session: _SessionLog | None = None


def _log() -> _SessionLog:
    assert _session is not None, "the plugin is configured before any test runs"
    return _session


class LeakCheck(pytest.Item):
    """The last item of the session: fails with every credential found in what was logged."""

    def runtest(self) -> None:
        log = _log()
        leaks = log.leaks()
        if leaks or log.problems:
            lines = [*log.problems, *map(str, leaks[:50])]
            more = f"\n… and {len(leaks) - 50} more" if len(leaks) > 50 else ""
            pytest.fail(
                f"{len(leaks)} credential(s) in the session's log:\n" + "\n".join(lines) + more,
                pytrace=False,
            )
        if self.config.getoption("capture") == "no":
            pytest.skip("log records checked; stderr (the access log) is not captured with -s")

    def reportinfo(self) -> tuple[str, int, str]:
        return __file__, 0, CHECK_NAME


def pytest_configure(config: pytest.Config) -> None:
    global _session
    _session = _SessionLog()
    _session.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    _log().stop()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    # trylast: after -k, -m and --deselect have had their say; nothing to check without tests
    if items:
        items.append(LeakCheck.from_parent(session, name=CHECK_NAME))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    collector = _log().collector
    collector.node = item.nodeid
    try:
        return (yield)
    finally:
        collector.node = "(between tests)"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.nodeid == CHECK_NAME:
        return
    log = _log()
    for name, content in report.sections:
        # a report repeats the sections of the phases before it: each phase's own, once
        if name == f"Captured stderr {report.when}" and content:
            log.stderr.append((report.nodeid, content))
    if report.when == "teardown":
        log.still_listening(report.nodeid)
