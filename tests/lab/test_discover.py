"""`discover` against the lab: real DNS (Knot), nginx autoconfig, Dovecot and Postfix.

Each scenario must give the right settings with the right source and trust level. No timing
asserts here (bench/discover.py measures time)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mailaudit.cli import main
from mailaudit.context import Context
from mailaudit.discovery import (
    Credentials,
    DiscoveryResult,
    GuessMode,
    LoginStatus,
    Protocol,
    Security,
    Source,
    SourceStatus,
    Trust,
    VerificationStatus,
    discover,
)
from mailaudit.serial import from_data, to_data

ISPDB = Path(__file__).resolve().parents[2].parent / "shared" / "ispdb"


# Generous per-candidate budgets: these tests check what is found, not how fast (other sessions
# may be loading the lab's servers at the same time); bench/discover.py measures time with the
# defaults.
async def run(
    ctx: Context,
    query: str,
    *,
    guess_mode: GuessMode = GuessMode.AUTO,
    ispdb_dir: str | None = None,
    credentials: Credentials | None = None,
) -> DiscoveryResult:
    return await discover(
        ctx,
        query,
        guess_mode=guess_mode,
        ispdb_dir=ispdb_dir,
        credentials=credentials,
        published_budget_s=20.0,
        guess_budget_s=10.0,
    )


def _ids(result: DiscoveryResult) -> list[str]:
    return [f.id for f in result.findings]


def _outcome(result: DiscoveryResult, source: Source) -> SourceStatus:
    (outcome,) = [o for o in result.sources if o.source is source]
    return outcome.status


async def test_good_test_autoconfig_over_https(lab_ctx: Context) -> None:
    result = await run(lab_ctx, "alice@good.test")

    # Then: autoconfig over HTTPS wins, trusted, everything verified with TLS.
    assert result.incoming is not None
    assert result.incoming.source is Source.AUTOCONFIG_HTTPS
    assert result.incoming.trust is Trust.TRUSTED
    s = result.incoming.setting
    assert (s.protocol, s.host, s.port, s.security) == (
        Protocol.IMAP,
        "imap.good.test",
        993,
        Security.SSL,
    )
    assert s.username == "alice@good.test"
    assert result.alternative_incoming is not None
    assert result.alternative_incoming.setting.host == "pop3.good.test"
    assert result.outgoing is not None
    o = result.outgoing.setting
    assert (o.host, o.port, o.security) == ("smtp.good.test", 465, Security.SSL)
    assert result.outgoing.mechanisms_after_tls
    assert result.provider_name == "Good Test Mail"
    assert _ids(result) == []


async def test_good_test_every_source_is_reported(lab_ctx: Context) -> None:
    result = await run(lab_ctx, "alice@good.test")

    # HTTPS autoconfig answered: plain HTTP is not asked at all (issue 10 item 4).
    assert _outcome(result, Source.AUTOCONFIG_HTTP) is SourceStatus.SKIPPED
    assert not [c for c in result.candidates if c.source is Source.AUTOCONFIG_HTTP]
    # RFC 6186 SRV records are read and verified too (Thunderbird ignores them).
    srv = {(c.setting.host, c.setting.port) for c in result.candidates if c.source is Source.SRV}
    assert ("imap.good.test", 993) in srv
    assert ("smtp.good.test", 587) in srv
    assert all(
        c.verification.status is VerificationStatus.VERIFIED
        for c in result.candidates
        if c.source is Source.SRV
    )
    assert _outcome(result, Source.AUTOCONFIG_WELLKNOWN_HTTPS) is SourceStatus.NOT_FOUND
    # Published sources answered with verified settings: no guessing needed.
    assert _outcome(result, Source.GUESS) is SourceStatus.SKIPPED


async def test_good_test_domain_query_keeps_placeholders(lab_ctx: Context) -> None:
    result = await run(lab_ctx, "good.test", guess_mode=GuessMode.NEVER)

    assert result.address is None
    assert result.incoming is not None
    assert result.incoming.setting.username == "%EMAILADDRESS%"


async def test_guess_test_found_by_guessing(lab_ctx: Context) -> None:
    result = await run(lab_ctx, "user@guess.test")

    assert result.incoming is not None
    assert result.incoming.source is Source.GUESS
    assert result.incoming.setting.protocol is Protocol.POP3
    assert result.incoming.setting.host == "pop3.guess.test"
    assert result.incoming.setting.security is Security.SSL
    assert result.outgoing is not None
    assert result.outgoing.source is Source.GUESS
    assert result.outgoing.setting.host == "smtp.guess.test"
    # 587 STARTTLS as the alternative (fixtures/lab/README.md).
    assert result.alternative_outgoing is not None
    assert (result.alternative_outgoing.setting.host, result.alternative_outgoing.setting.port) == (
        "smtp.guess.test",
        587,
    )
    assert "discovery.guessed-only" in _ids(result)
    # guess.test has no imap host: IMAP guesses at mail. and the bare name found nothing.
    assert not [c for c in result.candidates if c.setting.protocol is Protocol.IMAP]


async def test_guess_never_leaves_guess_test_empty(lab_ctx: Context) -> None:
    result = await run(lab_ctx, "user@guess.test", guess_mode=GuessMode.NEVER)

    assert result.incoming is None
    assert result.outgoing is None
    (missing,) = [f for f in result.findings if f.id == "discovery.no-settings"]
    assert missing.detail == "no working incoming or outgoing setting found"


async def test_dead_candidates_do_not_stall(lab_ctx: Context) -> None:
    # Given: mail.dead.test accepts TCP on every mail port and never speaks; smtp.dead.test
    # refuses. When: guessing with a short per-candidate budget.
    result = await discover(lab_ctx, "alice@dead.test", guess_budget_s=1.0)

    # Then: the answer comes back, says nothing works, and shows why for each candidate.
    assert result.incoming is None
    assert result.outgoing is None
    silent = [c for c in result.candidates if c.setting.host == "mail.dead.test"]
    assert silent
    assert all(not c.verification.status.usable for c in silent)
    assert all("no answer within" in c.verification.detail for c in silent)
    assert all(c.verification.status is VerificationStatus.FAILED for c in silent)
    (guess,) = [o for o in result.sources if o.source is Source.GUESS]
    assert any(a.target.startswith("smtp smtp.dead.test") for a in guess.attempts)


@pytest.mark.skipif(not ISPDB.is_dir(), reason=f"ISPDB corpus not at {ISPDB}")
async def test_ispdb_is_consulted_without_stripping_labels(lab_ctx: Context) -> None:
    result = await run(lab_ctx, "alice@good.test", ispdb_dir=str(ISPDB), guess_mode=GuessMode.NEVER)

    assert _outcome(result, Source.ISPDB) is SourceStatus.NOT_FOUND
    assert result.incoming is not None
    assert result.incoming.source is Source.AUTOCONFIG_HTTPS


def test_cli_discover_json_and_thunderbird(lab_env: dict[str, str]) -> None:
    runner = CliRunner()
    env = {k: lab_env[k] for k in ("MAILAUDIT_NAMESERVER", "MAILAUDIT_CA_FILE")}

    as_json = runner.invoke(main, ["discover", "alice@good.test", "--format", "json"], env=env)
    as_xml = runner.invoke(
        main, ["discover", "alice@good.test", "--format", "thunderbird"], env=env
    )

    assert as_json.exit_code == 0, as_json.output
    assert '"source": "autoconfig-https"' in as_json.output
    assert as_xml.exit_code == 0, as_xml.output
    assert "<hostname>imap.good.test</hostname>" in as_xml.output
    assert "<username>%EMAILADDRESS%</username>" in as_xml.output


def test_cli_discover_exit_status_when_nothing_works(lab_env: dict[str, str]) -> None:
    env = {k: lab_env[k] for k in ("MAILAUDIT_NAMESERVER", "MAILAUDIT_CA_FILE")}

    out = CliRunner().invoke(main, ["discover", "user@guess.test", "--guess", "never"], env=env)

    assert out.exit_code == 3, out.output
    assert "discovery.no-settings" in out.output


async def test_login_accepted_over_verified_tls(lab_ctx: Context, lab_env: dict[str, str]) -> None:
    password = lab_env.get("MAILAUDIT_LAB_PASSWORD", "lab-alice-pw")

    result = await run(lab_ctx, "alice@guess.test", credentials=Credentials(password))

    by_host = {c.host: c for c in result.logins}
    assert by_host["pop3.guess.test"].status is LoginStatus.ACCEPTED
    assert by_host["smtp.guess.test"].status is LoginStatus.ACCEPTED


async def test_wrong_password_is_rejected(lab_ctx: Context) -> None:
    result = await discover(
        lab_ctx, "alice@guess.test", credentials=Credentials("not-the-password")
    )

    pop = [c for c in result.logins if c.protocol is Protocol.POP3]
    assert [c.status for c in pop] == [LoginStatus.REJECTED]


def test_cli_never_prints_the_password(lab_env: dict[str, str]) -> None:
    env = {k: lab_env[k] for k in ("MAILAUDIT_NAMESERVER", "MAILAUDIT_CA_FILE")}
    env["LAB_PW"] = lab_env.get("MAILAUDIT_LAB_PASSWORD", "lab-alice-pw")

    out = CliRunner().invoke(
        main,
        ["discover", "alice@guess.test", "--login", "--password-env", "LAB_PW", "--format", "json"],
        env=env,
    )

    assert '"status": "accepted"' in out.output
    assert env["LAB_PW"] not in out.output


# --- the discovery scenarios (fixtures/lab/README.md) ------------------------------------------


async def test_wellknown_only(lab_ctx: Context) -> None:
    result = await run(lab_ctx, "alice@wellknown.test")

    assert result.incoming is not None
    assert result.incoming.source is Source.AUTOCONFIG_WELLKNOWN_HTTPS
    assert result.incoming.trust is Trust.TRUSTED
    assert (result.incoming.setting.host, result.incoming.setting.port) == (
        "mail.wellknown.test",
        993,
    )
    assert result.outgoing is not None
    assert result.outgoing.source is Source.AUTOCONFIG_WELLKNOWN_HTTPS
    assert _outcome(result, Source.AUTOCONFIG_HTTPS) is SourceStatus.NOT_FOUND
    assert _ids(result) == []


async def test_autoconfig_over_plain_http_only_is_untrusted(lab_ctx: Context) -> None:
    result = await run(lab_ctx, "alice@httponly.test")

    assert result.incoming is not None
    assert result.incoming.source is Source.AUTOCONFIG_HTTP
    assert result.incoming.trust is Trust.UNTRUSTED
    assert result.incoming.setting.host == "mail.httponly.test"
    assert result.incoming.setting.security is Security.SSL
    assert "discovery.untrusted-source" in _ids(result)
    assert _outcome(result, Source.AUTOCONFIG_HTTPS) is not SourceStatus.FOUND


async def test_srv_only_with_unguessable_names(lab_ctx: Context) -> None:
    result = await run(lab_ctx, "alice@srvonly.test")

    assert result.incoming is not None
    assert result.incoming.source is Source.SRV
    assert result.incoming.trust is Trust.TRUSTED
    assert (result.incoming.setting.host, result.incoming.setting.port) == (
        "in-x7.srvonly.test",
        993,
    )
    assert result.incoming.setting.security is Security.SSL
    assert result.outgoing is not None
    assert (result.outgoing.setting.host, result.outgoing.setting.port) == (
        "out-q3.srvonly.test",
        465,
    )
    # _pop3s/_pop3 have target ".": POP3 is explicitly not offered.
    assert result.alternative_incoming is None
    (srv,) = [o for o in result.sources if o.source is Source.SRV]
    assert any("not offered" in a.outcome for a in srv.attempts)


async def test_hosted_domain_found_through_its_mx_provider(lab_ctx: Context) -> None:
    result = await run(lab_ctx, "alice@hosted.test")

    assert result.incoming is not None
    assert result.incoming.source is Source.MX_AUTOCONFIG
    assert result.incoming.trust is Trust.TRUSTED
    assert result.incoming.setting.host == "imap.provider.test"
    assert result.incoming.setting.username == "alice@hosted.test"
    assert result.outgoing is not None
    assert result.outgoing.setting.host == "smtp.provider.test"
    (mx,) = [o for o in result.sources if o.source is Source.MX_AUTOCONFIG]
    assert "provider.test" in mx.detail


async def test_provider_domain_itself(lab_ctx: Context) -> None:
    result = await run(lab_ctx, "alice@provider.test")

    assert result.incoming is not None
    assert result.incoming.source is Source.AUTOCONFIG_HTTPS
    assert result.incoming.setting.host == "imap.provider.test"


async def test_autodiscover_pox_only(lab_ctx: Context) -> None:
    result = await run(lab_ctx, "alice@autodisc.test")

    assert result.incoming is not None
    assert result.incoming.source is Source.AUTODISCOVER
    assert result.incoming.trust is Trust.TRUSTED
    s = result.incoming.setting
    assert (s.protocol, s.host, s.port, s.security) == (
        Protocol.IMAP,
        "mail.autodisc.test",
        993,
        Security.SSL,
    )
    assert result.alternative_incoming is not None
    assert result.alternative_incoming.setting.port == 995
    assert result.outgoing is not None
    assert result.outgoing.setting.port == 465
    assert result.outgoing.source is Source.AUTODISCOVER


async def test_autoconfig_pointing_at_a_port_without_tls(lab_ctx: Context) -> None:
    result = await run(lab_ctx, "alice@conflict.test")

    # The published SSL on 993 meets a plaintext IMAP server: reported, never recommended.
    published = [
        c
        for c in result.candidates
        if c.source is Source.AUTOCONFIG_HTTPS and c.setting.protocol is Protocol.IMAP
    ]
    assert published
    assert published[0].verification.status is VerificationStatus.NO_TLS
    conflicts = [f for f in result.findings if f.id == "discovery.source-conflict"]
    assert any("mail.conflict.test:993" in f.detail for f in conflicts)
    if result.incoming is not None:
        assert result.incoming.source is not Source.AUTOCONFIG_HTTPS
        assert result.incoming.setting.security is not Security.PLAIN


async def test_real_result_round_trips_through_the_serialiser(lab_ctx: Context) -> None:
    result = await run(lab_ctx, "alice@conflict.test")

    assert from_data(DiscoveryResult, to_data(result)) == result
