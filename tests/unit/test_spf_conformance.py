"""Conformance: the openspf RFC 7208 test suite, as a domain auditor reads it (issue 10, item 8).

Every suite test is classified (`expectation`) and each mapped one is checked against the audit
of its domain: `gather_policy` on the scenario's zone data (in-process, `SuiteResolver`) and
`judge_policy`, the same code `mailaudit audit` runs. The counts of mapped and unmapped tests,
with why, are pinned in `test_mapping_counts` (203 tests: 193 mapped, 10 unmapped).
"""

from __future__ import annotations

from collections import Counter
from enum import StrEnum

import pytest

from mailaudit.checks.dns_policy import judge_policy
from mailaudit.context import Context
from mailaudit.model import CheckStatus
from mailaudit.policy._names import is_domain_name
from mailaudit.probes.dns_policy import gather_policy
from mailaudit.settings import Settings
from tests.unit.openspf_suite import ERROR_FINDINGS, SuiteResolver, SuiteTest, load_suite


class Expect(StrEnum):
    ERROR = "an SPF error finding"  # the suite's only accepted result is permerror
    VALID = "no SPF error finding"  # pass/fail/softfail/neutral/none: a valid policy
    NOT_TESTED = "no SPF error finding and an SPF check not tested"  # temperror: DNS failed


# Tests whose domain the auditor rightly judges more strictly than the suite's single sender.
AUDITOR_STRICTER = {
    "include-at-limit": (
        "the 11th DNS-querying term comes after the ip4 that matches the tested sender; every "
        "other sender reaches it and gets permerror (RFC 7208 §4.6.4), which the audit reports"
    ),
}

UNMAPPED_NOT_A_DOMAIN = "the checked identity is not a domain name an auditor can audit"
UNMAPPED_EITHER = "the suite accepts permerror or another result (RFC 7208 leaves it open)"
UNMAPPED_MIXED = "another sender's test on the same domain expects permerror"


def expectation(test: SuiteTest, permerror_domains: frozenset[tuple[str, str]]) -> Expect | str:
    """What the audit of the test's domain must say, or why the test does not map."""
    if not is_domain_name(test.domain):
        return UNMAPPED_NOT_A_DOMAIN
    if test.name in AUDITOR_STRICTER:
        return AUDITOR_STRICTER[test.name]
    if test.results == ("permerror",):
        return Expect.ERROR
    if "permerror" in test.results:
        return UNMAPPED_EITHER
    if (test.scenario, test.domain.lower()) in permerror_domains:
        return UNMAPPED_MIXED
    if test.results == ("temperror",):
        return Expect.NOT_TESTED
    return Expect.VALID


SUITE = load_suite()
PERMERROR_DOMAINS = frozenset(
    (t.scenario, t.domain.lower()) for t in SUITE if t.results == ("permerror",)
)


@pytest.fixture(scope="module")
def base_context() -> Context:
    ctx = Context.create(Settings(nameservers=("127.0.0.1",)))
    _ = ctx.public_suffixes  # parsed once, shared by every audit below
    return ctx


def test_the_suite_is_the_one_we_mapped() -> None:
    # The shipped file is the 2014.04 release with the 2019.08 additions (pyspf 2.0.14).
    assert len(SUITE) == 203
    assert len({(t.scenario, t.name) for t in SUITE}) == 203


def test_mapping_counts() -> None:
    counts = Counter(str(expectation(t, PERMERROR_DOMAINS)) for t in SUITE)
    assert counts == {
        Expect.ERROR: 74,
        Expect.VALID: 114,
        Expect.NOT_TESTED: 5,
        UNMAPPED_NOT_A_DOMAIN: 5,
        UNMAPPED_EITHER: 4,
        AUDITOR_STRICTER["include-at-limit"]: 1,
    }


@pytest.mark.parametrize(
    "test",
    [t for t in SUITE if isinstance(expectation(t, PERMERROR_DOMAINS), Expect)],
    ids=lambda t: f"{t.name}@{t.domain}",
)
async def test_audit_agrees_with_the_suite(test: SuiteTest, base_context: Context) -> None:
    # Given the scenario's zone, when the test's domain is audited (DNS policy only) ...
    ctx = base_context.with_resolver(SuiteResolver(test.zone))
    findings, runs = judge_policy(await gather_policy(ctx, test.domain))
    errors = [f"{f.id}: {f.detail}" for f in findings if f.id in ERROR_FINDINGS]
    spf_runs = {r.check: r.status for r in runs if r.check.startswith("spf.")}
    # ... then the audit says what the suite's expected result means for the domain.
    expect = expectation(test, PERMERROR_DOMAINS)
    if expect is Expect.ERROR:
        assert errors, f"{test.name}: permerror expected, the audit found no SPF error"
    else:
        assert not errors, f"{test.name}: {test.results} expected, the audit says {errors}"
    if expect is Expect.NOT_TESTED:
        # The record may be well-formed; what its evaluation needs could not be looked up.
        assert spf_runs["spf.lookups"] is CheckStatus.NOT_TESTED, spf_runs
