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
    # Line numbers (from 1) of the torn or unreadable lines that were left out.
    skipped_lines: list[int] = field(default_factory=list)


@dataclass
class _Scanned:
    """One pass over a stream: the run record, the endpoints, and where each domain's last
    record lies (byte offset and length), in the order the domains completed."""

    header: dict[str, Any]
    options: UnitOptions
    endpoints: dict[tuple[str, int], EndpointFacts]
    domains: dict[str, tuple[int, int]]
    finished_at: str | None
    duration_ms: int
    skipped_lines: list[int]


def _scan(path: Path, stream: IO[bytes]) -> _Scanned:
    """Read every record once. A torn line (not JSON, not UTF-8: the run was cut there) or a
    record that does not load is left out: the work it held is redone or left unreported."""
    header: dict[str, Any] | None = None
    endpoints: dict[tuple[str, int], EndpointFacts] = {}
    domains: dict[str, tuple[int, int]] = {}
    finished_at: str | None = None
    duration_ms = 0
    skipped: list[int] = []
    offset = 0
    for number, line in enumerate(stream, start=1):
        at, offset = offset, offset + len(line)
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            skipped.append(number)
            continue
        if not isinstance(record, dict):
            skipped.append(number)
            continue
        kind = record.get("record")
        try:
            if kind == "run" and header is None:
                header = record
            elif kind == "endpoint":
                ef = from_data(EndpointFacts, record["facts"])
                endpoints[ef.key] = ef
            elif kind == "domain":
                domain = _domain_facts(record).domain  # loaded once now: a bad record is left out
                domains.pop(domain, None)  # a re-run domain moves to where it completed
                domains[domain] = (at, len(line))
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
    return _Scanned(header, options, endpoints, domains, finished_at, duration_ms, skipped)


def _open(path: Path) -> IO[bytes]:
    if path.is_char_device() or path.is_block_device():
        # A device such as /dev/zero reads forever: refused, not read into memory.
        raise JsonlError(f"{path}: a device, not a JSONL stream")
    return path.open("rb")


def read_jsonl(path: str | Path) -> RecordedRun:
    """Everything a stream holds, in memory (what `--resume` goes on from)."""
    path = Path(path)
    with _open(path) as stream:
        scanned = _scan(path, stream)
        domains = list(SpooledLines(stream, list(scanned.domains.values()), _domain_line))
    run = FleetRun(
        started_at=str(scanned.header.get("started_at", "")),
        domains=domains,
        endpoints=scanned.endpoints,
        duration_ms=scanned.duration_ms,
    )
    version = str(scanned.header.get("tool_version", ""))
    return RecordedRun(scanned.options, run, version, scanned.finished_at, scanned.skipped_lines)


def _domain_line(line: bytes) -> DomainFacts:
    return _domain_facts(json.loads(line))


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
    stream = _open(path)
    try:
        scanned = _scan(path, stream)
    except JsonlError:
        stream.close()
        raise
    started_at = str(scanned.header.get("started_at", ""))
    info = RunInfo(
        tool_version=str(scanned.header.get("tool_version", "")),
        started_at=started_at,
        finished_at=scanned.finished_at or started_at,
        duration_ms=scanned.duration_ms,
        relay_test_domain=scanned.options.relay_test_domain,
    )
    domains = SpooledLines(stream, list(scanned.domains.values()), _domain_line)
    now = datetime.fromisoformat(started_at)
    return assemble_streamed(domains, scanned.endpoints, run=info, now=now)
