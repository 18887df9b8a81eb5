"""The fleet's JSONL stream: one record per line, written the moment a result is complete, so a
10,000-domain run can be tailed and piped into `jq`, resumed after Ctrl-C or a crash
(`--resume`), and rendered later (`mailaudit report run.jsonl`).

Records (`"record"` says which):

- `run`: the first line — tool version, start time, the unit options (a resume must match them);
- `endpoint`: one (address, port) — `facts` (observation, protocol audit, TLS scan) and the
  verdicts known when it completed (`findings`, `checks`);
- `domain`: one domain — `outcome` (audited / partly-audited / not-audited), `report` (its
  DomainReport: findings, checks, errors, discovery, policy) and the facts it was joined from
  (`targets`, `addresses`);
- `end`: the run finished (absent after an interruption).

Reading is forgiving: a torn last line (a crash mid-write) is skipped, and a record seen twice
(a domain re-run) counts once, the last one winning.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from mailaudit import __version__
from mailaudit.audit.assemble import DomainView, Judged, assemble_streamed, outcome_of
from mailaudit.audit.runner import FleetRun
from mailaudit.audit.spool import SpooledLines
from mailaudit.audit.units import DomainFacts, EndpointFacts, HostAddresses, Target, UnitOptions
from mailaudit.model import DomainReport, Report, RunInfo
from mailaudit.serial import LoadError, from_data, to_data

__all__ = ["JsonlError", "JsonlSink", "RecordedRun", "read_jsonl", "report_from_jsonl"]


class JsonlError(ValueError):
    """The file is not a mailaudit JSONL stream, or was written with other options."""


class JsonlSink:
    """Writes records as they complete; each line is flushed at once."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def header(self, options: UnitOptions, started_at: str) -> None:
        self._write(
            {
                "record": "run",
                "tool_version": __version__,
                "started_at": started_at,
                "options": to_data(options),
            }
        )

    def endpoint(self, facts: EndpointFacts, judged: Judged) -> None:
        verdict = judged.endpoint(facts.key)
        self._write(
            {
                "record": "endpoint",
                "id": facts.id,
                "url": facts.observation.url,
                "facts": to_data(facts),
                "findings": to_data(verdict.findings),
                "checks": to_data(verdict.checks),
            }
        )

    def domain(self, facts: DomainFacts, view: DomainView, judged: Judged) -> None:
        outcome = outcome_of(facts, view, judged)
        self._write(
            {
                "record": "domain",
                "domain": facts.domain,
                "outcome": outcome.status.value,
                "not_audited": list(outcome.missing),
                "endpoints_only": facts.endpoints_only,
                "errors": list(facts.errors),
                "targets": to_data(facts.targets),
                "addresses": to_data(facts.addresses),
                "report": to_data(view.report),
            }
        )

    def resumed(self, facts: DomainFacts, view: DomainView, judged: Judged) -> None:
        pass  # its record is in the stream already

    def end(self, finished_at: str, duration_ms: int) -> None:
        self._write({"record": "end", "finished_at": finished_at, "duration_ms": duration_ms})

    def _write(self, record: dict[str, Any]) -> None:
        self._stream.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._stream.flush()


@dataclass
class RecordedRun:
    """What a JSONL stream holds."""

    options: UnitOptions
    run: FleetRun
    tool_version: str
    finished_at: str | None = None
    skipped_lines: list[int] = field(default_factory=list)


def read_jsonl(path: str | Path) -> RecordedRun:
    header: dict[str, Any] | None = None
    domains: dict[str, DomainFacts] = {}
    endpoints: dict[tuple[str, int], EndpointFacts] = {}
    finished_at: str | None = None
    duration_ms = 0
    skipped: list[int] = []
    for number, record in _records(Path(path), skipped):
        kind = record.get("record")
        try:
            if kind == "run" and header is None:
                header = record
            elif kind == "endpoint":
                ef = from_data(EndpointFacts, record["facts"])
                endpoints[ef.key] = ef
            elif kind == "domain":
                df = _domain_facts(record)
                domains.pop(df.domain, None)  # a re-run domain moves to where it completed
                domains[df.domain] = df
            elif kind == "end":
                finished_at = str(record.get("finished_at"))
                duration_ms = int(record.get("duration_ms", 0))
        except (KeyError, LoadError, TypeError, ValueError):
            skipped.append(number)
    if header is None:
        raise JsonlError(f"{path}: no run record: not a mailaudit JSONL stream")
    try:
        options = from_data(UnitOptions, header["options"])
    except (KeyError, LoadError) as exc:
        raise JsonlError(f"{path}: unreadable run record: {exc}") from None
    run = FleetRun(
        started_at=str(header.get("started_at", "")),
        domains=list(domains.values()),
        endpoints=endpoints,
        duration_ms=duration_ms,
    )
    return RecordedRun(options, run, str(header.get("tool_version", "")), finished_at, skipped)


def _records(path: Path, skipped: list[int]) -> Iterator[tuple[int, dict[str, Any]]]:
    # A line that is not UTF-8 is torn like one that is not JSON: skipped, never a traceback.
    with path.open(encoding="utf-8", errors="replace") as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                skipped.append(number)  # a torn line: the work it held is simply redone
                continue
            if isinstance(record, dict):
                yield number, record
            else:
                skipped.append(number)


def _domain_facts(record: dict[str, Any]) -> DomainFacts:
    report = from_data(DomainReport, record["report"])
    return DomainFacts(
        domain=str(record["domain"]),
        endpoints_only=bool(record.get("endpoints_only", False)),
        targets=from_data(tuple[Target, ...], record["targets"]),
        addresses=from_data(tuple[HostAddresses, ...], record["addresses"]),
        errors=_own_errors(record, report),
        discovery=report.discovery,
        policy=report.policy,
    )


def _own_errors(record: dict[str, Any], report: DomainReport) -> tuple[str, ...]:
    # The report's errors include those the join adds (names that do not resolve); the facts
    # keep only the domain phase's own, which the join adds to again.
    own = record.get("errors")
    if isinstance(own, list):
        return tuple(str(e) for e in own)
    return report.errors


def report_from_jsonl(path: str | Path) -> Report:
    """The whole Report from a JSONL stream, judged from its facts as the run itself does.

    Flat memory: the endpoints are read now, the domains only located (the byte range of each
    one's last record); the report's domains are read back one at a time whenever a writer
    reads them (`mailaudit.audit.spool`). The stream stays open as long as the report lives."""
    path = Path(path)
    if path.is_char_device() or path.is_block_device():
        # A device such as /dev/zero reads forever: refused, not read into memory.
        raise JsonlError(f"{path}: a device, not a JSONL stream")
    stream = path.open("rb")
    header: dict[str, Any] | None = None
    where: dict[str, tuple[int, int]] = {}
    endpoints: dict[tuple[str, int], EndpointFacts] = {}
    finished_at: str | None = None
    duration_ms = 0
    offset = 0
    for line in stream:
        at, offset = offset, offset + len(line)
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue  # a torn line: the work it held is simply left out
        if not isinstance(record, dict):
            continue
        kind = record.get("record")
        try:
            if kind == "run" and header is None:
                header = record
            elif kind == "endpoint":
                ef = from_data(EndpointFacts, record["facts"])
                endpoints[ef.key] = ef
            elif kind == "domain":
                domain = _domain_facts(record).domain  # read once now: a bad record is skipped
                where.pop(domain, None)  # a re-run domain moves to where it completed
                where[domain] = (at, len(line))
            elif kind == "end":
                finished_at = str(record.get("finished_at"))
                duration_ms = int(record.get("duration_ms", 0))
        except (KeyError, LoadError, TypeError, ValueError):
            continue
    if header is None:
        stream.close()
        raise JsonlError(f"{path}: no run record: not a mailaudit JSONL stream")
    try:
        options = from_data(UnitOptions, header["options"])
    except (KeyError, LoadError) as exc:
        stream.close()
        raise JsonlError(f"{path}: unreadable run record: {exc}") from None
    started_at = str(header.get("started_at", ""))
    info = RunInfo(
        tool_version=str(header.get("tool_version", "")),
        started_at=started_at,
        finished_at=finished_at or started_at,
        duration_ms=duration_ms,
        relay_test_domain=options.relay_test_domain,
    )
    domains = SpooledLines(stream, list(where.values()), _domain_facts)
    now = datetime.fromisoformat(started_at)
    return assemble_streamed(domains.__iter__, len(domains), endpoints, run=info, now=now)
