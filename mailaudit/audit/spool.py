"""Domains kept on disk, not in memory: flat memory for a fleet's final reports (issue 11).

A 10,000-domain run cannot hold every domain until the end to build its JSON, HTML, SARIF and
JUnit reports. `ReportSink` takes each domain's report the moment the run joins the domain,
condenses it and writes it to a spool file (`ReportSpool`); only where it is stays in memory,
and the report writers read the domains back one at a time, in input order. Nothing is joined
twice: at the end only the few domains whose join can have changed since are joined again (see
`ReportSink`). `mailaudit report run.jsonl` reads a JSONL stream's domain records the same way
(`SpooledLines` with a JSON decoder) and joins them then.

The spools are anonymous temporary files: the system removes them when the run ends, however it
ends. They hold pickles, not JSON: unpickling a domain costs a fraction of `serial.from_data`
over parsed JSON (the serialiser checks every field, which is right for a file a user hands us,
but these files never leave the process that wrote them: they have no name, and nothing else
writes to them). The published form of a run stays the JSONL stream (`--jsonl`), written by
`mailaudit.serial`.
"""

from __future__ import annotations

import functools
import os
import tempfile
import weakref
from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING

from mailaudit.audit.assemble import (
    DomainView,
    EndpointUses,
    Judged,
    domain_view,
    with_final_host_findings,
)
from mailaudit.audit.units import DomainFacts, EndpointFacts
from mailaudit.model import SCHEMA_VERSION, Report, RunInfo
from mailaudit.report.aggregate import condense_domain
from mailaudit.report.streamed import ReportSpool, SharedPickles, StreamedDomains

if TYPE_CHECKING:
    from mailaudit.audit.runner import FleetSink

__all__ = ["DomainSpool", "ReportSink", "SpooledLines"]


class SpooledLines:
    """Domain facts read back from records of a file: where each is (offset, length), in the
    order wanted, and how a record's bytes become `DomainFacts`."""

    def __init__(
        self,
        stream: IO[bytes],
        where: list[tuple[int, int]],
        decode: Callable[[bytes], DomainFacts],
    ) -> None:
        self._stream = stream
        self._where = where
        self._decode = decode
        # The file is closed once nothing reads it any more (the report is gone).
        weakref.finalize(self, stream.close)

    def __len__(self) -> int:
        return len(self._where)

    def __iter__(self) -> Iterator[DomainFacts]:
        """Each domain's facts, one at a time: only one is in memory while the next is read."""
        fd = self._stream.fileno()
        for offset, length in self._where:
            yield self._decode(os.pread(fd, length, offset))


class DomainSpool:
    """The run's spool: `add` writes a domain's facts when it is joined (domains are joined in
    any order); `lines` reads them back in the order asked for (the input order)."""

    def __init__(self) -> None:
        self._stream: IO[bytes] = tempfile.TemporaryFile(prefix="mailaudit-spool-")  # noqa: SIM115
        self._at: dict[str, tuple[int, int]] = {}
        self._pickles = SharedPickles()
        self._end = 0
        self._closer = weakref.finalize(self, self._stream.close)

    def add(self, facts: DomainFacts) -> None:
        record = self._pickles.dumps(facts)
        self._stream.write(record)
        # A domain spooled twice (never, today) is read back as its last facts.
        self._at[facts.domain] = (self._end, len(record))
        self._end += len(record)

    def get(self, domain: str) -> DomainFacts:
        """The facts last spooled for `domain`."""
        offset, length = self._at[domain]
        self._stream.flush()
        return _facts(self._pickles, os.pread(self._stream.fileno(), length, offset))

    def lines(self, domains: Iterable[str]) -> SpooledLines:
        """The spooled facts of `domains`, in that order (a domain never spooled is left out)."""
        self._stream.flush()
        where = [at for d in domains if (at := self._at.get(d)) is not None]
        self._closer.detach()  # the file now lives as long as what reads it
        return SpooledLines(self._stream, where, functools.partial(_facts, self._pickles))


class ReportSink:
    """A fleet sink that keeps every domain's report as the run joins it, then hands
    everything on to `inner`; `report` is the run's Report, domains in the order given.

    A report joined during the run is final but for one thing: the TLS consistency findings
    about its hosts (`Judged.host_findings`), which change when one of its hosts gains a scanned
    endpoint after the domain was joined (a port that another domain's unit scans under the same
    name). Everything else a join reads is fixed once the domain's own endpoints are in: which
    endpoints it uses and their observations, the policy, discovery and scope facts. So each
    record remembers the scan count it was joined at, its hosts and where their findings sit,
    and at the end only the records whose hosts were scanned since get their host findings
    anew (`with_final_host_findings`). No domain's facts are kept for that, except those of a
    domain joined without a result for one of its endpoints (a failed unit, or a resumed
    domain): that one is joined again whole, as it may use more endpoints by then."""

    def __init__(self, domains: Iterable[str], inner: FleetSink | None = None) -> None:
        self._inner = inner
        self._reports = ReportSpool()
        self._position = {d: i for i, d in enumerate(domains)}
        self._numbers = array("q", [-1]) * len(self._position)  # record of each position
        self._uses = EndpointUses()
        self._judged: Judged | None = None
        # Per record: the scan count at its join, its host set (-1: none), their findings' span.
        self._scans = array("q")
        self._host_set = array("q")
        self._spans = array("q")  # start, end
        self._host_sets: dict[tuple[str, ...], int] = {}
        # The view's own report where condensing changed its findings (rare: a storm of
        # findings); the facts of domains joined incomplete (rare).
        self._raw = ReportSpool()
        self._raw_numbers: dict[int, int] = {}
        self._incomplete = DomainSpool()
        self._rejoin: dict[str, int] = {}

    def endpoint(self, facts: EndpointFacts, judged: Judged) -> None:
        self._judged = judged
        if self._inner is not None:
            self._inner.endpoint(facts, judged)

    def domain(self, facts: DomainFacts, view: DomainView, judged: Judged) -> None:
        self._keep(facts, view, judged)
        if self._inner is not None:
            self._inner.domain(facts, view, judged)

    def resumed(self, facts: DomainFacts, view: DomainView, judged: Judged) -> None:
        self._keep(facts, view, judged)
        if self._inner is not None:
            self._inner.resumed(facts, view, judged)

    def _keep(self, facts: DomainFacts, view: DomainView, judged: Judged) -> None:
        self._judged = judged
        condensed = condense_domain(view.report)
        number = self._reports.add(condensed)
        self._numbers[self._position[facts.domain]] = number
        self._scans.append(judged.scans)
        self._spans.extend(view.host_span)
        if view.incomplete:
            self._incomplete.add(facts)
            self._rejoin[facts.domain] = number
            self._host_set.append(-1)
            return
        self._uses.add(facts, view)
        if not view.hosts:
            self._host_set.append(-1)
            return
        self._host_set.append(self._host_sets.setdefault(view.hosts, len(self._host_sets)))
        if len(condensed.findings) != len(view.report.findings):
            self._raw_numbers[number] = self._raw.add(view.report)

    def report(self, run: RunInfo) -> Report:
        """The run's Report (call once, after the run)."""
        judged = self._judged
        if judged is not None:
            self._finish(judged)
        self._reports.read_in(n for n in self._numbers if n >= 0)
        return Report(
            schema_version=SCHEMA_VERSION,
            run=run,
            domains=StreamedDomains(self._reports.__iter__, len(self._reports)),
            endpoints=() if judged is None else self._uses.reports(judged),
        )

    def _finish(self, judged: Judged) -> None:
        # Joined without all their endpoints: joined again, whole.
        for facts in self._incomplete.lines(self._rejoin):
            view = domain_view(facts, judged)
            self._reports.replace(self._rejoin[facts.domain], condense_domain(view.report))
            self._uses.add(facts, view)
        # Joined before one of their hosts' latest scans: their host findings anew.
        host_sets = list(self._host_sets)
        for number, (scans, host_set) in enumerate(zip(self._scans, self._host_set, strict=True)):
            if host_set < 0 or not judged.scanned_since(host_sets[host_set], scans):
                continue
            raw = self._raw_numbers.get(number)
            joined = self._reports.get(number) if raw is None else self._raw.get(raw)
            span = (self._spans[2 * number], self._spans[2 * number + 1])
            self._reports.replace(
                number,
                with_final_host_findings(joined, judged, hosts=host_sets[host_set], span=span),
            )


def _facts(pickles: SharedPickles, record: bytes) -> DomainFacts:
    facts = pickles.loads(record)  # our own anonymous file: see the module doc
    assert isinstance(facts, DomainFacts)
    return facts
