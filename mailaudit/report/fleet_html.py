"""The fleet view of the HTML report (issue 11): thousands of domains on a few shared hosts.

A page with 10,000 domain sections would weigh tens of megabytes and take many seconds to open.
The fleet page instead shows, as plain HTML, what an ISP reads first — the domains by grade, every
finding with the hosts that carry it and how many domains it affects, every shared host with its
endpoints — and the endpoints once each. Per-domain detail is data: one compact JSON block
(repeated strings stored once, the domain's own name factored out of them) that a small inline
script renders a page of 100 rows at a time, or one domain's detail on demand (`#d=DOMAIN`).

The page stays self-contained and offline: no external assets, and a Content-Security-Policy
that allows exactly that one script (by its SHA-256). Every value is inserted with
`textContent`, never as markup, so hostile server text stays text.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import markupsafe

from mailaudit.checks.grading import GRADES, SEVERITIES_WORST_FIRST, domain_summary
from mailaudit.model import Finding, Report, Severity
from mailaudit.report.escape import visible_controls
from mailaudit.report.html import anchor  # the same anchors as the endpoint sections
from mailaudit.report.streamed import FLEET_MIN_DOMAINS

__all__ = ["FLEET_MIN_DOMAINS", "fleet_view", "script_hash"]

# From this many domains on, the HTML report is the fleet view.
_SEVERITIES = [s.value for s in SEVERITIES_WORST_FIRST]


@dataclass(frozen=True)
class FindingGroup:
    finding: Finding  # one example: id, severity, title
    where: str  # "domain" or "endpoint"
    # Endpoint findings: the endpoints (view anchors and URLs) that carry it.
    endpoints: tuple[tuple[str, str], ...]
    domains: int


@dataclass(frozen=True)
class HostGroup:
    address: str
    names: tuple[str, ...]
    # (anchor, url, port, worst severity or None, probe status)
    endpoints: tuple[tuple[str, str, int, Severity | None, str], ...]
    domains: int
    findings: tuple[tuple[str, Severity, int], ...]  # id, severity, on how many of its endpoints


class _Strings:
    """A string table: each distinct text once; a text containing the domain's own name is
    stored as its parts around that name (so "_dmarc.cust00001.test" is shared by all)."""

    def __init__(self) -> None:
        self.items: list[str | list[str]] = []
        self._index: dict[str | tuple[str, ...], int] = {}

    def add(self, text: str, domain: str | None = None) -> int:
        text = visible_controls(text, keep_cr=True)
        key: str | tuple[str, ...] = text
        if domain and domain in text:
            key = tuple(text.split(domain))
        found = self._index.get(key)
        if found is None:
            found = self._index[key] = len(self.items)
            self.items.append(list(key) if isinstance(key, tuple) else key)
        return found


def _finding_key(f: Finding) -> str:
    return f"{f.id}|{f.severity.value}"


def fleet_view(report: Report) -> dict[str, Any]:
    """What the fleet template needs beyond the ordinary report context."""
    strings = _Strings()
    endpoint_index = {e.id: i for i, e in enumerate(report.endpoints)}
    catalogue: dict[str, int] = {}
    examples: list[Finding] = []

    def finding_ref(f: Finding) -> int:
        key = _finding_key(f)
        if key not in catalogue:
            catalogue[key] = len(examples)
            examples.append(f)
        return catalogue[key]

    endpoints_data = []
    for e in report.endpoints:
        live = [f for f in e.findings if f.waived is None]
        worst = max((f.severity for f in live), key=lambda s: s.rank) if live else None
        endpoints_data.append(
            [
                strings.add(e.url),
                strings.add(e.id),
                "e-" + anchor(e.id),
                e.observation.status.value,
                _SEVERITIES.index(worst.value) if worst else -1,
                [
                    [finding_ref(f), strings.add(f.detail), 1 if f.waived else 0]
                    for f in _ordered(e.findings)
                ],
                strings.add(e.address or e.id),  # the host group (#h=ADDRESS)
            ]
        )

    grades: Counter[str] = Counter()
    incomplete = 0
    domains_data = []
    domains_of_finding: dict[int, set[int]] = defaultdict(set)
    domains_of_address: dict[str, set[int]] = defaultdict(set)
    for di, d in enumerate(report.domains):
        s = domain_summary(report, d)
        grades[s.grade] += 1
        incomplete += s.incomplete
        name = d.domain
        eids = [endpoint_index[eid] for eid in d.endpoint_ids if eid in endpoint_index]
        for ei in eids:
            address = report.endpoints[ei].address or report.endpoints[ei].id
            domains_of_address[address].add(di)
            for f in report.endpoints[ei].findings:
                if f.waived is None:
                    domains_of_finding[finding_ref(f)].add(di)
        own = []
        for f in _ordered(d.findings):
            ref = finding_ref(f)
            if f.waived is None:
                domains_of_finding[ref].add(di)
            subject = 0 if f.subject == name else strings.add(f.subject, name) + 1
            own.append([ref, subject, strings.add(f.detail, name), 1 if f.waived else 0])
        untested = [
            [
                strings.add(u.kind),
                strings.add(u.subject, name),
                strings.add(u.what, name),
                strings.add(u.reason, name),
            ]
            for u in s.untested
        ]
        settings = []
        if d.discovery is not None:
            for role, rec in (
                ("Incoming", d.discovery.incoming),
                ("Outgoing", d.discovery.outgoing),
            ):
                if rec is None:
                    continue
                st = rec.setting
                settings.append(
                    [
                        strings.add(role),
                        strings.add(
                            f"{st.protocol.value.upper()} {st.host}:{st.port} {st.security.value}",
                            name,
                        ),
                        strings.add(f"{rec.source.value} ({rec.trust.value})"),
                    ]
                )
        domains_data.append(
            [
                name,
                s.grade + ("*" if s.incomplete else ""),
                eids,
                own,
                untested,
                settings,
                [strings.add(n, name) for n in d.not_offered],
            ]
        )

    data = {
        "severities": _SEVERITIES,
        "strings": strings.items,
        "findings": [
            [f.id, _SEVERITIES.index(f.severity.value), visible_controls(f.title, keep_cr=True)]
            for f in examples
        ],
        "endpoints": endpoints_data,
        "domains": domains_data,
    }
    return {
        "fleet": True,
        "fleet_data": _json_for_script(data),
        "fleet_grades": [(g, grades[g]) for g in [*sorted(set(GRADES.values())), "?"]],
        "fleet_incomplete": incomplete,
        "finding_groups": _finding_groups(report, examples, catalogue, domains_of_finding),
        "host_groups": _host_groups(report, domains_of_address),
    }


def _ordered(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.waived is not None, -f.severity.rank, f.id))


def _finding_groups(
    report: Report,
    examples: list[Finding],
    catalogue: dict[str, int],
    domains_of_finding: dict[int, set[int]],
) -> tuple[FindingGroup, ...]:
    carriers: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for e in report.endpoints:
        for key in sorted({_finding_key(f) for f in e.findings if f.waived is None}):
            carriers[catalogue[key]].append(("e-" + anchor(e.id), e.url))
    groups = [
        FindingGroup(
            finding=f,
            where="endpoint" if i in carriers else "domain",
            endpoints=tuple(carriers.get(i, ())),
            domains=len(domains_of_finding.get(i, ())),
        )
        for i, f in enumerate(examples)
        if i in domains_of_finding or i in carriers
    ]
    return tuple(sorted(groups, key=lambda g: (-g.finding.severity.rank, -g.domains, g.finding.id)))


def _host_groups(report: Report, domains_of_address: dict[str, set[int]]) -> tuple[HostGroup, ...]:
    by_address: dict[str, list[Any]] = defaultdict(list)
    for e in report.endpoints:
        by_address[e.address or e.id].append(e)
    groups = []
    for address, endpoints in by_address.items():
        names = sorted({n for e in endpoints for n in e.names})
        findings: Counter[tuple[str, Severity]] = Counter()
        rows = []
        for e in sorted(endpoints, key=lambda e: e.port):
            live = [f for f in e.findings if f.waived is None]
            for key in {(f.id, f.severity) for f in live}:
                findings[key] += 1
            worst = max((f.severity for f in live), key=lambda s: s.rank) if live else None
            status = e.observation.status.value
            rows.append(("e-" + anchor(e.id), e.url, e.port, worst, status))
        groups.append(
            HostGroup(
                address=address,
                names=tuple(names),
                endpoints=tuple(rows),
                domains=len(domains_of_address.get(address, ())),
                findings=tuple(
                    (fid, sev, n)
                    for (fid, sev), n in sorted(
                        findings.items(), key=lambda x: (-x[0][1].rank, x[0][0])
                    )
                ),
            )
        )
    return tuple(sorted(groups, key=lambda g: (-g.domains, g.address)))


def _json_for_script(data: object) -> markupsafe.Markup:
    """JSON safe inside <script type="application/json">: no "</script>" or "<!--" can form."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return markupsafe.Markup(text)


def script_hash(script: str) -> str:
    """The CSP source that allows exactly this inline script."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
