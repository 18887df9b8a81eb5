"""Policy files (`mailaudit.toml`) for CI: endpoints a server must have, requirements per
endpoint, and waivers with a reason and an expiry date.

    [[require]]
    url = "submission://smtp.staging.test"   # must exist and answer
    min_tls = "TLSv1.2"                      # negotiated version at least this
    auth_after_tls_only = true               # no login offered before TLS
    valid_certificate = true                 # chain and name validate

    [[waiver]]
    id = "banner.version-disclosed"
    subject = "smtp://mail.good.test"        # optional: every subject when left out
    reason = "vendor appliance, ticket OPS-42"
    expires = 2027-01-01                     # waives until the day before; then reported

`apply_policy` is pure: it returns a new Report whose waived findings carry the waiver's reason
(they stay in the report but no longer count for --fail-on), with policy findings and check runs
added. Requirements are judged from the probe's observation and, for `min_tls`, from the TLS scan
too: the lowest version the scan found supported, or the probe negotiated, must reach it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailaudit.checks.catalogue import CATALOGUE, finding
from mailaudit.checks.catalogue import requirements as ids
from mailaudit.checks.requirements import TLS_ALIASES as _TLS_ALIASES
from mailaudit.checks.requirements import TLS_VERSIONS, Requirement, judge_requirement
from mailaudit.errors import UsageError
from mailaudit.model import (
    CheckRun,
    CheckStatus,
    DomainReport,
    Endpoint,
    EndpointReport,
    Finding,
    Report,
)

__all__ = [
    "TLS_VERSIONS",
    "Policy",
    "PolicyError",
    "Requirement",
    "Waiver",
    "apply_policy",
    "apply_policy_file",
    "load_policy",
    "parse_policy",
]


class PolicyError(UsageError):
    """The policy file is not valid; the message names the file and the entry."""


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
class Policy:
    requirements: tuple[Requirement, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    source: str = "mailaudit.toml"


# --- reading -----------------------------------------------------------------------------------


def load_policy(path: str | Path) -> Policy:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: {exc.strerror or exc}") from None
    return parse_policy(text, source=str(path))


def parse_policy(text: str, *, source: str = "mailaudit.toml") -> Policy:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML ({exc})") from None
    _only(data, {"require", "waiver"}, source)
    requirements = tuple(
        _requirement(entry, f"{source}: [[require]] #{i + 1}")
        for i, entry in enumerate(_tables(data, "require", source))
    )
    waivers = tuple(
        _waiver(entry, f"{source}: [[waiver]] #{i + 1}")
        for i, entry in enumerate(_tables(data, "waiver", source))
    )
    return Policy(requirements, waivers, source)


def _tables(data: dict[str, Any], key: str, source: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise PolicyError(f"{source}: {key!r} must be an array of tables ([[{key}]])")
    return value


def _only(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise PolicyError(
            f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})"
        )


def _get(table: dict[str, Any], key: str, kind: type, where: str, *, required: bool) -> Any:
    if key not in table:
        if required:
            raise PolicyError(f"{where}: {key!r} is required")
        return None
    value = table[key]
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise PolicyError(f"{where}: {key!r} must be a {kind.__name__}")
    return value


def _requirement(table: dict[str, Any], where: str) -> Requirement:
    _only(table, {"url", "min_tls", "auth_after_tls_only", "valid_certificate"}, where)
    url = _get(table, "url", str, where, required=True)
    try:
        Endpoint.parse(url)
    except ValueError as exc:
        raise PolicyError(f"{where}: {exc}") from None
    min_tls = _get(table, "min_tls", str, where, required=False)
    if min_tls is not None:
        min_tls = _TLS_ALIASES.get(min_tls, min_tls)
        if min_tls not in TLS_VERSIONS:
            raise PolicyError(f"{where}: min_tls must be one of {', '.join(TLS_VERSIONS[2:])}")
    return Requirement(
        url=url,
        min_tls=min_tls,
        auth_after_tls_only=bool(_get(table, "auth_after_tls_only", bool, where, required=False)),
        valid_certificate=bool(_get(table, "valid_certificate", bool, where, required=False)),
    )


def _waiver(table: dict[str, Any], where: str) -> Waiver:
    _only(table, {"id", "subject", "reason", "expires"}, where)
    finding_id = _get(table, "id", str, where, required=True)
    if finding_id not in CATALOGUE:
        raise PolicyError(f"{where}: unknown finding id {finding_id!r} (a typo?)")
    reason = _get(table, "reason", str, where, required=True).strip()
    if not reason:
        raise PolicyError(f"{where}: 'reason' must say why the finding is accepted")
    expires = table.get("expires")
    if isinstance(expires, str):
        try:
            expires = dt.date.fromisoformat(expires)
        except ValueError:
            raise PolicyError(f"{where}: 'expires' must be a date such as 2027-01-01") from None
    if isinstance(expires, dt.datetime):
        expires = expires.date()
    if not isinstance(expires, dt.date):
        raise PolicyError(f"{where}: 'expires' is required (a date such as 2027-01-01)")
    subject = _get(table, "subject", str, where, required=False)
    return Waiver(id=finding_id, reason=reason, expires=expires, subject=subject)


# --- applying ----------------------------------------------------------------------------------


def apply_policy(report: Report, policy: Policy, today: dt.date) -> Report:
    """A new Report with the policy's requirement checks and waivers applied."""
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


def apply_policy_file(
    report: Report, path: str | Path | None, today: dt.date | None = None
) -> Report:
    """`apply_policy` with the policy read from `path` (no path: the report unchanged); raises
    PolicyError for an unreadable or invalid file."""
    if path is None:
        return report
    return apply_policy(report, load_policy(path), today or dt.date.today())


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
