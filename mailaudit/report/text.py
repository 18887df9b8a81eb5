"""Terminal output with rich: a summary table per domain, then the findings.

Only the command line imports this module; scanning code reports progress through a plain
`Callable[[str], None]` (`AuditOptions.progress`) and never meets rich. Everything a server sent
is wrapped in `rich.text.Text` (never parsed as markup) and control characters are made visible,
so a banner can neither style nor move the terminal.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from mailaudit.checks.grading import (
    domain_endpoints,
    domain_findings,
    domain_summary,
    severity_counts,
    untested,
    untested_of_endpoint,
)
from mailaudit.model import Finding, Report
from mailaudit.report.fleet_text import FleetDigester
from mailaudit.report.progress import Progress, progress_callback
from mailaudit.report.streamed import FLEET_MIN_DOMAINS
from mailaudit.report.terminal import (
    GRADE_STYLE,
    SEVERITY_STYLE,
    plain_lines,
    safe,
    severity_text,
    text_console,
    totals_line,
)

__all__ = ["Progress", "progress_callback", "render_text"]

STATUS_STYLE = {"completed": "green", "failed": "red", "refused": "yellow"}


def _t(text: object, style: str = "") -> Text:
    return Text(safe(text), style=style)


def render_text(
    report: Report,
    *,
    quiet: bool = False,
    verbose: bool = False,
    color: bool = False,
    width: int = 100,
) -> str:
    """The terminal report as a string (ANSI colours only when `color`).

    quiet: only the summary tables and totals; verbose: evidence, remediation, references,
    check runs and transcripts too. From FLEET_MIN_DOMAINS domains on and unless verbose, the
    fleet's form (report/fleet_text.py: findings across the fleet, endpoints, a line per
    domain)."""
    if len(report.domains) >= FLEET_MIN_DOMAINS and not verbose:
        return FleetDigester(report, quiet=quiet, color=color, width=width).digest().text
    buffer = io.StringIO()
    console = text_console(buffer, color=color, width=width, soft_wrap=False)
    for part in _parts(report, quiet=quiet, verbose=verbose):
        console.print(part)
    return plain_lines(buffer)


def _parts(report: Report, *, quiet: bool, verbose: bool) -> Iterator[RenderableType]:
    """The report's parts as they are printed: one pass over the domains (a fleet's are read
    one at a time, see report/streamed.py), nothing kept but the totals."""
    listed: set[str] = set()
    totals = severity_counts(())
    for domain in report.domains:
        listed.update(domain.endpoint_ids)
        for severity, n in severity_counts(domain.findings).items():
            totals[severity] += n
        summary = domain_summary(report, domain)
        title = Text.assemble(
            _t(domain.domain, "bold"),
            "  grade ",
            Text(summary.grade, style=GRADE_STYLE.get(summary.grade, "bold")),
            Text(" (incomplete)", style="yellow") if summary.incomplete else "",
        )
        table = Table(title=title, title_justify="left", expand=False, show_lines=False)
        table.add_column("Endpoint", overflow="fold")
        table.add_column("Address", overflow="fold")
        table.add_column("Status")
        table.add_column("Worst finding")
        table.add_column("Findings", justify="right")
        for e in domain_endpoints(report, domain):
            live = [f for f in e.findings if f.waived is None]
            status = e.observation.status.value
            status_text = Text(status, style=STATUS_STYLE.get(status, ""))
            failure = e.observation.failure
            if failure is not None and failure.reason != status:
                status_text.append(f" ({safe(failure.reason)})")
            worst = max((f.severity for f in live), key=lambda s: s.rank) if live else None
            table.add_row(_t(e.url), _t(e.id), status_text, severity_text(worst), str(len(live)))
        if not domain.endpoint_ids:
            table.add_row(Text("no endpoints", style="dim"), "", "", "", "")
        yield table
        if domain.not_offered and not quiet:
            line = Text.assemble(
                Text("not offered (not a finding): ", style="dim"),
                _t(", ".join(domain.not_offered)),
            )
            yield Padding(line, (0, 0, 0, 2))
        yield _counts_line(domain_findings(report, domain), summary.waived)
        missing = untested(report, domain)
        if quiet and missing:
            yield _t(f"  could not test {len(missing)} item(s): see the full report", "yellow")
        if not quiet:
            yield from _finding_lines(domain_findings(report, domain), verbose=verbose)
            if missing:
                yield Text("Could not be tested:", style="bold yellow")
                for u in missing:
                    line = Text.assemble(_t(u.subject, "bold"), " ", _t(f"{u.what}: {u.reason}"))
                    yield Padding(line, (0, 0, 0, 2))
        yield Text("")
    loose = [e for e in report.endpoints if e.id not in listed]
    for e in loose:
        yield Text.assemble(_t(e.url, "bold"), " ", _t(e.observation.status.value))
        if not quiet:
            yield from _finding_lines(e.findings, verbose=verbose)
            for u in untested_of_endpoint(e):
                yield _t(f"  could not test: {u.what}: {u.reason}", "yellow")
    if verbose:
        yield from _verbose_endpoints(report)
    for e in report.endpoints:
        for severity, n in severity_counts(e.findings).items():
            totals[severity] += n
    yield totals_line(totals)


def _counts_line(findings: list[Finding], waived: int) -> Text:
    counts = severity_counts(findings)
    text = Text("  findings: ")
    shown = [(s, n) for s, n in counts.items() if n]
    if not shown:
        text.append("none", style="green")
    for s, n in shown:
        text.append_text(severity_text(s))
        text.append(f" {n}  ")
    if waived:
        text.append(f"({waived} waived)", style="dim")
    return text


def _finding_lines(
    findings: tuple[Finding, ...] | list[Finding], *, verbose: bool
) -> list[RenderableType]:
    out: list[RenderableType] = []
    ordered = sorted(findings, key=lambda f: (f.waived is not None, -f.severity.rank, f.id))
    for f in ordered:
        head = Text.assemble(
            "  ",
            Text(f"[{f.severity.value}]", style=SEVERITY_STYLE[f.severity]),
            " ",
            _t(f.id, "bold"),
            " ",
            _t(f.subject),
            Text(f"  (waived: {safe(f.waived)})", style="dim") if f.waived is not None else "",
        )
        body: list[RenderableType] = [_t(f.title), _t(f.detail, "dim")]
        if verbose:
            body.append(_t(f"fix: {f.remediation}"))
            if f.context:
                body.append(_t(f"context: {f.context}", "dim"))
            body.extend(_t(f"| {line}", "dim") for line in f.evidence)
            if f.references:
                body.append(_t(f"see: {'; '.join(f.references)}", "dim"))
        out.append(Group(head, Padding(Group(*body), (0, 0, 0, 6))))
    return out


def _verbose_endpoints(report: Report) -> list[RenderableType]:
    out: list[RenderableType] = []
    for e in report.endpoints:
        out.append(Text.assemble(Text("Endpoint ", style="bold"), _t(f"{e.url} ({e.id})", "bold")))
        for c in e.checks:
            reason = f": {c.reason}" if c.reason else ""
            out.append(_t(f"  check {c.check}: {c.status.value}{reason}"))
        out.extend(_t(f"  {line.render()}", "dim") for line in e.observation.transcript)
    return out
