"""MTA-STS against what the MX hosts really present (RFC 8461 §4.2, §5).

A sender that enforces a domain's MTA-STS policy delivers only to an MX that offers STARTTLS with
a certificate that validates (PKIX) for the MX host name. The TLS checks judge port 25 as
opportunistic TLS, where an untrusted certificate is a small matter; once the domain publishes an
MTA-STS policy it is not: in enforce mode mail to that MX stops. This check joins the two facts:
the policy from DNS and HTTPS, and the probe of each MX's port 25.
"""

from __future__ import annotations

from mailaudit.checks.dns_policy._verdict import _not_applicable, _Verdict
from mailaudit.checks.dns_policy.mtasts import _usable_policy_mode
from mailaudit.checks.facts import DomainAuditFacts
from mailaudit.checks.outcome import Outcome
from mailaudit.model import Observation, PolicyObservation, Scheme, Severity
from mailaudit.policy.mtasts import MtaStsMode

__all__ = ["CHECK", "judge_mx_certificates"]

CHECK = _CHECK = "mtasts.mx-certificate"


def judge_mx_certificates(facts: DomainAuditFacts) -> Outcome:
    """One check run for the domain: every MX host's port 25 probe against its MTA-STS policy
    (no run when the domain's DNS policy was not gathered)."""
    if facts.policy is None:
        return Outcome()
    v = _judge(facts.policy, list(facts.observations))
    return Outcome(tuple(v.findings), (v.run(facts.policy.domain),))


def _judge(policy: PolicyObservation, observations: list[Observation]) -> _Verdict:
    mode = _usable_policy_mode(policy)
    if mode is None or mode is MtaStsMode.NONE:
        return _not_applicable(_CHECK, "no MTA-STS policy in force")
    v = _Verdict(_CHECK)
    severity = Severity.HIGH if mode is MtaStsMode.ENFORCE else Severity.MEDIUM
    port25 = {o.host: o for o in observations if o.scheme is Scheme.SMTP and o.port == 25}
    for mx in policy.mx.mail_hosts:
        if mx.is_ip_literal:
            continue
        obs = port25.get(mx.host)
        if obs is None:
            v.not_tested(f"port 25 of {mx.host} was not probed")
        elif not obs.completed:
            reason = obs.failure.message if obs.failure else obs.status.value
            v.not_tested(f"{mx.host}: {reason}")
        elif obs.tls is None:
            v.add(
                "mtasts.mx-no-starttls",
                policy.domain,
                f"The MTA-STS policy is in {mode.value} mode, but {mx.host} offers no STARTTLS: "
                "senders that honour the policy will not deliver to it.",
                evidence=[f"{obs.url} at {obs.address}: STARTTLS offered: {obs.starttls_offered}"],
                severity=severity,
            )
        elif not obs.tls.certificate_valid:
            v.add(
                "mtasts.mx-certificate-invalid",
                policy.domain,
                f"The MTA-STS policy is in {mode.value} mode, but the certificate of {mx.host} "
                f"does not validate for that name: {obs.tls.verify_error}.",
                evidence=[f"{obs.url} at {obs.address}: {obs.tls.verify_error}"],
                severity=severity,
            )
    return v
