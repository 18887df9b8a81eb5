"""The policy readers take text from the internet: whatever it is, they return a result (errors as
data) and never raise."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailaudit.policy.dane import parse_tlsa, tlsa_matches
from mailaudit.policy.dmarc import parse_dmarc
from mailaudit.policy.mtasts import mx_pattern_matches, parse_mtasts_policy, parse_mtasts_record
from mailaudit.policy.spf import parse_spf
from mailaudit.policy.tlsrpt import parse_tlsrpt

SPF_ALPHABET = st.sampled_from(
    [" ", "+", "-", "~", "?", ":", "/", "//", "=", ".", "%{", "}", "%%", "a", "mx", "all", "include",
     "ip4", "ip6", "exists", "ptr", "redirect", "exp", "1", "2", "255", "example.com", "::", "%{i}", "\t", "é"]
)  # fmt: skip


@settings(max_examples=300)
@given(st.lists(SPF_ALPHABET, max_size=30).map("".join))
def test_spf_never_raises(body: str) -> None:
    record = parse_spf("v=spf1 " + body)
    assert record.text == "v=spf1 " + body
    if record.is_valid:
        # A valid record re-reads to the same terms.
        assert parse_spf(record.text) == record


@settings(max_examples=200)
@given(st.text(max_size=200))
def test_any_text(text: str) -> None:
    parse_spf(text)
    parse_dmarc(text)
    parse_dmarc("v=DMARC1; " + text)
    parse_mtasts_record(text)
    parse_mtasts_policy(text)
    parse_mtasts_policy("version: STSv1\n" + text)
    parse_tlsrpt(text)
    parse_tlsa(text)
    mx_pattern_matches(text, "mail.example.com")


@settings(max_examples=50)
@given(st.binary(max_size=64))
def test_tlsa_matching_on_garbage_chains(der: bytes) -> None:
    result = tlsa_matches(
        [parse_tlsa("3 0 0 " + der.hex()), parse_tlsa("2 1 1 " + "00" * 32)], (der, der)
    )
    assert not result.matched
