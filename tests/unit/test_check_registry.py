"""The check registry and the catalogue hold each other together: every id a check can raise
has its words, every catalogue entry belongs to exactly one check, every run name is unique."""

from __future__ import annotations

import ast
import dataclasses
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from mailaudit.checks.catalogue import CATALOGUE, UnknownFindingId, entry, finding
from mailaudit.checks.check import Scope
from mailaudit.checks.registry import CHECKS, check_for_id, checks_of, endpoint_checks_for
from mailaudit.model import Scheme, Severity
from mailaudit.report.html import render_html
from mailaudit.report.junit import render_junit
from mailaudit.report.sarif import sarif_log
from tests.unit.report_samples import relay_report

ROOT = Path(__file__).resolve().parents[2] / "mailaudit"


def test_every_catalogue_id_belongs_to_exactly_one_check() -> None:
    owners = Counter(i for c in CHECKS for i in c.ids)
    assert set(owners) == set(CATALOGUE)
    assert [i for i, n in owners.items() if n > 1] == []


def test_check_names_and_run_names_are_unique() -> None:
    names = [c.name for c in CHECKS]
    assert len(names) == len(set(names))
    runs = [r for c in CHECKS for r in c.run_names]
    assert len(runs) == len(set(runs))


def test_every_check_of_an_audit_scope_has_a_judge() -> None:
    audit_scopes = {
        Scope.ENDPOINT,
        Scope.TLS,
        Scope.DOMAIN,
        Scope.ADDRESS,
        Scope.TLS_HOSTS,
        Scope.DOMAIN_AUDIT,
    }
    for scope in audit_scopes:
        for check in checks_of(scope):
            assert check.judge is not None, check.name
            assert check.summary
            assert check.applies_to
            assert check.needs


def test_every_literal_finding_id_in_the_code_is_catalogued() -> None:
    # A typo in an id fails here, not in a user's SARIF upload.
    pattern = re.compile(r"^[a-z0-9]+(?:\.[a-z0-9-]+)+$")
    known_prefixes = {i.split(".")[0] for i in CATALOGUE}
    missing = set()
    for path in ROOT.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            first = node.args[0]
            if name not in ("finding", "add") or not isinstance(first, ast.Constant):
                continue
            value = first.value
            if (
                isinstance(value, str)
                and pattern.match(value)
                and value.split(".")[0] in known_prefixes
                and value not in CATALOGUE
            ):
                missing.add(f"{path.relative_to(ROOT)}: {value}")
    assert sorted(missing) == []


def test_an_unknown_id_is_an_error() -> None:
    with pytest.raises(UnknownFindingId):
        entry("smtp.open-relayy")
    with pytest.raises(UnknownFindingId):
        finding("smtp.open-relayy", "smtp://x.test", "typo")
    with pytest.raises(KeyError):
        check_for_id("smtp.open-relayy")


def test_a_severity_outside_the_catalogue_entry_is_an_error() -> None:
    assert entry("smtp.open-relay").allowed == (Severity.CRITICAL,)
    with pytest.raises(ValueError, match="outside its catalogue entry"):
        finding("smtp.open-relay", "smtp://x.test", "x", severity=Severity.LOW)
    low = finding("tls.cert-untrusted", "smtp://x.test", "x", severity=Severity.LOW)
    assert low.severity is Severity.LOW


def test_endpoint_checks_per_scheme_keep_report_order() -> None:
    assert endpoint_checks_for(Scheme.SMTP) == (
        "smtp.open-relay",
        "submission.accepts-unauthenticated",
        "smtp.auth-before-tls",
        "smtp.starttls-missing",
        "smtp.starttls-failed",
        "smtp.starttls-injection",
        "smtp.starttls-readvertised",
        "smtp.vrfy-enabled",
        "smtp.expn-enabled",
        "banner.version-disclosed",
        "banner.hostname-mismatch",
    )
    assert endpoint_checks_for(Scheme.IMAPS)[0] == "imap.auth-before-tls"
    for scheme in Scheme:
        for name in endpoint_checks_for(scheme):
            assert name in CATALOGUE


def test_sarif_names_every_rule_from_the_catalogue_and_refuses_an_unknown_id() -> None:
    report = relay_report()
    rules = sarif_log(report)["runs"][0]["tool"]["driver"]["rules"]
    for rule in rules:
        assert rule["shortDescription"]["text"] == entry(rule["id"]).title
        assert rule["properties"]["check"] == check_for_id(rule["id"]).name
    # A report naming an id this version does not know (a typo, another version) is an error,
    # never a rule made up from the finding's own text.
    endpoint = report.endpoints[0]
    stray = dataclasses.replace(endpoint.findings[0], id="smtp.open-relayy")
    broken = dataclasses.replace(
        report, endpoints=(dataclasses.replace(endpoint, findings=(stray,)),)
    )
    with pytest.raises(UnknownFindingId):
        sarif_log(broken)


def test_junit_and_html_describe_each_check_run_from_the_registry() -> None:
    report = relay_report()
    junit = ET.fromstring(render_junit(report))
    case = next(c for c in junit.iter("testcase") if c.get("name") == "smtp.open-relay")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["checks"] == check_for_id("smtp.open-relay").summary
    html = render_html(report)
    assert f'title="{check_for_id("smtp.open-relay").summary}"' in html
