"""Fleet input and the JSONL stream: a domains file with bad lines, torn and repeated records."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from mailaudit.audit.assemble import Judged, domain_view
from mailaudit.audit.domains import read_domains
from mailaudit.audit.jsonl import JsonlSink, read_jsonl, report_from_jsonl
from mailaudit.audit.units import UnitOptions
from mailaudit.cli import main
from tests.unit.test_fleet_engine import customer, fleet_endpoints

NOW = datetime(2026, 12, 1, tzinfo=UTC)

FILE = """\
# customer domains, exported 2026-12-01
good.test
Relay.Test.   # trailing comment
\t
not a domain
mail..example.test
192.0.2.1
good.test
"""


def test_a_domains_file_skips_bad_lines_by_number() -> None:
    domains, bad = read_domains(io.StringIO(FILE))

    assert domains == ["good.test", "relay.test", "good.test"]
    assert [(b.number, b.text) for b in bad] == [
        (5, "not a domain"),
        (6, "mail..example.test"),
        (7, "192.0.2.1"),
    ]
    assert str(bad[0]) == "line 5: 'not a domain': one domain per line (skipped)"


def test_the_cli_reports_bad_lines_and_goes_on(tmp_path: Path) -> None:
    only_bad = tmp_path / "domains.txt"
    only_bad.write_text("# nothing usable\nnot a domain\n", encoding="utf-8")

    result = CliRunner().invoke(main, ["audit", "--domains-file", str(only_bad)])

    # The bad line is reported with its number; with nothing left to audit it is a usage error.
    assert f"{only_bad}: line 2: 'not a domain'" in result.stderr
    assert result.exit_code == 2


def test_stdin_is_read_with_a_dash() -> None:
    result = CliRunner().invoke(
        main, ["audit", "--domains-file", "-", "--resume"], input="bad line here\n"
    )

    assert "<stdin>: line 1: 'bad line here'" in result.stderr
    assert result.exit_code == 2


def write_stream(path: Path, domains: list[str]) -> None:
    judged = Judged(now=NOW)
    with path.open("w", encoding="utf-8") as stream:
        sink = JsonlSink(stream)
        sink.header(UnitOptions(), NOW.isoformat())
        for ef in fleet_endpoints():
            judged.add(ef)
            sink.endpoint(ef, judged)
        for d in domains:
            facts = customer(d)
            sink.domain(facts, domain_view(facts, judged), judged)


def test_a_stream_reads_back_into_the_same_facts(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    write_stream(path, ["a.test", "b.test"])

    recorded = read_jsonl(path)

    assert recorded.options == UnitOptions()
    assert [d.domain for d in recorded.run.domains] == ["a.test", "b.test"]
    assert recorded.run.domains[0] == customer("a.test")
    assert set(recorded.run.endpoints) == {ef.key for ef in fleet_endpoints()}
    report = report_from_jsonl(path)
    assert [d.domain for d in report.domains] == ["a.test", "b.test"]
    assert len(report.endpoints) == 3


def test_a_torn_last_line_and_a_repeated_domain_are_handled(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    write_stream(path, ["a.test", "b.test"])
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    repeated = lines[-2]  # a.test's record, as a resumed run would write it again
    torn = lines[-1][: len(lines[-1]) // 2]  # a crash in the middle of b.test's record
    path.write_text("".join([*lines[:-1], repeated, torn]), encoding="utf-8")

    recorded = read_jsonl(path)

    assert [d.domain for d in recorded.run.domains] == ["a.test"]
    assert recorded.skipped_lines == [len(lines) + 1]
    assert json.loads(repeated)["outcome"] == "partly-audited"  # no protocol audit in these facts
