"""`mailaudit audit DOMAIN...`"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

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
from mailaudit.context import Context
from mailaudit.errors import UsageError
from mailaudit.model import HOSTNAME, Endpoint, Severity
from mailaudit.names import ascii_host
from mailaudit.report.exit_codes import exit_code
from mailaudit.report.formats import FORMATS, render_report
from mailaudit.report.outcome import AuditStatus, FleetOutcome, fleet_outcome
from mailaudit.report.requirements import (
    RequirementsError,
    apply_requirements,
    load_requirements,
)
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
    type=click.Path(exists=True, file_okay=False),
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
    type=click.Path(exists=True, dir_okay=False),
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
    type=click.Path(dir_okay=False),
    help="Also write the JSON report to this file.",
)
@click.option(
    "--html",
    "html_out",
    type=click.Path(dir_okay=False),
    help="Also write the HTML report to this file.",
)
@click.option(
    "--sarif",
    "sarif_out",
    type=click.Path(dir_okay=False),
    help="Also write SARIF 2.1.0 to this file.",
)
@click.option(
    "--junit",
    "junit_out",
    type=click.Path(dir_okay=False),
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
    quiet: bool,
    verbose: bool,
    **network: Any,
) -> None:
    """Audit the mail servers of each DOMAIN: MX hosts, client endpoints, TLS and DNS policy.

    Exit status: 0 nothing at or above --fail-on, 1 findings at or above it, 2 usage error,
    3 something could not be tested (and nothing reached the threshold), 4 a domain could not
    be audited at all, 130 interrupted (resume with --resume).
    """
    try:
        # UTS 46: straße.test -> xn--strae-oqa.test (the domains file is read the same way).
        domains = tuple(ascii_host(d) for d in domains)
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None
    domain_list = read_domain_args(domains, domains_file)
    if not domain_list and not endpoints:
        raise click.UsageError("give at least one DOMAIN or --endpoint URL")
    if not HOSTNAME.match(relay_test_domain.rstrip(".")) or "." not in relay_test_domain:
        raise click.BadParameter(
            f"{relay_test_domain!r} is not a domain name", param_hint="--relay-test-domain"
        )
    if only == "policy":
        if endpoints:
            raise click.UsageError("--only policy connects to no server: drop --endpoint")
        if "policy" in skip:
            raise click.UsageError("--only policy and --skip policy leave nothing to do")
    try:
        extra = tuple(Endpoint.parse(u) for u in endpoints)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        # Read it before scanning: a broken requirements file is a usage error, found at once.
        required = load_requirements(requirements_file) if requirements_file else None
    except RequirementsError as exc:
        click.echo(f"Error: requirements file: {exc}", err=True)
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
        scope=tuple(d.lower().rstrip(".") for d in scope_domains),
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
    for path, kind in (
        (json_out, "json"),
        (html_out, "html"),
        (sarif_out, "sarif"),
        (junit_out, "junit"),
    ):
        if path and kind == "json":
            from mailaudit.report.json_report import write_report

            with Path(path).open("w", encoding="utf-8") as stream:
                write_report(report, stream)  # streamed: no second copy of a fleet in memory
        elif path:
            Path(path).write_text(render_report(report, kind), encoding="utf-8")
    click.echo(
        render_report(report, fmt, quiet=quiet, verbose=verbose, color=sys.stdout.isatty()),
        nl=False,
    )
    outcome = fleet_outcome(report, endpoints_only=_endpoint_hosts(domain_list, extra))
    if len(report.domains) > 1 or outcome.count(AuditStatus.AUDITED) < len(report.domains):
        print_outcome(outcome, to_stderr=fmt != "text")
    sys.exit(exit_code(report, Severity(fail_on) if fail_on else None))


def _endpoint_hosts(domains: list[str], extra: tuple[Endpoint, ...]) -> set[str]:
    named = {d.lower().rstrip(".") for d in domains}
    return {e.host for e in extra if e.host not in named}
