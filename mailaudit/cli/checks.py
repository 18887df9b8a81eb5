"""`mailaudit checks [ID]`: what every check looks at and every finding id means (like
`nmap --script-help`). Printed from the check registry and the catalogue, nothing else."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from mailaudit.checks.catalogue import CATALOGUE
from mailaudit.checks.catalogue._entry import Entry
from mailaudit.checks.check import Check
from mailaudit.checks.registry import CHECKS, check_for_id
from mailaudit.cli.options import EXIT_USAGE


def _severities(entry: Entry) -> str:
    allowed = entry.allowed
    if len(allowed) == 1:
        return allowed[0].value
    return f"{allowed[0].value}-{allowed[-1].value} (default {entry.severity.value})"


def _id_data(entry: Entry, check: Check) -> dict[str, Any]:
    return {
        "id": entry.id,
        "title": entry.title,
        "severity": entry.severity.value,
        "severities": [s.value for s in entry.allowed],
        "check": check.name,
        "scope": check.scope.value,
        "checks": check.summary,
        "applies_to": check.applies_to,
        "needs": list(check.needs),
        "remediation": entry.remediation,
        "references": list(entry.references),
    }


def _describe(entry: Entry, check: Check) -> str:
    lines = [
        f"{entry.id}",
        f"  {entry.title}",
        f"  severity:    {_severities(entry)}",
        f"  check:       {check.name} ({check.scope.value}): {check.summary}",
        f"  applies to:  {check.applies_to}",
        f"  needs:       {', '.join(check.needs)}",
        f"  remediation: {entry.remediation}",
    ]
    if entry.references:
        lines.append(f"  references:  {'; '.join(entry.references)}")
    return "\n".join(lines)


@click.command()
@click.argument("finding_ids", nargs=-1, metavar="[ID...]")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
def checks(finding_ids: tuple[str, ...], fmt: str) -> None:
    """List every finding id with its severity range, what its check looks at and how to fix
    it; with ID..., describe those ids (a check name gives all of its ids).

    Exit status: 0, or 2 for an id or check name that does not exist.
    """
    wanted: list[tuple[Entry, Check]] = []
    if not finding_ids:
        wanted = [(CATALOGUE[i], c) for c in CHECKS for i in c.ids]
    for name in finding_ids:
        if name in CATALOGUE:
            wanted.append((CATALOGUE[name], check_for_id(name)))
            continue
        by_name = [c for c in CHECKS if c.name == name]
        if not by_name:
            click.echo(f"Error: no finding id or check named {name!r}", err=True)
            sys.exit(EXIT_USAGE)
        wanted += [(CATALOGUE[i], by_name[0]) for i in by_name[0].ids]
    if fmt == "json":
        json.dump([_id_data(e, c) for e, c in wanted], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    if finding_ids:
        click.echo("\n\n".join(_describe(e, c) for e, c in wanted))
        return
    width = max(len(e.id) for e, _ in wanted)
    for entry, _ in wanted:
        click.echo(f"{entry.id:<{width}}  {_severities(entry):<28}  {entry.title}")
    click.echo(
        f"\n{len(wanted)} finding ids from {len(CHECKS)} checks; "
        "`mailaudit checks ID` describes one."
    )
