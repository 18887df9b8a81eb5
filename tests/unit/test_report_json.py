from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailaudit.model import (
    SCHEMA_VERSION,
    CheckRun,
    CheckStatus,
    Confidence,
    Finding,
    Report,
    Severity,
)
from mailaudit.report.json_report import (
    ReportLoadError,
    dump_report,
    load_report,
    parse_report,
    write_report,
)
from mailaudit.report.schema import _Walker, committed_schema, json_schema, schema_text
from mailaudit.serial import from_data, to_data
from tests.unit.report_samples import clean_report, hostile_report, relay_report

SAMPLES = [relay_report, hostile_report, clean_report]


def _validator() -> jsonschema.Draft202012Validator:
    schema = committed_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_committed_schema_is_up_to_date() -> None:
    assert committed_schema() == json_schema(), (
        "mailaudit/report/report.schema.json is out of date with the model; regenerate it with\n"
        "    python -m mailaudit.report.schema > mailaudit/report/report.schema.json"
    )


def test_schema_is_draft_2020_12_and_closed() -> None:
    schema = json_schema()

    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    for name, definition in schema["$defs"].items():
        if definition.get("type") == "object":
            assert definition["additionalProperties"] is False, name
    assert schema["$defs"]["Severity"]["enum"] == [s.value for s in Severity]
    assert schema["$defs"]["CheckStatus"]["enum"] == [s.value for s in CheckStatus]


@pytest.mark.parametrize("make", SAMPLES)
def test_report_round_trips_and_validates(make: Callable[[], Report]) -> None:
    report = make()

    data = to_data(report)

    assert from_data(Report, data) == report
    _validator().validate(data)
    assert parse_report(dump_report(report)) == report


def test_dump_puts_schema_version_first() -> None:
    text = dump_report(relay_report())

    assert next(iter(json.loads(text))) == "schema_version"
    assert json.loads(text)["schema_version"] == SCHEMA_VERSION
    assert text.endswith("\n")


def test_load_report_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(dump_report(hostile_report()), encoding="utf-8")

    assert load_report(path) == hostile_report()
    assert load_report(str(path)) == hostile_report()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(domains="x"), r"\$\.domains"),
        (lambda d: d["endpoints"][0].update(port="25"), r"\$\.endpoints\[0\]\.port"),
        (lambda d: d["endpoints"][1]["findings"][0].update(severity="apocalyptic"), "severity"),
        (lambda d: d["run"].update(surprise=1), "surprise"),
        (lambda d: d.pop("run"), "run"),
    ],
)
def test_load_rejects_invalid_reports_naming_the_place(
    mutate: Callable[[dict[str, Any]], None], message: str
) -> None:
    data = to_data(relay_report())
    mutate(data)

    with pytest.raises(ReportLoadError, match=message):
        parse_report(json.dumps(data))


def test_load_rejects_non_json_and_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")

    with pytest.raises(ReportLoadError, match="not JSON"):
        load_report(bad)
    with pytest.raises(ReportLoadError, match=r"nope\.json"):
        load_report(tmp_path / "nope.json")
    listing = bad.with_name("list.json")
    listing.write_text("[]", encoding="utf-8")
    with pytest.raises(ReportLoadError, match="expected a JSON object"):
        load_report(listing)


def test_schema_walker_follows_new_fields() -> None:
    # Given a model type the lead might add, with every supported kind of field
    @dataclass(frozen=True)
    class Discovery:
        mode: Literal["a", "b"]
        pair: tuple[str, int]
        names: list[str]
        table: dict[str, int]
        ratio: float | None = None
        severity: Severity = Severity.LOW
        nested: tuple[Finding, ...] = field(default_factory=tuple)

    # When its schema is generated
    walker = _Walker()
    ref = walker.define(Discovery)
    definition = walker.defs["Discovery"]

    # Then it is closed, required fields are the ones without defaults, and types map over
    assert ref == {"$ref": "#/$defs/Discovery"}
    assert definition["required"] == ["mode", "pair", "names", "table"]
    assert definition["properties"]["mode"] == {"enum": ["a", "b"]}
    assert definition["properties"]["pair"]["prefixItems"] == [
        {"type": "string"},
        {"type": "integer"},
    ]
    assert definition["properties"]["table"]["additionalProperties"] == {"type": "integer"}
    assert "Finding" in walker.defs
    assert "Severity" in walker.defs


def test_schema_text_is_what_the_cli_prints() -> None:
    assert json.loads(schema_text()) == json_schema()


text = st.text(max_size=40)


@given(
    st.builds(
        Finding,
        id=text,
        severity=st.sampled_from(Severity),
        subject=text,
        title=text,
        detail=text,
        remediation=text,
        evidence=st.lists(text, max_size=3).map(tuple),
        references=st.lists(text, max_size=3).map(tuple),
        confidence=st.sampled_from(Confidence),
        context=st.none() | text,
        waived=st.none() | text,
    ),
    st.sampled_from(CheckStatus),
)
def test_any_finding_and_check_round_trip_through_a_report(
    finding: Finding, status: CheckStatus
) -> None:
    base = relay_report()
    domain = base.domains[0]
    run = CheckRun(finding.id, finding.subject, status, finding.waived, (finding.id,))
    report = Report(
        base.schema_version,
        base.run,
        (type(domain)(domain.domain, domain.endpoint_ids, findings=(finding,), checks=(run,)),),
        base.endpoints,
    )

    assert parse_report(dump_report(report)) == report


@pytest.mark.parametrize("sample", SAMPLES)
def test_streamed_report_is_the_same_text(sample: Callable[[], Report]) -> None:
    report = sample()
    empty = dataclasses.replace(report, domains=(), endpoints=())
    for each in (report, empty):
        out = io.StringIO()
        write_report(each, out)
        assert out.getvalue() == dump_report(each)
    assert report.domains  # the samples have domains to stream
