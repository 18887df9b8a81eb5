"""The DMARC reader (RFC 7489 §6.3-6.4)."""

from __future__ import annotations

import pytest

from mailaudit.policy.dmarc import (
    Alignment,
    DmarcPolicy,
    dmarc_records_among,
    is_dmarc_record,
    parse_dmarc,
    parse_report_uri,
)


def test_full_record() -> None:
    record = parse_dmarc(
        "v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; pct=100; "
        "rua=mailto:dmarc@example.com,mailto:agg@reports.example.net!10m; ruf=mailto:f@example.com; fo=1:d"
    )
    assert record.is_valid, record.errors
    assert record.policy is DmarcPolicy.REJECT
    assert record.subdomain_policy is DmarcPolicy.QUARANTINE
    assert record.adkim is Alignment.STRICT
    assert record.aspf is Alignment.RELAXED
    assert [u.domain for u in record.rua] == ["example.com", "reports.example.net"]
    assert record.rua[1].size_limit == "10m"
    assert record.is_usable


def test_defaults() -> None:
    record = parse_dmarc("v=DMARC1; p=none")
    assert record.is_valid
    assert record.percent == 100
    assert record.adkim is Alignment.RELAXED
    assert record.effective_subdomain_policy is DmarcPolicy.NONE


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("v=DMARC1", "'p' tag is missing"),
        ("v=DMARC1; p=bogus", "must be none, quarantine or reject"),
        ("p=reject; v=DMARC1", "must start with 'v=DMARC1'"),
        ("v=DMARC1; p=reject; pct=150", "pct=150"),
        ("v=DMARC1; p=reject; adkim=x", "adkim=x"),
        ("v=DMARC1; p=reject; p=none", "more than once"),
        ("v=DMARC1; p=reject; rua=dmarc@example.com", "missing 'mailto:'"),
        ("v=DMARC1; p=reject; rua=mailto:nobody", "not a mail address"),
        ("v=DMARC1; p=reject; fo=2", "fo=2"),
        ("v=DMARC1; p=reject; junk", "not a tag=value"),
    ],
)
def test_errors_are_data(text: str, fragment: str) -> None:
    record = parse_dmarc(text)
    assert any(fragment in e for e in record.errors), record.errors


def test_invalid_p_with_rua_is_still_usable_as_none() -> None:
    # RFC 7489 §6.6.3 step 6.
    record = parse_dmarc("v=DMARC1; p=bogus; rua=mailto:d@example.com")
    assert record.is_usable
    assert record.effective_policy is DmarcPolicy.NONE


def test_missing_p_without_rua_is_discarded() -> None:
    assert not parse_dmarc("v=DMARC1; adkim=s").is_usable


def test_unknown_tags_are_ignored() -> None:
    assert parse_dmarc("v=DMARC1; p=reject; np=reject; t=y; future=1").is_valid


def test_p_not_second_is_a_warning() -> None:
    record = parse_dmarc("v=DMARC1; rua=mailto:d@example.com; p=reject")
    assert record.is_valid
    assert record.warnings


def test_record_selection() -> None:
    assert is_dmarc_record("v=DMARC1; p=none")
    assert is_dmarc_record("v = DMARC1 ;p=none")
    assert not is_dmarc_record("v=spf1 -all")
    assert dmarc_records_among(["x", "v=DMARC1; p=none"]) == ("v=DMARC1; p=none",)


def test_report_uri() -> None:
    uri = parse_report_uri("mailto:Reports@Example.COM!5k")
    assert (uri.address, uri.domain, uri.size_limit, uri.error) == (
        "Reports@Example.COM",
        "example.com",
        "5k",
        None,
    )
    assert parse_report_uri("https://example.com/r").error is None


# --- issue 10, item 8 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["V=DMARC1; P=reject", "v=DMARC1; P=Reject; SP=none", " V = DMARC1 ;p=reject"]
)
def test_tag_names_are_case_insensitive(text: str) -> None:
    # ABNF string literals are case-insensitive (RFC 5234 §2.3); only the version value
    # "DMARC1" is spelled with %x (case-sensitive).
    assert is_dmarc_record(text)
    assert dmarc_records_among(["v=spf1 -all", text]) == (text,)
    record = parse_dmarc(text)
    assert record.is_valid, record.errors
    assert record.policy is DmarcPolicy.REJECT
    assert record.warnings == ()


def test_version_value_stays_case_sensitive() -> None:
    assert not is_dmarc_record("v=dmarc1; p=reject")


def test_invalid_sp_with_valid_rua_falls_back_to_none() -> None:
    # RFC 7489 §6.6.3 step 6: an invalid "sp" with a valid rua: act as if p=none.
    record = parse_dmarc("v=DMARC1; p=reject; sp=bogus; rua=mailto:d@example.com")
    assert record.is_usable
    assert record.effective_subdomain_policy is DmarcPolicy.NONE
    assert record.effective_policy is DmarcPolicy.NONE


def test_invalid_sp_without_rua_is_not_usable() -> None:
    record = parse_dmarc("v=DMARC1; p=reject; sp=bogus")
    assert not record.is_usable


def test_rf_with_an_unregistered_keyword_is_well_formed() -> None:
    # rf = Keyword *(":" Keyword) (RFC 7489 §6.4): "other" is a keyword nobody registered.
    record = parse_dmarc("v=DMARC1; p=reject; rf=afrf:other")
    assert record.is_valid, record.errors
    assert not parse_dmarc("v=DMARC1; p=reject; rf=afrf:-bad").is_valid
