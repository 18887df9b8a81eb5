"""`discover`: every source at once, each candidate verified as soon as its source answers, the
answer ranked by source priority.

Guessing is the last resort, as in Thunderbird: it runs after the published sources, and in mode
`auto` only when they left incoming or outgoing without a verified setting. Its probes start
staggered, implicit TLS first, each within a short budget, so a dead host costs at most that.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from enum import StrEnum

from mailaudit.checks.discovery import judge_discovery
from mailaudit.checks.facts import DiscoveryFacts
from mailaudit.checks.scope import judge_refused_targets
from mailaudit.context import Context
from mailaudit.discovery.autodiscover_fetch import autodiscover
from mailaudit.discovery.guess import guess
from mailaudit.discovery.login import (
    Credentials,
    check_login,
    login_refusal,
    not_tried,
    stops_further_logins,
)
from mailaudit.discovery.query import DomainRules, Query, parse_query
from mailaudit.discovery.ranking import (
    alternative_outgoing,
    choose,
    is_foreign_untrusted,
    usable_setting,
)
from mailaudit.discovery.sources import (
    MxProvider,
    SourceRun,
    autoconfig,
    autoconfig_urls,
    ispdb,
    mx_provider,
    skipped,
    srv,
)
from mailaudit.discovery.verify import Verifier
from mailaudit.model import (
    Attempt,
    Candidate,
    DiscoveryResult,
    LoginCheck,
    LoginStatus,
    ProviderConfig,
    Recommendation,
    Source,
    SourceOutcome,
    SourceStatus,
    Trust,
    VerificationStatus,
)


class GuessMode(StrEnum):
    AUTO = "auto"  # only when the published sources leave a role without a verified setting
    ALWAYS = "always"
    NEVER = "never"


# Per-candidate budgets (seconds): a dead or silent host costs at most this much.
PUBLISHED_BUDGET_S = 6.0
GUESS_BUDGET_S = 2.0
# Guess probes start one every GUESS_STAGGER_S, implicit TLS first.
GUESS_STAGGER_S = 0.01
# HTTP fetches of discovery documents: a tarpit web server must not hold the answer for long.
FETCH_TIMEOUT_S = 5.0
# Once trusted sources gave verified incoming and outgoing settings, a source still silent this
# long afterwards is given up (and noted as such in the sources list).
GIVE_UP_GRACE_S = 1.0


async def discover(
    ctx: Context,
    query: str,
    *,
    ispdb_dir: str | None = None,
    ispdb_url: str | None = None,
    guess_mode: GuessMode = GuessMode.AUTO,
    published_budget_s: float = PUBLISHED_BUDGET_S,
    guess_budget_s: float = GUESS_BUDGET_S,
    credentials: Credentials | None = None,
    allow_foreign_login: bool = False,
    on_source: SourceListener | None = None,
) -> DiscoveryResult:
    """Find and verify the mail settings for an address or a domain. Raises ValueError for a
    query that is neither; network trouble ends up in the result, never as an exception.

    With `credentials`, each recommended setting is also asked whether it accepts them — over
    verified TLS only, and only on hosts inside the user's registrable domain unless
    `allow_foreign_login` (see `mailaudit.discovery.login`).

    `on_source` is called once per source, as soon as that source has answered and its
    candidates are verified (the web page shows results as they arrive)."""
    parsed = parse_query(query)
    started = ctx.monotonic()
    rules = DomainRules(ctx.public_suffixes)
    # This discovery's own record of refused addresses (reaching the run's), on the run's
    # resolver and DNS cache.
    ctx = ctx.with_resolver(ctx.resolver.with_guard(ctx.resolver.guard.child()))
    home = rules.registrable(parsed.domain) or parsed.domain
    fetch_ctx = _fetch_context(ctx)
    verifier = Verifier(ctx)
    listener = on_source or _nobody
    try:
        published = await _published(
            fetch_ctx, parsed, rules, verifier, ispdb_dir, ispdb_url, published_budget_s, listener
        )
        guessed = await _guess(
            fetch_ctx, parsed, verifier, guess_mode, published, guess_budget_s, home
        )
        listener(guessed[0].outcome, guessed[1])
    finally:
        await verifier.close()
    runs = [*published, guessed]
    candidates = tuple(c for _, cands in runs for c in cands)
    incoming, alternative, outgoing = choose(candidates, home=home)
    outgoing_alternative = alternative_outgoing(candidates, outgoing, home=home)
    redirects = tuple(r for run, _ in runs for r in run.redirects)
    judged = judge_discovery(
        DiscoveryFacts(parsed.domain, candidates, incoming, outgoing, redirects)
    )
    findings = list(judged.findings)
    # What the SSRF guard refused during this discovery (its own resolver's record).
    refused = ctx.resolver.guard.refused
    findings.extend(judge_refused_targets(parsed.domain, refused))
    provider = _provider(runs)
    logins: tuple[LoginCheck, ...] = ()
    if credentials is not None:
        chosen = [r for r in (incoming, alternative, outgoing) if r is not None]
        logins = await _logins(
            ctx, parsed, rules, chosen, credentials, allow_foreign_login, published_budget_s
        )
    return DiscoveryResult(
        query=query,
        address=parsed.address,
        domain=parsed.domain,
        incoming=incoming,
        alternative_incoming=alternative,
        outgoing=outgoing,
        candidates=candidates,
        sources=tuple(run.outcome for run, _ in runs),
        findings=tuple(findings),
        provider_name=provider.display_name if provider else None,
        webmail=_webmail(runs),
        alternative_outgoing=outgoing_alternative,
        logins=logins,
        refused_targets=refused,
        elapsed_ms=int((ctx.monotonic() - started) * 1000),
    )


Verified = tuple[SourceRun, tuple[Candidate, ...]]
SourceListener = Callable[[SourceOutcome, tuple[Candidate, ...]], None]


def _nobody(outcome: SourceOutcome, candidates: tuple[Candidate, ...]) -> None:
    return None


async def _published(
    ctx: Context,
    query: Query,
    rules: DomainRules,
    verifier: Verifier,
    ispdb_dir: str | None,
    ispdb_url: str | None,
    budget_s: float,
    listener: SourceListener,
) -> list[Verified]:
    https = autoconfig_urls(query, query.domain, https=True)
    http = autoconfig_urls(query, query.domain, https=False)
    mx_task = asyncio.ensure_future(mx_provider(ctx, query, rules))

    async def mx_autoconfig() -> SourceRun:
        mx = await asyncio.shield(mx_task)
        if mx.registrable is None:
            return skipped(Source.MX_AUTOCONFIG, mx.detail)
        # HTTPS only: the MX link is already unauthenticated DNS.
        # Without the address: the provider's one config for every domain it hosts, fetched
        # once per run (a fleet of 10,000 domains on one provider asks once); Thunderbird's
        # placeholders are filled from the query on our side, as over plain HTTP.
        urls = autoconfig_urls(query, mx.registrable, https=True, with_address=False)
        run = await autoconfig(
            ctx,
            query,
            rules,
            Source.MX_AUTOCONFIG,
            urls,
            domain=mx.registrable,
            once_per_run=True,
        )
        return _with_detail(run, mx)

    async def mx_ispdb() -> SourceRun:
        mx = await asyncio.shield(mx_task)
        if not mx.domains:
            return skipped(Source.MX_ISPDB, mx.detail)
        run = await ispdb(
            ctx, query, Source.MX_ISPDB, mx.domains, directory=ispdb_dir, base_url=ispdb_url
        )
        return _with_detail(run, mx)

    own_https = {
        source: asyncio.ensure_future(
            autoconfig(ctx, query, rules, source, urls, domain=query.domain)
        )
        for source, urls in (
            (Source.AUTOCONFIG_HTTPS, https[:1]),
            (Source.AUTOCONFIG_WELLKNOWN_HTTPS, https[1:]),
        )
    }

    async def plain_http() -> SourceRun:
        # Plain HTTP only once the domain's HTTPS autoconfig has failed (and then without the
        # address, see autoconfig_urls): nothing personal crosses the network in clear text
        # while HTTPS can still answer (issue 10 item 4).
        answers = await asyncio.gather(*(asyncio.shield(t) for t in own_https.values()))
        if any(run.outcome.status is SourceStatus.FOUND for run in answers):
            return skipped(Source.AUTOCONFIG_HTTP, "not asked: HTTPS autoconfig answered")
        return await autoconfig(
            ctx, query, rules, Source.AUTOCONFIG_HTTP, http, domain=query.domain
        )

    sources: dict[Source, Awaitable[SourceRun]] = {
        **own_https,
        Source.AUTOCONFIG_HTTP: plain_http(),
        Source.ISPDB: ispdb(
            ctx, query, Source.ISPDB, (query.domain,), directory=ispdb_dir, base_url=ispdb_url
        ),
        Source.MX_AUTOCONFIG: mx_autoconfig(),
        Source.MX_ISPDB: mx_ispdb(),
        Source.AUTODISCOVER: autodiscover(ctx, query, rules),
        Source.SRV: srv(ctx, query, rules),
    }
    tasks: dict[Source, asyncio.Future[Verified]] = {
        source: asyncio.ensure_future(_told(listener, _verified(verifier, run, budget_s, 0.0, 0.0)))
        for source, run in sources.items()
    }
    try:
        return await _until_settled(
            tasks, home=rules.registrable(query.domain) or query.domain, listener=listener
        )
    finally:
        mx_task.cancel()
        for own in own_https.values():
            own.cancel()
        for task in tasks.values():
            task.cancel()


async def _until_settled(
    tasks: dict[Source, asyncio.Future[Verified]], *, home: str, listener: SourceListener
) -> list[Verified]:
    """Every source's result, in `tasks` order. Once finished trusted sources gave verified
    incoming and outgoing settings, the sources still running get GIVE_UP_GRACE_S more and are
    then given up (issue 10 item 10): a silent host must not hold back a verified answer. A
    source that answers within the grace is used as always, so the answer stays the same."""
    pending: set[asyncio.Future[Verified]] = set(tasks.values())
    settled_by: Source | None = None
    while pending and settled_by is None:
        _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        settled_by = _settled_by(
            [t.result() for t in tasks.values() if t.done() and not t.cancelled()], home
        )
    if pending:
        _, pending = await asyncio.wait(pending, timeout=GIVE_UP_GRACE_S)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    results: list[Verified] = []
    for source, task in tasks.items():
        if task in pending:
            assert settled_by is not None
            detail = (
                f"given up: no answer {GIVE_UP_GRACE_S:g} s after {settled_by.value} gave "
                "verified settings"
            )
            outcome = SourceOutcome(source, SourceStatus.GIVEN_UP, detail)
            listener(outcome, ())
            results.append((SourceRun(outcome), ()))
        else:
            results.append(task.result())
    return results


def _settled_by(done: list[Verified], home: str) -> Source | None:
    """The lowest-priority source needed for trusted, verified incoming and outgoing settings
    among the finished sources, or None while they have none."""
    incoming: int | None = None
    outgoing: int | None = None
    for run, candidates in done:
        for c in candidates:
            if c.trust is not Trust.TRUSTED or usable_setting(c) is None:
                continue
            if is_foreign_untrusted(c, home):
                continue
            priority = run.outcome.source.priority
            if c.setting.protocol.is_incoming:
                incoming = priority if incoming is None else min(incoming, priority)
            else:
                outgoing = priority if outgoing is None else min(outgoing, priority)
    if incoming is None or outgoing is None:
        return None
    return list(Source)[max(incoming, outgoing)]


async def _guess(
    ctx: Context,
    query: Query,
    verifier: Verifier,
    mode: GuessMode,
    published: list[Verified],
    budget_s: float,
    home: str,
) -> Verified:
    if mode is GuessMode.NEVER:
        return skipped(Source.GUESS, "guessing turned off"), ()
    if mode is GuessMode.AUTO and _settled(published, home):
        return skipped(Source.GUESS, "not needed: published sources gave verified settings"), ()
    run, candidates = await _verified(verifier, guess(ctx, query), budget_s, 0.0, GUESS_STAGGER_S)
    # Connection refused or no answer on a guessed port is the normal case: keep those as
    # attempts, not as candidates.
    kept = tuple(
        c for c in candidates if c.verification.status is not VerificationStatus.UNREACHABLE
    )
    dropped = tuple(
        Attempt(f"{c.setting.label()}", c.verification.detail)
        for c in candidates
        if c.verification.status is VerificationStatus.UNREACHABLE
    )
    outcome = replace(run.outcome, attempts=run.outcome.attempts + dropped, candidates=len(kept))
    if not kept and outcome.status is SourceStatus.FOUND:
        outcome = replace(
            outcome, status=SourceStatus.NOT_FOUND, detail="no guessed server answered"
        )
    return replace(run, outcome=outcome), kept


def _settled(published: list[Verified], home: str) -> bool:
    usable = [
        c
        for _, cands in published
        for c in cands
        if usable_setting(c) is not None and not is_foreign_untrusted(c, home)
    ]
    return any(c.setting.protocol.is_incoming for c in usable) and any(
        not c.setting.protocol.is_incoming for c in usable
    )


async def _verified(
    verifier: Verifier,
    source: Awaitable[SourceRun],
    budget_s: float,
    delay_s: float,
    stagger_s: float,
) -> Verified:
    run = await source
    verifications = await asyncio.gather(
        *(
            verifier.verify(
                found.setting, budget_s=budget_s, delay_s=delay_s + stagger_s * found.rank
            )
            for found in run.found
        )
    )
    candidates = tuple(
        Candidate(
            setting=found.setting,
            source=run.outcome.source,
            trust=found.trust,
            origin=found.origin,
            verification=verification,
            rank_in_source=found.rank,
            via=found.via,
        )
        for found, verification in zip(run.found, verifications, strict=True)
    )
    return run, candidates


async def _told(listener: SourceListener, verified: Awaitable[Verified]) -> Verified:
    run, candidates = await verified
    listener(run.outcome, candidates)
    return run, candidates


def _with_detail(run: SourceRun, mx: MxProvider) -> SourceRun:
    outcome: SourceOutcome = replace(run.outcome, detail=f"{mx.detail}: {run.outcome.detail}")
    return replace(run, outcome=outcome)


def _webmail(runs: list[Verified]) -> str | None:
    for run, _ in sorted(runs, key=lambda item: item[0].outcome.source.priority):
        webmail = run.provider.webmail if run.provider is not None else run.webmail
        if webmail:
            return webmail
    return None


def _provider(runs: list[Verified]) -> ProviderConfig | None:
    for run, _ in sorted(runs, key=lambda item: item[0].outcome.source.priority):
        if run.provider is not None:
            return run.provider
    return None


async def _logins(
    ctx: Context,
    query: Query,
    rules: DomainRules,
    chosen: list[Recommendation],
    credentials: Credentials,
    allow_foreign: bool,
    budget_s: float,
) -> tuple[LoginCheck, ...]:
    checks: list[LoginCheck] = []
    stopped_by: LoginCheck | None = None
    for rec in chosen:
        refusal = login_refusal(rec, query, rules, credentials, allow_foreign=allow_foreign)
        if refusal is not None:
            s = rec.setting
            checks.append(
                LoginCheck(s.protocol, s.host, s.port, LoginStatus.REFUSED_BY_POLICY, refusal)
            )
            continue
        if stopped_by is not None:  # one wrong password costs one failed login, not three
            checks.append(not_tried(rec, stopped_by))
            continue
        check = await check_login(ctx, rec, credentials, budget_s=budget_s)
        if stops_further_logins(check):
            stopped_by = check
        checks.append(check)
    return tuple(checks)


def _fetch_context(ctx: Context) -> Context:
    t = ctx.settings.timeouts
    timeouts = replace(t, http_s=min(t.http_s, FETCH_TIMEOUT_S))
    return ctx.with_settings(replace(ctx.settings, timeouts=timeouts))
