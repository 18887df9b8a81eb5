"""`mailaudit checks`: the registry and the catalogue as a user reads them."""

from __future__ import annotations

import json

from click.testing import CliRunner

from mailaudit.checks.catalogue import CATALOGUE
from mailaudit.cli import main


def test_lists_every_finding_id_with_its_severity_range() -> None:
    result = CliRunner().invoke(main, ["checks"])
    assert result.exit_code == 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    listed = {line.split()[0] for line in lines if line.split()[0] in CATALOGUE}
    assert listed == set(CATALOGUE)
    relay = next(line for line in lines if line.startswith("smtp.open-relay "))
    assert "critical" in relay
    untrusted = next(line for line in lines if line.startswith("tls.cert-untrusted "))
    assert "low-high (default high)" in untrusted


def test_describes_one_id_like_script_help() -> None:
    result = CliRunner().invoke(main, ["checks", "smtp.open-relay"])
    assert result.exit_code == 0
    text = result.output
    assert text.startswith("smtp.open-relay\n")
    assert "severity:    critical" in text
    assert "check:       smtp.open-relay (endpoint)" in text
    assert "remediation: Relay only for authenticated users" in text
    assert "RFC 5321" in text


def test_a_check_name_gives_all_its_ids_and_json_is_data() -> None:
    result = CliRunner().invoke(main, ["checks", "tls.certificate", "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert {d["id"] for d in data} >= {"tls.cert-expired", "tls.cert-untrusted"}
    expired = next(d for d in data if d["id"] == "tls.cert-expired")
    assert expired["severities"] == ["medium", "high"]
    assert expired["check"] == "tls.certificate"
    assert expired["remediation"]


def test_an_unknown_id_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["checks", "smtp.open-relayy"])
    assert result.exit_code == 2
    assert "no finding id or check named 'smtp.open-relayy'" in result.output
