"""The HTML report: one self-contained file (inline CSS, no scripts, no external assets) rendered
from jinja2 templates with autoescaping on, so a hostile banner shows as text.

Templates live in `reports/templates/` in a source checkout and ship in the wheel as
`mailaudit/_templates`. This module turns the Report into a small view model (grades, sorted
findings, what could not be tested, reference links) so the templates stay free of logic. Fields
the model gains later are shown generically ("More data"), so nothing is silently dropped.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from mailaudit.checks.grading import (
    GRADES,
    SEVERITIES_WORST_FIRST,
    DomainSummary,
    Untested,
    domain_findings,
    domain_summary,
    severity_counts,
    untested_of_endpoint,
)
from mailaudit.checks.registry import check_for_run
from mailaudit.model import (
    CheckRun,
    CheckStatus,
    DiscoveryResult,
    DomainReport,
    EndpointReport,
    Finding,
    ProbeStatus,
    Report,
    Severity,
    TlsScan,
)
from mailaudit.report.escape import visible_controls
from mailaudit.report.summary import reference_link
from mailaudit.serial import to_data

__all__ = ["render_html", "template_dir"]

_KNOWN_DOMAIN_FIELDS = {"domain", "endpoint_ids", "not_offered", "findings", "checks", "errors"}
_KNOWN_ENDPOINT_FIELDS = {
    "id",
    "url",
    "address",
    "port",
    "names",
    "roles",
    "domains",
    "observation",
    "findings",
    "checks",
}
_SECURITY_TEXT = {"ssl": "SSL/TLS (implicit)", "starttls": "STARTTLS", "plain": "none"}


def template_dir() -> Traversable:
    """`mailaudit/_templates` when installed from a wheel, else `<repo>/reports/templates`."""
    installed = resources.files("mailaudit").joinpath("_templates")
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[2] / "reports" / "templates"


@cache
def _environment() -> jinja2.Environment:
    root = template_dir()

    def load(name: str) -> str | None:
        entry = root.joinpath(name)
        return entry.read_text(encoding="utf-8") if entry.is_file() else None

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        autoescape=True,  # always, whatever the template's name: banners are hostile input
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_visible,
    )
    env.filters["anchor"] = anchor
    env.filters["status_counts"] = status_counts
    env.filters["check_summary"] = _check_summary
    env.filters["code_spans"] = code_spans
    return env


def _visible(value: Any) -> Any:
    """Every printed value: control characters (NUL, ESC...) from servers become visible
    escapes such as \\x1b instead of invalid or invisible HTML. Markup (macro output) is ours."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return visible_controls(value, keep_cr=True)
    return value


def render_html(report: Report, *, title: str | None = None) -> str:
    """The whole report as one HTML document; from FLEET_MIN_DOMAINS domains on, the fleet view
    (grouped by finding and by shared host, per-domain detail on demand)."""
    from mailaudit.report import fleet_html  # imports this module's anchor()

    if len(report.domains) < fleet_html.FLEET_MIN_DOMAINS:
        return _environment().get_template("report.html.j2").render(**_view(report, title=title))
    script = _fleet_script()
    context = _view(report, title=title, with_domains=False)
    context.update(fleet_html.fleet_view(report))
    context.update(script=markupsafe.Markup(script), script_hash=fleet_html.script_hash(script))
    return _environment().get_template("fleet.html.j2").render(**context)


@cache
def _fleet_script() -> str:
    return template_dir().joinpath("fleet.js").read_text(encoding="utf-8")


def anchor(text: str) -> str:
    """A stable, safe fragment id for a domain or endpoint."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def code_spans(text: str) -> markupsafe.Markup:
    """Catalogue prose marks commands and settings with backticks: show them as <code>.
    Every piece is escaped; an unpaired backtick stays a backtick."""
    parts = _visible(text).split("`")
    if len(parts) % 2 == 0:  # unbalanced: leave the text as it is
        return markupsafe.escape(_visible(text))
    out = markupsafe.Markup("")
    for i, part in enumerate(parts):
        out += markupsafe.Markup("<code>{}</code>").format(part) if i % 2 else part
    return out


def status_counts(runs: Iterable[CheckRun]) -> str:
    """ "5 passed, 1 failed, 2 not tested": the check runs by outcome."""
    counts = {s: 0 for s in CheckStatus}
    for run in runs:
        counts[run.status] += 1
    return ", ".join(f"{n} {s.value.replace('_', ' ')}" for s, n in counts.items() if n)


# --- view model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    text: str
    url: str | None


@dataclass(frozen=True)
class FindingView:
    finding: Finding
    references: tuple[Reference, ...]
    anchor: str
    # None: shown in full; "informational" or "waived": folded into a group below the others.
    minor: str | None


@dataclass(frozen=True)
class ExtraField:
    name: str
    text: str


@dataclass(frozen=True)
class SettingRow:
    role: str
    protocol: str
    host: str
    port: str
    security: str
    username: str
    source: str


@dataclass(frozen=True)
class ClientSettings:
    provider: str | None
    rows: tuple[SettingRow, ...]
    webmail: str | None


@dataclass(frozen=True)
class TlsVersionView:
    name: str
    deprecated: bool


@dataclass(frozen=True)
class EndpointView:
    endpoint: EndpointReport
    status: str  # completed / failed / refused
    failure: str | None
    findings: tuple[FindingView, ...]
    counts: dict[Severity, int]
    worst: Severity | None
    checks: tuple[CheckRun, ...]
    untested: tuple[Untested, ...]
    extras: tuple[ExtraField, ...]
    # From the TLS scan, when the report has one: supported versions, and why parts failed.
    tls_versions: tuple[TlsVersionView, ...] = ()
    tls_scan_errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class DomainView:
    domain: DomainReport
    summary: DomainSummary
    findings: tuple[FindingView, ...]
    endpoints: tuple[EndpointView, ...]
    client_settings: ClientSettings | None
    extras: tuple[ExtraField, ...]
    # The worst unwaived finding of the domain (and its endpoints), for the summary.
    top: Finding | None
    top_anchor: str


_TITLE_DOMAINS = 3


def _view(report: Report, *, title: str | None, with_domains: bool = True) -> dict[str, Any]:
    endpoint_views = {e.id: _endpoint_view(e) for e in report.endpoints}
    # One pass over the domains: a fleet's are read one at a time (report/streamed.py). The
    # fleet view draws its domains from data instead (fleet_html).
    domains: list[DomainView] = []
    listed: set[str] = set()
    all_findings: list[Finding] = []
    first_names: list[str] = []
    for d in report.domains:
        if with_domains:
            domains.append(_domain_view(report, d, endpoint_views))
        listed.update(d.endpoint_ids)
        all_findings += d.findings
        if len(first_names) <= _TITLE_DOMAINS:
            first_names.append(d.domain)
    all_findings += [f for e in report.endpoints for f in e.findings]
    names = ", ".join(first_names) or "endpoints"
    if len(report.domains) > _TITLE_DOMAINS:
        # A fleet audit names its domains in the summary table; a heading of 36 names helps nobody.
        names = f"{len(report.domains):,} domains"
    return {
        "title": title or f"mailaudit report: {names}",
        "report": report,
        "run": report.run,
        "domains": tuple(domains),
        "domains_total": len(report.domains),
        # Worst first: the page reads top-down in order of urgency.
        "endpoints": tuple(
            sorted(
                endpoint_views.values(),
                key=lambda v: (-(v.worst.rank if v.worst else -1), v.endpoint.url, v.endpoint.id),
            )
        ),
        # Endpoints audited on their own (--endpoint) rather than for a domain.
        "unlisted": tuple(endpoint_views[e.id] for e in report.endpoints if e.id not in listed),
        "totals": severity_counts(all_findings),
        "waived_total": sum(1 for f in all_findings if f.waived is not None),
        "severities": SEVERITIES_WORST_FIRST,
        "grades": GRADES,
        "extra": sorted(report.extra.items()),
        "CheckStatus": CheckStatus,
        "ProbeStatus": ProbeStatus,
    }


def _finding_views(findings: Iterable[Finding]) -> tuple[FindingView, ...]:
    ordered = sorted(
        findings, key=lambda f: (f.waived is not None, -f.severity.rank, f.id, f.subject)
    )
    return tuple(
        FindingView(
            f,
            tuple(Reference(r, reference_link(r)) for r in f.references),
            finding_anchor(f),
            "waived"
            if f.waived is not None
            else ("informational" if f.severity is Severity.INFO else None),
        )
        for f in ordered
    )


def finding_anchor(f: Finding) -> str:
    return f"f-{anchor(f.id)}-{anchor(f.subject)}"


def _endpoint_view(e: EndpointReport) -> EndpointView:
    obs = e.observation
    failure = None
    if obs.failure is not None:
        failure = f"{obs.failure.reason} at {obs.failure.step}: {obs.failure.message}"
    live = [f for f in e.findings if f.waived is None]
    return EndpointView(
        endpoint=e,
        status=obs.status.value,
        failure=failure,
        findings=_finding_views(e.findings),
        counts=severity_counts(e.findings),
        worst=max((f.severity for f in live), key=lambda s: s.rank) if live else None,
        checks=e.checks,
        # The probe failure is shown as a fact of its own; list the checks it left untested.
        untested=tuple(u for u in untested_of_endpoint(e) if u.kind != "probe"),
        extras=_extras(e, _KNOWN_ENDPOINT_FIELDS),
        **_tls_scan_facts(e.tls_scan),
    )


def _tls_scan_facts(scan: TlsScan | None) -> dict[str, Any]:
    """Supported versions and scan errors of the endpoint's TLS scan."""
    if scan is None:
        return {}
    versions = tuple(TlsVersionView(v.value, v.deprecated) for v in scan.supported_versions)
    errors = tuple(f"{err.part.value}: {err.message}" for err in scan.errors)
    return {"tls_versions": versions, "tls_scan_errors": errors}


def _domain_view(
    report: Report, d: DomainReport, endpoint_views: dict[str, EndpointView]
) -> DomainView:
    live = [f for f in domain_findings(report, d) if f.waived is None]
    top = min(live, key=lambda f: (-f.severity.rank, f.id, f.subject)) if live else None
    return DomainView(
        domain=d,
        summary=domain_summary(report, d),
        findings=_finding_views(d.findings),
        endpoints=tuple(endpoint_views[eid] for eid in d.endpoint_ids if eid in endpoint_views),
        client_settings=_client_settings(d.discovery),
        extras=_extras(d, _KNOWN_DOMAIN_FIELDS | {"discovery"}),
        top=top,
        top_anchor=finding_anchor(top) if top else "",
    )


def _extras(obj: object, known: set[str]) -> tuple[ExtraField, ...]:
    """Fields the model gained after this renderer was written, shown as JSON."""
    out = []
    for f in dataclasses.fields(obj):  # type: ignore[arg-type]
        if f.name in known:
            continue
        value = getattr(obj, f.name)
        if value is None or value == () or value == {}:
            continue
        try:
            data = to_data(value)
        except TypeError:
            data = repr(value)
        out.append(ExtraField(f.name.replace("_", " "), json.dumps(data, indent=2)))
    return tuple(out)


def _client_settings(discovery: DiscoveryResult | None) -> ClientSettings | None:
    """The recommended client settings from discovery (what to type into a mail client)."""
    if discovery is None:
        return None
    rows = []
    for role, rec in (
        ("Incoming", discovery.incoming),
        ("Incoming (alternative)", discovery.alternative_incoming),
        ("Outgoing", discovery.outgoing),
        ("Outgoing (alternative)", discovery.alternative_outgoing),
    ):
        if rec is None:
            continue
        setting = rec.setting
        rows.append(
            SettingRow(
                role=role,
                protocol=setting.protocol.value.upper(),
                host=setting.host,
                port=str(setting.port),
                security=_SECURITY_TEXT.get(setting.security.value, setting.security.value),
                username=setting.username or "-",
                source=f"{rec.source.value} ({rec.trust.value})",
            )
        )
    if not rows and not discovery.provider_name:
        return ClientSettings(provider=None, rows=(), webmail=None)
    return ClientSettings(
        provider=discovery.provider_name, rows=tuple(rows), webmail=discovery.webmail
    )


def _check_summary(run_name: str) -> str:
    """What a check run checks, from the check registry (shown as the name's tooltip)."""
    check = check_for_run(run_name)
    return check.summary if check is not None else ""


def _text(value: object) -> str:
    return str(value.value) if isinstance(value, Enum) else str(value)
