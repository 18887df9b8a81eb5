"""Pickled messages over an asyncio stream, framed as `multiprocessing.connection.Connection`
frames them (a 4-byte big-endian length, then the bytes), so one end may be a blocking
`Connection` and the other an event loop. Only between a process of ours and the worker it
started (`mailaudit.net.worker.spawn`): never a peer we do not control."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
from multiprocessing.connection import Connection
from typing import Any

from mailaudit.pickles import SharedObjects

__all__ = ["FrameError", "Framing", "read_frame", "stream_of"]

# Far above any message of ours (a domain's facts are a few kB): a bound, not a budget.
MAX_FRAME_BYTES = 256 * 2**20
_HEADER = struct.Struct("!i")


class FrameError(EOFError):
    """The stream ended, or its bytes are not one of our frames."""


class Framing:
    """One end of a pipe: messages to frames and frames to messages. Objects of the `shared`
    types are sent once and then by number (`mailaudit.pickles`): a fleet's domains carry the
    same few observations of shared endpoints, and unpickling them whole was most of what a
    domain worker cost its parent (issue 11)."""

    def __init__(self, shared: tuple[type, ...] = ()) -> None:
        self._out = SharedObjects(shared)
        self._in = SharedObjects(shared)

    def encode(self, message: object) -> bytes:
        data = self._out.dumps(message)
        if len(data) > MAX_FRAME_BYTES:
            raise ValueError(f"a message of {len(data)} bytes is too large to send")
        return _HEADER.pack(len(data)) + data

    def decode(self, data: bytes) -> Any:
        return self._in.loads(data)  # our own worker's bytes: see the module doc


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    try:
        header = await reader.readexactly(_HEADER.size)
        (size,) = _HEADER.unpack(header)
        if not 0 <= size <= MAX_FRAME_BYTES:
            raise FrameError(f"a frame of {size} bytes")
        return await reader.readexactly(size)
    except asyncio.IncompleteReadError as exc:
        raise FrameError("the stream ended") from exc


async def stream_of(conn: Connection) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """The asyncio stream over `conn`'s socket (a `spawn` pipe); `conn` itself is closed."""
    sock = socket.socket(fileno=os.dup(conn.fileno()))
    conn.close()
    return await asyncio.open_unix_connection(sock=sock)
