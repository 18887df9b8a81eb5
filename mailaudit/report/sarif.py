"""SARIF 2.1.0, for code-scanning dashboards.

One run; one rule per finding id that occurs (wording, remediation and references from the
catalogue in `mailaudit.checks.catalogue`, the check that raises it from the registry; an id the
catalogue does not know is an error, `UnknownFindingId`); one result per finding. A finding's subject (an endpoint URL such as
`smtp://mail.example.test` or a domain) is both the artifact location's URI and a logical
location, since there is no source file to point at. Waived findings carry an external
suppression with the waiver's reason. Fingerprints hash id + subject, so dashboards track a
finding across runs. What could not be tested goes into the invocation's notifications.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any, TextIO

from mailaudit.checks.catalogue import entry
from mailaudit.checks.grading import untested
from mailaudit.checks.registry import check_for_id
from mailaudit.model import Finding, Report, Severity
from mailaudit.report.summary import reference_link

__all__ = ["SARIF_SCHEMA_URI", "level", "render_sarif", "sarif_log", "write_sarif"]

SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning reads "security-severity" (0.0-10.0, CVSS-like bands).
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "7.5",
    Severity.MEDIUM: "5.0",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def level(severity: Severity) -> str:
    return _LEVEL[severity]


def fingerprint(finding: Finding) -> str:
    return hashlib.sha256(f"{finding.id}\0{finding.subject}".encode()).hexdigest()


def render_sarif(report: Report) -> str:
    return json.dumps(sarif_log(report), indent=2, ensure_ascii=False) + "\n"


def write_sarif(report: Report, stream: TextIO) -> None:
    """Write `render_sarif(report)` to `stream` piece by piece: each result is turned into data
    when the encoder reaches it, never the whole log at once (a fleet's domains are read one at
    a time; only their findings are kept, to be sorted)."""
    log = sarif_log(report, lazy=True)
    # With an indent the json module encodes in Python and iterates lists lazily.
    for chunk in json.JSONEncoder(indent=2, ensure_ascii=False).iterencode(log):
        stream.write(chunk)
    stream.write("\n")


def sarif_log(report: Report, *, lazy: bool = False) -> dict[str, Any]:
    """The SARIF log as data; `lazy`: its results made only as they are iterated."""
    findings = sorted(report.all_findings(), key=lambda f: (f.id, f.subject, f.detail))
    rule_ids = sorted({f.id for f in findings})
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    rules = [_rule(rule_id) for rule_id in rule_ids]
    results: list[dict[str, Any]] = (
        _Results(findings, index) if lazy else [_result(f, index[f.id]) for f in findings]
    )
    notifications = [
        {
            "level": "warning",
            "message": {"text": f"could not test {u.subject}: {u.what}: {u.reason}"},
            "descriptor": {"id": f"not-tested.{u.kind}"},
        }
        for u in untested(report)
    ]
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mailaudit",
                        "version": report.run.tool_version,
                        "semanticVersion": report.run.tool_version,
                        "rules": rules,
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "startTimeUtc": _utc(report.run.started_at),
                        "endTimeUtc": _utc(report.run.finished_at),
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "automationDetails": {"id": f"mailaudit/{report.run.command}/"},
                "columnKind": "unicodeCodePoints",
                "results": results,
                "properties": {"schema_version": report.schema_version},
            }
        ],
    }


class _Results(list[dict[str, Any]]):
    """The results, each made when the JSON encoder reaches it."""

    def __init__(self, findings: list[Finding], index: dict[str, int]) -> None:
        super().__init__()
        self._findings = findings
        self._index = index

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (_result(f, self._index[f.id]) for f in self._findings)

    def __len__(self) -> int:
        return len(self._findings)


def _utc(stamp: str) -> str:
    """SARIF wants date-times in UTC ("Z"); our stamps are ISO 8601 with +00:00."""
    return stamp.replace("+00:00", "Z")


def _rule(rule_id: str) -> dict[str, Any]:
    known = entry(rule_id)
    check = check_for_id(rule_id)
    title, remediation, references = known.title, known.remediation, known.references
    severity = known.severity
    links = [link for link in (reference_link(r) for r in references) if link]
    help_text = remediation
    if references:
        help_text += "\n\nReferences: " + "; ".join(references)
    rule: dict[str, Any] = {
        "id": rule_id,
        "name": "".join(part.capitalize() for part in rule_id.replace("-", ".").split(".")),
        "shortDescription": {"text": title},
        "fullDescription": {"text": f"{title}. Check {check.name}: {check.summary}."},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": level(severity)},
        "properties": {
            "tags": ["security", "mail", rule_id.split(".")[0]],
            "security-severity": _SECURITY_SEVERITY[severity],
            "references": list(references),
            "severities": [s.value for s in known.allowed],
            "check": check.name,
        },
    }
    if links:
        rule["helpUri"] = links[0]
    return rule


def _result(f: Finding, rule_index: int) -> dict[str, Any]:
    message = f"{f.title}: {f.detail}" if f.detail else f.title
    result: dict[str, Any] = {
        "ruleId": f.id,
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {"artifactLocation": {"uri": f.subject}},
                "logicalLocations": [{"name": f.subject, "fullyQualifiedName": f.subject}],
            }
        ],
        "fingerprints": {"mailaudit/v1": fingerprint(f)},
        "partialFingerprints": {"mailauditFindingKey/v1": fingerprint(f)},
        "properties": {
            "severity": f.severity.value,
            "confidence": f.confidence.value,
            "security-severity": _SECURITY_SEVERITY[f.severity],
            "evidence": list(f.evidence),
            **({"context": f.context} if f.context else {}),
        },
    }
    if f.waived is not None:
        result["suppressions"] = [{"kind": "external", "justification": f.waived}]
    return result
