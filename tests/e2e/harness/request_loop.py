"""Clients that send one GET after another through a balancer while a test breaks what is behind
it, and what each request got: the status and the X-Request-Id of the process that answered."""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass
from types import TracebackType

from tests.e2e.harness.processes import HarnessError


@dataclass(frozen=True)
class Outcome:
    started: float  # time.monotonic() when the request was sent
    status: int | None  # None: no HTTP answer at all
    request_id: str  # X-Request-Id of the answer ("" without one)
    error: str = ""  # what the client saw instead of an answer

    @property
    def served_by(self) -> str:
        """The answering process: regauth's request ids start with a prefix per process."""
        return self.request_id[:8]


class RequestLoop:
    """`clients` threads, each on its own kept-alive connection to 127.0.0.1:`port`, as a
    docker pull loop would; a failed request is recorded and the client reconnects."""

    def __init__(
        self,
        port: int,
        path: str,
        *,
        clients: int = 4,
        headers: dict[str, str] | None = None,
        timeout: float = 15.0,
    ):
        self._port = port
        self._path = path
        self._headers = dict(headers or {})
        self._timeout = timeout
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._outcomes: list[Outcome] = []
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]

    def __enter__(self) -> RequestLoop:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self._timeout + 5)

    @property
    def outcomes(self) -> list[Outcome]:
        with self._lock:
            return list(self._outcomes)

    def wait_for(self, more: int, timeout: float = 30.0) -> None:
        """Until `more` requests than now have been answered (or have failed)."""
        target = len(self.outcomes) + more
        deadline = time.monotonic() + timeout
        while len(self.outcomes) < target:
            if time.monotonic() > deadline:
                raise HarnessError(f"request loop: {len(self.outcomes)} of {target} in {timeout}s")
            time.sleep(0.01)

    def _client(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self._port, timeout=self._timeout)
        try:
            while not self._stop.is_set():
                self._record(self._send(conn))
        finally:
            conn.close()

    def _send(self, conn: http.client.HTTPConnection) -> Outcome:
        started = time.monotonic()
        try:
            conn.request("GET", self._path, headers=self._headers)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()  # the next request opens a new connection
            return Outcome(started, None, "", repr(exc))
        return Outcome(started, response.status, response.getheader("X-Request-Id", ""))

    def _record(self, outcome: Outcome) -> None:
        with self._lock:
            self._outcomes.append(outcome)
