"""`mailaudit discover ADDRESS_OR_DOMAIN` and `mailaudit ispdb lint DIR`: thin adapters over
`mailaudit.discovery`."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from mailaudit.checks.exit_policy import exit_code
from mailaudit.cli.options import (
    EXIT_FINDINGS,
    EXIT_USAGE,
    fail_on_option,
    network_options,
    settings_from,
)
from mailaudit.cli.validate import PathArg, check_env_var_name, check_http_url, one_line
from mailaudit.context import Context
from mailaudit.discovery import Credentials, DiscoveryResult, GuessMode, LoginStatus, lint_files
from mailaudit.discovery import discover as run_discovery
from mailaudit.discovery.query import parse_query
from mailaudit.discovery.render import FORMATS, render_discovery
from mailaudit.errors import UsageError
from mailaudit.model import Severity
from mailaudit.serial import to_data


@click.command()
@click.argument("query", metavar="ADDRESS_OR_DOMAIN")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text, json, or a file to publish: thunderbird (config-v1.1.xml), mobileconfig "
    "(Apple profile, no password), autodiscover (POX response).",
)
@click.option(
    "--ispdb",
    "ispdb_dir",
    envvar="MAILAUDIT_ISPDB",
    type=PathArg(exists=True, file_okay=False),
    help="Directory of ISPDB config-v1.1.xml files (Thunderbird's ispdb/ folder).",
)
@click.option(
    "--ispdb-url",
    metavar="URL",
    help="Base URL of an ISPDB mirror; <URL>/<domain> is fetched.",
)
@click.option(
    "--guess",
    "guess_mode",
    type=click.Choice([m.value for m in GuessMode]),
    default=GuessMode.AUTO.value,
    show_default=True,
    help="Guess host names: auto (only when published sources give no verified setting), "
    "always, never.",
)
@fail_on_option(default=Severity.MEDIUM, help="Exit 1 when a finding has at least this severity.")
@click.option(
    "--login",
    is_flag=True,
    help="Also check that the recommended settings accept your password (asked for at a "
    "prompt, or read from --password-env). Sent only over verified TLS, only to hosts inside "
    "your domain.",
)
@click.option(
    "--password-env",
    metavar="VAR",
    help="With --login: read the password from environment variable VAR instead of a prompt.",
)
@click.option(
    "--allow-foreign-login",
    is_flag=True,
    help="With --login: also send the password to hosts outside your registrable domain.",
)
@network_options
def discover(
    query: str,
    fmt: str,
    ispdb_dir: str | None,
    ispdb_url: str | None,
    guess_mode: str,
    fail_on: str,
    login: bool,
    password_env: str | None,
    allow_foreign_login: bool,
    **network: Any,
) -> None:
    """Find the mail settings a client should use for ADDRESS_OR_DOMAIN, verify each candidate
    with a real TLS handshake, and report where each came from.

    Sources, highest priority first: provider autoconfig (HTTPS, then plain HTTP), ISPDB, the
    MX provider's autoconfig and ISPDB entry, Autodiscover (POX, no credentials), RFC 6186 SRV,
    guessing. No password is ever asked for or sent.

    Exit status: 0 settings found, 1 findings at --fail-on or above, 3 no setting could be
    verified, 2 usage error.
    """
    # Arguments first: before a password prompt and before any network work.
    try:
        parse_query(query)
    except UsageError as exc:
        reason = str(exc) if str(exc).startswith(repr(query)) else f"{query!r}: {exc}"
        raise click.BadParameter(reason, param_hint="ADDRESS_OR_DOMAIN") from None
    if ispdb_url is not None:
        check_http_url(ispdb_url, what="--ispdb-url")
    if password_env is not None:
        check_env_var_name(password_env, what="--password-env")
    credentials = _credentials(login, password_env, allow_foreign_login)
    ctx = Context.create(settings_from(**network))
    try:
        result = asyncio.run(
            run_discovery(
                ctx,
                query,
                ispdb_dir=ispdb_dir,
                ispdb_url=ispdb_url,
                guess_mode=GuessMode(guess_mode),
                credentials=credentials,
                allow_foreign_login=allow_foreign_login,
            )
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    sys.stdout.buffer.write(render_discovery(result, fmt))
    sys.stdout.flush()
    sys.exit(_exit_code(result, Severity(fail_on)))


def _credentials(
    login: bool, password_env: str | None, allow_foreign_login: bool
) -> Credentials | None:
    if not login:
        if password_env or allow_foreign_login:
            raise click.UsageError("--password-env and --allow-foreign-login need --login")
        return None
    if password_env:
        password = os.environ.get(password_env)
        if not password:
            raise click.UsageError(f"environment variable {password_env} is empty or not set")
    else:
        password = click.prompt("Password", hide_input=True, err=True)
    return Credentials(password=password)


def _exit_code(result: DiscoveryResult, fail_on: Severity) -> int:
    """The one exit-code policy: nothing verified at all is 3; a rejected password fails like a
    finding; unwaived findings at or above --fail-on are 1."""
    rejected = any(c.status is LoginStatus.REJECTED for c in result.logins)
    return (
        EXIT_FINDINGS
        if rejected
        else exit_code(
            result.findings,
            fail_on=fail_on,
            nothing_tested=result.incoming is None and result.outgoing is None,
        )
    )


@click.group()
def ispdb() -> None:
    """Work with ISPDB / autoconfig config-v1.1.xml files."""


@ispdb.command()
@click.argument("directory", type=PathArg(exists=True, file_okay=False))
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@fail_on_option(default=Severity.MEDIUM, help="Exit 1 when a finding has at least this severity.")
def lint(directory: str, fmt: str, fail_on: str) -> None:
    """Report data problems in every *.xml file of DIRECTORY: unknown or broken placeholders,
    plaintext-only providers, odd port/security pairs, missing usernames, unreadable files."""
    paths = sorted(Path(directory).glob("*.xml"))
    if not paths:
        click.echo(f"Error: no *.xml files in {one_line(directory)}", err=True)
        sys.exit(EXIT_USAGE)
    try:
        files = [(p.name, p.read_bytes()) for p in paths]
    except OSError as exc:
        click.echo(f"Error: {one_line(exc.filename or directory)}: {exc.strerror}", err=True)
        sys.exit(EXIT_USAGE)
    report = lint_files(files)
    if fmt == "json":
        json.dump(to_data(report), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for f in report.findings:
            click.echo(f"{f.subject}: [{f.severity.value}] {f.id}: {f.detail}")
        counts: dict[str, int] = {}
        for f in report.findings:
            counts[f.id] = counts.get(f.id, 0) + 1
        click.echo(
            f"{report.files} files, {report.providers} providers, {report.domains} domains, "
            f"{len(report.findings)} findings"
            + (": " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) if counts else "")
        )
    sys.exit(exit_code(report.findings, fail_on=Severity(fail_on)))
