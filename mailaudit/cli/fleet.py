"""The fleet options of `mailaudit audit`: `--domains-file`, `--jsonl`, `--resume`, and the
fleet outcome printed after the report."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mailaudit.audit.assemble import DomainView, Judged, outcome_of
from mailaudit.audit.domains import read_domains
from mailaudit.audit.jsonl import JsonlError, JsonlSink, read_jsonl
from mailaudit.audit.process_engine import ProcessEngine, auto_domain_workers
from mailaudit.audit.runner import (
    AuditOptions,
    FleetRun,
    FleetSink,
    domain_units,
    fleet_report,
    run_fleet,
)
from mailaudit.audit.spool import ReportSink
from mailaudit.audit.units import DomainFacts, DomainUnit, EndpointFacts, UnitOptions
from mailaudit.cli.validate import PathArg, one_line
from mailaudit.context import Context
from mailaudit.model import Finding, Report, Severity
from mailaudit.report.exit_codes import EXIT_INTERRUPTED, EXIT_USAGE, outcome_exit_code
from mailaudit.report.outcome import AuditStatus, DomainOutcome, FleetOutcome

if TYPE_CHECKING:
    from mailaudit.audit.dask_engine import DaskTarget

__all__ = [
    "FleetTally",
    "fleet_options",
    "print_outcome",
    "read_domain_args",
    "run_fleet_command",
]

F = TypeVar("F", bound=Callable[..., Any])

# Domains listed one by one in the outcome; the rest are counted (the JSONL has them all).
_LISTED = 20


def fleet_options(func: F) -> F:
    for option in reversed(
        [
            click.option(
                "--domains-file",
                type=PathArg(exists=True, dir_okay=False, allow_dash=True),
                help="Audit the domains in this file too, one per line ('-': standard input; "
                "'#' comments and blank lines ignored; a bad line is reported and skipped).",
            ),
            click.option(
                "--jsonl",
                "jsonl_out",
                type=PathArg(dir_okay=False),
                help="Stream one JSON record per domain (and per endpoint) to this file as "
                "each completes; `mailaudit report FILE.jsonl` renders it later.",
            ),
            click.option(
                "--dask",
                "dask_target",
                metavar="local:N|tcp://HOST:PORT",
                help="Run the fleet on a Dask cluster: 'local:N' starts N worker processes here, "
                "an address joins a running scheduler (needs pip install 'mailaudit[dask]').",
            ),
            click.option(
                "--domain-workers",
                type=click.IntRange(0, 64),
                default=None,
                metavar="N",
                help="Worker processes for the domains' DNS, discovery and policy work (0: all "
                "in this process). Default: one per core, at most 4, for 200 domains or more.",
            ),
            click.option(
                "--resume",
                is_flag=True,
                help="Continue the interrupted run recorded in --jsonl FILE: audit only the "
                "domains it does not hold yet.",
            ),
        ]
    ):
        func = option(func)
    return func


def read_domain_args(domains: tuple[str, ...], domains_file: str | None) -> list[str]:
    listed = list(domains)
    if not domains_file:
        return listed
    try:
        if domains_file == "-":
            found, bad = read_domains(sys.stdin)
        else:
            with Path(domains_file).open(encoding="utf-8") as stream:
                found, bad = read_domains(stream)
    except OSError as exc:
        click.echo(f"Error: --domains-file: {one_line(exc.strerror or str(exc))}", err=True)
        sys.exit(EXIT_USAGE)
    except UnicodeDecodeError:
        click.echo(f"Error: --domains-file {one_line(domains_file)}: not UTF-8 text", err=True)
        sys.exit(EXIT_USAGE)
    name = "<stdin>" if domains_file == "-" else domains_file
    for line in bad:
        click.echo(f"{one_line(name)}: {one_line(str(line))}", err=True)
    return listed + found


class FleetTally:
    """What the exit code and the outcome need, kept while the domains stream past (small:
    one outcome per domain, no facts), for a run that builds no Report."""

    def __init__(self, fail_on: Severity | None) -> None:
        self._inner: JsonlSink | None = None
        self._fail_on = fail_on
        self.outcomes: list[DomainOutcome] = []
        self.failing = False
        self._used: set[tuple[str, int]] = set()
        self._judged: Judged | None = None

    def stream_to(self, sink: JsonlSink) -> None:
        self._inner = sink

    def endpoint(self, facts: EndpointFacts, judged: Judged) -> None:
        if self._inner is not None:
            self._inner.endpoint(facts, judged)

    def domain(self, facts: DomainFacts, view: DomainView, judged: Judged) -> None:
        if self._inner is not None:
            self._inner.domain(facts, view, judged)
        self.resumed(facts, view, judged)

    def resumed(self, facts: DomainFacts, view: DomainView, judged: Judged) -> None:
        self._judged = judged
        self.outcomes.append(outcome_of(facts, view, judged))
        self._used.update(key for key, _, _ in view.uses)
        self.failing |= self._reaches(view.report.findings)

    def exit_code(self) -> int:
        # Endpoint verdicts are final only now (the per-address checks see every port).
        judged = self._judged
        if judged is not None:
            for key in self._used:
                self.failing |= self._reaches(judged.endpoint(key).findings)
        outcome = FleetOutcome(tuple(self.outcomes))
        return outcome_exit_code(
            failing=self.failing,
            not_audited=outcome.any_not_audited,
            untested=outcome.count(AuditStatus.AUDITED) < len(outcome.domains),
        )

    def _reaches(self, findings: Iterable[Finding]) -> bool:
        fail_on = self._fail_on
        return fail_on is not None and any(f.severity.at_least(fail_on) for f in findings)


def run_fleet_command(
    ctx: Context,
    domains: list[str],
    options: AuditOptions,
    *,
    jsonl_out: str | None,
    resume: bool,
    tally: FleetTally | None = None,
    dask_target: str | None = None,
    domain_workers: int | None = None,
) -> Report | None:
    """Run the audit, streaming to `jsonl_out`; Ctrl-C exits 130 with the stream intact. With a
    `tally` no Report is built (None): the facts go to the stream only, memory stays flat.
    With `dask_target` the units run on a Dask cluster (issue 12)."""
    units = options.units()
    target = _dask_target(dask_target) if dask_target else None
    done = FleetRun(started_at=ctx.clock().isoformat())
    if resume:
        if not jsonl_out:
            raise click.UsageError("--resume needs --jsonl FILE (the run to continue)")
        if Path(jsonl_out).exists():
            done = _resumable(jsonl_out, options)
    work = list(domain_units(domains, units, options.extra_endpoints))
    # The report is written from the domains' reports kept on disk as they are joined, read
    # back one at a time: memory stays flat in the number of domains (mailaudit.audit.spool).
    reports: ReportSink | None = None
    with contextlib.ExitStack() as files:
        sink: JsonlSink | None = None
        if jsonl_out:
            fresh = not (resume and Path(jsonl_out).exists())
            stream = files.enter_context(
                Path(jsonl_out).open("w" if fresh else "a", encoding="utf-8")
            )
            sink = JsonlSink(stream)
            if tally is not None:
                tally.stream_to(sink)
            if fresh:
                sink.header(units, done.started_at)
        streamed: FleetSink | None = tally or sink
        if tally is None:
            streamed = reports = ReportSink((u.domain for u in work), streamed)
        try:
            if target is None:
                workers = (
                    domain_workers if domain_workers is not None else auto_domain_workers(len(work))
                )
                run = asyncio.run(
                    _run_here(
                        ctx,
                        work,
                        units,
                        workers=workers,
                        sink=streamed,
                        done=done,
                        progress=options.progress,
                    )
                )
            else:
                from mailaudit.audit.dask_engine import run_fleet_on_dask

                run, _ = asyncio.run(
                    run_fleet_on_dask(
                        ctx,
                        target,
                        work,
                        units,
                        sink=streamed,
                        done=done,
                        progress=options.progress,
                        keep_facts=False,
                    )
                )
        except KeyboardInterrupt:
            hint = (
                f"finished domains are in {jsonl_out}; run the same command with --resume "
                "to continue"
                if jsonl_out
                else "with --jsonl FILE a run can be resumed"
            )
            click.echo(f"\ninterrupted: {hint}", err=True)
            sys.exit(EXIT_INTERRUPTED)
        if sink is not None:
            sink.end(ctx.clock().isoformat(), run.duration_ms)
    if reports is None:
        return None
    return fleet_report(ctx, run, relay_test_domain=options.relay_test_domain, joined=reports)


async def _run_here(
    ctx: Context,
    work: list[DomainUnit],
    units: UnitOptions,
    *,
    workers: int,
    sink: FleetSink | None,
    done: FleetRun,
    progress: Callable[[str], None] | None,
) -> FleetRun:
    """The fleet on this machine: on this event loop, or with `workers` domain workers."""
    if workers < 1:
        return await run_fleet(
            ctx, work, units, sink=sink, done=done, progress=progress, keep_facts=False
        )
    async with ProcessEngine(ctx, units, workers=workers) as engine:
        return await run_fleet(
            engine.context,
            work,
            units,
            sink=sink,
            done=done,
            progress=progress,
            keep_facts=False,
            engine=engine,
        )


def _dask_target(spec: str) -> DaskTarget:
    """Checked before any network work: a bad spec or a missing extra is a usage error."""
    if importlib.util.find_spec("distributed") is None:
        click.echo("Error: --dask: Dask is not installed: pip install 'mailaudit[dask]'", err=True)
        sys.exit(EXIT_USAGE)
    from mailaudit.audit.dask_engine import parse_dask_target

    try:
        return parse_dask_target(spec)
    except ValueError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_USAGE)


def _resumable(path: str, options: AuditOptions) -> FleetRun:
    try:
        recorded = read_jsonl(path)
    except (JsonlError, OSError, UnicodeDecodeError) as exc:
        click.echo(f"Error: --resume: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if recorded.options != options.units():
        click.echo(
            f"Error: --resume: {path} was written with other options ({recorded.options}); "
            "resume with the same options or start a new file",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    run = recorded.run
    click.echo(
        f"resuming {path}: {len(run.domains)} domains and {len(run.endpoints)} endpoints "
        "already audited",
        err=True,
    )
    return run


def print_outcome(outcome: FleetOutcome, *, to_stderr: bool) -> None:
    """How many domains were fully, partly and not audited; which, and why."""
    lines = [outcome.summary_line()]
    for status in (AuditStatus.NOT_AUDITED, AuditStatus.PARTLY_AUDITED):
        listed = [d for d in outcome.domains if d.status is status]
        for d in listed[:_LISTED]:
            lines.append(f"  {status.value}: {d.domain}")
            lines += [f"    {m}" for m in d.missing[:5]]
            if len(d.missing) > 5:
                lines.append(f"    ... and {len(d.missing) - 5} more")
        if len(listed) > _LISTED:
            lines.append(f"  ... and {len(listed) - _LISTED} more {status.value} domains")
    click.echo("\n".join(lines), err=to_stderr)
