"""The one place that talks to a mail server socket.

A `Connection` moves bytes between the network and a sans-I/O reader from
`mailaudit.protocols`, bounds every step by a deadline and every connection by a byte limit,
records a transcript, and translates every transport error into `mailaudit.net.errors`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Callable
from typing import Protocol, TypeVar

from mailaudit.model import Direction, TlsSession, TranscriptEvent, TranscriptLine
from mailaudit.net.errors import (
    ConnectError,
    NetError,
    PeerClosed,
    StepTimeout,
    TlsError,
    TooMuchData,
)
from mailaudit.net.tls import peer_chain_der, session_facts
from mailaudit.protocols.errors import ProtocolError

T = TypeVar("T")

_READ_CHUNK = 4096
# Server lines kept in one transcript. A flood of short lines ("220-x") within the byte limit is
# ~150,000 lines; kept as objects that is tens of MB per connection (issue 10 item 6). The first
# lines show what the server did; a note says the rest was dropped.
MAX_TRANSCRIPT_LINES = 400


class Reader(Protocol):
    """What the connection needs of a sans-I/O reader."""

    def feed(self, data: bytes) -> None: ...

    @property
    def pending_bytes(self) -> int: ...


class ProtocolViolation(NetError):
    """The server's bytes broke the protocol (over-long line, bad reply code...)."""

    reason = "protocol"


@contextlib.asynccontextmanager
async def step(seconds: float, what: str) -> AsyncIterator[None]:
    """Bound one step by its own deadline. An outer deadline (the endpoint budget) that fires
    inside is passed on untouched, so the caller can tell the two apart."""
    try:
        async with asyncio.timeout(seconds) as cm:
            yield
    except TimeoutError:
        if cm.expired():
            raise StepTimeout(f"{what}: no answer within {seconds:g} s", reason="timeout") from None
        raise


class Connection:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        address: str,
        port: int,
        max_bytes: int,
        started: float,
        transcript: list[TranscriptLine],
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.address = address
        self.port = port
        self._max_bytes = max_bytes
        self._received = 0
        self._started = started
        self.transcript = transcript
        self._transcript_cut = False
        self.tls: TlsSession | None = None
        # The certificates the server sent, leaf first (DER), for DANE matching.
        self.peer_chain: tuple[bytes, ...] = ()

    @classmethod
    async def open(
        cls,
        address: str,
        port: int,
        *,
        connect_timeout_s: float,
        max_bytes: int,
        tls_context: ssl.SSLContext | None = None,
        server_name: str | None = None,
        tls_timeout_s: float = 10.0,
        verified: bool = True,
        transcript: list[TranscriptLine] | None = None,
    ) -> Connection:
        """Connect (and, for implicit TLS, handshake) to `address:port`."""
        started = time.monotonic()
        transcript = transcript if transcript is not None else []
        transcript.append(
            TranscriptLine(
                Direction.NOTE, f"connect {address} port {port}", 0, TranscriptEvent.CONNECT
            )
        )
        try:
            async with step(connect_timeout_s, f"connect to {address}:{port}"):
                reader, writer = await asyncio.open_connection(
                    address, port, limit=_READ_CHUNK * 16
                )
        except ConnectionRefusedError as exc:
            raise ConnectError(f"{address}:{port}: connection refused", reason="refused") from exc
        except StepTimeout as exc:
            raise ConnectError(str(exc), reason="timeout") from None
        except OSError as exc:
            raise ConnectError(
                f"{address}:{port}: {exc.strerror or exc}", reason="unreachable"
            ) from exc
        conn = cls(
            reader,
            writer,
            address=address,
            port=port,
            max_bytes=max_bytes,
            started=started,
            transcript=transcript,
        )
        if tls_context is not None:
            await conn.start_tls(
                tls_context, server_name=server_name, timeout_s=tls_timeout_s, verified=verified
            )
        return conn

    def note(self, text: str, *, event: TranscriptEvent = TranscriptEvent.EXCHANGE) -> None:
        self._log(Direction.NOTE, text, event)

    def record(self, direction: Direction, lines: list[str], *, event: TranscriptEvent) -> None:
        """Lines whose event is known only once the session has read them (a refusal...)."""
        for line in lines:
            self._log(direction, line, event)

    def _log(
        self,
        direction: Direction,
        text: str,
        event: TranscriptEvent = TranscriptEvent.EXCHANGE,
    ) -> None:
        at_ms = int((time.monotonic() - self._started) * 1000)
        if direction is Direction.SERVER and len(self.transcript) >= MAX_TRANSCRIPT_LINES:
            if not self._transcript_cut:
                self._transcript_cut = True
                self.transcript.append(
                    TranscriptLine(
                        Direction.NOTE,
                        f"transcript cut after {MAX_TRANSCRIPT_LINES} lines: further server "
                        "lines not kept",
                        at_ms,
                    )
                )
            return
        self.transcript.append(TranscriptLine(direction, text, at_ms, event))

    async def send(
        self,
        data: bytes,
        *,
        shown_as: str | None = None,
        timeout_s: float = 10.0,
        event: TranscriptEvent = TranscriptEvent.EXCHANGE,
    ) -> None:
        """Send `data`; the transcript shows `shown_as` instead when the bytes carry a secret."""
        for line in (shown_as or data.decode("utf-8", "replace")).splitlines() or [""]:
            self._log(Direction.CLIENT, line, event)
        try:
            async with step(timeout_s, "send"):
                self._writer.write(data)
                await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            raise PeerClosed(f"connection lost while sending: {exc}", reason="closed") from exc

    async def receive(
        self,
        reader: Reader,
        pull: Callable[[], T | None],
        *,
        timeout_s: float,
        what: str,
        show: Callable[[T], list[str]] | None = None,
    ) -> T:
        """Read until `pull()` (a reader's next_* method) returns a value, within `timeout_s`
        for the whole reply, not per read."""
        try:
            async with step(timeout_s, what):
                while True:
                    try:
                        value = pull()
                    except ProtocolError as exc:
                        raise ProtocolViolation(f"{what}: {exc}", reason="protocol") from exc
                    if value is not None:
                        for line in show(value) if show else [repr(value)]:
                            self._log(Direction.SERVER, line)
                        return value
                    data = await self._read()
                    reader.feed(data)
        except ProtocolViolation:
            raise

    async def _read(self) -> bytes:
        try:
            data = await self._reader.read(_READ_CHUNK)
        except (ConnectionError, OSError) as exc:
            raise PeerClosed(f"connection lost: {exc}", reason="reset") from exc
        except ssl.SSLError as exc:
            raise TlsError(f"TLS error while reading: {exc}", reason="tls-read") from exc
        if not data:
            raise PeerClosed("the server closed the connection", reason="closed")
        self._received += len(data)
        if self._received > self._max_bytes:
            raise TooMuchData(
                f"the server sent more than {self._max_bytes} bytes", reason="too-much-data"
            )
        return data

    def _buffered_in_stream(self) -> int:
        # asyncio keeps bytes it has read but we have not asked for in the StreamReader; they
        # were received in the clear and must not be read as if they came over TLS.
        buffered = getattr(self._reader, "_buffer", b"")
        return len(buffered)

    async def start_tls(
        self,
        context: ssl.SSLContext,
        *,
        server_name: str | None,
        timeout_s: float,
        verified: bool,
        protocol_reader: Reader | None = None,
    ) -> TlsSession:
        """Upgrade to TLS. Refuses when unread bytes are buffered: bytes that arrived before the
        handshake would otherwise be taken as protected (STARTTLS response injection,
        CVE-2011-0411 class, seen from the client side)."""
        pending = (
            protocol_reader.pending_bytes if protocol_reader else 0
        ) + self._buffered_in_stream()
        if pending:
            raise TlsError(
                f"refusing STARTTLS: {pending} unread bytes arrived before the TLS handshake",
                reason="buffered-data",
            )
        try:
            async with step(timeout_s, "TLS handshake"):
                await self._writer.start_tls(
                    context, server_hostname=server_name, ssl_handshake_timeout=timeout_s
                )
        except StepTimeout:
            raise TlsError(
                f"TLS handshake: no answer within {timeout_s:g} s", reason="timeout"
            ) from None
        except ssl.SSLCertVerificationError as exc:
            self.note(
                f"TLS certificate rejected: {exc.verify_message}", event=TranscriptEvent.TLS_FAILED
            )
            raise TlsError(
                f"certificate verification failed: {exc.verify_message}", reason="certificate"
            ) from exc
        except (ssl.SSLError, ConnectionError, OSError) as exc:
            self.note(f"TLS handshake failed: {exc}", event=TranscriptEvent.TLS_FAILED)
            raise TlsError(f"TLS handshake failed: {exc}", reason="handshake-failed") from exc
        ssl_object = self._writer.get_extra_info("ssl_object")
        if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
            raise TlsError("TLS handshake produced no session", reason="handshake-failed")
        self.tls = session_facts(ssl_object, verified=verified, verify_error=None)
        self.peer_chain = peer_chain_der(ssl_object)
        self.note(
            f"TLS established: {self.tls.version} {self.tls.cipher}",
            event=TranscriptEvent.TLS_ESTABLISHED,
        )
        return self.tls

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await self._writer.wait_closed()
