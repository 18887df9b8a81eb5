"""The DNS-policy scenarios of the lab (fixtures/lab/README.md, "TLS and DNS-policy scenarios"):
each gives its finding, and nothing else at medium or above.

DANE runs through the lab's validating resolver (127.0.0.54, `MAILAUDIT_LAB_RESOLVER`) with the
port-25 STARTTLS chain fetcher; through the authoritative server (no AD bit) the same TLSA
records must not count. These tests fail, never skip, when the lab is down."""

from __future__ import annotations

import functools

import pytest

from mailaudit.checks.dns_policy import judge_policy
from mailaudit.context import Context
from mailaudit.model import CheckRun, CheckStatus, FetchStatus, Finding, PolicyObservation, Severity
from mailaudit.probes.certificate_chain import fetch_mx_chain
from mailaudit.probes.dns_policy import gather_policy
from mailaudit.settings import Settings

pytestmark = pytest.mark.lab


@pytest.fixture
def resolver_ctx(lab_env: dict[str, str]) -> Context:
    resolver = lab_env.get("MAILAUDIT_LAB_RESOLVER")
    if not resolver:
        pytest.fail("MAILAUDIT_LAB_RESOLVER is not set: the lab has no validating resolver")
    return Context.create(Settings(nameservers=(resolver,), ca_file=lab_env["MAILAUDIT_CA_FILE"]))


async def audit(
    ctx: Context, domain: str, *, with_chains: bool = False
) -> tuple[PolicyObservation, dict[str, list[Finding]], dict[str, CheckRun]]:
    fetcher = functools.partial(fetch_mx_chain, ctx) if with_chains else None
    obs = await gather_policy(ctx, domain, fetch_certificate_chain=fetcher)
    findings, runs = judge_policy(obs)
    by_id: dict[str, list[Finding]] = {}
    for f in findings:
        by_id.setdefault(f.id, []).append(f)
    return obs, by_id, {r.check: r for r in runs}


def serious(findings: dict[str, list[Finding]]) -> set[str]:
    return {
        i for i, fs in findings.items() if any(f.severity.at_least(Severity.MEDIUM) for f in fs)
    }


async def test_nopolicy_misses_spf_dmarc_mtasts_and_tlsrpt(lab_ctx: Context) -> None:
    _, findings, runs = await audit(lab_ctx, "nopolicy.test")
    assert serious(findings) == {"spf.missing", "dmarc.missing"}
    assert {"mtasts.missing", "tlsrpt.missing"} <= set(findings)
    assert runs["spf.record"].status is CheckStatus.FAILED
    assert runs["dmarc.record"].status is CheckStatus.FAILED


async def test_spfbroken_exceeds_ten_lookups(lab_ctx: Context) -> None:
    obs, findings, runs = await audit(lab_ctx, "spfbroken.test")
    # The record is split over two TXT strings; joined, it is one record (RFC 7208 §3.3).
    assert len(obs.spf.records) == 1
    assert obs.spf.lookup_count == 11
    assert obs.spf.incomplete is None
    assert serious(findings) == {"spf.too-many-lookups"}
    finding = findings["spf.too-many-lookups"][0]
    assert finding.severity is Severity.HIGH
    assert len(finding.evidence) == 11
    assert runs["spf.lookups"].status is CheckStatus.FAILED


async def test_dmarcnone_policy_none_and_unauthorised_rua(lab_ctx: Context) -> None:
    obs, findings, runs = await audit(lab_ctx, "dmarcnone.test")
    assert serious(findings) == {"dmarc.policy-none"}
    (auth,) = obs.dmarc.external_reports
    assert (auth.destination_domain, auth.authorised) == ("collector.test", False)
    assert auth.lookup.name == "dmarcnone.test._report._dmarc.collector.test"
    assert "dmarc.external-rua-unauthorised" in findings
    assert runs["dmarc.external-reports"].status is CheckStatus.FAILED


async def test_stsredirect_is_not_followed(lab_ctx: Context) -> None:
    obs, findings, runs = await audit(lab_ctx, "stsredirect.test")
    fetch = obs.mtasts.fetch
    assert fetch is not None
    assert (fetch.status, fetch.http_status) == (FetchStatus.REDIRECT, 301)
    assert fetch.location is not None
    assert "policy.stsredirect.test" in fetch.location
    # The target serves a valid policy, but we never fetched it.
    assert obs.mtasts.policy is None
    assert serious(findings) == {"mtasts.redirect"}
    assert runs["mtasts.mx-coverage"].status is CheckStatus.NOT_APPLICABLE


async def test_stsmismatch_mx_not_covered(lab_ctx: Context) -> None:
    obs, findings, _ = await audit(lab_ctx, "stsmismatch.test")
    assert obs.mtasts.policy is not None
    assert obs.mtasts.policy.mx_patterns == ("mx.other-provider.test", "*.elsewhere.test")
    assert serious(findings) == {"mtasts.mx-not-covered"}
    finding = findings["mtasts.mx-not-covered"][0]
    assert finding.severity is Severity.HIGH  # mode enforce
    assert "mail.stsmismatch.test" in finding.detail


async def test_dane_matches_when_validated(resolver_ctx: Context) -> None:
    obs, findings, runs = await audit(resolver_ctx, "dane.test", with_chains=True)
    assert obs.dnssec.validated
    (dane,) = obs.dane
    assert dane.validated
    assert dane.unvalidated_answers == ()
    assert [c.match.matched if c.match else None for c in dane.chains] == [True]
    # The lab publishes 3 1 1 <SHA-256 of the MX key>: exactly what the server presents.
    assert dane.chains[0].match is not None
    assert dane.chains[0].match.presented_record == dane.records[0].text
    assert runs["dane"].status is CheckStatus.PASSED
    assert runs["dnssec"].status is CheckStatus.PASSED
    assert not [i for i in findings if i.startswith(("dane.", "dnssec."))]
    assert serious(findings) == set()


async def test_danebad_mismatches_when_validated(resolver_ctx: Context) -> None:
    obs, findings, runs = await audit(resolver_ctx, "danebad.test", with_chains=True)
    (dane,) = obs.dane
    assert dane.validated
    assert [c.match.matched if c.match else None for c in dane.chains] == [False]
    presented = dane.chains[0].match.presented_record if dane.chains[0].match else None
    assert presented is not None
    assert presented != dane.records[0].text
    # The evidence tells the operator which record would match.
    assert any(presented in e for e in findings["dane.tlsa-mismatch"][0].evidence)
    assert serious(findings) == {"dane.tlsa-mismatch"}
    assert findings["dane.tlsa-mismatch"][0].severity is Severity.HIGH
    assert runs["dane"].status is CheckStatus.FAILED


@pytest.mark.parametrize("domain", ["dane.test", "danebad.test"])
async def test_dane_does_not_count_without_validation(lab_ctx: Context, domain: str) -> None:
    # The authoritative server never sets AD: match or mismatch, the TLSA records do not count.
    obs, findings, _ = await audit(lab_ctx, domain, with_chains=True)
    assert not obs.dane[0].validated
    assert "dane.tlsa-unvalidated" in findings
    assert "dane.tlsa-mismatch" not in findings
    assert "dnssec.not-validated" in findings
    assert serious(findings) == set()


async def test_unsigned_good_test_has_no_ad_bit_through_the_resolver(resolver_ctx: Context) -> None:
    obs, findings, _ = await audit(resolver_ctx, "good.test")
    assert obs.dnssec.signed is False
    assert not obs.mx.lookup.authenticated
    assert [f.severity for f in findings["dnssec.unsigned"]] == [Severity.INFO]
