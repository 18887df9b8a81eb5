"""The sources that publish settings: provider autoconfig, an ISPDB, the MX provider's config and
RFC 6186 SRV records (Autodiscover is in `autodiscover_fetch.py`, guessing in `guess.py`).

Each source is an async function that never raises for network trouble: it returns a `SourceRun`
with the settings it found, or the reason it found none. Only the user's exact domain and the
names its records point to are asked; no label is ever stripped from the user's domain.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from mailaudit.context import Context
from mailaudit.discovery.autoconfig_xml import parse_config, read_raw
from mailaudit.discovery.fetch import (
    Fetched,
    Fetcher,
    describe_error,
    fetch_following,
    host_of,
)
from mailaudit.discovery.query import DomainRules, Query
from mailaudit.discovery.xmlsafe import MAX_DOCUMENT_BYTES, ConfigError
from mailaudit.model import (
    Attempt,
    ForeignRedirect,
    Protocol,
    ProviderConfig,
    Security,
    ServerSetting,
    Source,
    SourceOutcome,
    SourceStatus,
    Trust,
    UsernameForm,
)
from mailaudit.net.addresses import PrivateAddressRefused
from mailaudit.net.errors import NetError
from mailaudit.net.http import fetch
from mailaudit.net.resolver import AnswerStatus


@dataclass(frozen=True)
class Found:
    setting: ServerSetting
    trust: Trust
    origin: str
    rank: int
    # The redirects that led to `origin`, first one first.
    via: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceRun:
    outcome: SourceOutcome
    found: tuple[Found, ...] = ()
    # Redirects that left the user's domain (judged in mailaudit.checks.discovery).
    redirects: tuple[ForeignRedirect, ...] = ()
    provider: ProviderConfig | None = None
    # Webmail named by a source that has no ProviderConfig (Autodiscover's OWAUrl).
    webmail: str | None = None


@dataclass
class SourceLog:
    """Attempts of one source as it goes; turned into a SourceOutcome at the end."""

    source: Source
    attempts: list[Attempt] = field(default_factory=list)
    redirects: list[ForeignRedirect] = field(default_factory=list)

    def note(self, target: str, outcome: str) -> None:
        self.attempts.append(Attempt(target, outcome))

    def done(
        self, status: SourceStatus, detail: str, *, found: tuple[Found, ...] = ()
    ) -> SourceRun:
        return SourceRun(
            SourceOutcome(self.source, status, detail, tuple(self.attempts), len(found)),
            found,
            tuple(self.redirects),
        )


def skipped(source: Source, detail: str) -> SourceRun:
    return SourceRun(SourceOutcome(source, SourceStatus.SKIPPED, detail))


def found_from_config(
    config: ProviderConfig, trust: Trust, origin: str, *, via: tuple[str, ...] = ()
) -> tuple[Found, ...]:
    settings = (*config.incoming, *config.outgoing)
    return tuple(Found(s, trust, origin, rank, via) for rank, s in enumerate(settings))


# --- provider autoconfig -------------------------------------------------------------------


def autoconfig_urls(
    query: Query, domain: str, *, https: bool, with_address: bool = True
) -> tuple[str, str]:
    """Thunderbird's two places: the autoconfig host and the domain's .well-known path. Over
    HTTPS the autoconfig host gets the address (a provider may answer per user); over plain HTTP
    never: anyone on the path could read it. Thunderbird's %EMAILADDRESS% placeholders are then
    filled from the query on our side (`parse_config`). `with_address=False` leaves the address
    out over HTTPS too (the MX provider's config, the same URL for every domain on that
    provider, fetched once per run)."""
    scheme = "https" if https else "http"
    subdomain = f"{scheme}://autoconfig.{domain}/mail/config-v1.1.xml"
    if https and with_address and query.address is not None:
        subdomain += "?emailaddress=" + quote(query.address, safe="@")
    wellknown = f"{scheme}://{domain}/.well-known/autoconfig/mail/config-v1.1.xml"
    return subdomain, wellknown


async def autoconfig(
    ctx: Context,
    query: Query,
    rules: DomainRules,
    source: Source,
    urls: tuple[str, ...],
    *,
    domain: str,
    http: Fetcher = fetch,
    once_per_run: bool = False,
) -> SourceRun:
    """Try `urls` in order; the first one that gives a usable config wins. With
    `once_per_run`, each URL is fetched once per run and its answer shared by every domain
    that asks (URLs without anything of the query in them: the MX provider's config)."""
    log = SourceLog(source)
    status = SourceStatus.NOT_FOUND
    for url in urls:
        try:
            if once_per_run:
                fetched = await _fetched_once(ctx, url, http)
            else:
                fetched = await fetch_following(ctx, url, http=http)
        except NetError as exc:
            log.note(url, describe_error(exc))
            if exc.reason not in ("dns-nxdomain", "nxdomain", "no-answer", "refused"):
                status = SourceStatus.FAILED
            continue
        response = fetched.response
        if response.status != 200:
            log.note(url, f"HTTP {response.status}")
            continue
        try:
            config = parse_config(response.body, query)
        except ConfigError as exc:
            log.note(url, f"unusable config: {exc}")
            status = SourceStatus.FAILED
            continue
        trust, why = Trust.TRUSTED, "over HTTPS"
        if fetched.chain[-1].lower().startswith("http:"):
            trust, why = Trust.UNTRUSTED, "over plain HTTP"
        elif fetched.has_plain_http_hop:
            # Whoever answered the plain-HTTP hop chose where we went next.
            trust, why = Trust.UNTRUSTED, "HTTPS reached through a plain-HTTP redirect"
        foreign = fetched.foreign_hops(rules, domain)
        if foreign:
            ask = (
                f"a client must ask the user to confirm using settings from "
                f"{host_of(foreign[-1])} for {query.address or domain} (as Thunderbird does)"
            )
            if trust is Trust.TRUSTED:
                # Issue 10 item 1: never "trusted" across a redirect into another domain.
                trust, why = Trust.CONFIRM, f"HTTPS, redirected outside {domain}: {ask}"
            log.redirects.append(
                ForeignRedirect(
                    source,
                    url,
                    foreign[-1],
                    domain,
                    tuple(fetched.chain),
                    target_host=host_of(foreign[-1]),
                    asked_for=query.address or domain,
                )
            )
        final = fetched.chain[-1]
        log.note(final, f"found {config.provider_id or 'a config'} {why}")
        found = found_from_config(config, trust, final, via=fetched.chain[:-1])
        run = log.done(SourceStatus.FOUND, f"{final} ({why})", found=found)
        return SourceRun(run.outcome, run.found, run.redirects, config)
    return log.done(status, "; ".join(a.outcome for a in log.attempts) or "nothing tried")


async def _fetched_once(ctx: Context, url: str, http: Fetcher) -> Fetched:
    try:
        return await ctx.memo.once(
            ("autoconfig-fetch", url), lambda: fetch_following(ctx, url, http=http)
        )
    except PrivateAddressRefused:
        # Asked again on this discovery's own resolver, so that its record of refused
        # addresses (a per-domain finding) names the refusal too; the DNS answer is cached.
        return await fetch_following(ctx, url, http=http)


# --- ISPDB ---------------------------------------------------------------------------------


async def ispdb(
    ctx: Context,
    query: Query,
    source: Source,
    domains: tuple[str, ...],
    *,
    directory: str | None,
    base_url: str | None,
) -> SourceRun:
    """Look `domains` up in a local ISPDB directory (file name, then the <domain> aliases
    inside every file) and at a mirror URL (`<base>/<domain>`)."""
    log = SourceLog(source)
    if directory is None and base_url is None:
        return skipped(source, "no ISPDB given (--ispdb DIR or --ispdb-url URL)")
    if directory is not None:
        hit = await asyncio.to_thread(_ispdb_lookup, directory, domains)
        for target, outcome in hit[1]:
            log.note(target, outcome)
        if hit[0] is not None:
            path, data = hit[0]
            try:
                config = parse_config(data, query)
            except ConfigError as exc:
                log.note(path, f"unusable config: {exc}")
            else:
                found = found_from_config(config, Trust.TRUSTED, path)
                run = log.done(SourceStatus.FOUND, path, found=found)
                return SourceRun(run.outcome, run.found, run.redirects, config)
    if base_url is not None:
        for domain in domains:
            url = f"{base_url.rstrip('/')}/{domain}"
            try:
                fetched = await fetch_following(ctx, url)
            except NetError as exc:
                log.note(url, describe_error(exc))
                continue
            if fetched.response.status != 200:
                log.note(url, f"HTTP {fetched.response.status}")
                continue
            try:
                config = parse_config(fetched.response.body, query)
            except ConfigError as exc:
                log.note(url, f"unusable config: {exc}")
                continue
            trust = Trust.UNTRUSTED if fetched.has_plain_http_hop else Trust.TRUSTED
            found = found_from_config(config, trust, fetched.chain[-1])
            run = log.done(SourceStatus.FOUND, fetched.chain[-1], found=found)
            return SourceRun(run.outcome, run.found, run.redirects, config)
    return log.done(
        SourceStatus.NOT_FOUND, f"no ISPDB entry for {', '.join(domains) or 'this domain'}"
    )


def _ispdb_lookup(
    directory: str, domains: tuple[str, ...]
) -> tuple[tuple[str, bytes] | None, list[tuple[str, str]]]:
    """Blocking file work, run in a thread. Returns (path, bytes) of the match and notes."""
    notes: list[tuple[str, str]] = []
    root = Path(directory)
    if not root.is_dir():
        return None, [(directory, "not a directory")]
    for domain in domains:
        path = root / f"{domain}.xml"
        if path.is_file():
            return (str(path), _read_limited(path)), notes
    wanted = set(domains)
    for path in sorted(root.glob("*.xml")):
        data = _read_limited(path)
        try:
            raw = read_raw(data)
        except ConfigError:
            continue
        if wanted & set(raw.domains):
            return (str(path), data), notes
    notes.append((directory, f"no file for {', '.join(domains)}"))
    return None, notes


def _read_limited(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(MAX_DOCUMENT_BYTES + 1)


# --- MX provider ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MxProvider:
    """The provider domains behind the domain's best MX, or why there are none."""

    mx_host: str | None
    # ISPDB names to look up, most specific first: the MX host's parent when it differs from
    # the registrable domain (the ISPDB lists names like mail.protection.outlook.com), then the
    # registrable domain. Empty when there is no provider to ask.
    domains: tuple[str, ...]
    detail: str

    @property
    def registrable(self) -> str | None:
        return self.domains[-1] if self.domains else None


async def mx_provider(ctx: Context, query: Query, rules: DomainRules) -> MxProvider:
    try:
        answer, records = await ctx.resolver.mx(query.domain)
    except NetError as exc:
        return MxProvider(None, (), f"MX {query.domain}: {describe_error(exc)}")
    usable = [r for r in records if r.host]
    if not usable:
        return MxProvider(None, (), f"MX {query.domain}: {answer.status.value}, no mail host")
    host = usable[0].host.lower()
    registrable = rules.registrable(host)
    if registrable is None:
        return MxProvider(host, (), f"MX {host} has no registrable domain")
    if registrable == (rules.registrable(query.domain) or query.domain):
        return MxProvider(host, (), f"MX {host} is inside {query.domain}'s own domain")
    names = [registrable]
    parent = host.partition(".")[2]
    if parent and parent != registrable and parent.endswith("." + registrable):
        names.insert(0, parent)
    return MxProvider(host, tuple(names), f"MX {host} -> provider {registrable}")


# --- RFC 6186 / RFC 8314 SRV ---------------------------------------------------------------

# (service label, protocol, security), in RFC 8314 order: implicit TLS first.
SRV_SERVICES = (
    ("_imaps._tcp", Protocol.IMAP, Security.SSL),
    ("_imap._tcp", Protocol.IMAP, Security.STARTTLS),
    ("_pop3s._tcp", Protocol.POP3, Security.SSL),
    ("_pop3._tcp", Protocol.POP3, Security.STARTTLS),
    ("_submissions._tcp", Protocol.SMTP, Security.SSL),
    ("_submission._tcp", Protocol.SMTP, Security.STARTTLS),
)


async def srv(ctx: Context, query: Query, rules: DomainRules) -> SourceRun:
    log = SourceLog(Source.SRV)
    names = [f"{service}.{query.domain}" for service, _, _ in SRV_SERVICES]
    answers = await asyncio.gather(
        *(ctx.resolver.srv(name) for name in names), return_exceptions=True
    )
    collected: list[tuple[int, int, int, ServerSetting, Trust, str]] = []
    failed = False
    for order, (name, (_, protocol, security), answer) in enumerate(
        zip(names, SRV_SERVICES, answers, strict=True)
    ):
        if isinstance(answer, NetError):
            log.note(name, describe_error(answer))
            failed = True
            continue
        if isinstance(answer, BaseException):
            raise answer
        dns_answer, records = answer
        if dns_answer.status is not AnswerStatus.OK or not records:
            log.note(name, dns_answer.status.value)
            continue
        for record in records:
            if not record.target:
                # RFC 2782 / RFC 6186 §3.4: target "." means the service is not offered.
                log.note(name, "target '.': service not offered")
                continue
            inside = rules.same_registrable(record.target, query.domain)
            trust = Trust.TRUSTED if inside or dns_answer.authenticated else Trust.UNTRUSTED
            why = (
                "inside the domain"
                if inside
                else "DNSSEC-signed"
                if dns_answer.authenticated
                else f"points outside {query.domain}, unsigned"
            )
            log.note(name, f"{record.priority} {record.weight} {record.port} {record.target}")
            setting = ServerSetting(
                protocol=protocol,
                host=record.target.lower(),
                port=record.port,
                security=security,
                # RFC 6186 §4: try the full address first.
                username=query.address or "%EMAILADDRESS%",
                username_form=UsernameForm.ADDRESS,
            )
            collected.append((record.priority, -record.weight, order, setting, trust, why))
    # RFC 6186 §3.4: the lowest priority across IMAP and POP3 (and across the TLS variants)
    # says which service the provider prefers; weight orders equal priorities.
    collected.sort(key=lambda item: (item[3].protocol is Protocol.SMTP, item[0], item[1], item[2]))
    found = tuple(
        Found(setting, trust, f"SRV {_srv_name(setting, query)} ({why})", rank)
        for rank, (_, _, _, setting, trust, why) in enumerate(collected)
    )
    if found:
        return log.done(SourceStatus.FOUND, f"{len(found)} SRV record(s)", found=found)
    return log.done(
        SourceStatus.FAILED if failed else SourceStatus.NOT_FOUND, "no usable SRV record"
    )


def _srv_name(setting: ServerSetting, query: Query) -> str:
    for service, protocol, security in SRV_SERVICES:
        if protocol is setting.protocol and security is setting.security:
            return f"{service}.{query.domain}"
    return query.domain
