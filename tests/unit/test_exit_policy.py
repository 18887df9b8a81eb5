"""The one exit-code policy (mailaudit.checks.exit_policy) that audit, report, diff, discover and
ispdb lint share."""

from __future__ import annotations

from dataclasses import replace

from mailaudit.checks.catalogue import finding
from mailaudit.checks.exit_policy import (
    EXIT_FINDINGS,
    EXIT_NOT_TESTED,
    EXIT_OK,
    exit_code,
    failing,
)
from mailaudit.model import Severity

HIGH = finding("discovery.plaintext-only", "x.test", "only without TLS")
WAIVED = replace(HIGH, waived="accepted until the migration, ticket OPS-7")
LOW = finding("discovery.guessed-only", "x.test", "guessed")


def test_an_unwaived_finding_at_the_threshold_fails() -> None:
    assert exit_code([HIGH, LOW], fail_on=Severity.HIGH) == EXIT_FINDINGS
    assert exit_code([LOW], fail_on=Severity.HIGH) == EXIT_OK
    assert failing([HIGH, LOW], Severity.LOW) == [HIGH, LOW]


def test_a_waived_finding_never_fails_a_run() -> None:
    assert exit_code([WAIVED], fail_on=Severity.INFO) == EXIT_OK
    assert failing([WAIVED, LOW], Severity.INFO) == [LOW]


def test_findings_outrank_could_not_test_everything() -> None:
    assert exit_code([HIGH], fail_on=Severity.MEDIUM, not_tested=True) == EXIT_FINDINGS
    assert exit_code([LOW], fail_on=Severity.MEDIUM, not_tested=True) == EXIT_NOT_TESTED
    assert exit_code([HIGH], fail_on=None, not_tested=False) == EXIT_OK


def test_nothing_verified_at_all_is_not_tested_whatever_was_found() -> None:
    # discover with not one working setting: its "no settings" finding cannot turn it into 1
    no_settings = finding("discovery.no-settings", "x.test", "no working setting found")
    assert exit_code([no_settings], fail_on=Severity.MEDIUM, nothing_tested=True) == EXIT_NOT_TESTED
