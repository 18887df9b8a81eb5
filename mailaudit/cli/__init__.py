"""The command line: a thin click adapter over the library. Each command lives in its own module
and is listed here; a module is imported only when its command runs or help lists it, so
`mailaudit --version` imports none of them. A command module that fails to import is an error,
never a silently missing command."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from mailaudit import __version__

__all__ = ["main"]

# Command name -> (module, attribute, the first paragraph of its help). `--help` lists the
# commands from this table without importing them (each pulls in DNS, HTTP, TLS or HTML
# libraries); tests/unit/test_public_errors.py checks the summaries against the commands.
_COMMANDS = {
    "probe": (
        "mailaudit.cli.probe",
        "probe",
        "Connect to each URL and show what the server offers.",
    ),
    "discover": (
        "mailaudit.cli.discover",
        "discover",
        "Find the mail settings a client should use for ADDRESS_OR_DOMAIN, verify each candidate "
        "with a real TLS handshake, and report where each came from.",
    ),
    "ispdb": (
        "mailaudit.cli.discover",
        "ispdb",
        "Work with ISPDB / autoconfig config-v1.1.xml files.",
    ),
    "audit": (
        "mailaudit.cli.audit",
        "audit",
        "Audit the mail servers of each DOMAIN: MX hosts, client endpoints, TLS and DNS policy.",
    ),
    "report": (
        "mailaudit.cli.reports",
        "report",
        "Re-render a saved JSON report (from `audit --json`) as text, json, html, sarif or junit.",
    ),
    "schema": (
        "mailaudit.cli.reports",
        "schema",
        "Print the JSON Schema (draft 2020-12) that every JSON report validates against.",
    ),
    "diff": (
        "mailaudit.cli.reports",
        "diff",
        "Compare two saved reports: new, resolved and unchanged findings (by id and subject).",
    ),
    "serve": (
        "mailaudit.cli.serve",
        "serve",
        'Serve the "find my mail settings" page (English and Greek) and, with --report, a saved '
        "report to browse, filter by host, finding and severity.",
    ),
    "checks": (
        "mailaudit.cli.checks",
        "checks",
        "List every finding id with its severity range, what its check looks at and how to fix "
        "it; with ID..., describe those ids (a check name gives all of its ids).",
    ),
}


# Set to anything: an unexpected error shows its traceback (for a developer or a bug report).
DEBUG_ENV = "MAILAUDIT_DEBUG"


def _one_line(text: str) -> str:
    # Imported on an error only: `--help` and `--version` load no mailaudit module.
    from mailaudit.errors import one_line

    return one_line(text)


class _Commands(click.Group):
    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Every error is one line on standard error, never a traceback (issue 10, item 5):
        a usage error without click's usage block (the line says where help is), and an
        unexpected exception, which is a bug, one line with exit 70 (MAILAUDIT_DEBUG=1 lets
        the traceback through)."""
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:
            exc.show()  # `mailaudit` or a group given nothing: its help, as before
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "mailaudit"
            click.echo(f"Error: {_one_line(exc.format_message())} (see '{where} --help')", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"Error: {_one_line(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        except Exception as exc:
            from mailaudit.errors import UsageError
            from mailaudit.report.exit_codes import EXIT_INTERNAL, EXIT_USAGE

            if isinstance(exc, UsageError):  # the library refused something the user gave
                click.echo(f"Error: {_one_line(str(exc))}", err=True)
                sys.exit(EXIT_USAGE)
            if os.environ.get(DEBUG_ENV):
                raise
            click.echo(
                f"Error: internal error ({type(exc).__name__}: {_one_line(str(exc))}); please "
                f"report it, with the output of the command run again with {DEBUG_ENV}=1",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)
        # --help and --version end here with their exit code; commands exit on their own.
        sys.exit(result if isinstance(result, int) else 0)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*_COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _COMMANDS:
            module_name, attribute, _ = _COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module_name), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{module_name}.{attribute} is not a click command")
            return command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # As click's own, but from the table: help text without importing every command.
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in _COMMANDS:
                command: click.Command | None = click.Command(name, help=_COMMANDS[name][2])
            else:
                command = super().get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="mailaudit")
def main() -> None:
    """Find and audit mail servers: discovery, protocol audit, TLS and DNS mail policy."""
