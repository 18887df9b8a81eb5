"""The public surface: one exception root, lazily loaded commands that fail loudly."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

import mailaudit
from mailaudit.cli import _COMMANDS, main
from mailaudit.discovery.xmlsafe import ConfigError, parse_document
from mailaudit.model import Endpoint
from mailaudit.net.errors import ConnectError, DnsError, StepTimeout, TlsError
from mailaudit.net.http import HttpError
from mailaudit.protocols.errors import ProtocolError
from mailaudit.protocols.smtp import SmtpReplyReader
from mailaudit.report.json_report import ReportLoadError, parse_report
from mailaudit.report.requirements import PolicyError, RequirementsError, parse_requirements
from mailaudit.serial import LoadError


@pytest.mark.parametrize(
    "error",
    [DnsError, ConnectError, StepTimeout, TlsError, HttpError, ProtocolError, ConfigError],
)
def test_boundary_errors_share_the_root(error: type[Exception]) -> None:
    assert issubclass(error, mailaudit.MailauditError)


@pytest.mark.parametrize("error", [ReportLoadError, RequirementsError, PolicyError, LoadError])
def test_usage_errors_are_value_errors_under_the_root(error: type[Exception]) -> None:
    assert issubclass(error, mailaudit.UsageError)
    assert issubclass(error, mailaudit.MailauditError)
    assert issubclass(error, ValueError)


def test_real_failures_are_caught_by_the_root() -> None:
    # Given inputs each boundary refuses
    failures = [
        lambda: Endpoint.parse("gopher://mail.example.test"),
        lambda: Endpoint.parse("smtp://mail.example.test:twenty-five"),
        lambda: parse_report("{not json"),
        lambda: parse_requirements("[[require]]\nport = 'x'\n", source="policy.toml"),
        lambda: parse_document(b"<a><b></a>"),
        lambda: _read_smtp(b"abc nonsense\r\n"),
    ]
    # Then each raises something `except mailaudit.MailauditError` catches
    for fail in failures:
        with pytest.raises(mailaudit.MailauditError):
            fail()


def _read_smtp(data: bytes) -> None:
    reader = SmtpReplyReader()
    reader.feed(data)
    reader.next_reply()


def test_every_listed_command_loads_and_help_lists_its_own_summary() -> None:
    ctx = click.Context(main)
    for name, (_, _, summary) in _COMMANDS.items():
        command = main.get_command(ctx, name)
        assert isinstance(command, click.Command), name
        for limit in (30, 45, 80, 200):
            assert click.Command(name, help=summary).get_short_help_str(
                limit
            ) == command.get_short_help_str(limit), name


def test_help_and_version_import_no_command() -> None:
    code = (
        "import sys\n"
        "from mailaudit.cli import main\n"
        "for argv in (['--help'], ['--version']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('mailaudit.')"
        " and m not in ('mailaudit.cli',))\n"
        "print(loaded, file=sys.stderr)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Commands:" in run.stdout
    assert "discover" in run.stdout
    assert run.stderr.strip() == "[]"


def test_a_broken_command_module_is_an_error_not_a_missing_command() -> None:
    # Given a command module that cannot be imported (a packaging mistake)
    code = (
        "import sys; sys.modules['mailaudit.cli.audit'] = None\n"
        "from mailaudit.cli import main\n"
        "main(['audit', '--help'])\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    # Then the command fails with the import error instead of vanishing
    assert run.returncode != 0
    assert "ModuleNotFoundError" in run.stderr or "ImportError" in run.stderr
