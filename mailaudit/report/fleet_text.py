"""The terminal report of a fleet, and its outcome and exit code, from one pass over the domains.

From FLEET_MIN_DOMAINS domains on (the HTML's fleet view starts there too), a summary table per
domain is not what anyone reads on a terminal: 10,000 tables are 150,000 lines, and drawing them
took a fifth of a 1,000-domain run's CPU time. The fleet form says what an ISP asks first:

- the grades and how many domains are incomplete;
- each domain-level finding (id and severity) with how many domains carry it, and a few of them;
- each shared endpoint, its status, worst finding and how many domains use it;
- the domains, one line each (grade, counts), worst first; with `-q` only the worst few.

Every detail stays in `--json`, `--html` and `--jsonl`. The same pass yields the fleet outcome
and the exit code, so the report on disk is read once for all three, not once for each.
"""

from __future__ import annotations

import dataclasses
import heapq
import io
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from rich.text import Text

from mailaudit.checks import exit_policy
from mailaudit.checks.grading import domain_summary, severity_counts, untested_of_endpoint
from mailaudit.model import DomainReport, Report, Severity
from mailaudit.report.exit_codes import outcome_exit_code
from mailaudit.report.outcome import AuditStatus, DomainOutcome, FleetOutcome, domain_outcome
from mailaudit.report.streamed import FLEET_MIN_DOMAINS, StreamedDomains
from mailaudit.report.terminal import (
    GRADE_STYLE,
    SEVERITY_STYLE,
    plain_lines,
    safe,
    severity_text,
    text_console,
    totals_line,
)

__all__ = ["FLEET_MIN_DOMAINS", "FleetDigest", "FleetDigester"]

# With -q, how many of the worst domains are listed by name.
QUIET_DOMAINS = 20
_EXAMPLES = 3

# How bad a grade is, worst highest; "?" (nothing could be tested) is next to F.
_BADNESS = {g: i for i, g in enumerate(["A", "B", "C", "D", "?", "F"], start=1)}


@dataclass(frozen=True)
class FleetDigest:
    text: str
    outcome: FleetOutcome
    exit_code: int


@dataclass
class _FindingRow:
    severity: Severity
    domains: int
    examples: list[str]


class _Pass:
    """What one pass over the domains gathers (flat: counters, a bounded heap, the lines)."""

    def __init__(self, *, color: bool, width: int) -> None:
        self.count = 0
        self.users: Counter[str] = Counter()
        self.grades: Counter[str] = Counter()
        self.incomplete = 0
        self.rows: dict[tuple[str, Severity], _FindingRow] = {}
        self.totals = severity_counts(())
        self.outcomes: list[DomainOutcome] = []
        self.failing = self.not_audited = self.not_tested = False
        # The domain lines (not with -q: those would be the whole fleet for nothing).
        self.lines = _Lines(color=color, width=width)
        # The worst domains, for -q: a bounded heap (least bad on top), not a list of the fleet.
        self.worst: list[tuple[bool, int, tuple[int, ...], bool, int, Text]] = []


class FleetDigester:
    """The fleet's terminal report, outcome (`report.outcome.fleet_outcome`) and exit code
    (`report.exit_codes.exit_code`) from one pass over `report.domains`: `digest()`. It can
    ride along another writer's pass: give that writer the report from `observed()`, and the
    first pass that reads every domain feeds the digest too, so `digest()` needs no pass of its
    own (each pass reads the fleet from disk)."""

    def __init__(
        self,
        report: Report,
        *,
        quiet: bool = False,
        color: bool = False,
        fail_on: Severity | None = None,
        endpoints_only: Iterable[str] = (),
        width: int = 100,
    ) -> None:
        self._report = report
        self._quiet = quiet
        self._color = color
        self._fail_on = fail_on
        self._only = set(endpoints_only)
        self._width = width
        self._by_id = {e.id: e for e in report.endpoints}
        self._done: _Pass | None = None

    def observed(self) -> Report:
        """The report, whose domains feed this digest while a writer reads them."""

        def source() -> Iterator[DomainReport]:
            if self._done is not None:
                yield from self._report.domains
                return
            # A pass cut short (an output that failed) is dropped: the next one starts afresh.
            current = _Pass(color=self._color, width=self._width)
            for d in self._report.domains:
                self._add(current, d)
                yield d
            if self._done is None:
                self._done = current

        domains = StreamedDomains(source, len(self._report.domains))
        return dataclasses.replace(self._report, domains=domains)

    def digest(self) -> FleetDigest:
        done = self._done
        if done is None:
            done = _Pass(color=self._color, width=self._width)
            for d in self._report.domains:
                self._add(done, d)
        return self._finish(done)

    def _add(self, p: _Pass, d: DomainReport) -> None:
        report = self._report
        position = p.count
        p.count += 1
        used = [self._by_id[i] for i in d.endpoint_ids if i in self._by_id]
        p.users.update(e.id for e in used)
        summary = domain_summary(report, d)
        p.grades[summary.grade] += 1
        p.incomplete += summary.incomplete
        for severity, n in severity_counts(d.findings).items():
            p.totals[severity] += n
        for f in d.findings:
            if f.waived is None:
                row = p.rows.setdefault((f.id, f.severity), _FindingRow(f.severity, 0, []))
                if not row.examples or row.examples[-1] != d.domain:
                    row.domains += 1
                    if len(row.examples) < _EXAMPLES:
                        row.examples.append(d.domain)
        outcome = domain_outcome(d, used, endpoints_only=d.domain in self._only)
        p.outcomes.append(outcome)
        # The exit code reads "not audited" without the --endpoint rule, as exit_code does.
        plain = domain_outcome(d, used) if d.domain in self._only else outcome
        p.not_audited |= plain.status is AuditStatus.NOT_AUDITED
        p.not_tested |= summary.incomplete
        if self._fail_on is not None:
            p.failing |= bool(exit_policy.failing(d.findings, self._fail_on))
        line = _domain_line(d.domain, summary.grade, summary.incomplete, summary.counts)
        if not self._quiet:
            p.lines.add(line)
        # Not audited first, then worse grade, more findings of the worst severities, an
        # incomplete grade, and input order.
        item = (
            outcome.status is AuditStatus.NOT_AUDITED,
            _BADNESS.get(summary.grade, 0),
            tuple(summary.counts.values()),
            summary.incomplete,
            -position,
            line,
        )
        if len(p.worst) < QUIET_DOMAINS:
            heapq.heappush(p.worst, item)
        else:
            heapq.heappushpop(p.worst, item)

    def _finish(self, p: _Pass) -> FleetDigest:
        report, quiet, color, width = self._report, self._quiet, self._color, self._width
        users, grades, incomplete, rows = p.users, p.grades, p.incomplete, p.rows
        totals = dict(p.totals)
        failing, not_tested = p.failing, p.not_tested
        for e in report.endpoints:
            if self._fail_on is not None:
                failing |= bool(exit_policy.failing(e.findings, self._fail_on))
            not_tested |= bool(untested_of_endpoint(e))
            for severity, n in severity_counts(e.findings).items():
                totals[severity] += n
        count = p.count
        head = _Lines(color=color, width=width)
        head.add(Text(f"Fleet: {count} domains, {len(report.endpoints)} endpoints", style="bold"))
        head.add(
            Text.assemble(
                "Grades: ",
                *[
                    Text.assemble(Text(g, style=GRADE_STYLE.get(g, "bold")), f" {grades[g]}  ")
                    for g in sorted(grades, key=lambda g: -_BADNESS.get(g, 0))
                ],
                Text(f"({incomplete} incomplete)", style="yellow" if incomplete else "dim"),
            )
        )
        head.add(Text(""))
        head.add(Text("Domain findings across the fleet", style="bold"))
        if not rows:
            head.add(Text("  none", style="green"))
        ordered = sorted(
            rows.items(), key=lambda kv: (-kv[1].severity.rank, -kv[1].domains, kv[0][0])
        )
        for (finding_id, severity), row in ordered:
            more = (
                f", ... {row.domains - len(row.examples)} more"
                if row.domains > len(row.examples)
                else ""
            )
            head.add(
                Text.assemble(
                    "  ",
                    Text(f"[{severity.value}]", style=SEVERITY_STYLE[severity]),
                    " ",
                    Text(safe(finding_id), style="bold"),
                    f"  {row.domains} domain{'s' if row.domains != 1 else ''}: ",
                    safe(", ".join(row.examples)) + more,
                )
            )
        head.add(Text(""))
        head.add(Text("Endpoints", style="bold"))
        for e in report.endpoints:
            live = [f for f in e.findings if f.waived is None]
            top = max((f.severity for f in live), key=lambda s: s.rank) if live else None
            head.add(
                Text.assemble(
                    "  ",
                    Text(safe(e.url), style="bold"),
                    f" {safe(e.id)}  {e.observation.status.value}  worst ",
                    severity_text(top),
                    f"  findings {len(live)}  used by {users[e.id]} domains",
                )
            )
            for f in sorted(live, key=lambda f: (-f.severity.rank, f.id)):
                head.add(
                    Text.assemble(
                        "    ",
                        Text(f"[{f.severity.value}]", style=SEVERITY_STYLE[f.severity]),
                        " ",
                        safe(f.id),
                    )
                )
        head.add(Text(""))
        if quiet:
            shown = sorted(p.worst, reverse=True)
            head.add(
                Text(
                    f"Worst domains ({len(shown)} of {count}; all in --json/--jsonl)", style="bold"
                )
            )
            for *_, line in shown:
                head.add(line)
        else:
            head.add(Text("Domains", style="bold"))
        tail = _Lines(color=color, width=width)
        tail.add(Text(""))
        tail.add(totals_line(totals))
        text = head.text() + ("" if quiet else p.lines.text()) + tail.text()
        code = outcome_exit_code(failing=failing, not_audited=p.not_audited, untested=not_tested)
        return FleetDigest(text, FleetOutcome(tuple(p.outcomes)), code)


def _domain_line(domain: str, grade: str, incomplete: bool, counts: dict[Severity, int]) -> Text:
    shown = [(s, n) for s, n in counts.items() if n]
    parts: list[Text | str] = []
    for s, n in shown:
        parts += [severity_text(s), f" {n}  "]
    return Text.assemble(
        "  ",
        Text(safe(domain).ljust(30), style="bold"),
        " grade ",
        Text(grade, style=GRADE_STYLE.get(grade, "bold")),
        Text(" (incomplete)", style="yellow") if incomplete else "",
        "  ",
        *(parts or [Text("no findings", style="green")]),
    )


class _Lines:
    """Lines of rich Text rendered to a string (ANSI colours only with `color`)."""

    def __init__(self, *, color: bool, width: int) -> None:
        self._buffer = io.StringIO()
        self._console = text_console(self._buffer, color=color, width=width, soft_wrap=True)

    def add(self, line: Text) -> None:
        self._console.print(line)

    def text(self) -> str:
        return plain_lines(self._buffer)
