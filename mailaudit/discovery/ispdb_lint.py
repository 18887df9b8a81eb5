"""`mailaudit ispdb lint`: real data problems in config-v1.1.xml files. Pure: (name, bytes) in,
findings out; the CLI reads the directory. This module reads each file as written (`IspdbFile`);
`mailaudit.checks.ispdb` judges it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

from mailaudit.checks.ispdb import judge_ispdb_file
from mailaudit.discovery.autoconfig_xml import KNOWN_PLACEHOLDERS, read_raw
from mailaudit.discovery.xmlsafe import ConfigError, parse_document
from mailaudit.model import Finding, IspdbFile, PlaceholderUse

# Four or more capitals after a percent sign: a placeholder, whole or broken. Shorter runs are
# URL escapes such as %C3%A6 in documentation links.
_PLACEHOLDER = re.compile(r"%([A-Z][A-Z_]{3,})(%?)")


@dataclass(frozen=True)
class LintReport:
    files: int
    providers: int
    domains: int
    findings: tuple[Finding, ...]


def lint_files(files: Iterable[tuple[str, bytes]]) -> LintReport:
    findings: list[Finding] = []
    count = providers = domains = 0
    for name, data in files:
        count += 1
        file_findings, domain_count = lint_file(name, data)
        findings.extend(file_findings)
        if domain_count is not None:
            providers += 1
            domains += domain_count
    return LintReport(count, providers, domains, tuple(findings))


def lint_file(name: str, data: bytes) -> tuple[tuple[Finding, ...], int | None]:
    """Findings for one file, and its number of <domain> entries (None when unreadable)."""
    facts = read_file(name, data)
    findings = judge_ispdb_file(facts).findings
    return findings, len(facts.provider.domains) if facts.provider is not None else None


def read_file(name: str, data: bytes) -> IspdbFile:
    try:
        root = parse_document(data)
        raw = read_raw(data)
    except ConfigError as exc:
        return IspdbFile(name, error=str(exc))
    return IspdbFile(name, provider=raw, placeholders=tuple(_placeholders(root)))


def _placeholders(root: ET.Element) -> Iterable[PlaceholderUse]:
    for element in root.iter():
        values = [element.text or "", *element.attrib.values()]
        tag = element.tag.rsplit("}", 1)[-1]
        for value in values:
            for match in _PLACEHOLDER.finditer(value):
                token = f"%{match.group(1)}%"
                yield PlaceholderUse(
                    tag=tag,
                    value=value.strip(),
                    name=match.group(1),
                    closed=bool(match.group(2)),
                    known=token in KNOWN_PLACEHOLDERS,
                )
