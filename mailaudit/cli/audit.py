"""`mailaudit audit DOMAIN...`"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TextIO

import click

from mailaudit.audit.runner import AuditOptions
from mailaudit.audit.targets import Role
from mailaudit.cli.fleet import (
    FleetTally,
    fleet_options,
    print_outcome,
    read_domain_args,
    run_fleet_command,
)
from mailaudit.cli.options import EXIT_USAGE, fail_on_option, network_options, settings_from
from mailaudit.cli.validate import (
    Output,
    PathArg,
    check_output_paths,
    domain_names,
    endpoint_urls,
    one_line,
    write_outputs,
)
from mailaudit.context import Context
from mailaudit.model import Endpoint, Report, Severity
from mailaudit.report.exit_codes import EXIT_OUTPUT, exit_code
from mailaudit.report.fleet_text import FleetDigester
from mailaudit.report.formats import FORMATS, render_report, write_rendered
from mailaudit.report.outcome import AuditStatus, FleetOutcome, fleet_outcome
from mailaudit.report.requirements import (
    RequirementsError,
    apply_requirements,
    load_requirements,
)
from mailaudit.report.streamed import FLEET_MIN_DOMAINS
from mailaudit.report.text import progress_callback


@click.command()
@click.argument("domains", nargs=-1, metavar="DOMAIN...")
@click.option(
    "--endpoint",
    "endpoints",
    multiple=True,
    metavar="URL",
    help="Audit this endpoint too (SCHEME://HOST[:PORT]); repeatable.",
)
@click.option(
    "--only",
    type=click.Choice(["mx", "client", "policy"]),
    help="Audit only the MX hosts, only the client endpoints, or only the DNS policy (SPF, "
    "DMARC, MTA-STS, TLS-RPT, DNSSEC, DANE records, PTR) without connecting to any mail server; "
    "the MTA-STS policy is still fetched over HTTPS.",
)
@click.option(
    "--skip",
    "skip",
    multiple=True,
    type=click.Choice(["guess", "discovery", "protocol", "tls", "policy"]),
    help="Leave a part out: guessed host names, discovery, the protocol audit (relay, AUTH, "
    "injection...), the TLS scan, the DNS policy; repeatable.",
)
@click.option(
    "--ispdb",
    "ispdb_dir",
    type=PathArg(exists=True, file_okay=False),
    help="Directory of ISPDB config-v1.1.xml files for discovery.",
)
@click.option(
    "--scope",
    "scope_domains",
    multiple=True,
    metavar="DOMAIN",
    help=(
        "Also test hosts under this registrable domain actively (repeatable). By default only the "
        "domains' own names, MX hosts and their provider, SRV targets and --endpoint hosts are."
    ),
)
@click.option(
    "--relay-test-domain",
    default=AuditOptions.relay_test_domain,
    show_default=True,
    help="External domain used as the foreign recipient in the open-relay test (never delivered: no DATA is sent).",
)
@fail_on_option(help="Exit 1 when an unwaived finding reaches this severity.")
@click.option(
    "--requirements",
    "--policy",
    "requirements_file",
    type=PathArg(exists=True, dir_okay=False),
    help="Policy file (mailaudit.toml): required endpoints, requirements, waivers.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="What to print on standard output.",
)
@click.option(
    "--json",
    "json_out",
    type=PathArg(dir_okay=False),
    help="Also write the JSON report to this file.",
)
@click.option(
    "--html",
    "html_out",
    type=PathArg(dir_okay=False),
    help="Also write the HTML report to this file.",
)
@click.option(
    "--sarif",
    "sarif_out",
    type=PathArg(dir_okay=False),
    help="Also write SARIF 2.1.0 to this file.",
)
@click.option(
    "--junit",
    "junit_out",
    type=PathArg(dir_okay=False),
    help="Also write JUnit XML to this file.",
)
@fleet_options
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary.")
@click.option("-v", "--verbose", is_flag=True, help="Print evidence and transcripts too.")
@network_options
def audit(
    domains: tuple[str, ...],
    endpoints: tuple[str, ...],
    only: str | None,
    skip: tuple[str, ...],
    ispdb_dir: str | None,
    relay_test_domain: str,
    scope_domains: tuple[str, ...],
    fail_on: str | None,
    requirements_file: str | None,
    fmt: str,
    json_out: str | None,
    html_out: str | None,
    sarif_out: str | None,
    junit_out: str | None,
    domains_file: str | None,
    jsonl_out: str | None,
    resume: bool,
    dask_target: str | None,
    domain_workers: int | None,
    quiet: bool,
    verbose: bool,
    **network: Any,
) -> None:
    """Audit the mail servers of each DOMAIN: MX hosts, client endpoints, TLS and DNS policy.

    Exit status: 0 nothing at or above --fail-on, 1 findings at or above it, 2 usage error,
    3 something could not be tested (and nothing reached the threshold), 4 a domain could not
    be audited at all, 5 an output file could not be written at the end (the others were),
    130 interrupted (resume with --resume).
    """
    # Every argument and file is checked here, before any network work (issue 10, item 5).
    domains = domain_names(domains)  # UTS 46: straße.test -> xn--strae-oqa.test
    domain_list = read_domain_args(domains, domains_file)  # its bad lines are reported, skipped
    if not domain_list and not endpoints:
        raise click.UsageError("give at least one DOMAIN or --endpoint URL")
    (relay_test_domain,) = domain_names([relay_test_domain], what="--relay-test-domain")
    scope_domains = domain_names(scope_domains, what="--scope")
    if only == "policy":
        if endpoints:
            raise click.UsageError("--only policy connects to no server: drop --endpoint")
        if "policy" in skip:
            raise click.UsageError("--only policy and --skip policy leave nothing to do")
    extra = endpoint_urls(endpoints, what="--endpoint")
    output_paths = {
        "--json": json_out,
        "--html": html_out,
        "--sarif": sarif_out,
        "--junit": junit_out,
    }
    check_output_paths([*output_paths.items(), ("--jsonl", jsonl_out)])
    try:
        # Read it before scanning: a broken requirements file is a usage error, found at once.
        required = load_requirements(requirements_file) if requirements_file else None
    except RequirementsError as exc:
        click.echo(f"Error: requirements file: {one_line(str(exc))}", err=True)
        sys.exit(EXIT_USAGE)
    # An --endpoint names its host: the user opted into it even on a private address.
    ctx = Context.create(settings_from(**network, named_targets=tuple(e.host for e in extra)))
    # On a terminal only: domains done / total, rate, ETA (silent with -q and in pipes)
    progress = progress_callback(enabled=fmt == "text" and not quiet, total=len(domains))
    options = AuditOptions(
        only=frozenset({Role(only)}) if only in ("mx", "client") else frozenset(),
        dns_only=only == "policy",
        extra_endpoints=extra,
        guess="guess" not in skip,
        discovery="discovery" not in skip,
        protocol_audit="protocol" not in skip,
        tls="tls" not in skip,
        policy="policy" not in skip,
        ispdb_dir=ispdb_dir,
        relay_test_domain=relay_test_domain,
        scope=scope_domains,
        progress=progress,
    )
    outputs = (json_out, html_out, sarif_out, junit_out, requirements_file)
    # A streamed fleet that only wants the summary builds no Report: memory stays flat in N.
    streamed_only = bool(jsonl_out) and quiet and fmt == "text" and not any(outputs)
    tally = FleetTally(Severity(fail_on) if fail_on else None) if streamed_only else None
    try:
        report = run_fleet_command(
            ctx,
            domain_list,
            options,
            jsonl_out=jsonl_out,
            resume=resume,
            tally=tally,
            dask_target=dask_target,
            domain_workers=domain_workers,
        )
    finally:
        if progress is not None:
            progress.close()  # before printing: the spinner line must not overwrite the report
    if report is None:
        assert tally is not None
        print_outcome(FleetOutcome(tuple(tally.outcomes)), to_stderr=False)
        sys.exit(tally.exit_code())
    if required is not None:
        report = apply_requirements(report, required, ctx.clock().date())  # the run's clock
    threshold = Severity(fail_on) if fail_on else None
    endpoints_only = _endpoint_hosts(domain_list, extra)
    color = sys.stdout.isatty()
    digester = None
    written = report
    if fmt == "text" and not verbose and len(report.domains) >= FLEET_MIN_DOMAINS:
        # A fleet's text, outcome and exit code come from one pass over its domains, the pass
        # of the first output written (each pass reads the fleet back from disk).
        digester = FleetDigester(
            report, quiet=quiet, color=color, fail_on=threshold, endpoints_only=endpoints_only
        )
        written = digester.observed()
    # Every output that can be written is; one that cannot is one line and exit 5, after the
    # report on standard output (its path was writable when the run started).
    failures = write_outputs(
        Output(option, path, _writer(written, option.removeprefix("--")))
        for option, path in output_paths.items()
        if path
    )
    if digester is not None:
        digest = digester.digest()
        click.echo(digest.text, nl=False)
        outcome, code = digest.outcome, digest.exit_code
    else:
        click.echo(render_report(report, fmt, quiet=quiet, verbose=verbose, color=color), nl=False)
        outcome = fleet_outcome(report, endpoints_only=endpoints_only)
        code = exit_code(report, threshold)
    if len(report.domains) > 1 or outcome.count(AuditStatus.AUDITED) < len(report.domains):
        print_outcome(outcome, to_stderr=fmt != "text")
    for failure in failures:
        click.echo(f"Error: {failure}", err=True)
    if failures:
        sys.exit(EXIT_OUTPUT)
    sys.exit(code)


def _writer(report: Report, kind: str) -> Callable[[TextIO], object]:
    # Written piece by piece: a fleet's report is never one string (JSON, SARIF, JUnit).
    return functools.partial(write_rendered, report, kind)


def _endpoint_hosts(domains: list[str], extra: tuple[Endpoint, ...]) -> set[str]:
    named = {d.lower().rstrip(".") for d in domains}
    return {e.host for e in extra if e.host not in named}
