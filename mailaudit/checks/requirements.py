"""Requirements of a policy file (`[[require]]` in mailaudit.toml) judged against an audited
endpoint: pure, like every check; `mailaudit.report.policy` reads the file and applies them."""

from __future__ import annotations

from dataclasses import dataclass

from mailaudit.checks.catalogue import finding
from mailaudit.checks.catalogue import requirements as ids
from mailaudit.model import CheckRun, CheckStatus, EndpointReport, Finding, ProbeStatus

__all__ = ["TLS_ALIASES", "TLS_VERSIONS", "Requirement", "judge_requirement"]

TLS_VERSIONS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
TLS_ALIASES = {"TLSv1.0": "TLSv1", "1.0": "TLSv1", "1.1": "TLSv1.1", "1.2": "TLSv1.2"}
TLS_ALIASES |= {"1.3": "TLSv1.3"}


@dataclass(frozen=True)
class Requirement:
    url: str
    min_tls: str | None = None
    auth_after_tls_only: bool = False
    valid_certificate: bool = False


def judge_requirement(req: Requirement, e: EndpointReport) -> tuple[list[Finding], list[CheckRun]]:
    obs = e.observation
    findings: list[Finding] = []
    checks: list[CheckRun] = []

    def run(
        check: str,
        status: CheckStatus,
        reason: str | None,
        detail: str | None = None,
        evidence: tuple[str, ...] = (),
    ) -> None:
        if status is CheckStatus.FAILED and detail:
            findings.append(finding(ids.REQUIREMENT_FAILED, e.url, detail, evidence=evidence))
            checks.append(CheckRun(check, e.url, status, reason, (ids.REQUIREMENT_FAILED,)))
        else:
            checks.append(CheckRun(check, e.url, status, reason))

    if obs.status is ProbeStatus.FAILED:
        why = f"{obs.failure.reason} at {obs.failure.step}" if obs.failure else "probe failed"
        findings.append(
            finding(
                ids.ENDPOINT_MISSING,
                e.url,
                f"The policy requires {req.url} ({e.id}); it does not work: {why}.",
            )
        )
        checks.append(
            CheckRun(
                "policy.endpoint-present", e.url, CheckStatus.FAILED, why, (ids.ENDPOINT_MISSING,)
            )
        )
    else:
        checks.append(CheckRun("policy.endpoint-present", e.url, CheckStatus.PASSED))
    untestable = None if obs.status is ProbeStatus.COMPLETED else f"probe {obs.status.value}"

    if req.min_tls is not None:
        if untestable:
            run("policy.min-tls", CheckStatus.NOT_TESTED, untestable)
        else:
            versions = _accepted_versions(e)
            lowest = min(versions, key=TLS_VERSIONS.index) if versions else None
            if lowest is None:
                run(
                    "policy.min-tls",
                    CheckStatus.FAILED,
                    "no TLS",
                    f"min_tls = {req.min_tls} is required; the endpoint offers no TLS.",
                )
            elif TLS_VERSIONS.index(lowest) < TLS_VERSIONS.index(req.min_tls):
                run(
                    "policy.min-tls",
                    CheckStatus.FAILED,
                    f"{lowest} accepted",
                    f"min_tls = {req.min_tls} is required; the endpoint accepts {lowest}.",
                    (f"TLS versions seen: {', '.join(versions)}",),
                )
            else:
                run("policy.min-tls", CheckStatus.PASSED, f"lowest seen: {lowest}")

    if req.auth_after_tls_only:
        if obs.login_offered_before_tls:
            run(
                "policy.auth-after-tls-only",
                CheckStatus.FAILED,
                "login offered before TLS",
                "auth_after_tls_only = true is required; the endpoint offers login before TLS.",
                tuple(f"before TLS: {c}" for c in obs.capabilities_before_tls),
            )
        elif obs.login_offered_before_tls is False or (not untestable and obs.scheme.implicit_tls):
            run("policy.auth-after-tls-only", CheckStatus.PASSED, None)
        else:
            run("policy.auth-after-tls-only", CheckStatus.NOT_TESTED, untestable or "not observed")

    if req.valid_certificate:
        if untestable:
            run("policy.valid-certificate", CheckStatus.NOT_TESTED, untestable)
        elif obs.tls is None:
            run(
                "policy.valid-certificate",
                CheckStatus.FAILED,
                "no TLS",
                "valid_certificate = true is required; the endpoint offers no TLS.",
            )
        elif not obs.tls.certificate_valid:
            run(
                "policy.valid-certificate",
                CheckStatus.FAILED,
                obs.tls.verify_error,
                "valid_certificate = true is required; the certificate does not validate"
                + (f": {obs.tls.verify_error}" if obs.tls.verify_error else "."),
            )
        else:
            run("policy.valid-certificate", CheckStatus.PASSED, None)
    return findings, checks


def _accepted_versions(e: EndpointReport) -> tuple[str, ...]:
    """TLS versions seen accepted: those the TLS scan found supported (when the report has a
    scan) and the one the probe negotiated."""
    seen: list[str] = []
    if e.tls_scan is not None:
        seen += [version.value for version in e.tls_scan.supported_versions]
    if e.observation.tls is not None:
        seen.append(e.observation.tls.version)
    known = [TLS_ALIASES.get(v, v) for v in seen]
    return tuple(sorted({v for v in known if v in TLS_VERSIONS}, key=TLS_VERSIONS.index))
