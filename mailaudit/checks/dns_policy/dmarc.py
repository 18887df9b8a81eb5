"""DMARC checks (RFC 7489): record, policy strength, external report destinations."""

from __future__ import annotations

from mailaudit.checks.dns_policy._verdict import _failed, _not_applicable, _Verdict
from mailaudit.model import (
    PolicyObservation,
    Severity,
)
from mailaudit.policy.dmarc import DmarcPolicy


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
        if not record.is_usable:
            consequence = " Receivers discard the record."
        elif record.falls_back_to_none:
            consequence = " Receivers treat the record as p=none (RFC 7489 §6.6.3)."
        else:
            consequence = ""
        v.add(
            "dmarc.syntax",
            domain,
            "; ".join((*record.errors, *record.warnings)) + "." + consequence,
            evidence=[record.text],
            severity=severity,
        )
    elif record.warnings:
        # Off the ABNF but applied by receivers as written (a misplaced `p`, an unknown report
        # format): worth fixing, no effect on delivery today.
        v.add(
            "dmarc.syntax",
            domain,
            "; ".join(record.warnings) + ". Receivers still apply the record.",
            evidence=[record.text],
            severity=Severity.LOW,
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
