"""The optional credential check (`discover --login`): does the recommended setting accept the
user's password?

Rules, checked before a connection is opened (`login_refusal`, pure) and during it:
- only over TLS verified against the host name (the verifying context; a failed verification
  ends the attempt before anything is sent), never before STARTTLS has completed;
- only to a host inside the user's registrable domain, unless the caller consents
  (`allow_foreign=True`, the CLI's `--allow-foreign-login`);
- the password is never written to a transcript, a log or the result: the commands that carry
  it are shown as `<redacted>`, and no transcript is kept in the result at all;
- a wrong password is tried once (issue 10 item 11): after a definite rejection, or a password
  left unanswered past the step timeout (servers delay failed logins), the other services are
  not tried (`not_tried`), so one run costs the account at most one failed login. A temporary
  refusal ([UNAVAILABLE], SMTP 4xx) is not a rejection.
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
from mailaudit.net.errors import NetError, StepTimeout
from mailaudit.protocols.session import Capabilities, Refusal, is_temporary_text


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


NO_ANSWER = "no answer (the server may be delaying failed logins)"


@dataclass
class _Attempt:
    password_sent: bool = False


def stops_further_logins(check: LoginCheck) -> bool:
    """Whether the other services must not be tried after `check`."""
    return check.status in (LoginStatus.REJECTED, LoginStatus.NO_ANSWER)


def not_tried(rec: Recommendation, after: LoginCheck) -> LoginCheck:
    why = "was rejected by" if after.status is LoginStatus.REJECTED else "got no answer from"
    return _result(
        rec,
        LoginStatus.NOT_TRIED,
        f"not tried: the password {why} {after.protocol.value.upper()}",
    )


async def check_login(
    ctx: Context, rec: Recommendation, credentials: Credentials, *, budget_s: float
) -> LoginCheck:
    attempt = _Attempt()
    try:
        async with asyncio.timeout(budget_s):
            return await _check(ctx, rec, credentials, attempt)
    except TimeoutError:
        if attempt.password_sent:
            return _result(rec, LoginStatus.NO_ANSWER, NO_ANSWER)
        return _result(rec, LoginStatus.FAILED, f"no answer within {budget_s:g} s")


async def _check(
    ctx: Context, rec: Recommendation, credentials: Credentials, attempt: _Attempt
) -> LoginCheck:
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
        status, detail = await _dialogue(ctx, conn, rec, credentials, ctx.verifying_tls, attempt)
    except StepTimeout as exc:
        if attempt.password_sent:
            status, detail = LoginStatus.NO_ANSWER, NO_ANSWER
        else:
            status, detail = LoginStatus.FAILED, f"{type(exc).__name__}: {exc}"
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
    attempt: _Attempt,
) -> tuple[LoginStatus, str]:
    s = rec.setting
    username = credentials.username_for(rec)
    if username is None:
        return LoginStatus.FAILED, "no username"
    t = ctx.settings.timeouts
    client: SmtpClient | Pop3Client | ImapClient
    if s.protocol is Protocol.SMTP:
        client = SmtpClient(conn, t, ehlo_name=ctx.settings.ehlo_name)
    elif s.protocol is Protocol.POP3:
        client = Pop3Client(conn, t)
    else:
        client = ImapClient(conn, t)
    caps = await client.open()
    if isinstance(caps, Refusal):
        return LoginStatus.FAILED, f"{caps.text}: password not sent"
    if s.security is Security.STARTTLS:
        verb = client.session.starttls_verb
        if not caps.starttls:
            return LoginStatus.FAILED, f"{verb} not offered: password not sent"
        upgraded = await client.starttls(tls, s.host, verified=True)
        if isinstance(upgraded, Refusal):
            return LoginStatus.FAILED, f"{verb} refused: password not sent"
        # What the server offered in the clear is void now (RFC 3207 §4.2, RFC 2595 §4).
        caps = await client.capabilities()
        if isinstance(caps, Refusal):
            return LoginStatus.FAILED, f"{caps.text}: password not sent"
    if isinstance(client, SmtpClient):
        return await _smtp_login(client, caps, username, credentials.password, attempt)
    if isinstance(client, Pop3Client):
        return await _pop3_login(client, username, credentials.password, attempt)
    return await _imap_login(client, username, credentials.password, attempt)


async def _smtp_login(
    smtp: SmtpClient, caps: Capabilities, username: str, password: str, attempt: _Attempt
) -> tuple[LoginStatus, str]:
    if "PLAIN" not in {m.upper() for m in caps.auth_mechanisms}:
        return LoginStatus.FAILED, "AUTH PLAIN not offered after TLS: password not sent"
    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode()
    attempt.password_sent = True
    reply = await smtp.command("AUTH", f"PLAIN {token}", shown_as="AUTH PLAIN <redacted>")
    await _quietly(smtp.command("QUIT"))
    if reply.code == 235:
        return LoginStatus.ACCEPTED, "AUTH PLAIN accepted (235)"
    if reply.is_transient:  # 454 and friends: "not now" (RFC 4954 §6), not a wrong password
        return LoginStatus.FAILED, f"AUTH PLAIN answered {reply.code}: temporary failure"
    return LoginStatus.REJECTED, f"AUTH PLAIN answered {reply.code}"


async def _pop3_login(
    pop: Pop3Client, username: str, password: str, attempt: _Attempt
) -> tuple[LoginStatus, str]:
    user = await pop.command("USER", username)
    if not user.ok:
        return _pop3_refusal("USER", user.text)
    attempt.password_sent = True
    answer = await pop.command("PASS", password, shown_as="PASS <redacted>")
    await _quietly(pop.command("QUIT"))
    if answer.ok:
        return LoginStatus.ACCEPTED, "PASS accepted"
    return _pop3_refusal("PASS", answer.text)


def _pop3_refusal(verb: str, text: str) -> tuple[LoginStatus, str]:
    if is_temporary_text(text):  # [SYS/TEMP], [IN-USE], [LOGIN-DELAY] (RFC 2449, RFC 3206)
        return LoginStatus.FAILED, f"{verb} answered -ERR {text}: temporary failure"
    return LoginStatus.REJECTED, f"{verb} answered -ERR"


async def _imap_login(
    imap: ImapClient, username: str, password: str, attempt: _Attempt
) -> tuple[LoginStatus, str]:
    attempt.password_sent = True
    done, _ = await imap.command("LOGIN", username, password, shown_as="LOGIN <redacted>")
    await _quietly(imap.command("LOGOUT"))
    if done.status == "OK":
        return LoginStatus.ACCEPTED, "LOGIN accepted"
    if is_temporary_text(done.raw):  # [UNAVAILABLE], [INUSE], [LIMIT] (RFC 5530)
        return LoginStatus.FAILED, f"LOGIN answered {done.status}: temporary failure"
    return LoginStatus.REJECTED, f"LOGIN answered {done.status}"


async def _quietly(awaitable: Awaitable[object]) -> None:
    """Saying goodbye is a courtesy; its failure changes nothing."""
    with contextlib.suppress(NetError, TimeoutError):
        async with asyncio.timeout(2.0):
            await awaitable
