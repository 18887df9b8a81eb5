"""`mailaudit report`, `mailaudit schema` and `mailaudit diff`: work on saved JSON reports, never
re-scan anything."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TextIO

import click

from mailaudit.audit.jsonl import JsonlError, report_from_jsonl
from mailaudit.checks.catalogue import UnknownFindingId
from mailaudit.checks.exit_policy import EXIT_OK, EXIT_USAGE
from mailaudit.cli.options import fail_on_option
from mailaudit.cli.validate import Output, PathArg, check_output_paths, one_line, write_outputs
from mailaudit.model import Report, Severity
from mailaudit.report import formats
from mailaudit.report.diff import diff_exit_code, diff_reports, render_diff_json, render_diff_text
from mailaudit.report.exit_codes import EXIT_OUTPUT, exit_code
from mailaudit.report.json_report import ReportLoadError, load_report
from mailaudit.report.requirements import RequirementsError, apply_requirements_file
from mailaudit.report.schema import schema_text


def _load(path: str) -> Report:
    try:
        if path.endswith(".jsonl"):
            # A fleet run's stream (`audit --jsonl`): the report is rebuilt from its facts.
            return report_from_jsonl(path)
        return load_report(Path(path))
    except (ReportLoadError, JsonlError) as exc:
        click.echo(f"Error: {one_line(str(exc))}", err=True)
        sys.exit(EXIT_USAGE)
    except OSError as exc:
        click.echo(f"Error: {one_line(path)}: {one_line(exc.strerror or str(exc))}", err=True)
        sys.exit(EXIT_USAGE)


def _today() -> dt.date:
    """The day waivers are judged on: UTC, like an audit run's clock (Context's default)."""
    return dt.datetime.now(dt.UTC).date()


def _write(report: Report, fmt: str, output: str | None, *, quiet: bool, verbose: bool) -> None:
    if output and output != "-":
        # Written piece by piece: a fleet's report (run.jsonl) is never one string.
        def write(stream: TextIO) -> None:
            formats.write_rendered(report, fmt, stream, quiet=quiet, verbose=verbose)

        try:
            failures = write_outputs([Output("--output", output, write)])
        except UnknownFindingId:
            Path(output).unlink(missing_ok=True)  # no half-written report left behind
            raise
        if failures:
            click.echo(f"Error: {failures[0]}", err=True)
            sys.exit(EXIT_OUTPUT)
        click.echo(f"wrote {one_line(output)}", err=True)
    else:
        color = fmt == "text" and not output and sys.stdout.isatty()
        text = formats.render_report(report, fmt, quiet=quiet, verbose=verbose, color=color)
        click.echo(text, nl=False)


@click.command()
@click.argument(
    "results", type=PathArg(exists=True, dir_okay=False), metavar="RESULTS.json|RUN.jsonl"
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(formats.FORMATS),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "-o",
    "--output",
    type=PathArg(dir_okay=False),
    help="Write to this file instead of standard output.",
)
@click.option(
    "--requirements",
    "--policy",
    "requirements_file",
    type=PathArg(exists=True, dir_okay=False),
    help="Apply this requirements file (mailaudit.toml) first: requirements and waivers "
    "(--policy is its older name).",
)
@fail_on_option(
    help="Exit 1 when an unwaived finding reaches this severity (3 when something could not "
    "be tested). Without it the exit status is 0."
)
@click.option("-q", "--quiet", is_flag=True, help="Text: print only the summary.")
@click.option("-v", "--verbose", is_flag=True, help="Text: evidence, checks and transcripts.")
def report(
    results: str,
    fmt: str,
    output: str | None,
    requirements_file: str | None,
    fail_on: str | None,
    quiet: bool,
    verbose: bool,
) -> None:
    """Re-render a saved JSON report (from `audit --json`) as text, json, html, sarif or junit.

    Nothing is scanned again. Exit status: 0, or with --fail-on: 1 findings at or above it,
    3 something could not be tested; 2 unreadable report or requirements file; 5 --output
    could not be written.
    """
    check_output_paths([("--output", output)], stdout_ok=True)
    loaded = _load(results)
    try:
        loaded = apply_requirements_file(loaded, requirements_file, today=_today())
    except RequirementsError as exc:
        click.echo(f"Error: requirements file: {one_line(str(exc))}", err=True)
        sys.exit(EXIT_USAGE)
    try:
        _write(loaded, fmt, output, quiet=quiet, verbose=verbose)
    except UnknownFindingId as exc:
        click.echo(f"Error: {one_line(results)}: unknown finding id {exc.args[0]!r}", err=True)
        sys.exit(EXIT_USAGE)
    sys.exit(exit_code(loaded, Severity(fail_on)) if fail_on else EXIT_OK)


@click.command()
def schema() -> None:
    """Print the JSON Schema (draft 2020-12) that every JSON report validates against."""
    click.echo(schema_text(), nl=False)


@click.command()
@click.argument("old", type=PathArg(exists=True, dir_okay=False), metavar="OLD.json")
@click.argument("new", type=PathArg(exists=True, dir_okay=False), metavar="NEW.json")
@fail_on_option(
    default=Severity.LOW, help="Exit 1 when a new, unwaived finding reaches this severity."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.option(
    "--requirements",
    "--policy",
    "requirements_file",
    type=PathArg(exists=True, dir_okay=False),
    help="Apply this requirements file to the NEW report first (its waivers, and the "
    "requirements; --policy is its older name).",
)
def diff(old: str, new: str, fail_on: str, fmt: str, requirements_file: str | None) -> None:
    """Compare two saved reports: new, resolved and unchanged findings (by id and subject).

    Exit status: 0 no new unwaived finding at or above --fail-on, 1 there is one, 2 unreadable
    report or requirements file. For "this release must not make mail security worse".
    """
    before, after = _load(old), _load(new)
    try:
        after = apply_requirements_file(after, requirements_file, today=_today())
    except RequirementsError as exc:
        click.echo(f"Error: requirements file: {one_line(str(exc))}", err=True)
        sys.exit(EXIT_USAGE)
    result = diff_reports(before, after)
    threshold = Severity(fail_on)
    if fmt == "json":
        click.echo(render_diff_json(result), nl=False)
    else:
        click.echo(render_diff_text(result, fail_on=threshold), nl=False)
    sys.exit(diff_exit_code(result, threshold))
