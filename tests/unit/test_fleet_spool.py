"""Flat memory for a fleet's reports (issue 11): domains spooled to disk and read back one at a
time, a Report whose domains are made on each pass, and writers that write it piece by piece
with the same text as the in-memory report."""

from __future__ import annotations

import dataclasses
import io
import json
import pickle
from collections.abc import Iterator

import pytest

from mailaudit.audit.assemble import assemble_report, assemble_streamed
from mailaudit.audit.jsonl import JsonlError, report_from_jsonl
from mailaudit.audit.spool import DomainSpool
from mailaudit.checks import exit_policy
from mailaudit.checks.grading import untested
from mailaudit.model import DomainReport, Observation, ProbeStatus, Report, Scheme, Severity
from mailaudit.report.exit_codes import exit_code
from mailaudit.report.formats import FORMATS, render_report, write_rendered
from mailaudit.report.json_report import ReportLoadError, load_report
from mailaudit.report.junit import render_junit, write_junit
from mailaudit.report.outcome import fleet_outcome
from mailaudit.report.sarif import render_sarif, write_sarif
from mailaudit.report.streamed import FLEET_MIN_DOMAINS, SharedPickles, StreamedDomains
from mailaudit.serial import to_data
from tests.unit.report_samples import clean_report, hostile_report, relay_report
from tests.unit.test_fleet_engine import NOW, RUN, customer, fleet_endpoints


def streamed(report: Report) -> tuple[Report, list[int]]:
    """The report with its domains behind a StreamedDomains; the list counts the passes."""
    passes = [0]
    domains = report.domains

    def source() -> Iterator[DomainReport]:
        passes[0] += 1
        yield from domains

    return dataclasses.replace(report, domains=StreamedDomains(source, len(domains))), passes


def test_streamed_domains_read_the_source_afresh_on_every_pass() -> None:
    report = relay_report()
    lazy, passes = streamed(report)
    domains = lazy.domains

    assert len(domains) == len(report.domains)
    assert bool(domains)
    assert passes == [0]  # nothing read yet
    assert list(domains) == list(report.domains)
    assert list(domains) == list(report.domains)
    assert passes == [2]
    assert domains[0] == report.domains[0]
    assert domains[-1] == report.domains[-1]
    assert domains == report.domains
    assert report.domains[0] in domains
    assert domains.index(report.domains[-1]) == len(report.domains) - 1
    assert tuple(domains) == report.domains  # a copy is an ordinary tuple
    assert to_data(lazy) == to_data(report)
    with pytest.raises(IndexError):
        domains[len(report.domains)]


@pytest.mark.parametrize("sample", [relay_report, hostile_report, clean_report])
def test_every_format_writes_a_streamed_report_as_the_same_text(sample: object) -> None:
    assert callable(sample)
    report: Report = sample()
    for fmt in FORMATS:
        lazy, _ = streamed(report)
        out = io.StringIO()
        write_rendered(lazy, fmt, out)
        assert out.getvalue() == render_report(report, fmt), fmt


@pytest.mark.parametrize("sample", [relay_report, hostile_report, clean_report])
def test_sarif_and_junit_streams_are_the_same_text(sample: object) -> None:
    assert callable(sample)
    report: Report = sample()
    for each in (report, dataclasses.replace(report, domains=(), endpoints=())):
        sarif, junit = io.StringIO(), io.StringIO()
        write_sarif(each, sarif)
        write_junit(each, junit)
        assert sarif.getvalue() == render_sarif(each)
        assert junit.getvalue() == render_junit(each)
        json.loads(sarif.getvalue())


def test_text_and_json_read_a_fleet_once_each() -> None:
    # A writer that read the domains once per endpoint would cost a fleet one spool pass each.
    report = relay_report()
    for fmt in ("text", "json", "junit"):
        lazy, passes = streamed(report)
        write_rendered(lazy, fmt, io.StringIO())
        assert passes == [1], fmt


@pytest.mark.parametrize("sample", [relay_report, hostile_report, clean_report])
def test_the_exit_code_reads_a_fleet_once_and_says_what_the_whole_report_says(
    sample: object,
) -> None:
    assert callable(sample)
    report: Report = sample()
    for fail_on in [None, *Severity]:
        lazy, passes = streamed(report)
        # What the report as a whole says: every finding, every domain's outcome, all untested.
        whole = exit_policy.exit_code(
            report.all_findings(),
            fail_on=fail_on,
            not_audited=fleet_outcome(report).any_not_audited,
            not_tested=bool(untested(report)),
        )
        assert exit_code(lazy, fail_on) == whole
        assert passes == [1]


def test_the_spool_gives_domains_back_in_input_order_whatever_order_they_joined() -> None:
    # Given 200 customer domains joined in reverse order
    fleet = [customer(f"c{i:03d}.test") for i in range(200)]
    spool = DomainSpool()
    for facts in reversed(fleet):
        spool.add(facts)

    # When they are read back in input order (one unknown name among them)
    lines = spool.lines([*(f.domain for f in fleet), "never-joined.test"])

    # Then each comes back whole, in input order, on every pass
    assert len(lines) == 200
    assert list(lines) == fleet
    assert list(lines) == fleet


def test_a_spooled_fleet_reports_as_the_in_memory_fleet() -> None:
    fleet = [customer(f"c{i}.test") for i in range(60)]
    spool = DomainSpool()
    for facts in fleet:
        spool.add(facts)
    lines = spool.lines(f.domain for f in fleet)

    lazy = assemble_streamed(lines, fleet_endpoints(), run=RUN, now=NOW)
    whole = assemble_report(fleet, fleet_endpoints(), run=RUN, now=NOW)

    assert isinstance(lazy.domains, StreamedDomains)
    assert lazy == whole
    assert fleet_outcome(lazy) == fleet_outcome(whole)
    for fmt in FORMATS:  # 60 domains: the HTML is the fleet view
        assert render_report(lazy, fmt) == render_report(whole, fmt), fmt


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/full"])
def test_a_device_is_refused_as_a_report_not_read_forever(device: str) -> None:
    # /dev/zero reads without end: read whole (or line by line) it takes all memory.
    with pytest.raises(ReportLoadError, match="a device"):
        load_report(device)
    with pytest.raises(JsonlError, match="a device"):
        report_from_jsonl(device)


def test_the_assembler_reads_and_joins_each_domain_once_whatever_the_writers_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a fleet of 40 domains whose facts are counted as they are read and joined
    fleet = [customer(f"c{i}.test") for i in range(40)]
    reads = [0]

    def facts() -> Iterator[object]:
        for f in fleet:
            reads[0] += 1
            yield f

    import mailaudit.audit.assemble as assemble

    joins = [0]
    real_view = assemble.domain_view

    def counted_view(*args: object, **kwargs: object) -> object:
        joins[0] += 1
        return real_view(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(assemble, "domain_view", counted_view)

    # When the report is assembled and then read by every writer, the outcome and the exit code
    lazy = assemble_streamed(facts(), fleet_endpoints(), run=RUN, now=NOW)  # type: ignore[arg-type]
    for fmt in FORMATS:
        render_report(lazy, fmt)
    fleet_outcome(lazy)
    exit_code(lazy, Severity.LOW)

    # Then each domain was read and joined once, and the passes gave the same domains each time
    assert reads == [40]
    assert joins == [40]
    monkeypatch.undo()
    assert lazy == assemble_report(fleet, fleet_endpoints(), run=RUN, now=NOW)
    assert [d.domain for d in lazy.domains] == [f.domain for f in fleet]


def test_a_fleet_json_has_one_line_per_domain_and_reads_back_as_the_same_report() -> None:
    fleet = [customer(f"c{i}.test") for i in range(FLEET_MIN_DOMAINS)]
    report = assemble_report(fleet, fleet_endpoints(), run=RUN, now=NOW)

    text = render_report(report, "json")

    lines = text.splitlines()
    for facts in fleet:  # each domain whole on its own line
        (line,) = [x for x in lines if f'"domain":"{facts.domain}"' in x]
        assert json.loads(line.strip().rstrip(",")) == to_data(
            next(d for d in report.domains if d.domain == facts.domain)
        )
    items = [x for x in lines if x.startswith("    {")]
    assert len(items) == len(fleet) + len(report.endpoints)  # the endpoints one line each too
    assert json.loads(text) == to_data(report)  # the same data as the indented form
    # One domain fewer: the indented form, as json.dumps(indent=2) writes it
    small = dataclasses.replace(report, domains=report.domains[:-1])
    assert render_report(small, "json") == json.dumps(to_data(small), indent=2) + "\n"


def test_a_spool_writes_an_observation_many_domains_share_once() -> None:
    # Given 100 records that carry the same observation (one probe per endpoint per run)
    shared = Observation(
        "smtp://mx.isp.test",
        Scheme.SMTP,
        "mx.isp.test",
        "192.0.2.10",
        25,
        ProbeStatus.COMPLETED,
        greeting="220 " + "x" * 4000,
    )
    pickles = SharedPickles()
    records = [pickles.dumps((i, shared)) for i in range(100)]

    # Then the shared one is written once: 100 records are a fraction of 100 plain pickles
    plain = [pickle.dumps((i, shared), protocol=pickle.HIGHEST_PROTOCOL) for i in range(100)]
    assert sum(map(len, records)) * 10 < sum(map(len, plain))
    # And each reads back equal, the shared observation as one object again
    back = [pickles.loads(r) for r in records]
    assert back == [(i, shared) for i in range(100)]
    assert {id(o) for _, o in back} == {id(shared)}
    # An equal observation that is another object is another entry, read back as itself
    other = dataclasses.replace(shared)
    (n, again) = pickles.loads(pickles.dumps((7, other)))
    assert (n, again) == (7, shared)
    assert again is other
    # A record refers to its spool's table: read by anything else, it says so
    with pytest.raises(pickle.UnpicklingError, match="without its spool"):
        pickle.loads(records[0])
    with pytest.raises(pickle.UnpicklingError, match="before its first record"):
        SharedPickles().loads(records[0])
