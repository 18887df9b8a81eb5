"""MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) checks."""

from __future__ import annotations

from mailaudit.checks.dns_policy._verdict import _failed, _mx_gate, _not_applicable, _Verdict
from mailaudit.model import (
    FetchStatus,
    PolicyObservation,
    Severity,
)
from mailaudit.policy.mtasts import MtaStsMode, uncovered_mx_hosts

# RFC 8461 §3.2 suggests a max_age of weeks: below one week we say it is short.
MTASTS_MIN_MAX_AGE_S = 604_800


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
