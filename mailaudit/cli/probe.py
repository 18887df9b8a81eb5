"""`mailaudit probe URL...`"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import click

from mailaudit.cli.options import EXIT_NOT_TESTED, EXIT_OK, network_options, settings_from
from mailaudit.cli.validate import endpoint_urls
from mailaudit.context import Context
from mailaudit.model import Endpoint, Observation
from mailaudit.probes.endpoint import probe_all_addresses
from mailaudit.report.probe_text import render_observations
from mailaudit.serial import to_data


@click.command()
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--no-transcript", is_flag=True, help="Leave the transcript out of the text output.")
@network_options
def probe(urls: tuple[str, ...], fmt: str, no_transcript: bool, **network: Any) -> None:
    """Connect to each URL and show what the server offers.

    URL is SCHEME://HOST[:PORT] with SCHEME one of smtp (25), submission (587), smtps (465),
    imap (143), imaps (993), pop3 (110), pop3s (995). Exit status 3 when an endpoint could not
    be probed.
    """
    endpoints = list(endpoint_urls(urls, what="URL"))
    # The user named these hosts: they may be private.
    ctx = Context.create(settings_from(**network, named_targets=tuple(e.host for e in endpoints)))
    observations = asyncio.run(_probe_all(ctx, endpoints))
    if fmt == "json":
        json.dump({"observations": to_data(observations)}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        click.echo(render_observations(observations, transcript=not no_transcript), nl=False)
    sys.exit(EXIT_OK if all(o.completed for o in observations) else EXIT_NOT_TESTED)


async def _probe_all(ctx: Context, endpoints: list[Endpoint]) -> list[Observation]:
    results = await asyncio.gather(*(probe_all_addresses(ctx, e) for e in endpoints))
    return [o for group in results for o in group]
