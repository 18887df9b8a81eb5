"""Judging a domain's DNS mail policy: `PolicyObservation` in, findings and check runs out.

Pure: no I/O, no clock. Each `_check_*` function is one check (one `CheckRun`); a check whose
facts could not be gathered (a DNS timeout) says `not_tested` with the reason, never `passed`.
A check whose only findings are informational still passes; it fails at low and above.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from mailaudit.checks.catalogue import finding
from mailaudit.model import CheckRun, CheckStatus, Finding, Severity
from mailaudit.policy.dmarc import DmarcPolicy
from mailaudit.policy.mtasts import MtaStsMode, uncovered_mx_hosts
from mailaudit.policy.observation import (
    FetchStatus,
    Lookup,
    LookupStatus,
    PolicyObservation,
    SpfFacts,
)
from mailaudit.policy.spf import DNS_LOOKUP_LIMIT, VOID_LOOKUP_LIMIT, Mechanism, Qualifier

__all__ = ["MTASTS_MIN_MAX_AGE_S", "judge_policy"]

# RFC 8461 §3.2 suggests a max_age of weeks: below one week we say it is short.
MTASTS_MIN_MAX_AGE_S = 604_800


@dataclass
class _Verdict:
    check: str
    findings: list[Finding] = field(default_factory=list)
    status: CheckStatus | None = None
    reasons: list[str] = field(default_factory=list)

    def add(
        self,
        finding_id: str,
        subject: str,
        detail: str,
        *,
        evidence: Iterable[str] = (),
        severity: Severity | None = None,
    ) -> None:
        self.findings.append(
            finding(finding_id, subject, detail, evidence=evidence, severity=severity)
        )

    def not_tested(self, reason: str) -> None:
        self.reasons.append(reason)

    def run(self, subject: str) -> CheckRun:
        status = self.status
        if status is None:
            if any(f.severity.at_least(Severity.LOW) for f in self.findings):
                status = CheckStatus.FAILED
            elif self.reasons:
                status = CheckStatus.NOT_TESTED
            else:
                status = CheckStatus.PASSED
        reason = "; ".join(self.reasons) or None
        return CheckRun(self.check, subject, status, reason, tuple(f.id for f in self.findings))


def judge_policy(obs: PolicyObservation) -> tuple[list[Finding], list[CheckRun]]:
    """All DNS mail policy checks of one domain; the subject of every finding is the domain."""
    findings: list[Finding] = []
    runs: list[CheckRun] = []
    for check in _CHECKS:
        verdict = check(obs)
        if obs.mx.lookup.status is LookupStatus.NXDOMAIN and verdict.check != "dns.mx":
            verdict = _Verdict(
                verdict.check,
                status=CheckStatus.NOT_APPLICABLE,
                reasons=["the domain does not exist"],
            )
        findings.extend(verdict.findings)
        runs.append(verdict.run(obs.domain))
    return findings, runs


def _failed(lookup: Lookup) -> str:
    return f"{lookup.rdtype} {lookup.name}: {lookup.error}"


def _mx_gate(obs: PolicyObservation, check: str) -> _Verdict | None:
    """Checks about the MX hosts: not tested when the MX lookup failed, not applicable to a
    domain without MX hosts (null MX or none)."""
    if obs.mx.lookup.failed:
        return _Verdict(check, reasons=[_failed(obs.mx.lookup)])
    if obs.mx.is_null_mx:
        return _not_applicable(check, "the domain accepts no mail (null MX)")
    if not obs.mx.mail_hosts:
        return _not_applicable(check, "no MX hosts")
    return None


def _not_applicable(check: str, reason: str) -> _Verdict:
    return _Verdict(check, status=CheckStatus.NOT_APPLICABLE, reasons=[reason])


# --- MX -------------------------------------------------------------------------------------------


def _check_mx(obs: PolicyObservation) -> _Verdict:
    v = _Verdict("dns.mx")
    mx, domain = obs.mx, obs.domain
    if mx.lookup.failed:
        v.not_tested(_failed(mx.lookup))
        return v
    if mx.lookup.status is LookupStatus.NXDOMAIN:
        v.add(
            "dns.domain-nxdomain",
            domain,
            f"{domain} does not exist (NXDOMAIN).",
            evidence=[mx.lookup.evidence],
        )
        return v
    if not mx.hosts:
        v.add(
            "dns.mx-missing",
            domain,
            f"{domain} has no MX record; senders fall back to its address records.",
            evidence=[mx.lookup.evidence],
        )
        return v
    if mx.null_mx_records and not mx.is_null_mx:
        v.add(
            "dns.null-mx-invalid",
            domain,
            "A null MX must be the only MX record and have preference 0.",
            evidence=[mx.lookup.evidence],
        )
    for host in mx.mail_hosts:
        if host.is_ip_literal:
            v.add(
                "dns.mx-ip-literal",
                domain,
                f"The MX target {host.host} is an address, not a host name.",
                evidence=[mx.lookup.evidence],
            )
            continue
        if host.canonical_name:
            v.add(
                "dns.mx-cname",
                domain,
                f"The MX target {host.host} is an alias of {host.canonical_name}.",
                evidence=[lk.evidence for lk in host.address_lookups],
            )
        if host.addresses:
            continue
        if host.resolution_failed:
            v.not_tested(
                f"addresses of {host.host}: "
                + ", ".join(_failed(lk) for lk in host.address_lookups if lk.failed)
            )
        else:
            v.add(
                "dns.mx-unresolvable",
                domain,
                f"The MX host {host.host} has no A or AAAA record.",
                evidence=[lk.evidence for lk in host.address_lookups],
                severity=None if _all_unresolvable(obs) else Severity.MEDIUM,
            )
    return v


def _all_unresolvable(obs: PolicyObservation) -> bool:
    return not any(h.addresses for h in obs.mx.mail_hosts)


# --- SPF ------------------------------------------------------------------------------------------


def _check_spf_record(obs: PolicyObservation) -> _Verdict:
    v = _Verdict("spf.record")
    spf, domain = obs.spf, obs.domain
    if spf.lookup.failed:
        v.not_tested(_failed(spf.lookup))
        return v
    if not spf.records:
        v.add(
            "spf.missing",
            domain,
            f"{domain} publishes no v=spf1 record.",
            evidence=[spf.lookup.evidence],
        )
        return v
    if len(spf.records) > 1:
        v.add(
            "spf.multiple-records",
            domain,
            f"{domain} publishes {len(spf.records)} v=spf1 records.",
            evidence=spf.records,
        )
        return v
    assert spf.record is not None
    if spf.record.errors:
        v.add("spf.syntax", domain, "; ".join(spf.record.errors), evidence=[spf.record.text])
    ptr_users = [
        f"{n.domain}: {n.record.text}"
        for n in spf.nodes
        if any(m.kind is Mechanism.PTR for m in n.record.mechanisms)
    ]
    if ptr_users or any(m.kind is Mechanism.PTR for m in spf.record.mechanisms):
        v.add(
            "spf.ptr-mechanism",
            domain,
            "The SPF policy uses the ptr mechanism.",
            evidence=ptr_users or [spf.record.text],
        )
    return v


def _check_spf_lookups(obs: PolicyObservation) -> _Verdict:
    v = _Verdict("spf.lookups")
    spf, domain = obs.spf, obs.domain
    if spf.record is None or not spf.walked:
        if spf.lookup.failed:
            v.not_tested(_failed(spf.lookup))
            return v
        return _not_applicable(v.check, "no single SPF record to evaluate")
    if spf.record.errors:
        return _not_applicable(v.check, "the SPF record itself is invalid")
    at_least = "at least " if spf.incomplete else ""
    if spf.lookup_count > DNS_LOOKUP_LIMIT:
        v.add(
            "spf.too-many-lookups",
            domain,
            f"Evaluating the SPF policy of {domain} takes {at_least}{spf.lookup_count} DNS lookups; the limit is {DNS_LOOKUP_LIMIT}.",
            evidence=spf.lookup_terms,
        )
    if spf.void_lookup_count > VOID_LOOKUP_LIMIT:
        v.add(
            "spf.too-many-void-lookups",
            domain,
            f"{spf.void_lookup_count} terms of the SPF policy of {domain} look up names with no records; the limit is {VOID_LOOKUP_LIMIT}.",
            evidence=spf.void_lookups,
        )
    for problem in spf.problems:
        v.add("spf.include-broken", domain, problem, evidence=[problem])
    if spf.incomplete:
        v.not_tested(f"SPF walk incomplete: {spf.incomplete}")
    return v


def _final_records(spf: SpfFacts) -> list[tuple[str, Qualifier | None]]:
    """The `all` in force: the top record's, or along its redirect= chain."""
    chain: list[tuple[str, Qualifier | None]] = []
    for node in spf.nodes:
        if node.via in ("top", "redirect"):
            mechanism = node.record.all_mechanism
            chain.append((node.domain, mechanism.qualifier if mechanism else None))
    return chain


def _check_spf_all(obs: PolicyObservation) -> _Verdict:
    v = _Verdict("spf.all")
    spf, domain = obs.spf, obs.domain
    if spf.record is None or spf.record.errors:
        if spf.lookup.failed:
            v.not_tested(_failed(spf.lookup))
            return v
        return _not_applicable(v.check, "no valid SPF record")
    chain = _final_records(spf) or [
        (domain, spf.record.all_mechanism.qualifier if spf.record.all_mechanism else None)
    ]
    # The first record along the redirect chain that has an "all" decides; without one, the
    # default result is neutral (RFC 7208 §4.7).
    deciding = next(((d, q) for d, q in chain if q is not None), None)
    redirect_unresolved = spf.record.effective_redirect is not None and len(chain) == 1
    if deciding is None and redirect_unresolved:
        v.not_tested(f"the redirect= target of {domain} could not be evaluated")
    elif deciding is None or deciding[1] is Qualifier.NEUTRAL:
        where = f" (in {deciding[0]})" if deciding and deciding[0] != domain else ""
        what = (
            "ends in ?all"
            if deciding
            else "has no 'all' term, so unlisted hosts get a neutral result"
        )
        v.add(
            "spf.neutral-all",
            domain,
            f"The SPF policy of {domain} {what}{where}.",
            evidence=[spf.record.text],
        )
    elif deciding[1] is Qualifier.PASS:
        where = f" (in {deciding[0]})" if deciding[0] != domain else ""
        v.add(
            "spf.plus-all",
            domain,
            f"The SPF policy of {domain} ends in +all{where}: every host passes.",
            evidence=[spf.record.text],
        )
    elif deciding[1] is Qualifier.SOFTFAIL:
        v.add(
            "spf.softfail-all",
            domain,
            f"The SPF policy of {domain} ends in ~all.",
            evidence=[spf.record.text],
        )
    # An include of a record that passes everything matches every sender (RFC 7208 §5.2).
    for node in spf.nodes:
        mechanism = node.record.all_mechanism
        if (
            node.via == "include"
            and mechanism is not None
            and mechanism.qualifier is Qualifier.PASS
        ):
            v.add(
                "spf.plus-all",
                domain,
                f"{domain} includes {node.domain}, whose record ends in +all: the include matches every host.",
                evidence=[f"{node.domain}: {node.record.text}"],
            )
    return v


def _check_spf_helo(obs: PolicyObservation) -> _Verdict:
    v = _Verdict("spf.helo")
    gate = _mx_gate(obs, v.check)
    if gate is not None:
        return gate
    if not obs.helo_spf:
        return _not_applicable(v.check, "no MX host inside the organisational domain")
    for facts in obs.helo_spf:
        if facts.lookup.failed:
            v.not_tested(_failed(facts.lookup))
        elif not facts.records:
            v.add(
                "spf.helo-missing",
                obs.domain,
                f"The MX host {facts.domain} publishes no SPF record.",
                evidence=[facts.lookup.evidence],
            )
    return v


# --- DMARC ----------------------------------------------------------------------------------------


def _check_dmarc_record(obs: PolicyObservation) -> _Verdict:
    v = _Verdict("dmarc.record")
    dmarc, domain = obs.dmarc, obs.domain
    failed = dmarc.failed_lookup
    evidence = [lk.evidence for lk in dmarc.lookups]
    if failed is not None and not dmarc.records:
        v.not_tested(_failed(failed))
        return v
    if not dmarc.records:
        v.add(
            "dmarc.missing",
            domain,
            f"Neither _dmarc.{domain} nor its organisational domain publishes a DMARC record.",
            evidence=evidence,
        )
        return v
    if len(dmarc.records) > 1:
        v.add(
            "dmarc.multiple-records",
            domain,
            f"_dmarc.{dmarc.found_at} holds {len(dmarc.records)} DMARC records; receivers apply none.",
            evidence=dmarc.records,
        )
        return v
    record = dmarc.record
    assert record is not None
    if record.errors:
        severity = None if record.is_usable else Severity.HIGH
        discarded = "" if record.is_usable else " Receivers discard the record."
        v.add(
            "dmarc.syntax",
            domain,
            "; ".join(record.errors) + "." + discarded,
            evidence=[record.text],
            severity=severity,
        )
    return v


def _check_dmarc_policy(obs: PolicyObservation) -> _Verdict:
    v = _Verdict("dmarc.policy")
    dmarc, domain = obs.dmarc, obs.domain
    record = dmarc.record
    if record is None or not record.is_usable:
        if dmarc.failed_lookup is not None and not dmarc.records:
            v.not_tested(_failed(dmarc.failed_lookup))
            return v
        return _not_applicable(v.check, "no usable DMARC record")
    inherited = f" (inherited from {dmarc.found_at})" if dmarc.inherited else ""
    # A subdomain under its organisational domain's record gets `sp` (RFC 7489 §6.6.3).
    policy = record.effective_subdomain_policy if dmarc.inherited else record.effective_policy
    if policy is DmarcPolicy.NONE:
        v.add(
            "dmarc.policy-none",
            domain,
            f"The DMARC policy for {domain} is none{inherited}: failing mail is delivered as usual.",
            evidence=[record.text],
        )
    elif record.percent < 100:
        v.add(
            "dmarc.pct-partial",
            domain,
            f"pct={record.percent}: the {policy.value} policy applies to {record.percent}% of failing mail{inherited}.",
            evidence=[record.text],
        )
    if not dmarc.inherited and record.subdomain_policy is DmarcPolicy.NONE and policy.enforces:
        v.add(
            "dmarc.subdomain-policy-none",
            domain,
            f"sp=none: subdomains of {domain} are not protected.",
            evidence=[record.text],
        )
    if not record.rua:
        v.add(
            "dmarc.no-reports",
            domain,
            "The DMARC record has no rua= destination.",
            evidence=[record.text],
        )
    return v


def _check_dmarc_reports(obs: PolicyObservation) -> _Verdict:
    v = _Verdict("dmarc.external-reports")
    if obs.dmarc.record is None:
        if obs.dmarc.failed_lookup is not None and not obs.dmarc.records:
            v.not_tested(_failed(obs.dmarc.failed_lookup))
            return v
        return _not_applicable(v.check, "no DMARC record")
    if not obs.dmarc.external_reports:
        return _not_applicable(v.check, "no report destination outside the organisational domain")
    for auth in obs.dmarc.external_reports:
        if auth.authorised is None:
            v.not_tested(_failed(auth.lookup))
        elif not auth.authorised:
            v.add(
                "dmarc.external-rua-unauthorised",
                obs.domain,
                f"{auth.tag}={auth.uri}: {auth.destination_domain} does not publish {auth.lookup.name}.",
                evidence=[auth.lookup.evidence],
            )
    return v


# --- MTA-STS --------------------------------------------------------------------------------------


def _check_mtasts_policy(obs: PolicyObservation) -> _Verdict:
    v = _Verdict("mtasts.policy")
    sts, domain = obs.mtasts, obs.domain
    gate = _mx_gate(obs, v.check)
    if gate is not None:
        return gate
    if sts.lookup.failed:
        v.not_tested(_failed(sts.lookup))
        return v
    fetch = sts.fetch
    if not sts.records:
        if (
            fetch is not None
            and fetch.status is FetchStatus.FETCHED
            and sts.policy is not None
            and sts.policy.is_valid
        ):
            v.add(
                "mtasts.record-missing",
                domain,
                f"{fetch.url} serves a policy but _mta-sts.{domain} has no v=STSv1 record.",
                evidence=[sts.lookup.evidence],
            )
        else:
            v.add(
                "mtasts.missing",
                domain,
                f"_mta-sts.{domain} has no v=STSv1 record.",
                evidence=[sts.lookup.evidence],
            )
        return v
    if len(sts.records) > 1:
        v.add(
            "mtasts.record-invalid",
            domain,
            f"_mta-sts.{domain} has {len(sts.records)} v=STSv1 records.",
            evidence=sts.records,
        )
    elif sts.record is not None and sts.record.errors:
        v.add(
            "mtasts.record-invalid",
            domain,
            "; ".join(sts.record.errors),
            evidence=[sts.record.text],
        )
    if fetch is None:
        v.not_tested("the policy was not fetched")
        return v
    evidence = [fetch.url + (f": HTTP {fetch.http_status}" if fetch.http_status else "")]
    if fetch.status is FetchStatus.REDIRECT:
        v.add(
            "mtasts.redirect",
            domain,
            f"{fetch.url} answers HTTP {fetch.http_status} to {fetch.location}; senders do not follow redirects.",
            evidence=[*evidence, f"Location: {fetch.location}"],
        )
    elif fetch.status is FetchStatus.CERTIFICATE:
        v.add(
            "mtasts.certificate-invalid",
            domain,
            f"The certificate of mta-sts.{domain} does not validate ({fetch.message}).",
            evidence=evidence,
        )
    elif fetch.status is not FetchStatus.FETCHED:
        why = (
            f"HTTP {fetch.http_status}"
            if fetch.status is FetchStatus.HTTP_ERROR
            else (fetch.message or fetch.error or fetch.status.value)
        )
        # Network errors already name the URL.
        detail = why if why.startswith(fetch.url) else f"{fetch.url}: {why}"
        v.add("mtasts.policy-unreachable", domain, detail, evidence=evidence)
    else:
        if not fetch.is_text_plain:
            v.add(
                "mtasts.bad-content-type",
                domain,
                f"{fetch.url} is served as {fetch.content_type or 'no content type'}.",
                evidence=[*evidence, f"Content-Type: {fetch.content_type}"],
            )
        if sts.policy is not None and sts.policy.errors:
            v.add(
                "mtasts.policy-syntax",
                domain,
                "; ".join(sts.policy.errors),
                evidence=[sts.policy.text],
            )
    return v


def _usable_policy_mode(obs: PolicyObservation) -> MtaStsMode | None:
    sts = obs.mtasts
    if sts.record is None or sts.fetch is None or sts.fetch.status is not FetchStatus.FETCHED:
        return None
    if sts.policy is None or sts.policy.errors:
        return None
    return sts.policy.mode


def _mtasts_gate(obs: PolicyObservation, check: str) -> _Verdict | None:
    if obs.mtasts.lookup.failed:
        return _Verdict(check, reasons=[_failed(obs.mtasts.lookup)])
    return None


def _check_mtasts_mode(obs: PolicyObservation) -> _Verdict:
    v = _Verdict("mtasts.mode")
    gate = _mx_gate(obs, v.check) or _mtasts_gate(obs, v.check)
    if gate is not None:
        return gate
    mode = _usable_policy_mode(obs)
    policy = obs.mtasts.policy
    if mode is None or policy is None:
        return _not_applicable(v.check, "no usable MTA-STS policy")
    if mode is MtaStsMode.TESTING:
        v.add(
            "mtasts.mode-testing",
            obs.domain,
            "The MTA-STS policy is in testing mode: senders report failures but still deliver.",
            evidence=[policy.text],
        )
    elif mode is MtaStsMode.NONE:
        v.add(
            "mtasts.mode-none",
            obs.domain,
            "The MTA-STS policy is in mode none.",
            evidence=[policy.text],
        )
    if (
        mode is not MtaStsMode.NONE
        and policy.max_age_s is not None
        and policy.max_age_s < MTASTS_MIN_MAX_AGE_S
    ):
        v.add(
            "mtasts.max-age-small",
            obs.domain,
            f"max_age is {policy.max_age_s} s, under one week ({MTASTS_MIN_MAX_AGE_S} s).",
            evidence=[policy.text],
        )
    return v


def _check_mtasts_coverage(obs: PolicyObservation) -> _Verdict:
    v = _Verdict("mtasts.mx-coverage")
    gate = _mx_gate(obs, v.check) or _mtasts_gate(obs, v.check)
    if gate is not None:
        return gate
    mode = _usable_policy_mode(obs)
    policy = obs.mtasts.policy
    if mode is None or policy is None or mode is MtaStsMode.NONE:
        return _not_applicable(v.check, "no MTA-STS policy in testing or enforce mode")
    hosts = [h.host for h in obs.mx.mail_hosts]
    severity = Severity.HIGH if mode is MtaStsMode.ENFORCE else Severity.MEDIUM
    for host in uncovered_mx_hosts(policy.mx_patterns, hosts):
        v.add(
            "mtasts.mx-not-covered",
            obs.domain,
            f"The MX host {host} matches none of the policy's mx patterns ({', '.join(policy.mx_patterns)}).",
            evidence=[f"mx: {p}" for p in policy.mx_patterns] + [f"MX {host}"],
            severity=severity,
        )
    return v


# --- TLS-RPT --------------------------------------------------------------------------------------


def _check_tlsrpt(obs: PolicyObservation) -> _Verdict:
    v = _Verdict("tlsrpt.record")
    rpt, domain = obs.tlsrpt, obs.domain
    gate = _mx_gate(obs, v.check)
    if gate is not None:
        return gate
    if rpt.lookup.failed:
        v.not_tested(_failed(rpt.lookup))
        return v
    if not rpt.records:
        # Reports matter most where senders enforce something: MTA-STS or DANE.
        uses_tls_policy = bool(obs.mtasts.records) or any(d.records for d in obs.dane)
        v.add(
            "tlsrpt.missing",
            domain,
            f"_smtp._tls.{domain} has no v=TLSRPTv1 record.",
            evidence=[rpt.lookup.evidence],
            severity=Severity.LOW if uses_tls_policy else None,
        )
    elif len(rpt.records) > 1:
        v.add(
            "tlsrpt.syntax",
            domain,
            f"_smtp._tls.{domain} has {len(rpt.records)} v=TLSRPTv1 records; senders use none.",
            evidence=rpt.records,
        )
    elif rpt.record is not None and rpt.record.errors:
        v.add("tlsrpt.syntax", domain, "; ".join(rpt.record.errors), evidence=[rpt.record.text])
    return v


# --- DNSSEC and DANE ------------------------------------------------------------------------------


def _check_dnssec(obs: PolicyObservation) -> _Verdict:
    v = _Verdict("dnssec")
    facts = obs.dnssec
    evidence = [lk.evidence + (" (AD)" if lk.authenticated else "") for lk in facts.dnskey]
    signed = facts.signed
    if signed is None:
        v.not_tested(", ".join(_failed(lk) for lk in facts.dnskey if lk.failed))
    elif not signed:
        v.add(
            "dnssec.unsigned",
            obs.domain,
            f"No DNSKEY at {obs.domain} or its organisational domain.",
            evidence=evidence,
        )
    elif not facts.validated:
        v.add(
            "dnssec.not-validated",
            obs.domain,
            "The zone publishes DNSKEY records but the resolver did not set the AD bit.",
            evidence=evidence,
        )
    return v


def _check_dane(obs: PolicyObservation) -> _Verdict:
    v = _Verdict("dane")
    gate = _mx_gate(obs, v.check)
    if gate is not None:
        return gate
    with_records = [d for d in obs.dane if d.records]
    for facts in obs.dane:
        if facts.lookup.failed:
            v.not_tested(_failed(facts.lookup))
    if not with_records:
        if v.reasons:
            return v
        return _not_applicable(v.check, "no TLSA records at the MX hosts")
    for facts in with_records:
        records = [r.text for r in facts.records]
        if not facts.validated:
            v.add(
                "dane.tlsa-unvalidated",
                obs.domain,
                f"{facts.lookup.name} has TLSA records but these answers were not "
                f"DNSSEC-validated: {', '.join(facts.unvalidated_answers)}; DANE does not apply.",
                evidence=[
                    facts.lookup.evidence,
                    *(f"{a}: no AD bit" for a in facts.unvalidated_answers),
                ],
            )
            continue
        usable = [r for r in facts.records if r.is_usable]
        if not usable:
            reasons = sorted({r.unusable_reason or "" for r in facts.records})
            v.add(
                "dane.tlsa-unusable",
                obs.domain,
                f"No TLSA record of {facts.host} is usable for SMTP: {'; '.join(reasons)}.",
                evidence=records,
            )
            continue
        if not facts.chains_gathered:
            v.not_tested(f"{facts.host}: the certificate chain was not gathered")
            continue
        for chain in facts.chains:
            if chain.match is None:
                v.not_tested(f"{facts.host} ({chain.address}): {chain.error}")
            elif not chain.match.matched:
                notes = [f"{c.record.text}: {c.note}" for c in chain.match.checks if c.note]
                if chain.match.presented_record:
                    notes.append(
                        f"the server's key as a DANE-EE record: {chain.match.presented_record}"
                    )
                v.add(
                    "dane.tlsa-mismatch",
                    obs.domain,
                    f"The certificate that {facts.host} ({chain.address}) presents matches none of its {chain.match.usable_records} usable TLSA records.",
                    evidence=records + notes,
                )
    return v


# --- Reverse DNS ----------------------------------------------------------------------------------


def _check_ptr(obs: PolicyObservation) -> _Verdict:
    v = _Verdict("ptr")
    gate = _mx_gate(obs, v.check)
    if gate is not None:
        return gate
    if not obs.reverse_dns:
        return _not_applicable(v.check, "no MX addresses")
    for rdns in obs.reverse_dns:
        where = f"{rdns.address} ({rdns.host})"
        if rdns.lookup.failed:
            v.not_tested(f"PTR of {where}: {rdns.lookup.error}")
        elif not rdns.names:
            v.add(
                "ptr.missing",
                obs.domain,
                f"The MX address {where} has no PTR record.",
                evidence=[rdns.lookup.evidence],
            )
        elif not rdns.confirmed_names:
            if rdns.forward_failures:
                v.not_tested(f"forward lookups for {where}: " + ", ".join(rdns.forward_failures))
            else:
                v.add(
                    "ptr.not-forward-confirmed",
                    obs.domain,
                    f"The PTR of {where} names {', '.join(rdns.names)}, which does not resolve back to {rdns.address}.",
                    evidence=[rdns.lookup.evidence],
                )
    return v


_CHECKS: tuple[Callable[[PolicyObservation], _Verdict], ...] = (
    _check_mx,
    _check_spf_record,
    _check_spf_lookups,
    _check_spf_all,
    _check_spf_helo,
    _check_dmarc_record,
    _check_dmarc_policy,
    _check_dmarc_reports,
    _check_mtasts_policy,
    _check_mtasts_mode,
    _check_mtasts_coverage,
    _check_tlsrpt,
    _check_dnssec,
    _check_dane,
    _check_ptr,
)
