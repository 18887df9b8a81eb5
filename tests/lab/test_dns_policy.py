"""The DNS mail policy probe and checks against the loopback lab (fixtures/lab/lab.sh start).

These fail, rather than skip, when the lab is not running (see tests/conftest.py `lab_env`)."""

from __future__ import annotations

import pytest

from mailaudit.checks.dns_policy import judge_policy
from mailaudit.context import Context
from mailaudit.model import CheckRun, CheckStatus, FetchStatus, Finding, PolicyObservation, Severity
from mailaudit.policy.dmarc import DmarcPolicy
from mailaudit.policy.mtasts import MtaStsMode
from mailaudit.probes.dns_policy import gather_policy
from mailaudit.serial import from_data, to_data
from mailaudit.settings import Settings

pytestmark = pytest.mark.lab


async def audit(
    ctx: Context, domain: str
) -> tuple[PolicyObservation, dict[str, list[Finding]], dict[str, CheckRun]]:
    obs = await gather_policy(ctx, domain)
    findings, runs = judge_policy(obs)
    by_id: dict[str, list[Finding]] = {}
    for f in findings:
        by_id.setdefault(f.id, []).append(f)
    return obs, by_id, {r.check: r for r in runs}


async def test_good_test_gives_nothing_above_low(lab_ctx: Context) -> None:
    _, findings, runs = await audit(lab_ctx, "good.test")
    above_low = [
        (f.id, f.detail)
        for fs in findings.values()
        for f in fs
        if f.severity.at_least(Severity.MEDIUM)
    ]
    assert above_low == []
    for check in (
        "dns.mx",
        "spf.record",
        "spf.lookups",
        "spf.all",
        "spf.helo",
        "dmarc.record",
        "dmarc.policy",
        "dmarc.external-reports",
        "mtasts.policy",
        "mtasts.mode",
        "mtasts.mx-coverage",
        "tlsrpt.record",
        "ptr",
    ):
        assert runs[check].status is CheckStatus.PASSED, (check, runs[check])


async def test_good_test_facts(lab_ctx: Context) -> None:
    obs, _, _ = await audit(lab_ctx, "good.test")
    assert [h.host for h in obs.mx.mail_hosts] == ["mail.good.test"]
    assert obs.mx.mail_hosts[0].addresses == ("127.0.0.10",)
    assert obs.spf.records == ("v=spf1 mx -all",)
    assert obs.spf.lookup_terms == ("good.test: mx",)
    assert obs.helo_spf[0].records == ("v=spf1 a -all",)
    assert obs.dmarc.record is not None
    assert obs.dmarc.record.policy is DmarcPolicy.REJECT
    # rua=mailto:dmarc@collector.test is outside good.test and collector.test authorises it.
    assert [(a.destination_domain, a.authorised) for a in obs.dmarc.external_reports] == [
        ("collector.test", True)
    ]
    fetch = obs.mtasts.fetch
    assert fetch is not None
    assert (fetch.status, fetch.http_status, fetch.is_text_plain) == (
        FetchStatus.FETCHED,
        200,
        True,
    )
    assert obs.mtasts.policy is not None
    assert obs.mtasts.policy.mode is MtaStsMode.ENFORCE
    assert obs.tlsrpt.record is not None
    assert obs.tlsrpt.record.is_valid
    assert obs.reverse_dns[0].confirmed_names == ("mail.good.test",)


@pytest.fixture
def resolver_ctx(lab_env: dict[str, str]) -> Context:
    """Through the lab's validating resolver (unbound), which sets the AD bit on signed zones."""
    resolver = lab_env.get("MAILAUDIT_LAB_RESOLVER")
    if not resolver:
        pytest.fail("MAILAUDIT_LAB_RESOLVER is not set: the lab has no validating resolver")
    return Context.create(Settings(nameservers=(resolver,), ca_file=lab_env["MAILAUDIT_CA_FILE"]))


async def test_good_test_through_the_validating_resolver(resolver_ctx: Context) -> None:
    _, findings, runs = await audit(resolver_ctx, "good.test")
    assert [
        f.id for fs in findings.values() for f in fs if f.severity.at_least(Severity.MEDIUM)
    ] == []
    assert runs["mtasts.mx-coverage"].status is CheckStatus.PASSED


async def test_helo_spf_is_not_judged_for_a_providers_mx(lab_ctx: Context) -> None:
    # hosted.test receives mail at mx1.provider.test: its HELO record is the provider's business.
    obs, findings, runs = await audit(lab_ctx, "hosted.test")
    assert [h.host for h in obs.mx.mail_hosts] == ["mx1.provider.test"]
    assert obs.helo_spf == ()
    assert "spf.helo-missing" not in findings
    assert runs["spf.helo"].status is CheckStatus.NOT_APPLICABLE


async def test_observation_round_trips_through_the_serialiser(lab_ctx: Context) -> None:
    obs = await gather_policy(lab_ctx, "good.test")
    assert from_data(PolicyObservation, to_data(obs)) == obs


async def test_unknown_domain_is_not_tested_never_passed(fast_lab_ctx: Context) -> None:
    # The lab DNS is not authoritative for this name and refuses: every check must say so.
    _, findings, runs = await audit(fast_lab_ctx, "no-such-zone.test")
    assert findings == {}
    assert not [c for c, r in runs.items() if r.status is CheckStatus.PASSED]
    assert runs["dns.mx"].status is CheckStatus.NOT_TESTED
