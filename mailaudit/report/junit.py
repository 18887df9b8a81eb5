"""JUnit XML: one testsuite per domain and per endpoint, one testcase per `CheckRun`.

failed -> <failure> (message: the findings' titles; text: details and evidence), or <skipped>
when every finding of the check is waived;
not_tested / inconclusive / not_applicable -> <skipped message="...">; passed -> an empty case.
ElementTree escapes markup; characters XML 1.0 cannot carry at all (NUL, ESC...) are written as
visible \\xNN escapes, so a hostile banner cannot break the file.
"""

from __future__ import annotations

import io
import re
import shutil
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import TextIO

from mailaudit.checks.registry import check_for_run
from mailaudit.model import CheckRun, CheckStatus, Finding, Report

__all__ = ["render_junit", "write_junit"]

# Outside XML 1.0's Char production (plus DEL and C1 controls, which are legal but invisible).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")


def _x(text: object) -> str:
    return _INVALID_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def render_junit(report: Report) -> str:
    buffer = io.StringIO()
    write_junit(report, buffer)
    return buffer.getvalue()


_Suite = tuple[str, str, tuple[CheckRun, ...], dict[str, Finding], dict[str, str]]


def write_junit(report: Report, stream: TextIO) -> None:
    """Write the JUnit XML to `stream` one testsuite at a time: a fleet's domains are read once,
    each suite written and dropped (the totals the root element carries go first, so the suites
    wait in a temporary file meanwhile)."""
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    with tempfile.TemporaryFile("w+", encoding="utf-8") as suites:
        for suite in _suites(report):
            element, counts = _testsuite(suite, timestamp=report.run.started_at)
            for key, n in counts.items():
                totals[key] += n
            # What ET.indent gives a testsuite inside the root, written one suite at a time.
            ET.indent(element, level=1)
            suites.write("\n  " + ET.tostring(element, encoding="unicode"))
        root = ET.Element("testsuites", name="mailaudit")
        for attribute, count in totals.items():
            root.set(attribute, str(count))
        root.set("errors", "0")
        root.set("time", f"{report.run.duration_ms / 1000:.3f}")
        stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        if not suites.tell():
            stream.write(ET.tostring(root, encoding="unicode") + "\n")
            return
        opening = ET.tostring(root, encoding="unicode").removesuffix(" />") + ">"
        stream.write(opening)
        suites.seek(0)
        shutil.copyfileobj(suites, stream)
        stream.write("\n</testsuites>\n")


def _suites(report: Report) -> Iterator[_Suite]:
    for d in report.domains:
        findings = {f.id: f for f in d.findings}
        props = {"kind": "domain", "domain": d.domain}
        yield (d.domain, f"mailaudit.domain.{d.domain}", d.checks, findings, props)
    for e in report.endpoints:
        obs = e.observation
        props = {
            "kind": "endpoint",
            "endpoint": e.id,
            "url": e.url,
            "probe": obs.status.value,
            "domains": ", ".join(e.domains),
        }
        if obs.failure is not None:
            props["failure"] = f"{obs.failure.reason} at {obs.failure.step}: {obs.failure.message}"
        findings = {f.id: f for f in e.findings}
        yield (f"{e.url} ({e.id})", f"mailaudit.endpoint.{e.id}", e.checks, findings, props)


def _testsuite(suite: _Suite, *, timestamp: str) -> tuple[ET.Element, dict[str, int]]:
    name, classname, checks, findings, props = suite
    element = ET.Element("testsuite", name=_x(name), timestamp=timestamp)
    properties = ET.SubElement(element, "properties")
    for key, value in props.items():
        ET.SubElement(properties, "property", name=key, value=_x(value))
    failures = skipped = 0
    for run in checks:
        case = ET.SubElement(
            element, "testcase", name=_x(run.check), classname=_x(classname), time="0"
        )
        found = [findings[i] for i in run.finding_ids if i in findings]
        if run.status is CheckStatus.FAILED and found and all(f.waived for f in found):
            skipped += 1
            reasons = "; ".join(sorted({f.waived or "" for f in found}))
            ET.SubElement(case, "skipped", message=_x(f"waived: {reasons}"))
        elif run.status is CheckStatus.FAILED:
            failures += 1
            message = "; ".join(f"[{f.severity.value}] {f.title}" for f in found)
            failure = ET.SubElement(
                case,
                "failure",
                message=_x(message or run.reason or "failed"),
                type=_x(max((f.severity for f in found), key=lambda s: s.rank).value)
                if found
                else "failed",
            )
            failure.text = _x(_failure_text(run, found))
        elif run.status is not CheckStatus.PASSED:
            skipped += 1
            label = run.status.value.replace("_", " ")
            ET.SubElement(
                case, "skipped", message=_x(f"{label}: {run.reason}" if run.reason else label)
            )
        check = check_for_run(run.check)  # what the test case checks, from the registry
        case_facts = {"subject": run.subject, "checks": check.summary if check else ""}
        if any(case_facts.values()):
            case_props = ET.SubElement(case, "properties")
            for key, value in case_facts.items():
                if value:
                    ET.SubElement(case_props, "property", name=key, value=_x(value))
    element.set("tests", str(len(checks)))
    element.set("failures", str(failures))
    element.set("errors", "0")
    element.set("skipped", str(skipped))
    return element, {"tests": len(checks), "failures": failures, "skipped": skipped}


def _failure_text(run: CheckRun, found: list[Finding]) -> str:
    lines = [f"subject: {run.subject}"]
    if run.reason:
        lines.append(f"reason: {run.reason}")
    for f in found:
        waived = f" (waived: {f.waived})" if f.waived is not None else ""
        lines += [
            "",
            f"{f.id} [{f.severity.value}]{waived}: {f.title}",
            f.detail,
            f"fix: {f.remediation}",
        ]
        lines += [f"  {e}" for e in f.evidence]
        if f.references:
            lines.append("see: " + "; ".join(f.references))
    return "\n".join(lines)
