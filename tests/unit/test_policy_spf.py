"""The SPF reader (RFC 7208): terms, qualifiers, syntax errors as data."""

from __future__ import annotations

import pytest

from mailaudit.policy.spf import (
    Mechanism,
    Qualifier,
    is_spf_record,
    parse_spf,
    spf_records_among,
)


def test_simple_record_reads_mechanisms_and_all() -> None:
    record = parse_spf("v=spf1 mx -all")
    assert record.is_valid
    assert [m.kind for m in record.mechanisms] == [Mechanism.MX, Mechanism.ALL]
    assert record.all_mechanism is not None
    assert record.all_mechanism.qualifier is Qualifier.FAIL
    assert record.dns_lookup_terms == ("mx",)


@pytest.mark.parametrize(
    ("text", "qualifier"),
    [
        ("v=spf1 +all", Qualifier.PASS),
        ("v=spf1 all", Qualifier.PASS),
        ("v=spf1 ?all", Qualifier.NEUTRAL),
        ("v=spf1 ~all", Qualifier.SOFTFAIL),
        ("v=spf1 -ALL", Qualifier.FAIL),
    ],
)
def test_all_qualifiers(text: str, qualifier: Qualifier) -> None:
    record = parse_spf(text)
    assert record.is_valid
    assert record.all_mechanism is not None
    assert record.all_mechanism.qualifier is qualifier


def test_every_mechanism_form() -> None:
    record = parse_spf(
        "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a a:mail.example.com/28//64 mx/24 "
        "include:_spf.example.net exists:%{i}._ip.%{d} ptr:example.org ~all"
    )
    assert record.is_valid, record.errors
    a_with_domain = record.mechanisms[3]
    assert (a_with_domain.domain, a_with_domain.cidr4, a_with_domain.cidr6) == (
        "mail.example.com",
        28,
        64,
    )
    assert record.mechanisms[4].cidr4 == 24
    assert record.mechanisms[0].network == "192.0.2.0/24"
    # a, a:..., mx, include, exists, ptr count; ip4/ip6/all do not.
    assert len(record.dns_lookup_terms) == 6
    assert record.mechanisms[6].has_macro
    assert any("ptr" in w for w in record.warnings)


def test_redirect_counts_only_without_all() -> None:
    assert parse_spf("v=spf1 redirect=_spf.example.com").effective_redirect == "_spf.example.com"
    assert parse_spf("v=spf1 redirect=_spf.example.com").dns_lookup_terms == (
        "redirect=_spf.example.com",
    )
    with_all = parse_spf("v=spf1 -all redirect=_spf.example.com")
    assert with_all.effective_redirect is None
    assert any("redirect" in w for w in with_all.warnings)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("v=spf1 foo -all", "unknown mechanism"),
        ("v=spf1 ip4:192.0.2.300 -all", "not an IPv4"),
        ("v=spf1 ip4:192.0.2.0/33 -all", "prefix length"),
        ("v=spf1 ip6:192.0.2.1 -all", "not an IPv6"),
        ("v=spf1 include: -all", "needs a domain"),
        ("v=spf1 include:nodot -all", "not a valid domain"),
        ("v=spf1 all:example.com", "takes no argument"),
        ("v=spf1 a/33 -all", "out of range"),
        ("v=spf1 ptr/24 -all", "no prefix"),
        ("v=spf1 exists:%{z}.example.com -all", "bad macro"),
        ("v=spf1 redirect=a.example redirect=b.example", "more than once"),
        ("v=spf1 - -all", "not a mechanism"),
    ],
)
def test_syntax_errors_are_data(text: str, fragment: str) -> None:
    record = parse_spf(text)
    assert not record.is_valid
    assert any(fragment in e for e in record.errors), record.errors


def test_terms_after_all_are_flagged() -> None:
    record = parse_spf("v=spf1 -all include:late.example.com")
    assert record.is_valid
    assert any("never evaluated" in w for w in record.warnings)


def test_unknown_modifier_is_allowed() -> None:
    assert parse_spf("v=spf1 -all foo=bar").is_valid


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v=spf1 -all", True),
        ("v=spf1", True),
        ("V=SPF1 -all", True),
        ("v=spf10 -all", False),
        ("spf1 -all", False),
        ("google-site-verification=abc", False),
    ],
)
def test_is_spf_record(text: str, expected: bool) -> None:
    assert is_spf_record(text) is expected


def test_spf_records_among_ignores_other_txt() -> None:
    assert spf_records_among(["hello", "v=spf1 -all", "v=spf1 mx -all"]) == (
        "v=spf1 -all",
        "v=spf1 mx -all",
    )


def test_not_an_spf_record() -> None:
    assert parse_spf("v=DMARC1; p=none").errors


# --- issue 10, item 8: defects found by the openspf RFC 7208 suite ---------------------------


@pytest.mark.parametrize("kind", ["a", "mx"])
def test_colon_and_slash_are_legal_in_a_domain_spec(kind: str) -> None:
    # RFC 7208 §7.1: a macro-literal is any visible character but "%"; only the domain-end
    # ("." toplabel) is constrained. openspf tests a-colon-domain / mx-colon-domain.
    record = parse_spf(f"v=spf1 {kind}:foo:bar/baz.example.com")
    assert record.is_valid, record.errors
    assert record.mechanisms[0].domain == "foo:bar/baz.example.com"
    assert record.mechanisms[0].cidr4 is None


def test_prefix_length_after_a_domain_with_slashes() -> None:
    record = parse_spf("v=spf1 a:foo:bar/baz.example.com/24//64")
    assert record.is_valid, record.errors
    mechanism = record.mechanisms[0]
    assert (mechanism.domain, mechanism.cidr4, mechanism.cidr6) == (
        "foo:bar/baz.example.com",
        24,
        64,
    )


@pytest.mark.parametrize(
    "text",
    [
        "v=spf1 a:%{r}.example.com -all",
        "v=spf1 include:%{r}.example.com -all",
        "v=spf1 exists:%{c}.%{t}.example.com -all",
        "v=spf1 redirect=%{t}.example.com",
        "v=spf1 -all exp=%{r}.example.com",
        "v=spf1 mx:%{C}.example.com -all",
    ],
)
def test_macro_letters_c_r_t_only_in_explanation_text(text: str) -> None:
    # RFC 7208 §7.1: c, r and t are allowed only in the TXT string exp= points at, never in a
    # domain-spec (openspf exp-only-macro-char).
    record = parse_spf(text)
    assert not record.is_valid
    assert "only in explanation" in record.errors[0]


def test_other_macro_letters_stay_valid_in_domain_specs() -> None:
    record = parse_spf("v=spf1 exists:%{i}.%{l1r-}.%{d2}.%{h}.%{v}.%{o}.%{s}.%{p}.example.com -all")
    assert record.is_valid, record.errors
