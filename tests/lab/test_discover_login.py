"""`discover --login` against the lab's Dovecot and Postfix (issue 10 item 11): a wrong password is
sent once, not to every service; a slow answer after the password is "no answer", not a failure.

Dovecot delays failed logins per client address (about 1.5 s, then 6, 10, 15 s) until a login
succeeds; the tests run in this order on purpose and the last one leaves the penalty reset.
"""

from __future__ import annotations

from pathlib import Path

from mailaudit.context import Context
from mailaudit.discovery import Credentials, DiscoveryResult, LoginStatus, Protocol, discover
from mailaudit.discovery.login import check_login
from mailaudit.model import Recommendation, Security, ServerSetting, Source, Trust
from tests.conftest import lab_settings

WRONG = "not-the-password"


async def run(ctx: Context, password: str) -> DiscoveryResult:
    # A generous budget: the login's own step timeout (10 s) is what these tests look at.
    return await discover(
        ctx, "alice@good.test", credentials=Credentials(password), published_budget_s=20.0
    )


def password_mismatches(lab_env: dict[str, str]) -> int:
    """Failed password checks Dovecot's auth logged (Postfix's SMTP AUTH goes through it too)."""
    log = Path(lab_env.get("MAILAUDIT_LAB_DIR", "/tmp/mailaudit-lab")) / "log" / "dovecot.log"
    with open(log, encoding="utf-8", errors="replace") as f:
        return sum("Password mismatch" in line for line in f)


async def test_a_correct_password_checks_every_chosen_service(
    lab_ctx: Context, lab_env: dict[str, str]
) -> None:
    result = await run(lab_ctx, lab_env.get("MAILAUDIT_LAB_PASSWORD", "lab-alice-pw"))

    assert {c.protocol for c in result.logins} == {Protocol.IMAP, Protocol.POP3, Protocol.SMTP}
    assert {c.status for c in result.logins} == {LoginStatus.ACCEPTED}


async def test_a_wrong_password_is_sent_once_and_the_other_services_are_not_tried(
    lab_ctx: Context, lab_env: dict[str, str]
) -> None:
    # Given a wrong password for alice@good.test (IMAP, POP3 and SMTP are chosen)
    before = password_mismatches(lab_env)

    # When discover checks the login
    result = await run(lab_ctx, WRONG)

    # Then IMAP, asked first, rejects it and nothing else receives it
    first, *others = result.logins
    assert (first.protocol, first.status) == (Protocol.IMAP, LoginStatus.REJECTED)
    assert {c.protocol for c in others} == {Protocol.POP3, Protocol.SMTP}
    for check in others:
        assert check.status is LoginStatus.NOT_TRIED
        assert check.detail == "not tried: the password was rejected by IMAP"
    assert password_mismatches(lab_env) - before == 1


async def test_an_answer_slower_than_the_step_timeout_after_the_password_is_no_answer(
    lab_env: dict[str, str],
) -> None:
    # Given a step timeout (1 s) shorter than Dovecot's delay of a failed login (>= 1.5 s)
    ctx = Context.create(lab_settings(lab_env, reply_s=1.0))
    rec = Recommendation(
        ServerSetting(Protocol.IMAP, "imap.good.test", 993, Security.SSL, "alice@good.test"),
        Source.SRV,
        Trust.TRUSTED,
        "test",
    )

    # When a wrong password is sent
    check = await check_login(ctx, rec, Credentials(WRONG), budget_s=20.0)

    # Then the silence is reported as the server delaying a failed login, not as a failure
    assert check.status is LoginStatus.NO_ANSWER
    assert check.detail == "no answer (the server may be delaying failed logins)"

    # (Leave the lab as we found it: a successful login clears Dovecot's growing penalty.)
    patient = Context.create(lab_settings(lab_env, reply_s=30.0))
    password = lab_env.get("MAILAUDIT_LAB_PASSWORD", "lab-alice-pw")
    reset = await check_login(patient, rec, Credentials(password), budget_s=40.0)
    assert reset.status is LoginStatus.ACCEPTED
