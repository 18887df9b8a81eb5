"""MTA-STS (RFC 8461): TXT record, policy file and mx pattern matching."""

from __future__ import annotations

import pytest

from mailaudit.policy.mtasts import (
    MtaStsMode,
    is_mtasts_record,
    mx_pattern_matches,
    parse_mtasts_policy,
    parse_mtasts_record,
    uncovered_mx_hosts,
)

GOOD_POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mail.good.test\r\nmx: *.backup.good.test\r\nmax_age: 604800\r\n"


def test_record() -> None:
    record = parse_mtasts_record("v=STSv1; id=2026112701;")
    assert record.is_valid
    assert record.id == "2026112701"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("v=STSv1;", "'id' field is missing"),
        ("v=STSv1; id=abc-def", "1 to 32 letters"),
        ("v=STSv1; id=" + "a" * 33, "1 to 32 letters"),
        ("v=STSv1; id=1; id=2", "more than once"),
        ("id=1; v=STSv1", "must start with 'v=STSv1'"),
    ],
)
def test_record_errors(text: str, fragment: str) -> None:
    assert any(fragment in e for e in parse_mtasts_record(text).errors)


def test_record_selection() -> None:
    assert is_mtasts_record("v=STSv1; id=1")
    assert not is_mtasts_record("v=STSv2; id=1")
    assert not is_mtasts_record("v=spf1 -all")


def test_policy_crlf() -> None:
    policy = parse_mtasts_policy(GOOD_POLICY)
    assert policy.is_valid, policy.errors
    assert policy.mode is MtaStsMode.ENFORCE
    assert policy.max_age_s == 604800
    assert policy.mx_patterns == ("mail.good.test", "*.backup.good.test")


def test_policy_lf_and_unknown_keys() -> None:
    policy = parse_mtasts_policy(
        "version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 86400\nfoo: bar\n"
    )
    assert policy.is_valid
    assert policy.mode is MtaStsMode.TESTING


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("mode: enforce\nmx: a.example.com\nmax_age: 1\n", "version: STSv1"),
        ("version: STSv1\nmode: strict\nmx: a.example.com\nmax_age: 1\n", "mode: strict"),
        ("version: STSv1\nmode: enforce\nmx: a.example.com\n", "max_age"),
        ("version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 31557601\n", "max_age"),
        ("version: STSv1\nmode: enforce\nmax_age: 86400\n", "no 'mx' field"),
        ("version: STSv1\nmode: enforce\nmx: *.*.example.com\nmax_age: 86400\n", "not a host name"),
        (
            "version: STSv1\nmode: enforce\nmode: testing\nmx: a.example.com\nmax_age: 86400\n",
            "more than once",
        ),
        ("<html>not found</html>", "not a 'key: value' line"),
    ],
)
def test_policy_errors(text: str, fragment: str) -> None:
    errors = parse_mtasts_policy(text).errors
    assert any(fragment in e for e in errors), errors


def test_mode_none_needs_no_mx() -> None:
    assert parse_mtasts_policy("version: STSv1\nmode: none\nmax_age: 86400\n").is_valid


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        # RFC 8461 §4.1: the wildcard stands for exactly one leftmost label.
        ("*.good.test", "mail.good.test", True),
        ("*.good.test", "MAIL.Good.Test.", True),
        ("*.good.test", "good.test", False),
        ("*.good.test", "a.mail.good.test", False),
        ("*.good.test", "mail.bad.test", False),
        ("mail.good.test", "mail.good.test", True),
        ("mail.good.test", "mx.good.test", False),
    ],
)
def test_mx_pattern_matches(pattern: str, host: str, expected: bool) -> None:
    assert mx_pattern_matches(pattern, host) is expected


def test_uncovered_mx_hosts() -> None:
    assert uncovered_mx_hosts(["*.good.test"], ["mail.good.test", "mx.other.test"]) == (
        "mx.other.test",
    )
