"""The optional credential check (`discover --login`): does the recommended setting accept the
user's password?

Rules, checked before a connection is opened (`login_refusal`, pure) and during it:
- only over TLS verified against the host name (the verifying context; a failed verification
  ends the attempt before anything is sent), never before STARTTLS has completed;
- only to a host inside the user's registrable domain, unless the caller consents
  (`allow_foreign=True`, the CLI's `--allow-foreign-login`);
- the password is never written to a transcript, a log or the result: the commands that carry
  it are shown as `<redacted>`, and no transcript is kept in the result at all.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
from collections.abc import Awaitable
from dataclasses import dataclass, field

from mailaudit.context import Context
from mailaudit.discovery.query import DomainRules, Query
from mailaudit.model import LoginCheck, LoginStatus, Protocol, Recommendation, Security
from mailaudit.net.clients import ImapClient, Pop3Client, SmtpClient
from mailaudit.net.connection import Connection
from mailaudit.net.errors import NetError
from mailaudit.protocols.imap import capabilities_from, imap_command, imap_supports_starttls
from mailaudit.protocols.pop3 import parse_capa
from mailaudit.protocols.smtp import parse_ehlo


@dataclass(frozen=True)
class Credentials:
    password: str = field(repr=False)
    # None: the username each recommended setting names (full address, local part...).
    username: str | None = None

    def username_for(self, rec: Recommendation) -> str | None:
        name = self.username or rec.setting.username
        return name if name and "%" not in name else None


def login_refusal(
    rec: Recommendation,
    query: Query,
    rules: DomainRules,
    credentials: Credentials,
    *,
    allow_foreign: bool,
) -> str | None:
    """Why the password must not go to this setting, or None when it may."""
    s = rec.setting
    if credentials.username_for(rec) is None:
        return "no username known: give an address, not a domain"
    if s.security is Security.PLAIN:
        return "the setting has no TLS"
    if not allow_foreign and not rules.same_registrable(s.host, query.domain):
        return (
            f"{s.host} is outside {query.domain}; pass --allow-foreign-login to send the "
            "password there"
        )
    return None


async def check_login(
    ctx: Context, rec: Recommendation, credentials: Credentials, *, budget_s: float
) -> LoginCheck:
    try:
        async with asyncio.timeout(budget_s):
            return await _check(ctx, rec, credentials)
    except TimeoutError:
        return _result(rec, LoginStatus.FAILED, f"no answer within {budget_s:g} s")


async def _check(ctx: Context, rec: Recommendation, credentials: Credentials) -> LoginCheck:
    s = rec.setting
    try:
        address = (await ctx.resolver.addresses(s.host))[0]
        conn = await Connection.open(
            address,
            s.port,
            connect_timeout_s=ctx.settings.timeouts.connect_s,
            max_bytes=ctx.settings.limits.max_bytes_per_connection,
            tls_context=ctx.verifying_tls if s.security is Security.SSL else None,
            server_name=s.host,
            tls_timeout_s=ctx.settings.timeouts.tls_handshake_s,
            verified=True,
        )
    except NetError as exc:
        return _result(rec, LoginStatus.FAILED, f"{exc.reason}: {exc}")
    try:
        status, detail = await _dialogue(ctx, conn, rec, credentials, ctx.verifying_tls)
    except (NetError, ValueError) as exc:
        status, detail = LoginStatus.FAILED, f"{type(exc).__name__}: {exc}"
    finally:
        await conn.close()
    return _result(rec, status, detail)


def _result(rec: Recommendation, status: LoginStatus, detail: str) -> LoginCheck:
    s = rec.setting
    return LoginCheck(s.protocol, s.host, s.port, status, detail)


async def _dialogue(
    ctx: Context,
    conn: Connection,
    rec: Recommendation,
    credentials: Credentials,
    tls: ssl.SSLContext,
) -> tuple[LoginStatus, str]:
    s = rec.setting
    username = credentials.username_for(rec)
    if username is None:
        return LoginStatus.FAILED, "no username"
    starttls = s.security is Security.STARTTLS
    t = ctx.settings.timeouts
    if s.protocol is Protocol.SMTP:
        smtp = SmtpClient(conn, t)
        if not (await smtp.reply("greeting")).is_positive:
            return LoginStatus.FAILED, "greeting refused"
        ehlo = parse_ehlo(await smtp.command("EHLO", ctx.settings.ehlo_name))
        if starttls:
            if not ehlo.supports_starttls:
                return LoginStatus.FAILED, "STARTTLS not offered: password not sent"
            if (await smtp.command("STARTTLS")).code != 220:
                return LoginStatus.FAILED, "STARTTLS refused: password not sent"
            await smtp.start_tls(tls, s.host, verified=True)
            ehlo = parse_ehlo(await smtp.command("EHLO", ctx.settings.ehlo_name))
        mechanisms = {m.upper() for m in ehlo.auth_mechanisms}
        if "PLAIN" not in mechanisms:
            return LoginStatus.FAILED, "AUTH PLAIN not offered after TLS: password not sent"
        token = base64.b64encode(f"\0{username}\0{credentials.password}".encode()).decode()
        reply = await smtp.command("AUTH", f"PLAIN {token}", shown_as="AUTH PLAIN <redacted>")
        await _quietly(smtp.command("QUIT"))
        if reply.code == 235:
            return LoginStatus.ACCEPTED, "AUTH PLAIN accepted (235)"
        return LoginStatus.REJECTED, f"AUTH PLAIN answered {reply.code}"
    if s.protocol is Protocol.POP3:
        pop = Pop3Client(conn, t)
        if not (await pop.response("greeting")).ok:
            return LoginStatus.FAILED, "greeting refused"
        if starttls:
            capa = await pop.command("CAPA", multiline=True)
            if not (capa.ok and parse_capa(capa).supports_stls):
                return LoginStatus.FAILED, "STLS not offered: password not sent"
            if not (await pop.command("STLS")).ok:
                return LoginStatus.FAILED, "STLS refused: password not sent"
            await pop.start_tls(tls, s.host, verified=True)
        if not (await pop.command("USER", username)).ok:
            return LoginStatus.REJECTED, "USER refused"
        answer = await pop.command("PASS", credentials.password, shown_as="PASS <redacted>")
        await _quietly(pop.command("QUIT"))
        if answer.ok:
            return LoginStatus.ACCEPTED, "PASS accepted"
        return LoginStatus.REJECTED, "PASS answered -ERR"
    imap = ImapClient(conn, t)
    greeting = await imap.response("greeting")
    if greeting.status not in ("OK", "PREAUTH"):
        return LoginStatus.FAILED, "greeting refused"
    if starttls:
        caps = capabilities_from(greeting)
        if caps is None:
            done, untagged = await imap.command("CAPABILITY")
            caps = next(
                (c for c in (capabilities_from(r) for r in (*untagged, done)) if c), frozenset()
            )
        if not imap_supports_starttls(caps):
            return LoginStatus.FAILED, "STARTTLS not offered: password not sent"
        done, _ = await imap.command("STARTTLS")
        if done.status != "OK":
            return LoginStatus.FAILED, "STARTTLS refused: password not sent"
        await imap.start_tls(tls, s.host, verified=True)
    tag = imap.tagger.next()
    await conn.send(
        imap_command(tag, "LOGIN", username, credentials.password),
        shown_as=f"{tag} LOGIN <redacted>",
        timeout_s=t.reply_s,
    )
    while True:
        response = await imap.response("LOGIN")
        if response.kind == "tagged" and response.tag == tag:
            break
    await _quietly(imap.command("LOGOUT"))
    if response.status == "OK":
        return LoginStatus.ACCEPTED, "LOGIN accepted"
    return LoginStatus.REJECTED, f"LOGIN answered {response.status}"


async def _quietly(awaitable: Awaitable[object]) -> None:
    """Saying goodbye is a courtesy; its failure changes nothing."""
    with contextlib.suppress(NetError, TimeoutError):
        async with asyncio.timeout(2.0):
            await awaitable
