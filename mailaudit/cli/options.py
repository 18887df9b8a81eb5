"""Options every network command shares: where names resolve, which CA to trust, timeouts."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from mailaudit.cli.validate import (
    PathArg,
    ca_file_callback,
    ehlo_name_callback,
    seconds_callback,
)
from mailaudit.model import HOSTNAME
from mailaudit.model.findings import Severity
from mailaudit.settings import Limits, Settings, Timeouts

F = TypeVar("F", bound=Callable[..., Any])

# Exit codes, a public interface for CI (README "Exit codes"), defined in one place.
from mailaudit.checks.exit_policy import (  # noqa: E402
    EXIT_FINDINGS,
    EXIT_NOT_TESTED,
    EXIT_OK,
    EXIT_USAGE,
)

__all__ = [
    "EXIT_FINDINGS",
    "EXIT_NOT_TESTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "network_options",
    "settings_from",
]


def _nameservers(
    _ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]
) -> tuple[str, ...]:
    # (dnspython loads only when a command really runs, not for --help.)
    from mailaudit.net.resolver import parse_nameserver

    # MAILAUDIT_NAMESERVER may hold several, separated by spaces or commas.
    out: list[str] = []
    for item in value:
        parts = item.replace(",", " ").split()
        if not parts:
            # An empty --nameserver must not mean "none given": that would fall back to the
            # system's resolvers, which the user did not name.
            raise click.BadParameter(f"{item!r}: expected IP[:PORT]")
        out.extend(parts)
    for spec in out:
        try:
            parse_nameserver(spec)
        except ValueError as exc:
            raise click.BadParameter(f"{spec!r}: expected IP[:PORT] ({exc})") from None
    return tuple(out)


def _resolve(
    _ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]
) -> dict[str, tuple[str, ...]]:
    from mailaudit.net.resolver import is_ip_literal

    table: dict[str, list[str]] = {}
    for item in value:
        # A host name has no colon, so the first one separates it from the address, whether
        # that is 127.0.0.10, ::1 or [::1].
        host, sep, address = item.partition(":")
        if not sep or not host or not address or not is_ip_literal(address.strip("[]")):
            raise click.BadParameter(f"{item!r}: expected HOST:IP")
        if not HOSTNAME.match(host) or host != host.strip():
            raise click.BadParameter(f"{item!r}: {host!r} is not a host name")
        table.setdefault(host.lower().rstrip("."), []).append(address.strip("[]"))
    return {k: tuple(v) for k, v in table.items()}


def _networks(
    _ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]
) -> tuple[str, ...]:
    from mailaudit.net.addresses import parse_networks

    try:
        parse_networks(value)
    except ValueError as exc:
        raise click.BadParameter(f"expected CIDR networks ({exc})") from None
    return value


def network_options(func: F) -> F:
    @click.option(
        "--nameserver",
        "nameservers",
        multiple=True,
        envvar="MAILAUDIT_NAMESERVER",
        callback=_nameservers,
        metavar="IP[:PORT]",
        help="DNS server to use, IP[:PORT]; repeatable. When given, the system resolver is never used.",
    )
    @click.option(
        "--resolve",
        "resolve",
        multiple=True,
        callback=_resolve,
        metavar="HOST:IP",
        help="Use IP for HOST (curl style, for staging hosts); repeatable.",
    )
    @click.option(
        "--ca-file",
        envvar="MAILAUDIT_CA_FILE",
        type=PathArg(exists=True, dir_okay=False),
        callback=ca_file_callback,
        help="PEM file of extra trusted CAs (private or staging CA), added to the system store.",
    )
    @click.option(
        "--timeout",
        "timeout_s",
        type=float,
        default=Timeouts.reply_s,
        show_default=True,
        callback=seconds_callback,
        help="Seconds for each network step (connect, reply, TLS handshake).",
    )
    @click.option(
        "--budget",
        "budget_s",
        type=float,
        default=Timeouts.endpoint_budget_s,
        show_default=True,
        callback=seconds_callback,
        help="Seconds for everything one endpoint may take.",
    )
    @click.option(
        "--ehlo-name",
        default="mailaudit.invalid",
        show_default=True,
        callback=ehlo_name_callback,
        help="Name we announce in EHLO.",
    )
    @click.option(
        "--allow-private",
        is_flag=True,
        help=(
            "Follow DNS answers, MX/SRV targets and redirects into loopback, private, CGNAT, "
            "link-local, ULA, multicast and reserved addresses (refused by default; implied by "
            "a --nameserver on such an address)."
        ),
    )
    @click.option(
        "--private-network",
        "private_networks",
        multiple=True,
        callback=_networks,
        metavar="CIDR",
        help="Treat this network as private too (your own ranges); repeatable.",
    )
    @click.option(
        "--global-network",
        "global_networks",
        multiple=True,
        callback=_networks,
        metavar="CIDR",
        help="Treat this network as global (a lab playing the Internet on loopback); repeatable.",
    )
    @click.option(
        "--tls-workers",
        type=click.IntRange(1, 64),
        default=Limits.tls_workers,
        show_default=True,
        envvar="MAILAUDIT_TLS_WORKERS",
        help="TLS scan worker processes at once (about 100 MB each while scanning).",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def settings_from(
    *,
    nameservers: tuple[str, ...],
    resolve: dict[str, tuple[str, ...]],
    ca_file: str | None,
    timeout_s: float,
    budget_s: float,
    ehlo_name: str,
    allow_private: bool = False,
    private_networks: tuple[str, ...] = (),
    global_networks: tuple[str, ...] = (),
    named_targets: tuple[str, ...] = (),
    tls_workers: int = Limits.tls_workers,
) -> Settings:
    return Settings(
        nameservers=nameservers,
        resolve=resolve,
        ca_file=ca_file,
        ehlo_name=ehlo_name,
        allow_private=allow_private,
        private_networks=private_networks,
        global_networks=global_networks,
        named_targets=named_targets,
        limits=Limits(tls_workers=tls_workers),
        timeouts=Timeouts(
            connect_s=min(timeout_s, Timeouts.connect_s),
            reply_s=timeout_s,
            tls_handshake_s=timeout_s,
            endpoint_budget_s=budget_s,
            dns_s=min(timeout_s, Timeouts.dns_s),
            http_s=timeout_s,
        ),
    )


def fail_on_option(*, help: str, default: Severity | None = None) -> Callable[[F], F]:
    """`--fail-on SEVERITY`, the same choices everywhere; the value stays the severity's name."""
    return click.option(
        "--fail-on",
        type=click.Choice([s.value for s in Severity]),
        default=default.value if default else None,
        show_default=default is not None,
        help=help,
    )
