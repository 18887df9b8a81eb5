"""The endpoint probe: connect, greeting, capabilities before and after a real STARTTLS or
implicit-TLS handshake, certificate validation against the host name, and a transcript.

It gathers facts only. Whatever goes wrong — DNS, refusal, silence, a broken handshake — ends up
in the `Observation` as a `ProbeFailure`; `probe` never raises for network trouble.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace

from mailaudit.context import Context
from mailaudit.model import (
    Endpoint,
    Observation,
    ProbeFailure,
    ProbeStatus,
    TlsSession,
    TranscriptLine,
)
from mailaudit.net.clients import ImapClient, Pop3Client, SmtpClient
from mailaudit.net.connection import Connection
from mailaudit.net.errors import DnsError, NetError, TlsError
from mailaudit.protocols.session import Refusal

# How long we wait for the answer to QUIT/LOGOUT: the facts are gathered by then.
_GOODBYE_S = 2.0


class _Refused(Exception):
    """The server answered but will not talk to us now (421, 554 greeting, BYE)."""


@dataclass
class _Facts:
    """What the dialogue has learnt so far; turned into an Observation at the end, whether the
    dialogue finished or not."""

    step: str = "connect"
    greeting: str | None = None
    caps_before: tuple[str, ...] = ()
    caps_after: tuple[str, ...] = ()
    starttls_offered: bool | None = None
    starttls_again: bool | None = None
    login_before_tls: bool | None = None
    auth_before: tuple[str, ...] = ()
    auth_after: tuple[str, ...] = ()
    tls: TlsSession | None = None
    transcript: list[TranscriptLine] = field(default_factory=list)


async def probe_all_addresses(ctx: Context, endpoint: Endpoint) -> tuple[Observation, ...]:
    """Probe the endpoint at every address its host name has (A and AAAA)."""
    try:
        addresses = await ctx.resolver.addresses(endpoint.host)
    except DnsError as exc:
        return (_dns_failure(endpoint, exc),)
    return tuple(await asyncio.gather(*(probe(ctx, endpoint, address=a) for a in addresses)))


async def probe(ctx: Context, endpoint: Endpoint, *, address: str | None = None) -> Observation:
    """Probe one endpoint at one address (the first address of its host when none is given)."""
    started = ctx.monotonic()
    if address is None:
        try:
            address = (await ctx.resolver.addresses(endpoint.host))[0]
        except DnsError as exc:
            return _dns_failure(endpoint, exc)
    budget_s = ctx.settings.timeouts.endpoint_budget_s
    facts = _Facts()
    async with ctx.global_slot(), ctx.endpoint_slot(address, endpoint.port):
        try:
            async with asyncio.timeout(budget_s):
                try:
                    await _dialogue(ctx, endpoint, address, facts, verify=True)
                except _CertificateRejected as rejected:
                    # A client would stop here; we look further with a permissive handshake so the
                    # report can say what the server offers once encrypted.
                    facts = _Facts(transcript=facts.transcript)
                    await _dialogue(ctx, endpoint, address, facts, verify=False)
                    if facts.tls is not None:
                        facts.tls = replace(
                            facts.tls, certificate_valid=False, verify_error=rejected.message
                        )
            failure = None
            status = ProbeStatus.COMPLETED
        except _DialogueFailed as failed:
            failure = failed.failure
            status = (
                ProbeStatus.REFUSED if failure.reason == "refused-by-server" else ProbeStatus.FAILED
            )
        except TimeoutError:
            failure = ProbeFailure(
                "budget-exceeded",
                f"the endpoint took longer than its budget of {budget_s:g} s",
                facts.step,
            )
            status = ProbeStatus.FAILED
    return Observation(
        url=endpoint.url,
        scheme=endpoint.scheme,
        host=endpoint.host,
        address=address,
        port=endpoint.port,
        status=status,
        failure=failure,
        greeting=facts.greeting,
        capabilities_before_tls=facts.caps_before,
        capabilities_after_tls=facts.caps_after,
        starttls_offered=facts.starttls_offered,
        starttls_offered_after_tls=facts.starttls_again,
        tls=facts.tls,
        login_offered_before_tls=facts.login_before_tls,
        auth_mechanisms_before_tls=facts.auth_before,
        auth_mechanisms_after_tls=facts.auth_after,
        transcript=tuple(facts.transcript),
        elapsed_ms=int((ctx.monotonic() - started) * 1000),
    )


class _CertificateRejected(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _DialogueFailed(Exception):
    def __init__(self, failure: ProbeFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


async def _dialogue(
    ctx: Context, endpoint: Endpoint, address: str, facts: _Facts, *, verify: bool
) -> None:
    tls_context: ssl.SSLContext = ctx.verifying_tls if verify else ctx.permissive_tls
    timeouts = ctx.settings.timeouts
    conn: Connection | None = None
    try:
        conn = await Connection.open(
            address,
            endpoint.port,
            connect_timeout_s=timeouts.connect_s,
            max_bytes=ctx.settings.limits.max_bytes_per_connection,
            tls_context=tls_context if endpoint.scheme.implicit_tls else None,
            server_name=endpoint.host,
            tls_timeout_s=timeouts.tls_handshake_s,
            verified=verify,
            transcript=facts.transcript,
        )
        if conn.tls is not None:
            facts.tls = conn.tls
        facts.step = "greeting"
        family = endpoint.scheme.family
        client: SmtpClient | Pop3Client | ImapClient
        if family == "smtp":
            client = SmtpClient(conn, timeouts, ehlo_name=ctx.settings.ehlo_name)
        elif family == "pop3":
            client = Pop3Client(conn, timeouts)
        else:
            client = ImapClient(conn, timeouts)
        await _converse(client, endpoint, facts, tls_context, verify)
    except TlsError as exc:
        if exc.reason == "certificate" and verify:
            raise _CertificateRejected(
                str(exc).removeprefix("certificate verification failed: ")
            ) from exc
        # "tls-timeout", "tls-handshake-failed", "tls-buffered-data"...: the kind of TLS failure
        # matters to the reader (a silent server is not a server without TLS).
        raise _DialogueFailed(ProbeFailure(f"tls-{exc.reason}", str(exc), facts.step)) from exc
    except _Refused as exc:
        raise _DialogueFailed(ProbeFailure("refused-by-server", str(exc), facts.step)) from exc
    except NetError as exc:
        raise _DialogueFailed(ProbeFailure(exc.reason, str(exc), facts.step)) from exc
    finally:
        if conn is not None:
            await conn.close()


async def _converse(
    client: SmtpClient | Pop3Client | ImapClient,
    endpoint: Endpoint,
    facts: _Facts,
    tls_context: ssl.SSLContext,
    verified: bool,
) -> None:
    """Greeting, capabilities, STARTTLS and capabilities again: the same for every family.

    A refusal of the greeting or of the capability request (SMTP 421, POP3 `-ERR [SYS/TEMP]`,
    IMAP `NO [UNAVAILABLE]`...) ends the probe as REFUSED: what the server offers is unknown
    then, never "no STARTTLS" (issue 10 item 2)."""
    greeting = await client.greeting()
    if isinstance(greeting, Refusal):
        raise _Refused(greeting.text)
    facts.greeting = greeting.text
    facts.step = _CAPABILITY_STEP[endpoint.scheme.family]
    caps = client.session.capabilities or await client.capabilities()
    if isinstance(caps, Refusal):
        raise _Refused(caps.text)
    if endpoint.scheme.implicit_tls:
        facts.caps_after, facts.auth_after = caps.lines, caps.auth_mechanisms
    else:
        facts.caps_before, facts.auth_before = caps.lines, caps.auth_mechanisms
        facts.starttls_offered = caps.starttls
        facts.login_before_tls = caps.login_offered
        if caps.starttls:
            facts.step = "starttls"
            tls = await client.starttls(tls_context, endpoint.host, verified=verified)
            if isinstance(tls, Refusal):
                if tls.temporary:
                    raise _Refused(tls.text)
                raise _DialogueFailed(ProbeFailure("starttls-refused", tls.text, "starttls"))
            facts.tls = tls
            facts.step = f"{_CAPABILITY_STEP[endpoint.scheme.family]}-after-tls"
            after = await client.capabilities()
            if not isinstance(after, Refusal):
                facts.caps_after, facts.auth_after = after.lines, after.auth_mechanisms
                facts.starttls_again = after.starttls
    facts.step = _GOODBYE[endpoint.scheme.family]
    await _best_effort(_goodbye(client))


_CAPABILITY_STEP = {"smtp": "ehlo", "pop3": "capa", "imap": "capability"}
_GOODBYE = {"smtp": "quit", "pop3": "quit", "imap": "logout"}


async def _goodbye(client: SmtpClient | Pop3Client | ImapClient) -> None:
    if isinstance(client, ImapClient):
        await client.command("LOGOUT")
    else:
        await client.command("QUIT")


async def _best_effort(awaitable: Awaitable[object]) -> None:
    """Saying goodbye is a courtesy: its failure tells nothing about the server."""
    with contextlib.suppress(NetError, TimeoutError):
        async with asyncio.timeout(_GOODBYE_S):
            await awaitable


def _dns_failure(endpoint: Endpoint, exc: DnsError) -> Observation:
    return Observation(
        url=endpoint.url,
        scheme=endpoint.scheme,
        host=endpoint.host,
        address=None,
        port=endpoint.port,
        status=ProbeStatus.FAILED,
        failure=ProbeFailure(f"dns-{exc.reason}", str(exc), "resolve"),
    )
