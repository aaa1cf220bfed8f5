"""HTTP/1.1 over a plain socket, for requests with bytes a client library refuses to send."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Header = tuple[bytes, bytes]
READ_SECONDS = 10


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-case name -> value (the last one)
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def build(
    method: str, target: bytes, headers: Sequence[Header] = (), body: bytes | None = None
) -> bytes:
    """One request, `Connection: close`, with Host and Content-Length unless `headers` has them."""
    names = {name.lower() for name, _ in headers}
    lines = [method.encode() + b" " + target + b" HTTP/1.1"]
    if b"host" not in names:
        lines.append(b"Host: localhost")
    lines += [name + b": " + value for name, value in headers]
    if body is not None and b"content-length" not in names:
        lines.append(b"Content-Length: %d" % len(body))
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


async def send(host: str, port: int, data: bytes) -> RawResponse:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(READ_SECONDS):
            raw = await reader.read()  # to EOF: Connection: close
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return parse(raw)


def parse(raw: bytes) -> RawResponse:
    while True:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        if 100 <= status < 200:  # an interim answer (100 Continue): the real one follows
            raw = rest
            continue
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        if "content-length" in headers:
            rest = rest[: int(headers["content-length"])]
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            rest = _dechunk(rest)
        return RawResponse(status, headers, rest)


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return bytes(out)
