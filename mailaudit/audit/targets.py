"""Which endpoints an audit of a domain looks at: the MX hosts on port 25, the client endpoints
discovery found, and the hosts ISPs classically name smtp./imap./pop3./pop./mail."""

from __future__ import annotations

from mailaudit.audit.units import Role, Target
from mailaudit.context import Context
from mailaudit.discovery.guess import GUESS_PLAN
from mailaudit.model import Endpoint, Scheme, ServerSetting
from mailaudit.net.errors import DnsError

__all__ = ["Role", "Target", "guess_targets", "implied_targets", "mx_targets"]

# The implicit-TLS port beside each STARTTLS client port (RFC 8314): the host-level check needs
# both, and the tool can probe the partner itself rather than report it "not tested".
IMPLICIT_PARTNER = {
    Scheme.SUBMISSION: (Scheme.SMTPS, 465),
    Scheme.IMAP: (Scheme.IMAPS, 993),
    Scheme.POP3: (Scheme.POP3S, 995),
}


async def mx_targets(ctx: Context, domain: str) -> tuple[list[Target], list[str]]:
    """Port 25 of every MX host; a null MX (RFC 7505) means none. Errors come back as text."""
    try:
        _, records = await ctx.resolver.mx(domain)
    except DnsError as exc:
        return [], [f"MX lookup failed: {exc}"]
    targets = [
        Target(Endpoint(Scheme.SMTP, r.host.lower(), 25), Role.MX, domain)
        for r in records
        if r.host
    ]
    return targets, []


def guess_targets(domain: str) -> list[Target]:
    """The names and ports discovery would guess (its `GUESS_PLAN`), under the domain itself
    only: the bare domain is a web host far more often than a mail host."""
    targets: dict[Endpoint, Target] = {}
    for protocol, prefixes, ports in GUESS_PLAN:
        for prefix in prefixes:
            if not prefix:
                continue
            for port, security in ports:
                setting = ServerSetting(protocol, f"{prefix}{domain}", port, security)
                endpoint = Endpoint(setting.scheme, setting.host, port)
                targets.setdefault(endpoint, Target(endpoint, Role.GUESS, domain))
    return list(targets.values())


def implied_targets(targets: list[Target]) -> list[Target]:
    """For each STARTTLS client endpoint, its implicit-TLS partner on the same host, as a guess
    (absent is no finding by itself; present, it is audited like any other)."""
    have = {(t.endpoint.host, t.endpoint.port) for t in targets}
    implied: dict[Endpoint, Target] = {}
    for t in targets:
        partner = IMPLICIT_PARTNER.get(t.endpoint.scheme)
        if partner is None or (t.endpoint.host, partner[1]) in have:
            continue
        endpoint = Endpoint(partner[0], t.endpoint.host, partner[1])
        implied.setdefault(endpoint, Target(endpoint, Role.GUESS, t.domain))
    return list(implied.values())
