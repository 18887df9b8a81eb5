"""The audit's small sub-tests, one connection each: login before TLS without credentials,
STARTTLS command injection, VRFY/EXPN, and the reverse/forward DNS of the address.

All of them are harmless by construction: no credentials are ever sent (an invited login is
aborted with "*", RFC 4954 §4 / RFC 9051 §6.2.2, or followed by QUIT), and the command injected
after STARTTLS is NOOP.
"""

from __future__ import annotations

import re

from mailaudit.context import Context
from mailaudit.model import (
    AuthProbe,
    CommandPair,
    Direction,
    EnumerationProbe,
    InjectionProbe,
    NameFacts,
    Observation,
    Outcome,
    TranscriptEvent,
    TranscriptLine,
)
from mailaudit.net.clients import ImapClient, Pop3Client, SmtpClient
from mailaudit.net.errors import DnsError, NetError, TlsError
from mailaudit.probes.audit_session import (
    SessionError,
    best_effort_command,
    check_throttled,
    open_connection,
    reply_of,
    smtp_open,
    smtp_session,
    tail,
)
from mailaudit.protocols.imap import ImapResponse
from mailaudit.protocols.pop3 import Pop3Response
from mailaudit.protocols.session import Refusal

NO_SUCH_USER = "mailaudit-no-such-user-7f3a9c"
POP3_PROBE_USER = "probe"
# How many replies we read after the handshake at most when looking for injected answers.
_MAX_REPLIES_AFTER_TLS = 5


# ----------------------------------------------------------------------------------- SMTP misc
async def smtp_misc(
    ctx: Context, obs: Observation, *, own_domain: str
) -> tuple[EnumerationProbe, EnumerationProbe, AuthProbe]:
    """One SMTP connection for VRFY, EXPN and (before TLS) AUTH LOGIN without credentials.

    VRFY and EXPN are each asked for a name that surely exists (postmaster, RFC 5321 §4.5.1)
    and one that surely does not: the difference between the two answers is what enumerates
    users, whatever the codes (Postfix with VRFY on answers 252 for known users only)."""
    transcript: list[TranscriptLine] = []
    vrfy_pairs: list[CommandPair] = []
    expn_pairs: list[CommandPair] = []
    auth = AuthProbe(Outcome.NOT_APPLICABLE, "implicit TLS: no plaintext phase")
    try:
        async with smtp_session(ctx, obs, transcript, starttls=False) as session:
            client = session.client
            # The own-domain pair first: it is the decisive one (a bare name may be refused by
            # relay policy once the server appends a domain it does not serve).
            for known, unknown in (
                (f"postmaster@{own_domain}", f"{NO_SUCH_USER}@{own_domain}"),
                ("postmaster", NO_SUCH_USER),
            ):
                vrfy_pairs.append(await _pair(client, "VRFY", known, unknown))
            expn_pairs.append(await _pair(client, "EXPN", "postmaster", NO_SUCH_USER))
            if not obs.scheme.implicit_tls:
                auth = await _smtp_auth(client, session.ehlo.auth_mechanisms, transcript)
    except SessionError as exc:
        failed = (exc.outcome, exc.reason, tail(transcript))
        vrfy = EnumerationProbe(*failed, command="VRFY", pairs=tuple(vrfy_pairs))
        expn = EnumerationProbe(*failed, command="EXPN", pairs=tuple(expn_pairs))
        if auth.outcome is Outcome.NOT_APPLICABLE and not obs.scheme.implicit_tls:
            auth = AuthProbe(*failed, command="AUTH")
        return vrfy, expn, auth
    return (
        EnumerationProbe(Outcome.DONE, None, _pair_evidence(vrfy_pairs), "VRFY", tuple(vrfy_pairs)),
        EnumerationProbe(Outcome.DONE, None, _pair_evidence(expn_pairs), "EXPN", tuple(expn_pairs)),
        auth,
    )


async def _pair(client: SmtpClient, verb: str, known: str, unknown: str) -> CommandPair:
    first = await client.command(verb, known)
    check_throttled(first, verb)
    second = await client.command(verb, unknown)
    check_throttled(second, verb)
    return CommandPair(f"{verb} {known}", reply_of(first), f"{verb} {unknown}", reply_of(second))


def _pair_evidence(pairs: list[CommandPair]) -> tuple[TranscriptLine, ...]:
    lines: list[TranscriptLine] = []
    for pair in pairs:
        for command, reply in (
            (pair.known_command, pair.known_reply),
            (pair.unknown_command, pair.unknown_reply),
        ):
            lines.append(TranscriptLine(Direction.CLIENT, command))
            if reply is not None:
                first = reply.text.split("\n")[0]
                lines.append(TranscriptLine(Direction.SERVER, f"{reply.code} {first}".rstrip()))
    return tuple(lines)


async def _smtp_auth(
    client: SmtpClient, mechanisms: tuple[str, ...], transcript: list[TranscriptLine]
) -> AuthProbe:
    """AUTH before STARTTLS: a 334 means the server would read a password in the clear. We
    answer "*" at once, which cancels the exchange (RFC 4954 §4: the server replies 501)."""
    mechanism = "PLAIN" if "PLAIN" in mechanisms and "LOGIN" not in mechanisms else "LOGIN"
    start = len(transcript)
    reply = await client.command("AUTH", mechanism)
    check_throttled(reply, "AUTH")
    invited = reply.code == 334
    if invited:
        await client.command("*")
    return AuthProbe(
        Outcome.DONE,
        None,
        tuple(transcript[start:]),
        command=f"AUTH {mechanism}",
        invited=invited,
    )


# ----------------------------------------------------------------------------------- POP3 / IMAP
async def pop3_auth(ctx: Context, obs: Observation) -> AuthProbe:
    """POP3 `USER` before STLS: +OK means the server would take the password next (RFC 1939
    §7); we QUIT instead (RFC 2595 §4 / RFC 8314 say: no plaintext login before TLS)."""
    transcript: list[TranscriptLine] = []
    command = f"USER {POP3_PROBE_USER}"
    try:
        async with open_connection(ctx, obs, transcript) as conn:
            client = Pop3Client(conn, ctx.settings.timeouts)
            greeting = await client.greeting()
            if isinstance(greeting, Refusal):
                raise SessionError(Outcome.INCONCLUSIVE, greeting.text)
            start = len(transcript)
            answer = await client.command("USER", POP3_PROBE_USER)
            evidence = tuple(transcript[start:])
            await best_effort_command(client, "QUIT")
    except SessionError as exc:
        return AuthProbe(exc.outcome, exc.reason, tail(transcript), command=command)
    code = re.match(r"\[([A-Za-z/-]+)\]", answer.text)  # RFC 3206 / 2449 extended code
    return AuthProbe(
        Outcome.DONE,
        None,
        evidence,
        command=command,
        invited=answer.ok,
        refusal_code=None if answer.ok or code is None else code.group(1).upper(),
    )


async def imap_auth(ctx: Context, obs: Observation) -> AuthProbe:
    """IMAP `AUTHENTICATE PLAIN` before STARTTLS: a "+" continuation means the server would
    read credentials in the clear; we cancel with "*" (RFC 9051 §6.2.2) and LOGOUT."""
    transcript: list[TranscriptLine] = []
    command = "AUTHENTICATE PLAIN"
    try:
        async with open_connection(ctx, obs, transcript) as conn:
            client = ImapClient(conn, ctx.settings.timeouts)
            greeting = await client.greeting()
            if isinstance(greeting, Refusal):
                raise SessionError(Outcome.INCONCLUSIVE, greeting.text)
            start = len(transcript)
            tag, data = client.session.command("AUTHENTICATE", "PLAIN")
            await conn.send(data)
            answer = await _imap_until(client, tag)
            invited = answer.kind == "continuation"
            if invited:
                await conn.send(b"*\r\n")
                await _imap_until(client, tag)
            evidence = tuple(transcript[start:])
            await best_effort_command(client, "LOGOUT")
    except SessionError as exc:
        return AuthProbe(exc.outcome, exc.reason, tail(transcript), command=command)
    refusal = None if invited or answer.code is None else answer.code.upper()
    return AuthProbe(
        Outcome.DONE, None, evidence, command=command, invited=invited, refusal_code=refusal
    )


async def _imap_until(client: ImapClient, tag: str) -> ImapResponse:
    """Read up to the tagged completion of `tag` or a continuation request (the byte limit of
    the connection bounds the loop)."""
    while True:
        response = await client.response(tag)
        if response.kind == "continuation" or (response.kind == "tagged" and response.tag == tag):
            return response
        if response.status == "BYE":
            raise SessionError(Outcome.INCONCLUSIVE, f"the server said goodbye: {response.raw}")


# ----------------------------------------------------------------------------- STARTTLS injection
async def starttls_injection(ctx: Context, obs: Observation) -> InjectionProbe:
    """Send STARTTLS and NOOP in one packet, finish the handshake, then send QUIT (LOGOUT) and
    read every answer until the server closes: a server that discards what arrived before the
    handshake answers once (QUIT); a vulnerable one first answers the injected NOOP as if it had
    come over TLS (CVE-2011-0411; Poddebniak et al., USENIX Security 2021).

    Why this is safe and deterministic: NOOP changes nothing on the server, and no timing is
    involved — the vulnerable server's extra answer comes *before* the answer to our QUIT, which
    we read to the end. Our own `Connection.start_tls` refuses to start TLS while unread bytes
    are buffered; that cannot hide the bug, because a vulnerable server sends nothing but its
    STARTTLS answer before the handshake (it reads the injected line only afterwards). If a
    server does answer the NOOP in the clear before the handshake, the refusal fires and we
    record exactly that (`answered_before_tls`).

    This is the one dialogue that writes the STARTTLS bytes itself (the session still builds the
    command and reads its answer; only the NOOP is appended) and calls the raw `handshake()`."""
    family = obs.scheme.family
    transcript: list[TranscriptLine] = []
    injected = {"smtp": "NOOP", "pop3": "NOOP", "imap": "X001 NOOP"}[family]
    try:
        async with open_connection(ctx, obs, transcript) as conn:
            if family == "smtp":
                smtp = SmtpClient(conn, ctx.settings.timeouts, ehlo_name=ctx.settings.ehlo_name)
                return await _inject_smtp(ctx, obs, smtp, transcript)
            if family == "pop3":
                return await _inject_pop3(
                    ctx, obs, Pop3Client(conn, ctx.settings.timeouts), transcript
                )
            return await _inject_imap(ctx, obs, ImapClient(conn, ctx.settings.timeouts), transcript)
    except SessionError as exc:
        return InjectionProbe(exc.outcome, exc.reason, tail(transcript), injected=injected)


def _done(
    transcript: list[TranscriptLine],
    start: int,
    injected: str,
    *,
    after: bool | None = None,
    before: bool | None = None,
    refused: bool | None = None,
    handshake_failed: bool | None = None,
) -> InjectionProbe:
    return InjectionProbe(
        Outcome.DONE,
        None,
        tuple(transcript[start:]),
        injected=injected,
        answered_after_tls=after,
        answered_before_tls=before,
        starttls_refused=refused,
        handshake_failed=handshake_failed,
    )


async def _handshake(
    client: SmtpClient | Pop3Client | ImapClient,
    obs: Observation,
    ctx: Context,
    transcript: list[TranscriptLine],
    start: int,
    injected: str,
) -> InjectionProbe | None:
    """None when TLS is up; otherwise the finished probe: the server answered in the clear
    (unread bytes were buffered), or the handshake failed."""
    try:
        await client.handshake(ctx.permissive_tls, obs.host, verified=False)
    except TlsError as exc:
        if exc.reason == "buffered-data":
            return _done(transcript, start, injected, before=True)
        if obs.tls is None:
            raise SessionError(Outcome.FAILED, f"TLS handshake failed: {exc}") from exc
        # The probe's own handshake worked: the injected bytes broke this one.
        return _done(transcript, start, injected, before=False, after=False, handshake_failed=True)
    return None


async def _inject_smtp(
    ctx: Context, obs: Observation, client: SmtpClient, transcript: list[TranscriptLine]
) -> InjectionProbe:
    await smtp_open(client)
    start = len(transcript)
    await client.conn.send(_starttls_and(client, b"NOOP\r\n"), event=TranscriptEvent.STARTTLS)
    answer = client.receive_starttls(await client.reply("STARTTLS", event=TranscriptEvent.STARTTLS))
    if isinstance(answer, Refusal):
        return _refused(answer, transcript, start, "NOOP")
    failed = await _handshake(client, obs, ctx, transcript, start, "NOOP")
    if failed is not None:
        return failed
    await client.conn.send(b"QUIT\r\n")
    replies = []
    for _ in range(_MAX_REPLIES_AFTER_TLS):
        try:
            replies.append(await client.reply("after TLS"))
        except NetError:  # closed after QUIT (or timed out): nothing more will come
            break
        if replies[-1].code == 221:
            break
    # Everything before the answer to QUIT answered the injected NOOP.
    extra = [r for r in replies if r.code != 221]
    return _done(transcript, start, "NOOP", after=bool(extra), before=False)


async def _inject_pop3(
    ctx: Context, obs: Observation, client: Pop3Client, transcript: list[TranscriptLine]
) -> InjectionProbe:
    await _open(client)
    start = len(transcript)
    await client.conn.send(_starttls_and(client, b"NOOP\r\n"), event=TranscriptEvent.STARTTLS)
    answer = client.receive_starttls(await client.response("STLS", event=TranscriptEvent.STARTTLS))
    if isinstance(answer, Refusal):
        return _refused(answer, transcript, start, "NOOP")
    failed = await _handshake(client, obs, ctx, transcript, start, "NOOP")
    if failed is not None:
        return failed
    await client.conn.send(b"QUIT\r\n")
    responses: list[Pop3Response] = []
    # POP3 answers carry no code to tell them apart: read until the server closes after QUIT
    # (RFC 1939 §6); one answer is QUIT's, any more came from the injected NOOP.
    for _ in range(_MAX_REPLIES_AFTER_TLS):
        try:
            responses.append(await client.response("after TLS"))
        except NetError:  # closed after QUIT (or timed out): nothing more will come
            break
    return _done(transcript, start, "NOOP", after=len(responses) > 1, before=False)


async def _inject_imap(
    ctx: Context, obs: Observation, client: ImapClient, transcript: list[TranscriptLine]
) -> InjectionProbe:
    await _open(client)
    start = len(transcript)
    command = _starttls_and(client, b"X001 NOOP\r\n")
    await client.conn.send(command, event=TranscriptEvent.STARTTLS)
    done, _ = await client.until_tagged(
        client.session.pending_tag or "", "STARTTLS", event=TranscriptEvent.STARTTLS
    )
    answer = client.receive_starttls(done)
    if isinstance(answer, Refusal):
        return _refused(answer, transcript, start, "X001 NOOP")
    failed = await _handshake(client, obs, ctx, transcript, start, "X001 NOOP")
    if failed is not None:
        return failed
    logout, data = client.session.command("LOGOUT")
    await client.conn.send(data)
    # Tags make IMAP exact: any answer tagged X001 is the injected command's.
    injected_answered = False
    for _ in range(_MAX_REPLIES_AFTER_TLS):
        try:
            response = await client.response("after TLS")
        except NetError:  # closed after QUIT (or timed out): nothing more will come
            break
        if response.kind == "tagged" and response.tag == "X001":
            injected_answered = True
        if response.kind == "tagged" and response.tag == logout:
            break
    return _done(transcript, start, "X001 NOOP", after=injected_answered, before=False)


def _starttls_and(client: SmtpClient | Pop3Client | ImapClient, injected: bytes) -> bytes:
    """The session's STARTTLS command with `injected` in the same packet; a connection whose own
    capabilities do not offer STARTTLS is not tested (the probe saw it, this one did not)."""
    caps = client.session.capabilities
    if caps is None or not caps.starttls:
        raise SessionError(Outcome.INCONCLUSIVE, "STARTTLS not offered on this connection")
    return client.session.starttls_command() + injected


async def _open(client: Pop3Client | ImapClient) -> None:
    """Greeting and capabilities: the session upgrades only what the server offered."""
    caps = await client.open()
    if isinstance(caps, Refusal):
        raise SessionError(Outcome.INCONCLUSIVE, caps.text)


def _refused(
    answer: Refusal, transcript: list[TranscriptLine], start: int, injected: str
) -> InjectionProbe:
    if answer.temporary:
        raise SessionError(Outcome.INCONCLUSIVE, answer.text)
    return _done(transcript, start, injected, refused=True)


# ------------------------------------------------------------------------------------------ DNS
async def name_facts(ctx: Context, obs: Observation) -> NameFacts:
    """PTR names of the address and the addresses each PTR name resolves to (FCrDNS)."""
    assert obs.address is not None
    try:
        _, names = await ctx.resolver.ptr(obs.address)
    except DnsError as exc:
        return NameFacts(Outcome.FAILED, f"PTR lookup of {obs.address} failed: {exc}")
    forward: dict[str, tuple[str, ...]] = {}
    for name in names[:5]:
        try:
            forward[name] = await ctx.resolver.lookup_addresses(name)
        except DnsError:
            forward[name] = ()
    lines = [TranscriptLine(Direction.NOTE, f"PTR {obs.address}: {', '.join(names) or '(none)'}")]
    lines += [
        TranscriptLine(Direction.NOTE, f"{name} resolves to {', '.join(a) or '(nothing)'}")
        for name, a in forward.items()
    ]
    return NameFacts(Outcome.DONE, None, tuple(lines), ptr_names=names, forward=forward)
