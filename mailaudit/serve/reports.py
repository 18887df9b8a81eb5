"""A saved report, browsed: the HTML report's own views, narrowed by host, finding and
severity. The report is rendered by `mailaudit.report.html` as always; this page puts a filter
form above its body and allows exactly its inline stylesheet (by hash) in the
Content-Security-Policy."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import markupsafe

from mailaudit.model import DomainReport, EndpointReport, Finding, Report, Severity
from mailaudit.report.html import render_html
from mailaudit.serve.http import CSP

if TYPE_CHECKING:
    from mailaudit.serve.pages import Pages

_STYLE = re.compile(r"<style>(.*?)</style>", re.S)
_BODY = re.compile(r"<body>(.*)</body>", re.S)
MAX_FILTER = 200


def narrowed(report: Report, *, host: str, finding: str, severity: Severity | None) -> Report:
    """The report with only what matches: endpoints whose URL, names or address contain `host`
    (domains by name or by a kept endpoint), findings whose id contains `finding` and whose
    severity is at least `severity`. Filtering by finding or severity drops what has none."""
    host, finding = host.strip().lower(), finding.strip().lower()
    by_finding = bool(finding) or severity is not None

    def keep(f: Finding) -> bool:
        return (not finding or finding in f.id.lower()) and (
            severity is None or f.severity.at_least(severity)
        )

    def host_matches(e: EndpointReport) -> bool:
        seen = (e.url, e.address or "", *e.names, *e.domains)
        return not host or any(host in text.lower() for text in seen)

    endpoints: list[EndpointReport] = []
    for e in report.endpoints:
        findings = tuple(f for f in e.findings if keep(f))
        if host_matches(e) and (findings or not by_finding):
            endpoints.append(replace(e, findings=findings))
    kept_ids = {e.id for e in endpoints}
    domains: list[DomainReport] = []
    for d in report.domains:
        findings = tuple(f for f in d.findings if keep(f))
        ids = tuple(i for i in d.endpoint_ids if i in kept_ids)
        named = not host or host in d.domain.lower()
        if (named or ids) and (findings or ids or not by_finding):
            domains.append(replace(d, findings=findings, endpoint_ids=ids))
    return replace(report, domains=tuple(domains), endpoints=tuple(endpoints))


def report_page(
    report: Report, params: Mapping[str, str], pages: Pages, lang: str
) -> tuple[str, str]:
    """(page, Content-Security-Policy) for /report with the filters in `params`."""
    host = params.get("host", "")[:MAX_FILTER]
    finding = params.get("finding", "")[:MAX_FILTER]
    severity_text = params.get("severity", "")
    severity = Severity(severity_text) if severity_text in Severity.__members__.values() else None
    shown = narrowed(report, host=host, finding=finding, severity=severity)
    document = render_html(shown)
    style = _STYLE.search(document)
    body = _BODY.search(document)
    css = style.group(1) if style else ""
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    csp = CSP.replace("style-src 'self'", f"style-src 'self' 'sha256-{digest}'")
    page = pages.report_frame(
        lang,
        # Our own renderer's output, escaped there: inserted as it is.
        report_css=markupsafe.Markup(css),
        # One <main> per page: the report's becomes a plain block inside ours.
        report_body=markupsafe.Markup(
            (body.group(1) if body else "").replace("<main>", '<div class="report-main">')
        ).replace(markupsafe.Markup("</main>"), markupsafe.Markup("</div>")),
        here=_here(host, finding, severity),
        host=host,
        finding=finding,
        severity=severity.value if severity else "",
        severities=[s.value for s in reversed(Severity)],
        finding_ids=sorted({f.id for f in report.all_findings()}),
        total_domains=len(report.domains),
        total_endpoints=len(report.endpoints),
        shown_domains=len(shown.domains),
        shown_endpoints=len(shown.endpoints),
    )
    return page, csp


def _here(host: str, finding: str, severity: Severity | None) -> str:
    """This page with its filters, ready for `lang=` (the language switch keeps the filters)."""
    kept = {"host": host, "finding": finding, "severity": severity.value if severity else ""}
    query = urlencode({k: v for k, v in kept.items() if v})
    return f"/report?{query}&" if query else "/report?"
