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
from mailaudit.protocols.imap import (
    capabilities_from,
    imap_auth_mechanisms,
    imap_login_disabled,
    imap_supports_starttls,
)
from mailaudit.protocols.pop3 import parse_capa
from mailaudit.protocols.smtp import parse_ehlo

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
        if family == "smtp":
            await _smtp(ctx, SmtpClient(conn, timeouts), endpoint, facts, tls_context, verify)
        elif family == "pop3":
            await _pop3(Pop3Client(conn, timeouts), endpoint, facts, tls_context, verify)
        else:
            await _imap(ImapClient(conn, timeouts), endpoint, facts, tls_context, verify)
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


async def _smtp(
    ctx: Context,
    client: SmtpClient,
    endpoint: Endpoint,
    facts: _Facts,
    tls_context: ssl.SSLContext,
    verified: bool,
) -> None:
    greeting = await client.reply("greeting")
    facts.greeting = greeting.text
    if not greeting.is_positive:
        raise _Refused(f"greeting {greeting.code}: {greeting.text}")
    facts.step = "ehlo"
    reply = await client.command("EHLO", ctx.settings.ehlo_name)
    if not reply.is_positive:
        raise _Refused(f"EHLO refused: {reply.code} {reply.text}")
    ehlo = parse_ehlo(reply)
    caps = _ehlo_lines(reply.lines)
    if endpoint.scheme.implicit_tls:
        facts.caps_after, facts.auth_after = caps, ehlo.auth_mechanisms
    else:
        facts.caps_before, facts.auth_before = caps, ehlo.auth_mechanisms
        facts.starttls_offered = ehlo.supports_starttls
        facts.login_before_tls = bool(ehlo.auth_mechanisms)
        if ehlo.supports_starttls:
            facts.step = "starttls"
            answer = await client.command("STARTTLS")
            if answer.code != 220:
                raise _DialogueFailed(
                    ProbeFailure(
                        "starttls-refused",
                        f"STARTTLS answered {answer.code} {answer.text}",
                        "starttls",
                    )
                )
            facts.step = "tls-handshake"
            facts.tls = await client.start_tls(tls_context, endpoint.host, verified=verified)
            facts.step = "ehlo-after-tls"
            reply = await client.command("EHLO", ctx.settings.ehlo_name)
            if reply.is_positive:
                after = parse_ehlo(reply)
                facts.caps_after, facts.auth_after = _ehlo_lines(reply.lines), after.auth_mechanisms
                facts.starttls_again = after.supports_starttls
    facts.step = "quit"
    await _best_effort(client.command("QUIT"))


async def _pop3(
    client: Pop3Client,
    endpoint: Endpoint,
    facts: _Facts,
    tls_context: ssl.SSLContext,
    verified: bool,
) -> None:
    greeting = await client.response("greeting")
    facts.greeting = greeting.text
    if not greeting.ok:
        raise _Refused(f"greeting -ERR {greeting.text}")
    facts.step = "capa"
    capa_response = await client.command("CAPA", multiline=True)
    caps = parse_capa(capa_response) if capa_response.ok else None
    lines = capa_response.lines if capa_response.ok else ()
    if endpoint.scheme.implicit_tls:
        facts.caps_after = lines
        facts.auth_after = caps.sasl_mechanisms if caps else ()
    else:
        facts.caps_before = lines
        facts.auth_before = caps.sasl_mechanisms if caps else ()
        facts.starttls_offered = bool(caps and caps.supports_stls)
        facts.login_before_tls = bool(caps and (caps.supports_user or caps.sasl_mechanisms))
        if facts.starttls_offered:
            facts.step = "starttls"
            answer = await client.command("STLS")
            if not answer.ok:
                raise _DialogueFailed(
                    ProbeFailure(
                        "starttls-refused", f"STLS answered -ERR {answer.text}", "starttls"
                    )
                )
            facts.step = "tls-handshake"
            facts.tls = await client.start_tls(tls_context, endpoint.host, verified=verified)
            facts.step = "capa-after-tls"
            after = await client.command("CAPA", multiline=True)
            if after.ok:
                parsed = parse_capa(after)
                facts.caps_after, facts.auth_after = after.lines, parsed.sasl_mechanisms
                facts.starttls_again = parsed.supports_stls
    facts.step = "quit"
    await _best_effort(client.command("QUIT"))


async def _imap(
    client: ImapClient,
    endpoint: Endpoint,
    facts: _Facts,
    tls_context: ssl.SSLContext,
    verified: bool,
) -> None:
    greeting = await client.response("greeting")
    facts.greeting = greeting.raw
    if greeting.status == "BYE" or greeting.kind != "untagged":
        raise _Refused(f"greeting: {greeting.raw}")
    facts.step = "capability"
    caps = capabilities_from(greeting) or await _imap_capabilities(client)
    if endpoint.scheme.implicit_tls:
        facts.caps_after, facts.auth_after = tuple(sorted(caps)), imap_auth_mechanisms(caps)
    else:
        facts.caps_before, facts.auth_before = tuple(sorted(caps)), imap_auth_mechanisms(caps)
        facts.starttls_offered = imap_supports_starttls(caps)
        # IMAP LOGIN is always there unless LOGINDISABLED says otherwise (RFC 9051 §6.2.3).
        facts.login_before_tls = not imap_login_disabled(caps)
        if facts.starttls_offered:
            facts.step = "starttls"
            done, _ = await client.command("STARTTLS")
            if done.status != "OK":
                raise _DialogueFailed(
                    ProbeFailure("starttls-refused", f"STARTTLS answered {done.raw}", "starttls")
                )
            facts.step = "tls-handshake"
            facts.tls = await client.start_tls(tls_context, endpoint.host, verified=verified)
            facts.step = "capability-after-tls"
            after = await _imap_capabilities(client)
            facts.caps_after, facts.auth_after = tuple(sorted(after)), imap_auth_mechanisms(after)
            facts.starttls_again = imap_supports_starttls(after)
    facts.step = "logout"
    await _best_effort(client.command("LOGOUT"))


async def _imap_capabilities(client: ImapClient) -> frozenset[str]:
    done, untagged = await client.command("CAPABILITY")
    for response in (*untagged, done):
        caps = capabilities_from(response)
        if caps is not None:
            return caps
    return frozenset()


def _ehlo_lines(lines: tuple[str, ...]) -> tuple[str, ...]:
    # The first line is the server's name and greeting; the rest are extensions.
    return tuple(lines[1:])


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
