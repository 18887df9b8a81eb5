"""Finding storms folded into one finding per id and subject (issue 10, item 7)."""

from __future__ import annotations

import dataclasses
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from mailaudit.checks.catalogue import finding
from mailaudit.model import CheckRun, CheckStatus, Finding, Severity
from mailaudit.report.aggregate import MAX_EXAMPLES, merge_repeated, unique_finding_ids


def helo_missing(i: int, subject: str = "storm.test") -> Finding:
    return finding(
        "spf.helo-missing",
        subject,
        f"The MX host mx{i:04d}.storm.test publishes no SPF record.",
        evidence=[f"TXT mx{i:04d}.storm.test: no answer"],
    )


def test_a_thousand_equal_findings_become_one_with_a_count_and_examples() -> None:
    merged = merge_repeated(helo_missing(i) for i in range(1, 1001))

    (one,) = merged
    assert one.occurrences == 1000
    assert one.id == "spf.helo-missing"
    assert "mx0001.storm.test" in one.detail
    assert "1000 occurrences" in one.detail
    # the first one's evidence, then the next examples, then how many more
    assert one.evidence[0] == "TXT mx0001.storm.test: no answer"
    assert one.evidence[1] == "also: The MX host mx0002.storm.test publishes no SPF record."
    assert len(one.evidence) == 1 + (MAX_EXAMPLES - 1) + 1
    assert one.evidence[-1] == f"... and {1000 - MAX_EXAMPLES} more"


def test_single_findings_are_untouched_and_order_is_kept() -> None:
    a, b = helo_missing(1, "a.test"), helo_missing(1, "b.test")
    assert merge_repeated([a, b]) == (a, b)


def test_the_merged_finding_has_the_worst_severity() -> None:
    # (The same id at two severities, as a check may give in two contexts.)
    high = finding("smtp.open-relay", "smtp://x", "variant 2")
    low = dataclasses.replace(high, detail="variant 1", severity=Severity.LOW)
    (one,) = merge_repeated([low, high])
    assert one.severity is Severity.CRITICAL
    assert one.detail.startswith("variant 1")
    assert one.occurrences == 2


def test_waived_and_unwaived_findings_stay_apart() -> None:
    waived = dataclasses.replace(helo_missing(1), waived="ticket 1")
    merged = merge_repeated([helo_missing(2), waived, helo_missing(3)])
    assert [(f.waived, f.occurrences) for f in merged] == [(None, 2), ("ticket 1", 1)]


def test_check_runs_list_each_finding_id_once() -> None:
    run = CheckRun("spf.helo", "storm.test", CheckStatus.FAILED, None, ("spf.helo-missing",) * 3)
    assert unique_finding_ids(run).finding_ids == ("spf.helo-missing",)


_findings = st.lists(
    st.builds(
        lambda fid, subject, i: finding(fid, subject, f"detail {i}", evidence=[f"e{i}"]),
        st.sampled_from(["spf.helo-missing", "ptr.missing", "smtp.open-relay"]),
        st.sampled_from(["a.test", "b.test", "smtp://a.test"]),
        st.integers(0, 50),
    ),
    max_size=60,
)


@given(_findings)
def test_merging_keeps_every_occurrence_and_one_finding_per_key(found: list[Finding]) -> None:
    merged = merge_repeated(found)
    keys = Counter((f.id, f.subject) for f in found)
    assert Counter((f.id, f.subject) for f in merged) == Counter(dict.fromkeys(keys, 1))
    assert {(f.id, f.subject): f.occurrences for f in merged} == dict(keys)
    # merging again changes nothing
    assert merge_repeated(merged) == merged
