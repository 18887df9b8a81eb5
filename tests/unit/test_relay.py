"""The open-relay planner (pure) and its runner against a small in-process SMTP server on
loopback: which pairs are tried, how they are spread, and that DATA is never sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from mailaudit.context import Context
from mailaudit.model import AttemptKind, Observation, Outcome, ProbeStatus, Scheme
from mailaudit.probes.protocol_audit import audit_endpoint
from mailaudit.probes.relay import (
    MAX_ERRORS_PER_CONNECTION,
    MAX_RCPTS_PER_CONNECTION,
    ip_literal,
    plan_connections,
    planned_commands,
    relay_variants,
    run_rcpt_test,
    transaction_commands,
)
from mailaudit.protocols.smtp import smtp_command
from mailaudit.settings import Settings, Timeouts

FOREIGN = "relay-test.example"
VARIANTS = relay_variants(
    foreign=FOREIGN, address="192.0.2.25", server_name="mx.example.net", own_domain="example.net"
)


def by_name(name: str) -> tuple[str, str]:
    v = next(v for v in VARIANTS if v.name == name)
    return v.mail_from, v.rcpt_to


# ------------------------------------------------------------------------------------- variants
def test_all_sixteen_nmap_variants_are_present_in_order() -> None:
    names = [v.name[:7] for v in VARIANTS if v.name.startswith("nmap-")]
    assert names == [f"nmap-{n:02d}" for n in range(1, 17)]


@pytest.mark.parametrize(
    ("name", "mail_from", "rcpt_to"),
    [
        ("nmap-01-null-sender", "", f"relay-test@{FOREIGN}"),
        ("nmap-02-foreign-sender", f"mailaudit@{FOREIGN}", f"relay-test@{FOREIGN}"),
        ("nmap-03-server-name-sender", "mailaudit@mx.example.net", f"relay-test@{FOREIGN}"),
        ("nmap-04-ip-literal-sender", "mailaudit@[192.0.2.25]", f"relay-test@{FOREIGN}"),
        ("nmap-05-percent-hack-ip", "mailaudit@[192.0.2.25]", f"relay-test%{FOREIGN}@[192.0.2.25]"),
        ("nmap-06-percent-hack-server", "mailaudit@[192.0.2.25]", f"relay-test%{FOREIGN}@mx.example.net"),
        ("nmap-07-quoted-address", "mailaudit@[192.0.2.25]", f'"relay-test@{FOREIGN}"'),
        ("nmap-08-quoted-percent", "mailaudit@[192.0.2.25]", f'"relay-test%{FOREIGN}"'),
        ("nmap-09-double-at-ip", "mailaudit@[192.0.2.25]", f"relay-test@{FOREIGN}@[192.0.2.25]"),
        ("nmap-10-quoted-at-ip", "mailaudit@[192.0.2.25]", f'"relay-test@{FOREIGN}"@[192.0.2.25]'),
        ("nmap-11-double-at-server", "mailaudit@[192.0.2.25]", f"relay-test@{FOREIGN}@mx.example.net"),
        ("nmap-12-source-route-ip", "mailaudit@[192.0.2.25]", f"@[192.0.2.25]:relay-test@{FOREIGN}"),
        ("nmap-13-source-route-server", "mailaudit@[192.0.2.25]", f"@mx.example.net:relay-test@{FOREIGN}"),
        ("nmap-14-bang-path", "mailaudit@[192.0.2.25]", f"{FOREIGN}!relay-test"),
        ("nmap-15-bang-path-ip", "mailaudit@[192.0.2.25]", f"{FOREIGN}!relay-test@[192.0.2.25]"),
        ("nmap-16-bang-path-server", "mailaudit@[192.0.2.25]", f"{FOREIGN}!relay-test@mx.example.net"),
        ("own-01-spoofed-local-sender", "mailaudit@example.net", f"relay-test@{FOREIGN}"),
        ("own-02-percent-hack", "mailaudit@[192.0.2.25]", f"relay-test%{FOREIGN}@example.net"),
        ("own-04-bang-path", "mailaudit@[192.0.2.25]", f"{FOREIGN}!relay-test@example.net"),
        ("own-05-source-route", "mailaudit@[192.0.2.25]", f"@example.net:relay-test@{FOREIGN}"),
    ],
)  # fmt: skip
def test_variant_shapes(name: str, mail_from: str, rcpt_to: str) -> None:
    assert by_name(name) == (mail_from, rcpt_to)


def test_exactly_one_control_in_the_own_domain_and_everything_else_is_foreign() -> None:
    controls = [v for v in VARIANTS if v.kind is AttemptKind.CONTROL]
    assert len(controls) == 1
    assert controls[0].rcpt_to.endswith("@example.net")
    for v in VARIANTS:
        if v.kind is AttemptKind.RELAY:
            assert FOREIGN in v.rcpt_to.lower()


def test_ipv6_literal_and_duplicates_dropped_when_names_coincide() -> None:
    assert ip_literal("2001:db8::25") == "[IPv6:2001:db8::25]"
    same = relay_variants(
        foreign=FOREIGN, address="2001:db8::25", server_name="example.net", own_domain="example.net"
    )
    pairs = [(v.mail_from, v.rcpt_to) for v in same]
    assert len(pairs) == len(set(pairs)) < len(VARIANTS)
    assert "mailaudit@[IPv6:2001:db8::25]" in {v.mail_from for v in same}


# ----------------------------------------------------------------------------------- spreading
def test_plan_respects_postfix_error_limits_and_covers_every_variant_once() -> None:
    plan = plan_connections(VARIANTS)
    planned = [v for conn in plan for tx in conn for v in tx.variants]
    assert sorted(planned, key=lambda v: v.name) == sorted(VARIANTS, key=lambda v: v.name)
    for conn in plan:
        assert sum(len(tx.variants) for tx in conn) <= MAX_RCPTS_PER_CONNECTION
        # Worst case: every MAIL and every RCPT refused.
        assert sum(1 + len(tx.variants) for tx in conn) <= MAX_ERRORS_PER_CONNECTION
    assert len(plan) <= 5


def test_the_control_and_a_plain_foreign_recipient_share_the_first_transaction() -> None:
    first = plan_connections(VARIANTS)[0][0]
    assert first.variants[0].kind is AttemptKind.CONTROL
    assert "nmap-04-ip-literal-sender" in [v.name for v in first.variants]


def test_no_planned_command_is_data_and_every_transaction_is_reset() -> None:
    commands = planned_commands(plan_connections(VARIANTS))
    for conn in commands:
        verbs = [c.split(" ")[0].split(":")[0].upper() for c in conn]
        assert set(verbs) <= {"MAIL", "RCPT", "RSET", "QUIT"}
        assert "DATA" not in verbs
        assert "BDAT" not in verbs
        assert verbs[-1] == "QUIT"
        assert verbs[-2] == "RSET"
        # Every MAIL after the first follows a RSET: no transaction is left open.
        for i, verb in enumerate(verbs):
            if verb == "MAIL" and i > 0:
                assert verbs[i - 1] == "RSET"
        for line in conn:
            verb, _, arg = line.partition(" ")
            smtp_command(verb, arg or None)  # no CR/LF can sneak in


def test_transaction_commands_shape() -> None:
    tx = plan_connections(VARIANTS)[0][0]
    lines = transaction_commands(tx)
    assert lines[0].startswith("MAIL FROM:<")
    assert lines[-1] == "RSET"
    assert all(line.startswith("RCPT TO:<") for line in lines[1:-1])


# ------------------------------------------------------------------------ runner, fake server
Behaviour = Callable[[str], str | None]


class FakeSmtp:
    """Answers by a callback; records every command line received."""

    def __init__(
        self, answer: Behaviour, *, pipelining: bool = True, greeting: str = "220 fake ESMTP"
    ) -> None:
        self.answer = answer
        self.pipelining = pipelining
        self.greeting = greeting
        self.received: list[str] = []
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.write(f"{self.greeting}\r\n".encode())
        if self.greeting.startswith("421"):
            writer.close()
            return
        try:
            while line := await reader.readline():
                text = line.decode().rstrip("\r\n")
                self.received.append(text)
                verb = text.split(" ")[0].upper()
                if verb == "EHLO":
                    ext = "250-PIPELINING\r\n" if self.pipelining else ""
                    writer.write(f"250-fake\r\n{ext}250 8BITMIME\r\n".encode())
                elif verb == "QUIT":
                    writer.write(b"221 bye\r\n")
                    await writer.drain()
                    break
                else:
                    reply = self.answer(text)
                    if reply is None:
                        break
                    writer.write(f"{reply}\r\n".encode())
                await writer.drain()
        finally:
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[FakeSmtp], Awaitable[Observation]]]:
    servers: list[asyncio.Server] = []

    async def start(fake: FakeSmtp) -> Observation:
        server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return Observation(
            url=f"smtp://fake.test:{port}",
            scheme=Scheme.SMTP,
            host="fake.test",
            address="127.0.0.1",
            port=port,
            status=ProbeStatus.COMPLETED,
            greeting="fake ESMTP",
            starttls_offered=False,
        )

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def _ctx() -> Context:
    return Context.create(Settings(timeouts=Timeouts(connect_s=2, reply_s=2, endpoint_budget_s=10)))


def _relay_everything(line: str) -> str:
    return "250 ok"


def _refuse_foreign(line: str) -> str:
    if line.upper().startswith("RCPT") and "relay-test.example" in line.lower():
        return "554 5.7.1 Relay access denied"
    if line.upper().startswith("RCPT"):
        return "550 5.1.1 no such user"
    return "250 ok"


@pytest.mark.parametrize("pipelining", [True, False])
async def test_runner_never_sends_data_and_finds_accepted_pairs(
    serve: Callable[[FakeSmtp], Awaitable[Observation]], pipelining: bool
) -> None:
    # Given a server that accepts every recipient
    fake = FakeSmtp(_relay_everything, pipelining=pipelining)
    obs = await serve(fake)
    plan = plan_connections(VARIANTS)
    # When every relay pair is tried
    result = await run_rcpt_test(_ctx(), obs, plan, starttls=False, stop_when_proven=False)
    # Then every pair was tried, accepted, and no DATA ever reached the server
    assert result.outcome is Outcome.DONE
    assert len(result.attempts) == len(VARIANTS)
    assert all(a.accepted for a in result.attempts)
    assert fake.connections == len(plan)
    assert not [c for c in fake.received if c.upper().startswith(("DATA", "BDAT"))]
    assert fake.received.count("QUIT") == len(plan)
    assert [c for c in fake.received if c != "QUIT" and not c.startswith("EHLO")] == [
        c for conn in planned_commands(plan) for c in conn if c != "QUIT"
    ]
    evidence = [line.render() for line in result.attempts[0].evidence]
    assert evidence[0].startswith("C: MAIL FROM:<")
    assert evidence[-1] == "S: 250 ok"


async def test_runner_records_refusals(serve: Callable[[FakeSmtp], Awaitable[Observation]]) -> None:
    obs = await serve(FakeSmtp(_refuse_foreign))
    result = await run_rcpt_test(_ctx(), obs, plan_connections(VARIANTS), starttls=False)
    assert result.outcome is Outcome.DONE
    assert not any(a.accepted for a in result.attempts)
    control = next(a for a in result.attempts if a.kind is AttemptKind.CONTROL)
    assert control.refusal is not None
    assert control.refusal.code == 550


async def test_421_mid_test_is_inconclusive_and_keeps_earlier_attempts(
    serve: Callable[[FakeSmtp], Awaitable[Observation]],
) -> None:
    seen = {"rcpt": 0}

    def throttle_later(line: str) -> str | None:
        if line.upper().startswith("RCPT"):
            seen["rcpt"] += 1
            if seen["rcpt"] > 3:
                return "421 4.7.0 too many errors, closing"
            return "554 5.7.1 Relay access denied"
        return "250 ok"

    obs = await serve(FakeSmtp(throttle_later, pipelining=False))
    result = await run_rcpt_test(_ctx(), obs, plan_connections(VARIANTS), starttls=False)
    assert result.outcome is Outcome.INCONCLUSIVE
    assert "421" in (result.reason or "")
    assert 3 <= len(result.attempts) < len(VARIANTS)


async def test_421_greeting_is_inconclusive(
    serve: Callable[[FakeSmtp], Awaitable[Observation]],
) -> None:
    obs = await serve(FakeSmtp(_relay_everything, greeting="421 4.7.0 Too many connections"))
    result = await run_rcpt_test(_ctx(), obs, plan_connections(VARIANTS), starttls=False)
    assert result.outcome is Outcome.INCONCLUSIVE
    assert result.attempts == ()
    assert result.connections == 1


async def test_auth_required_everywhere_stops_after_the_first_connection(
    serve: Callable[[FakeSmtp], Awaitable[Observation]],
) -> None:
    fake = FakeSmtp(
        lambda line: (
            "530 5.7.0 Authentication required"
            if line.startswith("MAIL")
            else "503 5.5.1 need MAIL"
        )
    )
    obs = await serve(fake)
    result = await run_rcpt_test(_ctx(), obs, plan_connections(VARIANTS), starttls=False)
    assert result.outcome is Outcome.DONE
    assert result.connections == 1 == fake.connections
    assert "unauthenticated" in (result.reason or "")


async def test_the_whole_audit_never_sends_data_or_credentials(
    serve: Callable[[FakeSmtp], Awaitable[Observation]],
) -> None:
    # Given a plaintext server that accepts everything, even AUTH (it invites credentials)
    def everything(line: str) -> str:
        verb = line.split(" ")[0].upper()
        return {
            "AUTH": "334 VXNlcm5hbWU6",
            "*": "501 5.7.0 aborted",
            "VRFY": "252 2.0.0 maybe",
        }.get(verb, "250 ok")

    fake = FakeSmtp(everything)
    obs = await serve(fake)
    # DNS goes to a closed loopback port: the PTR facts fail fast, nothing leaves the machine
    ctx = Context.create(
        Settings(
            nameservers=("127.0.0.1:9",),
            timeouts=Timeouts(connect_s=2, reply_s=2, endpoint_budget_s=10, dns_s=0.5),
        )
    )
    # When the whole protocol audit runs
    audit = await audit_endpoint(ctx, obs, own_domain="example.net")
    # Then nothing but MAIL/RCPT/RSET, VRFY/EXPN, AUTH with an immediate "*" and QUIT was sent
    verbs = {line.split(" ")[0].split(":")[0].upper() for line in fake.received}
    assert verbs <= {"EHLO", "MAIL", "RCPT", "RSET", "VRFY", "EXPN", "AUTH", "*", "QUIT"}
    auth_at = [i for i, line in enumerate(fake.received) if line.startswith("AUTH")]
    assert [fake.received[i + 1] for i in auth_at] == ["*"]
    assert fake.received.count("QUIT") == fake.connections
    assert audit.relay.outcome is Outcome.DONE
    assert audit.auth_before_tls.invited is True
    assert audit.relay_over_tls.outcome is Outcome.NOT_APPLICABLE
    assert audit.starttls_injection.outcome is Outcome.NOT_APPLICABLE
    assert audit.names.outcome is Outcome.FAILED


async def test_a_proven_relay_stops_after_the_first_connection(
    serve: Callable[[FakeSmtp], Awaitable[Observation]],
) -> None:
    # Given an open relay that refuses the invalid local recipient
    fake = FakeSmtp(lambda line: "550 5.1.1 no such user" if "no-such-user" in line else "250 ok")
    obs = await serve(fake)
    # When the relay test runs
    result = await run_rcpt_test(_ctx(), obs, plan_connections(VARIANTS), starttls=False)
    # Then one connection proves it, with the control answered, and the rest is not tried
    assert result.connections == 1 == fake.connections
    assert any(a.accepted and a.kind is AttemptKind.RELAY for a in result.attempts)
    assert any(a.kind is AttemptKind.CONTROL and not a.accepted for a in result.attempts)
    assert "relaying proven" in (result.reason or "")
