"""The command line: a thin click adapter over the library. Each command lives in its own module
and is listed here; a module is imported only when its command runs or help lists it, so
`mailaudit --version` imports none of them. A command module that fails to import is an error,
never a silently missing command."""

from __future__ import annotations

import importlib

import click

from mailaudit import __version__

__all__ = ["main"]

# Command name -> (module, attribute); help lists them alphabetically, as click does.
_COMMANDS = {
    "probe": ("mailaudit.cli.probe", "probe"),
    "discover": ("mailaudit.cli.discover", "discover"),
    "ispdb": ("mailaudit.cli.discover", "ispdb"),
    "audit": ("mailaudit.cli.audit", "audit"),
    "report": ("mailaudit.cli.reports", "report"),
    "schema": ("mailaudit.cli.reports", "schema"),
    "diff": ("mailaudit.cli.reports", "diff"),
    "serve": ("mailaudit.cli.serve", "serve"),
}


class _Commands(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*_COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _COMMANDS:
            module_name, attribute = _COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module_name), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{module_name}.{attribute} is not a click command")
            return command
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="mailaudit")
def main() -> None:
    """Find and audit mail servers: discovery, protocol audit, TLS and DNS mail policy."""
