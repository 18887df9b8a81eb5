"""The open-relay test: which MAIL FROM / RCPT TO pairs to try, how to spread them over
connections, and the dialogue that tries them. **DATA is never sent**: each transaction is MAIL,
RCPT..., RSET, and every connection ends with QUIT, so nothing can be queued or delivered.

The variants are nmap `smtp-open-relay`'s sixteen (null sender, %-hack, quoted local parts,
`@relay:` source routes, `!` bang paths, IP literals), plus the same tricks aimed at the target's
own domain, a spoofed local sender, a trailing-dot domain, and one *control*: an obviously invalid
recipient in the own domain. A server that accepts the control accepts everything at RCPT time
and bounces later, so its accepted relay recipients are only "probable" relaying.

Spreading (Postfix `smtpd_soft_error_limit` = 10, `smtpd_hard_error_limit` = 20): every refused
command counts as an error on the connection, and from the tenth on Postfix delays each reply by
a second. Variants sharing a sender form one transaction (one MAIL, several RCPTs); transactions
are packed into connections so that at most `MAX_RCPTS_PER_CONNECTION` recipients are tried and
at most `MAX_ERRORS_PER_CONNECTION` commands can be refused (MAIL counts, and with pipelining a
refused MAIL makes each RCPT after it fail as well). Connections run one after another, each in
the politeness slot of its (address, port); with PIPELINING a connection's whole batch goes out
in one write, so a connection costs about five round trips and a 25-variant pass four
connections. The control and the plain foreign recipient share the first transaction, and a pass
stops once relaying is proven (see `run_rcpt_test`), so an open relay costs one connection.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass

from mailaudit.context import Context
from mailaudit.model import (
    AttemptKind,
    Direction,
    Observation,
    Outcome,
    RcptAttempt,
    RcptTest,
    ServerReply,
    TranscriptLine,
)
from mailaudit.net.errors import NetError
from mailaudit.probes.audit_session import (
    SessionError,
    SmtpSession,
    check_throttled,
    note,
    reply_of,
    smtp_session,
    tail,
)
from mailaudit.protocols.smtp import smtp_command

MAX_RCPTS_PER_CONNECTION = 8
MAX_ERRORS_PER_CONNECTION = 9

# Local parts. The recipient never receives anything: DATA is never sent.
SENDER = "mailaudit"
RECIPIENT = "relay-test"
# Surely no mailbox anywhere: the control recipient.
NO_SUCH_USER = "mailaudit-no-such-user-7f3a9c"


@dataclass(frozen=True)
class RelayVariant:
    name: str
    kind: AttemptKind
    mail_from: str
    rcpt_to: str


@dataclass(frozen=True)
class Transaction:
    """One MAIL FROM and the recipients tried under it."""

    mail_from: str
    variants: tuple[RelayVariant, ...]

    @property
    def worst_errors(self) -> int:
        return 1 + len(self.variants)


def ip_literal(address: str) -> str:
    """RFC 5321 §4.1.3 address literal: [192.0.2.1] or [IPv6:2001:db8::1]."""
    ip = ipaddress.ip_address(address)
    return f"[IPv6:{ip.compressed}]" if ip.version == 6 else f"[{ip}]"


def relay_variants(
    *, foreign: str, address: str, server_name: str, own_domain: str
) -> tuple[RelayVariant, ...]:
    """Every pair to try, in a fixed order; duplicates (when the server name is the own
    domain, say) dropped. `foreign` is the relay test domain, `server_name` the name the server
    gave in its greeting (nmap's "srvname")."""
    f, s, o, i = foreign, server_name, own_domain, ip_literal(address)
    to, fr = RECIPIENT, SENDER
    relay = AttemptKind.RELAY
    listed = [
        # nmap smtp-open-relay, in its order
        ("nmap-01-null-sender", relay, "", f"{to}@{f}"),
        ("nmap-02-foreign-sender", relay, f"{fr}@{f}", f"{to}@{f}"),
        ("nmap-03-server-name-sender", relay, f"{fr}@{s}", f"{to}@{f}"),
        ("nmap-04-ip-literal-sender", relay, f"{fr}@{i}", f"{to}@{f}"),
        ("nmap-05-percent-hack-ip", relay, f"{fr}@{i}", f"{to}%{f}@{i}"),
        ("nmap-06-percent-hack-server", relay, f"{fr}@{i}", f"{to}%{f}@{s}"),
        ("nmap-07-quoted-address", relay, f"{fr}@{i}", f'"{to}@{f}"'),
        ("nmap-08-quoted-percent", relay, f"{fr}@{i}", f'"{to}%{f}"'),
        ("nmap-09-double-at-ip", relay, f"{fr}@{i}", f"{to}@{f}@{i}"),
        ("nmap-10-quoted-at-ip", relay, f"{fr}@{i}", f'"{to}@{f}"@{i}'),
        ("nmap-11-double-at-server", relay, f"{fr}@{i}", f"{to}@{f}@{s}"),
        ("nmap-12-source-route-ip", relay, f"{fr}@{i}", f"@{i}:{to}@{f}"),
        ("nmap-13-source-route-server", relay, f"{fr}@{i}", f"@{s}:{to}@{f}"),
        ("nmap-14-bang-path", relay, f"{fr}@{i}", f"{f}!{to}"),
        ("nmap-15-bang-path-ip", relay, f"{fr}@{i}", f"{f}!{to}@{i}"),
        ("nmap-16-bang-path-server", relay, f"{fr}@{i}", f"{f}!{to}@{s}"),
        # the same tricks through the target's own domain, which the server surely serves
        ("own-01-spoofed-local-sender", relay, f"{fr}@{o}", f"{to}@{f}"),
        ("own-02-percent-hack", relay, f"{fr}@{i}", f"{to}%{f}@{o}"),
        ("own-03-quoted-at", relay, f"{fr}@{i}", f'"{to}@{f}"@{o}'),
        ("own-04-bang-path", relay, f"{fr}@{i}", f"{f}!{to}@{o}"),
        ("own-05-source-route", relay, f"{fr}@{i}", f"@{o}:{to}@{f}"),
        ("own-06-double-at", relay, f"{fr}@{i}", f"{to}@{f}@{o}"),
        ("extra-01-trailing-dot", relay, f"{fr}@{i}", f"{to}@{f}."),
        ("extra-02-upper-case", relay, f"{fr}@{i}", f"{to.upper()}@{f.upper()}"),
        # the control: accepted means "accepts everything, bounces later"
        ("control-invalid-local", AttemptKind.CONTROL, f"{fr}@{i}", f"{NO_SUCH_USER}@{o}"),
    ]
    seen: set[tuple[str, str]] = set()
    out: list[RelayVariant] = []
    for name, kind, mail_from, rcpt_to in listed:
        if (mail_from, rcpt_to) in seen:
            continue
        seen.add((mail_from, rcpt_to))
        out.append(RelayVariant(name, kind, mail_from, rcpt_to))
    return tuple(out)


def plan_connections(
    variants: tuple[RelayVariant, ...],
    *,
    max_rcpts: int = MAX_RCPTS_PER_CONNECTION,
    max_errors: int = MAX_ERRORS_PER_CONNECTION,
) -> tuple[tuple[Transaction, ...], ...]:
    """Group variants by sender into transactions (first-seen order, the control first in its
    group so it is tried early) and pack them into connections within both limits."""
    groups: dict[str, list[RelayVariant]] = {}
    for v in sorted(variants, key=lambda v: v.kind is not AttemptKind.CONTROL):
        groups.setdefault(v.mail_from, []).append(v)
    order = {v.mail_from: n for n, v in reversed(list(enumerate(variants)))}
    # The control's sender goes first: its first transaction tells both whether the server
    # relays (a plain foreign recipient) and whether it accepts everything (the control).
    for v in variants:
        if v.kind is AttemptKind.CONTROL:
            order[v.mail_from] = -1
    chunks: list[Transaction] = []
    # A transaction may be split: at most max_errors - 1 recipients fit under one MAIL.
    per_tx = max(1, min(max_rcpts, max_errors - 1))
    for sender in sorted(groups, key=order.__getitem__):
        members = groups[sender]
        for start in range(0, len(members), per_tx):
            chunks.append(Transaction(sender, tuple(members[start : start + per_tx])))
    connections: list[list[Transaction]] = []
    rcpts = errors = 0
    for tx in chunks:
        if (
            not connections
            or rcpts + len(tx.variants) > max_rcpts
            or errors + tx.worst_errors > max_errors
        ):
            connections.append([])
            rcpts = errors = 0
        connections[-1].append(tx)
        rcpts += len(tx.variants)
        errors += tx.worst_errors
    return tuple(tuple(c) for c in connections)


def transaction_commands(tx: Transaction) -> list[str]:
    """The command lines of one transaction: MAIL, RCPT..., RSET. Never DATA."""
    return [
        f"MAIL FROM:<{tx.mail_from}>",
        *(f"RCPT TO:<{v.rcpt_to}>" for v in tx.variants),
        "RSET",
    ]


def planned_commands(plan: tuple[tuple[Transaction, ...], ...]) -> list[list[str]]:
    """What each connection of a plan sends after EHLO (STARTTLS aside): for review and tests."""
    return [[*(c for tx in conn for c in transaction_commands(tx)), "QUIT"] for conn in plan]


def _wire(line: str) -> bytes:
    verb, _, arg = line.partition(" ")
    return smtp_command(verb, arg or None)


async def run_rcpt_test(
    ctx: Context,
    obs: Observation,
    plan: tuple[tuple[Transaction, ...], ...],
    *,
    starttls: bool,
    stop_when_auth_required: bool = True,
    stop_when_proven: bool = True,
) -> RcptTest:
    """Try every planned pair, connection after connection. A 421 stops the test
    (INCONCLUSIVE); a lost connection stops it (FAILED); attempts made so far are kept.

    Once a relay recipient was accepted and the control answered, the rest of the plan is not
    tried: the verdict cannot change, and on Postfix every further transaction with an accepted
    recipient waits `in_flow_delay` (1 s) — each opens a queue file that RSET aborts, so no
    flow-control token comes back. A server that relays nothing opens no queue file and gets
    the whole plan at full speed."""
    started = time.monotonic()
    over_tls = starttls or obs.scheme.implicit_tls
    attempts: list[RcptAttempt] = []
    transcript: list[TranscriptLine] = []
    outcome, reason = Outcome.DONE, None
    evidence: tuple[TranscriptLine, ...] = ()
    connections = 0
    for index, conn_plan in enumerate(plan):
        connections += 1
        try:
            async with smtp_session(ctx, obs, transcript, starttls=starttls) as session:
                made = await _run_connection(session, conn_plan, over_tls=over_tls)
                attempts += made
        except SessionError as exc:
            outcome, reason, evidence = exc.outcome, exc.reason, tail(transcript)
            break
        except _Stopped as exc:
            attempts += exc.made
            outcome, reason = exc.outcome, exc.reason
            evidence = exc.made[-1].evidence if exc.made else tail(transcript)
            break
        if stop_when_proven and index + 1 < len(plan) and _relaying_proven(attempts):
            left = sum(len(tx.variants) for c in plan[index + 1 :] for tx in c)
            note(transcript, f"relaying proven; {left} pairs not tried")
            reason = f"relaying proven; the remaining {left} pairs were not tried"
            break
        if stop_when_auth_required and index == 0 and _all_need_auth(attempts):
            left = sum(len(tx.variants) for c in plan[1:] for tx in c)
            note(transcript, f"every pair refused as unauthenticated; {left} pairs not tried")
            reason = (
                "every pair was refused as unauthenticated (530 / 5.7.0); "
                f"the remaining {left} pairs were not tried"
            )
            break
    return RcptTest(
        outcome=outcome,
        reason=reason,
        evidence=evidence,
        over_tls=over_tls,
        attempts=tuple(attempts),
        connections=connections,
        elapsed_ms=int((time.monotonic() - started) * 1000),
    )


class _Stopped(Exception):
    """The connection ended early; the attempts it made are kept."""

    def __init__(self, outcome: Outcome, reason: str, made: list[RcptAttempt]) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason
        self.made = made


def _relaying_proven(attempts: list[RcptAttempt]) -> bool:
    accepted = any(a.kind is AttemptKind.RELAY and a.accepted for a in attempts)
    control_answered = any(
        a.kind is AttemptKind.CONTROL and a.rcpt_reply is not None for a in attempts
    )
    return accepted and control_answered


def _all_need_auth(attempts: list[RcptAttempt]) -> bool:
    """Every pair refused as unauthenticated (530 or 5.7.0, RFC 4954 §6) at MAIL or RCPT: the
    server wants AUTH (or STARTTLS first) whatever the addresses."""
    refusals = [a.refusal for a in attempts]
    return bool(refusals) and all(
        r is not None and (r.code == 530 or r.text.startswith("5.7.0")) for r in refusals
    )


async def _run_connection(
    session: SmtpSession, conn_plan: tuple[Transaction, ...], *, over_tls: bool
) -> list[RcptAttempt]:
    made: list[RcptAttempt] = []
    try:
        await _exchange(session, conn_plan, over_tls, made)
    except NetError as exc:
        raise _Stopped(Outcome.FAILED, f"{exc.reason}: {exc}", made) from exc
    except SessionError as exc:
        raise _Stopped(exc.outcome, exc.reason, made) from exc
    return made


async def _exchange(
    session: SmtpSession,
    conn_plan: tuple[Transaction, ...],
    over_tls: bool,
    made: list[RcptAttempt],
) -> None:
    client = session.client
    if session.pipelining:
        # RFC 2920 §3.1: MAIL, RCPT and RSET may appear anywhere in a pipelined group.
        lines = [c for tx in conn_plan for c in transaction_commands(tx)]
        await client.conn.send(b"".join(_wire(line) for line in lines))
        for tx in conn_plan:
            mail = await client.reply("MAIL")
            rcpts = [await client.reply("RCPT") for _ in tx.variants]
            rset = await client.reply("RSET")
            for variant, rcpt in zip(tx.variants, rcpts, strict=True):
                made.append(_attempt(variant, over_tls, reply_of(mail), reply_of(rcpt)))
            for reply in (mail, *rcpts, rset):
                check_throttled(reply, "the server")
        return
    for tx in conn_plan:
        mail = await client.command("MAIL", f"FROM:<{tx.mail_from}>")
        check_throttled(mail, "MAIL")
        for variant in tx.variants:
            if not mail.is_positive:
                # No RCPT after a refused MAIL: it could only fail and count as an error.
                made.append(_attempt(variant, over_tls, reply_of(mail), None))
                continue
            rcpt = await client.command("RCPT", f"TO:<{variant.rcpt_to}>")
            made.append(_attempt(variant, over_tls, reply_of(mail), reply_of(rcpt)))
            check_throttled(rcpt, "RCPT")
        rset = await client.command("RSET")
        check_throttled(rset, "RSET")


def _attempt(
    variant: RelayVariant, over_tls: bool, mail: ServerReply, rcpt: ServerReply | None
) -> RcptAttempt:
    evidence = [
        TranscriptLine(Direction.CLIENT, f"MAIL FROM:<{variant.mail_from}>"),
        *_reply_lines(mail),
    ]
    if rcpt is not None:
        evidence += [
            TranscriptLine(Direction.CLIENT, f"RCPT TO:<{variant.rcpt_to}>"),
            *_reply_lines(rcpt),
        ]
    return RcptAttempt(
        variant=variant.name,
        kind=variant.kind,
        mail_from=variant.mail_from,
        rcpt_to=variant.rcpt_to,
        over_tls=over_tls,
        mail_reply=mail,
        rcpt_reply=rcpt,
        evidence=tuple(evidence),
    )


def _reply_lines(reply: ServerReply) -> list[TranscriptLine]:
    lines = reply.text.split("\n") if reply.text else [""]
    last = len(lines) - 1
    return [
        TranscriptLine(
            Direction.SERVER,
            f"{reply.code}{'-' if n < last else ' '}{line}".rstrip(),
        )
        for n, line in enumerate(lines)
    ]


async def run_relay_pass(
    ctx: Context,
    obs: Observation,
    *,
    foreign: str,
    own_domain: str,
    server_name: str,
    starttls: bool,
) -> RcptTest:
    assert obs.address is not None
    variants = relay_variants(
        foreign=foreign, address=obs.address, server_name=server_name, own_domain=own_domain
    )
    # Network errors never escape: smtp_session and _run_connection turn them into outcomes.
    return await run_rcpt_test(ctx, obs, plan_connections(variants), starttls=starttls)


def submission_plan(*, foreign: str, own_domain: str) -> tuple[tuple[Transaction, ...], ...]:
    """Mail without AUTH to a local recipient and to a foreign one (RFC 6409 §4.3 / RFC 8314)."""
    return (
        (
            Transaction(
                f"{SENDER}@{own_domain}",
                (
                    RelayVariant(
                        "submission-local",
                        AttemptKind.LOCAL,
                        f"{SENDER}@{own_domain}",
                        f"postmaster@{own_domain}",
                    ),
                    RelayVariant(
                        "submission-foreign",
                        AttemptKind.RELAY,
                        f"{SENDER}@{own_domain}",
                        f"{RECIPIENT}@{foreign}",
                    ),
                ),
            ),
        ),
    )
