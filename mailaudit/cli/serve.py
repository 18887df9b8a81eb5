"""`mailaudit serve`: the mail-settings web page (and a saved report to browse). The web stack
is an optional extra; without it the command says how to install it."""

from __future__ import annotations

import importlib.util
import logging
import sys
from typing import Any

import click

from mailaudit.cli.options import EXIT_USAGE, network_options, settings_from
from mailaudit.cli.validate import PathArg, one_line
from mailaudit.model import HOSTNAME

EXTRA_HINT = "mailaudit serve needs the web extra: pip install 'mailaudit[serve]'"
_NEEDS = ("starlette", "uvicorn", "babel")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8025, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--report",
    "report_path",
    type=PathArg(exists=True, dir_okay=False),
    help="A saved report to browse at /report: JSON (`audit --json`) or a fleet run's JSONL "
    "(`audit --jsonl`).",
)
@click.option(
    "--allow-network",
    "allowed",
    multiple=True,
    metavar="CIDR",
    help="Staging only: also let discoveries connect to this non-public network (e.g. "
    "127.0.0.0/24 for a lab); repeatable. Without it only public addresses are contacted.",
)
@click.option(
    "--max-discoveries",
    default=8,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Discoveries running at once; more wait briefly, then get 503.",
)
@click.option(
    "--per-minute",
    default=6.0,
    show_default=True,
    type=click.FloatRange(0.1, 600),
    help="Discoveries each client address may start per minute (after a burst of 5).",
)
@network_options
def serve(
    host: str,
    port: int,
    report_path: str | None,
    allowed: tuple[str, ...],
    max_discoveries: int,
    per_minute: float,
    **network: Any,
) -> None:
    """Serve the "find my mail settings" page (English and Greek) and, with --report, a saved
    report to browse, filter by host, finding and severity.

    No password is ever asked for. Discoveries reach only public addresses unless a staging
    network is allowed with --allow-network; each client address is rate limited, and the
    number of discoveries at once is bounded. The access log (stderr, JSON lines) holds no
    email address.
    """
    missing = [name for name in _NEEDS if importlib.util.find_spec(name) is None]
    if missing:
        click.echo(f"{EXTRA_HINT} (missing: {', '.join(missing)})", err=True)
        sys.exit(EXIT_USAGE)
    import uvicorn

    from mailaudit.audit.jsonl import report_from_jsonl
    from mailaudit.net.resolver import is_ip_literal
    from mailaudit.report.json_report import load_report
    from mailaudit.serve import ServeConfig, create_app
    from mailaudit.serve.guard import PublicOnly
    from mailaudit.serve.limits import Rate

    if not (is_ip_literal(host) or HOSTNAME.match(host)) or host != host.strip():
        raise click.BadParameter(f"{host!r} is not an address or host name", param_hint="--host")
    if network.get("allow_private"):
        raise click.UsageError(
            "serve never connects to private addresses for a visitor; name a staging "
            "network with --allow-network CIDR instead"
        )
    try:
        public_only = PublicOnly.create(settings_from(**network), staging=allowed)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--allow-network") from None
    report = None
    if report_path is not None:
        try:
            if report_path.endswith(".jsonl"):
                report = report_from_jsonl(report_path)
            else:
                report = load_report(report_path)
        except OSError as exc:
            reason = one_line(exc.strerror or str(exc))
            raise click.BadParameter(f"{report_path!r}: {reason}", param_hint="--report") from None
        except ValueError as exc:
            raise click.BadParameter(one_line(str(exc)), param_hint="--report") from None
    config = ServeConfig(
        max_concurrent_discoveries=max_discoveries,
        discovery_rate=Rate(burst=5, per_minute=per_minute),
    )
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    # httpx logs every request URL at INFO, and autoconfig URLs carry the email address.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    app = create_app(public_only, config, report=report)
    click.echo(f"mailaudit serve: http://{host}:{port}/", err=True)
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")
