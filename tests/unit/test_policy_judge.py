"""judge_policy on constructed observations: each finding id, and "not tested" on failures."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mailaudit.checks.dns_policy import judge_policy
from mailaudit.model import (
    ChainCheck,
    CheckRun,
    CheckStatus,
    DaneFacts,
    DmarcFacts,
    DnssecFacts,
    FetchStatus,
    Finding,
    Lookup,
    LookupStatus,
    MtaStsFacts,
    MtaStsFetch,
    MxFacts,
    MxHost,
    PolicyObservation,
    ReportAuthorisation,
    ReverseDns,
    Severity,
    SpfFacts,
    SpfNode,
    TlsRptFacts,
)
from mailaudit.policy.dane import DaneMatch, TlsaCheck, parse_tlsa
from mailaudit.policy.dmarc import parse_dmarc
from mailaudit.policy.mtasts import parse_mtasts_policy, parse_mtasts_record
from mailaudit.policy.spf import parse_spf
from mailaudit.policy.tlsrpt import parse_tlsrpt

D = "good.test"
MX = "mail.good.test"
POLICY = "version: STSv1\nmode: enforce\nmx: *.good.test\nmax_age: 604800\n"


def ok(name: str, rdtype: str, *records: str, ad: bool = False) -> Lookup:
    return Lookup(name, rdtype, LookupStatus.OK, tuple(records), ad)


def nx(name: str, rdtype: str) -> Lookup:
    return Lookup(name, rdtype, LookupStatus.NXDOMAIN)


def timeout(name: str, rdtype: str) -> Lookup:
    return Lookup(
        name, rdtype, LookupStatus.FAILED, error="timeout", message=f"{rdtype} {name}: timeout"
    )


def host(name: str = MX, address: str = "127.0.0.10", **changes: object) -> MxHost:
    base = MxHost(
        10,
        name,
        False,
        (ok(name, "A", address), Lookup(name, "AAAA", LookupStatus.NO_ANSWER)),
        (address,),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def spf_facts(
    text: str = "v=spf1 mx -all",
    *,
    domain: str = D,
    nodes: tuple[SpfNode, ...] | None = None,
    **changes: object,
) -> SpfFacts:
    record = parse_spf(text)
    base = SpfFacts(
        domain,
        ok(domain, "TXT", text),
        (text,),
        record,
        nodes=nodes if nodes is not None else (SpfNode(domain, "top", 0, record),),
        walked=True,
        lookup_terms=tuple(f"{domain}: {t}" for t in record.dns_lookup_terms),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def dmarc_facts(
    text: str = "v=DMARC1; p=reject; rua=mailto:dmarc@good.test", **changes: object
) -> DmarcFacts:
    base = DmarcFacts(D, D, (ok(f"_dmarc.{D}", "TXT", text),), D, (text,), parse_dmarc(text))
    return replace(base, **changes)  # type: ignore[arg-type]


def mtasts_facts(
    policy: str = POLICY, *, content_type: str = "text/plain", **changes: object
) -> MtaStsFacts:
    txt = "v=STSv1; id=2026112701"
    fetch = MtaStsFetch(
        f"https://mta-sts.{D}/.well-known/mta-sts.txt",
        FetchStatus.FETCHED,
        200,
        content_type,
        body_bytes=len(policy),
    )
    base = MtaStsFacts(
        ok(f"_mta-sts.{D}", "TXT", txt),
        (txt,),
        parse_mtasts_record(txt),
        fetch,
        parse_mtasts_policy(policy),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def good(**changes: object) -> PolicyObservation:
    """What good.test looks like: SPF mx -all, DMARC reject, MTA-STS enforce, TLS-RPT."""
    tlsrpt = "v=TLSRPTv1; rua=mailto:tlsrpt@good.test"
    base = PolicyObservation(
        domain=D,
        organisational_domain=D,
        mx=MxFacts(ok(D, "MX", f"10 {MX}."), (host(),)),
        spf=spf_facts(),
        helo_spf=(spf_facts("v=spf1 a -all", domain=MX),),
        dmarc=dmarc_facts(),
        mtasts=mtasts_facts(),
        tlsrpt=TlsRptFacts(ok(f"_smtp._tls.{D}", "TXT", tlsrpt), (tlsrpt,), parse_tlsrpt(tlsrpt)),
        dnssec=DnssecFacts((Lookup(D, "DNSKEY", LookupStatus.NO_ANSWER),)),
        dane=(DaneFacts(MX, nx(f"_25._tcp.{MX}", "TLSA")),),
        reverse_dns=(
            ReverseDns(MX, "127.0.0.10", ok("10.0.0.127.in-addr.arpa", "PTR", MX), (MX,), (MX,)),
        ),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def judge(obs: PolicyObservation) -> tuple[dict[str, list[Finding]], dict[str, CheckRun]]:
    findings, runs = judge_policy(obs)
    by_id: dict[str, list[Finding]] = {}
    for f in findings:
        by_id.setdefault(f.id, []).append(f)
        assert f.subject == obs.domain
    return by_id, {r.check: r for r in runs}


def test_good_domain_gives_nothing_above_low() -> None:
    findings, runs = judge(good())
    assert set(findings) == {"dnssec.unsigned"}
    assert all(f.severity is Severity.INFO for fs in findings.values() for f in fs)
    assert runs["dnssec"].status is CheckStatus.PASSED  # an info note does not fail a check
    assert runs["dane"].status is CheckStatus.NOT_APPLICABLE
    assert {r.status for r in runs.values()} <= {CheckStatus.PASSED, CheckStatus.NOT_APPLICABLE}


# --- MX --------------------------------------------------------------------------------------------


def test_mx_missing() -> None:
    findings, runs = judge(
        good(
            mx=MxFacts(Lookup(D, "MX", LookupStatus.NO_ANSWER)),
            helo_spf=(),
            dane=(),
            reverse_dns=(),
        )
    )
    assert "dns.mx-missing" in findings
    assert runs["dns.mx"].status is CheckStatus.FAILED
    assert runs["mtasts.mx-coverage"].status is CheckStatus.NOT_APPLICABLE


def test_nxdomain_makes_everything_else_not_applicable() -> None:
    findings, runs = judge(good(mx=MxFacts(nx(D, "MX"))))
    assert list(findings) == ["dns.domain-nxdomain"]
    assert all(r.status is CheckStatus.NOT_APPLICABLE for c, r in runs.items() if c != "dns.mx")


def test_valid_null_mx() -> None:
    mx = MxFacts(ok(D, "MX", "0 ."), (MxHost(0, "", False),))
    findings, runs = judge(
        good(
            mx=mx,
            helo_spf=(),
            dane=(),
            reverse_dns=(),
            mtasts=MtaStsFacts(nx(f"_mta-sts.{D}", "TXT")),
        )
    )
    assert runs["dns.mx"].status is CheckStatus.PASSED
    assert "mtasts.missing" not in findings
    assert runs["mtasts.policy"].status is CheckStatus.NOT_APPLICABLE
    assert runs["tlsrpt.record"].status is CheckStatus.NOT_APPLICABLE


def test_null_mx_mixed_with_real_mx() -> None:
    mx = MxFacts(ok(D, "MX", "0 .", f"10 {MX}."), (MxHost(0, "", False), host()))
    assert "dns.null-mx-invalid" in judge(good(mx=mx))[0]


def test_cname_ip_literal_and_unresolvable_mx() -> None:
    hosts = (
        host(canonical_name="real.good.test"),
        MxHost(20, "192.0.2.1", True),
        MxHost(
            30, "gone.good.test", False, (nx("gone.good.test", "A"), nx("gone.good.test", "AAAA"))
        ),
    )
    findings, _ = judge(good(mx=MxFacts(ok(D, "MX"), hosts)))
    assert {"dns.mx-cname", "dns.mx-ip-literal", "dns.mx-unresolvable"} <= set(findings)
    # Another MX still works: one dead MX is medium, not high.
    assert findings["dns.mx-unresolvable"][0].severity is Severity.MEDIUM


def test_only_mx_unresolvable_is_high() -> None:
    dead = MxHost(10, MX, False, (nx(MX, "A"), nx(MX, "AAAA")))
    findings, _ = judge(good(mx=MxFacts(ok(D, "MX"), (dead,))))
    assert findings["dns.mx-unresolvable"][0].severity is Severity.HIGH


def test_mx_timeout_is_not_tested_never_passed() -> None:
    _, runs = judge(good(mx=MxFacts(timeout(D, "MX"))))
    assert runs["dns.mx"].status is CheckStatus.NOT_TESTED
    assert runs["dns.mx"].reason == "MX good.test: timeout"


def test_mx_address_timeout_is_not_tested() -> None:
    slow = MxHost(10, MX, False, (timeout(MX, "A"), timeout(MX, "AAAA")))
    findings, runs = judge(good(mx=MxFacts(ok(D, "MX"), (slow,))))
    assert "dns.mx-unresolvable" not in findings
    assert runs["dns.mx"].status is CheckStatus.NOT_TESTED


# --- SPF -------------------------------------------------------------------------------------------


def test_spf_missing() -> None:
    spf = SpfFacts(D, ok(D, "TXT", "google-site-verification=x"))
    findings, runs = judge(good(spf=spf))
    assert "spf.missing" in findings
    assert runs["spf.lookups"].status is CheckStatus.NOT_APPLICABLE


def test_spf_multiple_records() -> None:
    spf = SpfFacts(
        D, ok(D, "TXT", "v=spf1 -all", "v=spf1 mx -all"), ("v=spf1 -all", "v=spf1 mx -all")
    )
    findings, _ = judge(good(spf=spf))
    assert findings["spf.multiple-records"][0].severity is Severity.HIGH


def test_spf_syntax() -> None:
    findings, runs = judge(good(spf=spf_facts("v=spf1 ip4:300.1.1.1 -all")))
    assert "spf.syntax" in findings
    assert runs["spf.all"].status is CheckStatus.NOT_APPLICABLE


def test_spf_timeout_is_not_tested() -> None:
    _, runs = judge(good(spf=SpfFacts(D, timeout(D, "TXT"))))
    for check in ("spf.record", "spf.lookups", "spf.all"):
        assert runs[check].status is CheckStatus.NOT_TESTED, check


@pytest.mark.parametrize(
    ("text", "finding_id", "severity"),
    [
        ("v=spf1 +all", "spf.plus-all", Severity.CRITICAL),
        ("v=spf1 mx all", "spf.plus-all", Severity.CRITICAL),
        ("v=spf1 mx ?all", "spf.neutral-all", Severity.LOW),
        ("v=spf1 mx", "spf.neutral-all", Severity.LOW),
        ("v=spf1 mx ~all", "spf.softfail-all", Severity.INFO),
    ],
)
def test_spf_all_policies(text: str, finding_id: str, severity: Severity) -> None:
    findings, _ = judge(good(spf=spf_facts(text)))
    assert findings[finding_id][0].severity is severity


def test_minus_all_gives_no_all_finding() -> None:
    findings, runs = judge(good(spf=spf_facts("v=spf1 mx -all")))
    assert not [i for i in findings if i.startswith("spf.")]
    assert runs["spf.all"].status is CheckStatus.PASSED


def test_plus_all_reached_through_redirect() -> None:
    top = parse_spf("v=spf1 redirect=_spf.good.test")
    target = parse_spf("v=spf1 +all")
    nodes = (SpfNode(D, "top", 0, top), SpfNode("_spf.good.test", "redirect", 1, target))
    findings, _ = judge(good(spf=spf_facts("v=spf1 redirect=_spf.good.test", nodes=nodes)))
    assert "_spf.good.test" in findings["spf.plus-all"][0].detail


def test_plus_all_in_an_include_matches_everyone() -> None:
    top = parse_spf("v=spf1 include:lax.test -all")
    nodes = (SpfNode(D, "top", 0, top), SpfNode("lax.test", "include", 1, parse_spf("v=spf1 +all")))
    findings, _ = judge(good(spf=spf_facts("v=spf1 include:lax.test -all", nodes=nodes)))
    assert findings["spf.plus-all"][0].severity is Severity.CRITICAL


def test_eleven_lookups() -> None:
    terms = tuple(f"good.test: include:s{i}.test" for i in range(11))
    findings, runs = judge(good(spf=spf_facts("v=spf1 include:s0.test -all", lookup_terms=terms)))
    finding = findings["spf.too-many-lookups"][0]
    assert finding.severity is Severity.HIGH
    assert "11 DNS lookups" in finding.detail
    assert len(finding.evidence) == 11
    assert runs["spf.lookups"].status is CheckStatus.FAILED


def test_ten_lookups_is_fine() -> None:
    terms = tuple(f"good.test: include:s{i}.test" for i in range(10))
    findings, _ = judge(good(spf=spf_facts("v=spf1 include:s0.test -all", lookup_terms=terms)))
    assert "spf.too-many-lookups" not in findings


def test_void_lookups() -> None:
    voids = ("good.test: a:gone1.test", "good.test: a:gone2.test", "good.test: mx:gone3.test")
    findings, _ = judge(good(spf=spf_facts("v=spf1 a:gone1.test -all", void_lookups=voids)))
    assert "spf.too-many-void-lookups" in findings
    findings, _ = judge(good(spf=spf_facts("v=spf1 a:gone1.test -all", void_lookups=voids[:2])))
    assert "spf.too-many-void-lookups" not in findings


def test_broken_include() -> None:
    problems = ("good.test: include:nospf.test: nospf.test has no SPF record",)
    findings, _ = judge(good(spf=spf_facts("v=spf1 include:nospf.test -all", problems=problems)))
    assert findings["spf.include-broken"][0].detail == problems[0]


def test_incomplete_walk_is_not_tested_unless_already_over() -> None:
    _, runs = judge(
        good(
            spf=spf_facts(
                "v=spf1 include:slow.test -all", incomplete="good.test: include:slow.test: timeout"
            )
        )
    )
    assert runs["spf.lookups"].status is CheckStatus.NOT_TESTED
    terms = tuple(f"good.test: include:s{i}.test" for i in range(12))
    findings, runs = judge(
        good(spf=spf_facts("v=spf1 include:s0.test -all", lookup_terms=terms, incomplete="timeout"))
    )
    assert "at least 12" in findings["spf.too-many-lookups"][0].detail
    assert runs["spf.lookups"].status is CheckStatus.FAILED


def test_ptr_mechanism() -> None:
    assert "spf.ptr-mechanism" in judge(good(spf=spf_facts("v=spf1 ptr -all")))[0]


def test_helo_missing() -> None:
    helo = (SpfFacts(MX, Lookup(MX, "TXT", LookupStatus.NO_ANSWER)),)
    findings, _ = judge(good(helo_spf=helo))
    assert findings["spf.helo-missing"][0].severity is Severity.LOW


# --- DMARC -----------------------------------------------------------------------------------------


def test_dmarc_missing() -> None:
    dmarc = DmarcFacts(D, D, (nx(f"_dmarc.{D}", "TXT"),))
    findings, runs = judge(good(dmarc=dmarc))
    assert "dmarc.missing" in findings
    assert runs["dmarc.policy"].status is CheckStatus.NOT_APPLICABLE


def test_dmarc_timeout_is_not_tested() -> None:
    _, runs = judge(good(dmarc=DmarcFacts(D, D, (timeout(f"_dmarc.{D}", "TXT"),))))
    assert runs["dmarc.record"].status is CheckStatus.NOT_TESTED
    assert runs["dmarc.policy"].status is CheckStatus.NOT_TESTED


def test_dmarc_multiple_records() -> None:
    records = ("v=DMARC1; p=reject", "v=DMARC1; p=none")
    findings, _ = judge(good(dmarc=dmarc_facts(records=records, record=None)))
    assert "dmarc.multiple-records" in findings


def test_dmarc_none_with_unauthorised_foreign_rua() -> None:
    text = "v=DMARC1; p=none; rua=mailto:reports@collector.test"
    auth = ReportAuthorisation(
        "rua",
        "mailto:reports@collector.test",
        "collector.test",
        nx("good.test._report._dmarc.collector.test", "TXT"),
        False,
    )
    findings, runs = judge(
        good(
            dmarc=dmarc_facts(
                text, records=(text,), record=parse_dmarc(text), external_reports=(auth,)
            )
        )
    )
    assert findings["dmarc.policy-none"][0].severity is Severity.MEDIUM
    assert (
        "good.test._report._dmarc.collector.test"
        in findings["dmarc.external-rua-unauthorised"][0].detail
    )
    assert runs["dmarc.external-reports"].status is CheckStatus.FAILED


def test_authorised_foreign_rua_passes() -> None:
    auth = ReportAuthorisation(
        "rua", "mailto:r@collector.test", "collector.test", ok("x", "TXT", "v=DMARC1"), True
    )
    _, runs = judge(good(dmarc=dmarc_facts(external_reports=(auth,))))
    assert runs["dmarc.external-reports"].status is CheckStatus.PASSED


def test_dmarc_syntax_and_unusable_record() -> None:
    text = "v=DMARC1; p=bogus"
    findings, _ = judge(good(dmarc=dmarc_facts(text, records=(text,), record=parse_dmarc(text))))
    assert findings["dmarc.syntax"][0].severity is Severity.HIGH


@pytest.mark.parametrize(
    ("text", "finding_id"),
    [
        ("v=DMARC1; p=reject; pct=20; rua=mailto:d@good.test", "dmarc.pct-partial"),
        ("v=DMARC1; p=reject; sp=none; rua=mailto:d@good.test", "dmarc.subdomain-policy-none"),
        ("v=DMARC1; p=reject", "dmarc.no-reports"),
    ],
)
def test_dmarc_policy_details(text: str, finding_id: str) -> None:
    assert (
        finding_id
        in judge(good(dmarc=dmarc_facts(text, records=(text,), record=parse_dmarc(text))))[0]
    )


def test_inherited_dmarc_uses_subdomain_policy() -> None:
    text = "v=DMARC1; p=reject; sp=none; rua=mailto:d@good.test"
    dmarc = DmarcFacts(
        "sub.good.test",
        D,
        (nx("_dmarc.sub.good.test", "TXT"), ok("_dmarc.good.test", "TXT", text)),
        D,
        (text,),
        parse_dmarc(text),
    )
    findings, _ = judge(good(domain="sub.good.test", dmarc=dmarc))
    assert "inherited from good.test" in findings["dmarc.policy-none"][0].detail


# --- MTA-STS ---------------------------------------------------------------------------------------


def test_mtasts_missing_is_low() -> None:
    sts = MtaStsFacts(
        nx(f"_mta-sts.{D}", "TXT"), fetch=MtaStsFetch("u", FetchStatus.FAILED, error="nxdomain")
    )
    findings, _ = judge(good(mtasts=sts))
    assert findings["mtasts.missing"][0].severity is Severity.LOW


def test_policy_without_txt_record() -> None:
    sts = replace(mtasts_facts(), lookup=nx(f"_mta-sts.{D}", "TXT"), records=(), record=None)
    assert "mtasts.record-missing" in judge(good(mtasts=sts))[0]


def test_mtasts_redirect() -> None:
    fetch = MtaStsFetch(
        "https://mta-sts.good.test/.well-known/mta-sts.txt",
        FetchStatus.REDIRECT,
        301,
        location="https://elsewhere.test/p.txt",
    )
    findings, runs = judge(good(mtasts=replace(mtasts_facts(), fetch=fetch, policy=None)))
    assert "elsewhere.test" in findings["mtasts.redirect"][0].detail
    assert runs["mtasts.mx-coverage"].status is CheckStatus.NOT_APPLICABLE


@pytest.mark.parametrize(
    ("fetch", "finding_id"),
    [
        (
            MtaStsFetch("u", FetchStatus.CERTIFICATE, error="certificate", message="unknown CA"),
            "mtasts.certificate-invalid",
        ),
        (MtaStsFetch("u", FetchStatus.HTTP_ERROR, 404), "mtasts.policy-unreachable"),
        (MtaStsFetch("u", FetchStatus.FAILED, error="refused"), "mtasts.policy-unreachable"),
        (MtaStsFetch("u", FetchStatus.TOO_LARGE, error="too-large"), "mtasts.policy-unreachable"),
    ],
)
def test_mtasts_fetch_failures(fetch: MtaStsFetch, finding_id: str) -> None:
    assert finding_id in judge(good(mtasts=replace(mtasts_facts(), fetch=fetch, policy=None)))[0]


def test_mtasts_content_type() -> None:
    assert (
        "mtasts.bad-content-type" in judge(good(mtasts=mtasts_facts(content_type="text/html")))[0]
    )
    assert (
        "mtasts.bad-content-type"
        not in judge(good(mtasts=mtasts_facts(content_type="text/plain; charset=utf-8")))[0]
    )


def test_mtasts_invalid_record_and_policy() -> None:
    sts = mtasts_facts(
        "version: STSv1\nmode: enforce\n", record=parse_mtasts_record("v=STSv1; id=bad-id")
    )
    findings, _ = judge(good(mtasts=sts))
    assert {"mtasts.record-invalid", "mtasts.policy-syntax"} <= set(findings)


def test_mx_not_covered_in_enforce_mode_is_high() -> None:
    policy = "version: STSv1\nmode: enforce\nmx: mx.other.test\nmax_age: 604800\n"
    findings, _ = judge(good(mtasts=mtasts_facts(policy)))
    finding = findings["mtasts.mx-not-covered"][0]
    assert finding.severity is Severity.HIGH
    assert MX in finding.detail


def test_wildcard_covers_one_label_only() -> None:
    policy = "version: STSv1\nmode: testing\nmx: *.good.test\nmax_age: 604800\n"
    deep = host("a.mail.good.test")
    findings, _ = judge(good(mx=MxFacts(ok(D, "MX"), (host(), deep)), mtasts=mtasts_facts(policy)))
    uncovered = findings["mtasts.mx-not-covered"]
    assert [f.severity for f in uncovered] == [Severity.MEDIUM]
    assert "a.mail.good.test" in uncovered[0].detail
    assert "mtasts.mode-testing" in findings


def test_mode_none_withdraws_the_policy() -> None:
    findings, runs = judge(
        good(mtasts=mtasts_facts("version: STSv1\nmode: none\nmax_age: 86400\n"))
    )
    assert findings["mtasts.mode-none"][0].severity is Severity.INFO
    # Mode none: no MX is required to be covered, and a short max_age does not matter.
    assert "mtasts.max-age-small" not in findings
    assert runs["mtasts.mx-coverage"].status is CheckStatus.NOT_APPLICABLE


def test_two_mtasts_records() -> None:
    records = ("v=STSv1; id=1", "v=STSv1; id=2")
    sts = replace(
        mtasts_facts(), lookup=ok(f"_mta-sts.{D}", "TXT", *records), records=records, record=None
    )
    findings, runs = judge(good(mtasts=sts))
    assert "mtasts.record-invalid" in findings
    # Senders then assume there is no policy: its mode and coverage are not judged.
    assert runs["mtasts.mode"].status is CheckStatus.NOT_APPLICABLE


def test_small_max_age() -> None:
    policy = "version: STSv1\nmode: enforce\nmx: *.good.test\nmax_age: 3600\n"
    assert (
        judge(good(mtasts=mtasts_facts(policy)))[0]["mtasts.max-age-small"][0].severity
        is Severity.LOW
    )


def test_mtasts_txt_timeout_is_not_tested() -> None:
    _, runs = judge(good(mtasts=MtaStsFacts(timeout(f"_mta-sts.{D}", "TXT"))))
    assert runs["mtasts.policy"].status is CheckStatus.NOT_TESTED


# --- TLS-RPT, DNSSEC, DANE, PTR --------------------------------------------------------------------


def test_tlsrpt_missing_is_low_when_mtasts_is_used() -> None:
    rpt = TlsRptFacts(nx(f"_smtp._tls.{D}", "TXT"))
    assert judge(good(tlsrpt=rpt))[0]["tlsrpt.missing"][0].severity is Severity.LOW
    no_sts = MtaStsFacts(nx(f"_mta-sts.{D}", "TXT"))
    assert judge(good(tlsrpt=rpt, mtasts=no_sts))[0]["tlsrpt.missing"][0].severity is Severity.INFO


def test_tlsrpt_syntax() -> None:
    text = "v=TLSRPTv1; rua=ftp://x.test"
    rpt = TlsRptFacts(ok(f"_smtp._tls.{D}", "TXT", text), (text,), parse_tlsrpt(text))
    assert "tlsrpt.syntax" in judge(good(tlsrpt=rpt))[0]


def test_dnssec_signed_and_validated_passes() -> None:
    findings, runs = judge(good(dnssec=DnssecFacts((ok(D, "DNSKEY", "257 3 13 AAAA", ad=True),))))
    assert not [i for i in findings if i.startswith("dnssec")]
    assert runs["dnssec"].status is CheckStatus.PASSED


def test_dnssec_signed_but_not_validated() -> None:
    assert (
        "dnssec.not-validated"
        in judge(good(dnssec=DnssecFacts((ok(D, "DNSKEY", "257 3 13 AAAA"),))))[0]
    )


def _dane(matched: bool, *, validated: bool = True, usage: int = 3) -> DaneFacts:
    record = parse_tlsa(f"{usage} 1 1 " + "ab" * 32)
    match = DaneMatch(
        matched, 1 if usage >= 2 else 0, (TlsaCheck(record, matched, 0 if matched else None),)
    )
    return DaneFacts(
        MX,
        ok(f"_25._tcp.{MX}", "TLSA", record.text, ad=validated),
        (record,),
        validated,
        (ChainCheck("127.0.0.10", match),),
        chains_gathered=True,
    )


def test_dane_match_passes() -> None:
    _, runs = judge(good(dane=(_dane(True),)))
    assert runs["dane"].status is CheckStatus.PASSED


def test_dane_mismatch_only_when_validated() -> None:
    findings, _ = judge(good(dane=(_dane(False),)))
    assert findings["dane.tlsa-mismatch"][0].severity is Severity.HIGH
    findings, _ = judge(good(dane=(_dane(False, validated=False),)))
    assert "dane.tlsa-mismatch" not in findings
    assert "dane.tlsa-unvalidated" in findings
    # Unvalidated records do not count, whether they match or not.
    assert "dane.tlsa-unvalidated" in judge(good(dane=(_dane(True, validated=False),)))[0]


def test_dane_pkix_usage_is_unusable() -> None:
    assert "dane.tlsa-unusable" in judge(good(dane=(_dane(False, usage=1),)))[0]


def test_dane_without_chain_is_not_tested() -> None:
    facts = replace(_dane(True), chains=(), chains_gathered=False)
    _, runs = judge(good(dane=(facts,)))
    assert runs["dane"].status is CheckStatus.NOT_TESTED
    assert runs["dane"].reason is not None
    assert "certificate chain was not gathered" in runs["dane"].reason


def test_dane_chain_fetch_failure_is_not_tested() -> None:
    facts = replace(_dane(True), chains=(ChainCheck("127.0.0.10", error="timeout"),))
    assert judge(good(dane=(facts,)))[1]["dane"].status is CheckStatus.NOT_TESTED


def test_ptr_missing_and_not_confirmed() -> None:
    missing = ReverseDns(MX, "127.0.0.10", nx("10.0.0.127.in-addr.arpa", "PTR"))
    assert "ptr.missing" in judge(good(reverse_dns=(missing,)))[0]
    wrong = ReverseDns(
        MX, "127.0.0.10", ok("10.0.0.127.in-addr.arpa", "PTR", "other.test"), ("other.test",)
    )
    assert "ptr.not-forward-confirmed" in judge(good(reverse_dns=(wrong,)))[0]


def test_ptr_timeout_is_not_tested() -> None:
    slow = ReverseDns(MX, "127.0.0.10", timeout("10.0.0.127.in-addr.arpa", "PTR"))
    assert judge(good(reverse_dns=(slow,)))[1]["ptr"].status is CheckStatus.NOT_TESTED


def test_catalogue_and_checks_agree() -> None:
    """Every id the checks emit has a catalogue entry with references, and every dns-area entry
    is emitted somewhere (no dead prose)."""
    import importlib
    import inspect
    import pkgutil
    import re

    from mailaudit.checks import dns_policy
    from mailaudit.checks.catalogue import CATALOGUE

    areas = ("dns", "spf", "dmarc", "mtasts", "tlsrpt", "dnssec", "dane", "ptr")
    # The checks live in the modules of the dns_policy package.
    source = "".join(
        inspect.getsource(importlib.import_module(f"{dns_policy.__name__}.{m.name}"))
        for m in pkgutil.iter_modules(dns_policy.__path__)
    )
    emitted = set(re.findall(r'v\.add\(\s*"([a-z0-9]+\.[a-z0-9-]+)"', source))
    catalogued = {i for i in CATALOGUE if i.split(".")[0] in areas}
    assert emitted == catalogued
    for entry in catalogued:
        assert CATALOGUE[entry].references, entry
        assert CATALOGUE[entry].remediation, entry


# --- issue 10, item 8 ------------------------------------------------------------------------


def _dmarc(text: str) -> DmarcFacts:
    return dmarc_facts(text, records=(text,), record=parse_dmarc(text))


def test_invalid_sp_with_valid_rua_is_policy_none() -> None:
    # RFC 7489 §6.6.3: receivers act as if p=none; the usable-policy check must say so.
    findings, runs = judge(
        good(dmarc=_dmarc("v=DMARC1; p=reject; sp=bogus; rua=mailto:d@good.test"))
    )
    assert "dmarc.policy-none" in findings
    assert runs["dmarc.policy"].status is CheckStatus.FAILED


def test_invalid_sp_reaches_an_inherited_subdomain() -> None:
    text = "v=DMARC1; p=reject; sp=bogus; rua=mailto:d@good.test"
    dmarc = DmarcFacts(
        "sub.good.test",
        D,
        (nx("_dmarc.sub.good.test", "TXT"), ok("_dmarc.good.test", "TXT", text)),
        D,
        (text,),
        parse_dmarc(text),
    )
    findings, _ = judge(good(domain="sub.good.test", dmarc=dmarc))
    assert "dmarc.policy-none" in findings


def test_p_not_directly_after_v_is_reported_low() -> None:
    findings, _ = judge(good(dmarc=_dmarc("v=DMARC1; rua=mailto:d@good.test; p=reject")))
    (syntax,) = findings["dmarc.syntax"]
    assert syntax.severity is Severity.LOW
    assert "directly follow" in syntax.detail


def test_colon_domain_spf_is_judged_not_rejected() -> None:
    text = "v=spf1 a:foo:bar/baz.example.com -all"
    findings, runs = judge(good(spf=spf_facts(text)))
    assert "spf.syntax" not in findings
    assert runs["spf.all"].status is CheckStatus.PASSED
