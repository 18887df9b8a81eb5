"""TLS-RPT records (RFC 8460 §3)."""

from __future__ import annotations

import pytest

from mailaudit.policy.tlsrpt import is_tlsrpt_record, parse_tlsrpt


def test_record_with_two_destinations() -> None:
    record = parse_tlsrpt("v=TLSRPTv1; rua=mailto:tls@example.com,https://reports.example.com/tls")
    assert record.is_valid
    assert record.rua == ("mailto:tls@example.com", "https://reports.example.com/tls")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("v=TLSRPTv1;", "'rua' field is missing"),
        ("v=TLSRPTv1; rua=ftp://example.com", "only mailto: and https:"),
        ("v=TLSRPTv1; rua=mailto:nobody", "not a mail address"),
        ("rua=mailto:a@example.com; v=TLSRPTv1", "must start with"),
    ],
)
def test_errors(text: str, fragment: str) -> None:
    assert any(fragment in e for e in parse_tlsrpt(text).errors)


def test_selection() -> None:
    assert is_tlsrpt_record("v=TLSRPTv1; rua=mailto:a@example.com")
    assert not is_tlsrpt_record("v=STSv1; id=1")
