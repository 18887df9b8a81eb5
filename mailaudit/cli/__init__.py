"""The command line: a thin click adapter over the library. Each command lives in its own module
and is registered here."""

from __future__ import annotations

import importlib

import click

from mailaudit import __version__

# Module name -> the command objects it defines; commands are registered in this order.
_COMMANDS = {
    "mailaudit.cli.probe": ("probe",),
    "mailaudit.cli.discover": ("discover", "ispdb"),
    "mailaudit.cli.audit": ("audit",),
    "mailaudit.cli.reports": ("report", "schema", "diff"),
    "mailaudit.cli.serve": ("serve",),
}


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="mailaudit")
def main() -> None:
    """Find and audit mail servers: discovery, protocol audit, TLS and DNS mail policy."""


def _register() -> None:
    for module_name, names in _COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # that area is not built yet
            raise
        for name in names:
            main.add_command(getattr(module, name))


_register()
