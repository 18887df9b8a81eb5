"""A requirements file (`mailaudit.toml`, `--requirements`) applied to a finished report: each
`[[require]]` judged against the audited endpoints, and the waivers. Pure, like every check (the
registry's "requirements" and "waivers" rows); `mailaudit.checks.requirements_file` parses the
text and `mailaudit.report.requirements` reads the file.

`apply_requirements` returns a new Report whose waived findings carry the waiver's reason (they
stay in the report but no longer count for --fail-on), with the requirement findings and check
runs added. Requirements are judged from the probe's observation and, for `min_tls`, from the
TLS scan too: the lowest version the scan found supported, or the probe negotiated, must reach it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from mailaudit.checks.catalogue import finding
from mailaudit.checks.catalogue import requirements as ids
from mailaudit.model import (
    CheckRun,
    CheckStatus,
    DomainReport,
    Endpoint,
    EndpointReport,
    Finding,
    ProbeStatus,
    Report,
)

__all__ = [
    "TLS_ALIASES",
    "TLS_VERSIONS",
    "Requirement",
    "Requirements",
    "Waiver",
    "apply_requirements",
    "judge_requirement",
]

TLS_VERSIONS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
TLS_ALIASES = {"TLSv1.0": "TLSv1", "1.0": "TLSv1", "1.1": "TLSv1.1", "1.2": "TLSv1.2"}
TLS_ALIASES |= {"1.3": "TLSv1.3"}


@dataclass(frozen=True)
class Requirement:
    url: str
    min_tls: str | None = None
    auth_after_tls_only: bool = False
    valid_certificate: bool = False


@dataclass(frozen=True)
class Waiver:
    id: str
    reason: str
    expires: dt.date
    subject: str | None = None

    def covers(self, f: Finding) -> bool:
        return f.id == self.id and (self.subject is None or f.subject == self.subject)

    def active_on(self, today: dt.date) -> bool:
        return today < self.expires


@dataclass(frozen=True)
class Requirements:
    """A requirements file: what endpoints must have, and the findings accepted until when."""

    requirements: tuple[Requirement, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    source: str = "mailaudit.toml"


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


# --- applying a requirements file to a report ------------------------------------------------


def apply_requirements(report: Report, policy: Requirements, today: dt.date) -> Report:
    """A new Report with the file's requirement checks and waivers applied; `today` is the
    run's clock (a waiver counts until the day before it expires)."""
    domains = {d.domain: _Mutable.of_domain(d) for d in report.domains}
    endpoints = {e.id: _Mutable.of_endpoint(e) for e in report.endpoints}
    order = [d.domain for d in report.domains]

    def domain_for(host: str) -> _Mutable:
        matches = [d for d in order if host == d or host.endswith(f".{d}")]
        if matches:
            return domains[max(matches, key=len)]
        if order:
            return domains[order[0]]
        domains[host] = _Mutable.new_domain(host)
        order.append(host)
        return domains[host]

    for req in policy.requirements:
        wanted = Endpoint.parse(req.url)
        found = [e for e in report.endpoints if _matches(e, wanted)]
        if not found:
            target = domain_for(wanted.host)
            target.checks.append(
                CheckRun(
                    "policy.endpoint-present",
                    req.url,
                    CheckStatus.FAILED,
                    None,
                    (ids.ENDPOINT_MISSING,),
                )
            )
            target.findings.append(
                finding(
                    ids.ENDPOINT_MISSING,
                    req.url,
                    f"The policy requires {req.url}, and the audit did not find it.",
                )
            )
            continue
        for e in found:
            findings, checks = judge_requirement(req, e)
            endpoints[e.id].findings += findings
            endpoints[e.id].checks += checks

    active = [w for w in policy.waivers if w.active_on(today)]
    for part in [*domains.values(), *endpoints.values()]:
        part.findings = [_waive(f, active) for f in part.findings]

    for w in policy.waivers:
        if w.active_on(today):
            continue
        subject = w.subject or policy.source
        detail = (
            f"The waiver for {w.id}"
            + (f" on {w.subject}" if w.subject else "")
            + f" expired on {w.expires.isoformat()} (reason given: {w.reason}); "
            "the findings it covered count again."
        )
        expired = finding(ids.WAIVER_EXPIRED, subject, detail)
        owner = next((m for m in endpoints.values() if m.url == subject), None)
        if owner is None:
            host = subject.partition("://")[2].split(":")[0] if "://" in subject else subject
            owner = domain_for(host)
        owner.findings.append(expired)

    new_domains = tuple(domains[name].domain_report() for name in order)
    new_endpoints = tuple(endpoints[e.id].endpoint_report() for e in report.endpoints)
    extra = dict(report.extra)
    extra["policy"] = policy.source
    return dataclasses.replace(report, domains=new_domains, endpoints=new_endpoints, extra=extra)


def _waive(f: Finding, waivers: Iterable[Waiver]) -> Finding:
    for w in waivers:
        if w.covers(f):
            return dataclasses.replace(f, waived=f"{w.reason} (waiver until {w.expires})")
    return f


def _matches(e: EndpointReport, wanted: Endpoint) -> bool:
    try:
        seen = Endpoint.parse(e.url)
    except ValueError:
        return False
    hosts = {seen.host, *(n.lower().rstrip(".") for n in e.names)}
    return seen.scheme is wanted.scheme and e.port == wanted.port and wanted.host in hosts


@dataclass
class _Mutable:
    """A domain or endpoint report being rebuilt."""

    original: DomainReport | EndpointReport
    findings: list[Finding]
    checks: list[CheckRun]

    @property
    def url(self) -> str | None:
        return self.original.url if isinstance(self.original, EndpointReport) else None

    @classmethod
    def of_domain(cls, d: DomainReport) -> _Mutable:
        return cls(d, list(d.findings), list(d.checks))

    @classmethod
    def of_endpoint(cls, e: EndpointReport) -> _Mutable:
        return cls(e, list(e.findings), list(e.checks))

    @classmethod
    def new_domain(cls, name: str) -> _Mutable:
        return cls(DomainReport(domain=name, endpoint_ids=()), [], [])

    def domain_report(self) -> DomainReport:
        assert isinstance(self.original, DomainReport)
        return dataclasses.replace(
            self.original, findings=tuple(self.findings), checks=tuple(self.checks)
        )

    def endpoint_report(self) -> EndpointReport:
        assert isinstance(self.original, EndpointReport)
        return dataclasses.replace(
            self.original, findings=tuple(self.findings), checks=tuple(self.checks)
        )
