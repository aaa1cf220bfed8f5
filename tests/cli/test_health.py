"""`regauth health`: 0 when the service on [server] listen answers /healthz, 1 when not."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from regauth.cli import EXIT_ERROR, EXIT_OK
from regauth.cli.health import local_address
from tests.cli.conftest import Cli


def _serve(status: int) -> tuple[http.server.HTTPServer, int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


@pytest.fixture
def healthy_port() -> Iterator[int]:
    server, port = _serve(200)
    yield port
    server.shutdown()
    server.server_close()


def test_a_service_that_answers_is_healthy(cli: Cli, healthy_port: int) -> None:
    # Listening on every address: checked through loopback.
    cli.env["REGAUTH_SERVER_LISTEN"] = f"0.0.0.0:{healthy_port}"
    assert cli("health").code == EXIT_OK


def test_no_service_is_unhealthy_and_says_where_it_looked(cli: Cli) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: the connection is refused
        cli.env["REGAUTH_SERVER_LISTEN"] = f"127.0.0.1:{port}"
        result = cli("health")
    assert result.code == EXIT_ERROR
    assert f"no healthy service at http://127.0.0.1:{port}/healthz" in result.err


def test_an_error_status_is_unhealthy(cli: Cli) -> None:
    server, port = _serve(503)
    try:
        cli.env["REGAUTH_SERVER_LISTEN"] = f"127.0.0.1:{port}"
        assert cli("health").code == EXIT_ERROR
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("listen_host", "url_host"),
    [
        ("0.0.0.0", "127.0.0.1"),
        ("", "127.0.0.1"),
        ("::", "[::1]"),
        ("127.0.0.1", "127.0.0.1"),
        ("::1", "[::1]"),
        ("10.1.2.3", "10.1.2.3"),
        ("regauth.internal", "regauth.internal"),
    ],
)
def test_local_address(listen_host: str, url_host: str) -> None:
    assert local_address(listen_host) == url_host
