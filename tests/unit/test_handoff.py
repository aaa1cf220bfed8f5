"""The dealer with real sockets: connections accepted once, passed to the workers in turn."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from regauth.server import handoff


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    (sock,) = handoff.listen("127.0.0.1", 0)
    yield sock
    sock.close()


def _connect(listener: socket.socket, count: int) -> list[socket.socket]:
    return [socket.create_connection(listener.getsockname()[:2]) for _ in range(count)]


def _received(worker_end: socket.socket) -> list[socket.socket]:
    """Every connection waiting on a worker's channel, as sockets."""
    worker_end.setblocking(False)
    received = []
    while True:
        try:
            _, fds, _, _ = socket.recv_fds(worker_end, 1, 8)
        except BlockingIOError:
            return received
        received.extend(socket.socket(fileno=fd) for fd in fds)


def _peer_ports(connections: list[socket.socket]) -> list[int]:
    return [c.getpeername()[1] for c in connections]


def test_listen_binds_a_non_blocking_socket_on_the_address(listener: socket.socket) -> None:
    host, port = listener.getsockname()[:2]
    assert host == "127.0.0.1" and port > 0
    assert listener.getblocking() is False


def test_connections_go_to_the_workers_in_turn(listener: socket.socket) -> None:
    dealer = handoff.Dealer()
    ends = [handoff.channel_pair() for _ in range(2)]
    for index, (dealer_end, _) in enumerate(ends):
        dealer.add(index, dealer_end)
    clients = _connect(listener, 6)
    try:
        assert dealer.deal(listener) == 6
        first, second = (_received(worker_end) for _, worker_end in ends)
        assert len(first) == len(second) == 3
        # Each received socket is the server side of one client connection, none twice.
        ports = [c.getsockname()[1] for c in clients]
        assert sorted(_peer_ports(first) + _peer_ports(second)) == sorted(ports)
        # In turn: the 1st, 3rd, 5th to the first worker.
        assert _peer_ports(first) == ports[0::2]
        # A passed connection works: what the client writes, the worker reads.
        clients[0].sendall(b"ping")
        first[0].setblocking(True)
        assert first[0].recv(4) == b"ping"
        for connection in first + second:
            connection.close()
    finally:
        dealer.close()
        for client in clients:
            client.close()
        for _, worker_end in ends:
            worker_end.close()


def test_a_worker_that_is_gone_is_skipped(listener: socket.socket) -> None:
    dealer = handoff.Dealer()
    (gone_dealer, gone_worker), (live_dealer, live_worker) = (
        handoff.channel_pair() for _ in range(2)
    )
    dealer.add(0, gone_dealer)
    dealer.add(1, live_dealer)
    gone_worker.close()  # the process exited before the supervisor reaped it
    clients = _connect(listener, 3)
    try:
        assert dealer.deal(listener) == 3
        received = _received(live_worker)
        assert len(received) == 3
        for connection in received:
            connection.close()
    finally:
        dealer.close()
        live_worker.close()
        for client in clients:
            client.close()


def test_with_no_worker_to_take_it_a_connection_is_closed(listener: socket.socket) -> None:
    dealer = handoff.Dealer()
    dealer_end, worker_end = handoff.channel_pair()
    dealer.add(0, dealer_end)
    worker_end.close()
    (client,) = _connect(listener, 1)
    try:
        assert dealer.deal(listener) == 0
        client.settimeout(5)
        assert client.recv(1) == b""  # closed, not left hanging
    finally:
        dealer.close()
        client.close()


def test_removing_a_worker_closes_its_channel() -> None:
    dealer = handoff.Dealer()
    dealer_end, worker_end = handoff.channel_pair()
    dealer.add(0, dealer_end)
    dealer.remove(0)
    assert dealer_end.fileno() == -1
    worker_end.settimeout(5)
    assert worker_end.recv(1) == b""  # the worker sees the end of its channel
    worker_end.close()
