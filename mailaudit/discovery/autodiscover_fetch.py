"""Autodiscover (POX) the way Outlook looks for it, without credentials:

1. POST https://<domain>/autodiscover/autodiscover.xml
2. POST https://autodiscover.<domain>/autodiscover/autodiscover.xml
3. GET  http://autodiscover.<domain>/autodiscover/autodiscover.xml, taking only its redirect to
   an HTTPS URL
4. SRV  _autodiscover._tcp.<domain> -> POST https://<target>:<port>/autodiscover/autodiscover.xml

Redirects (HTTP 3xx, `redirectUrl`, `redirectAddr`) count together and stop at the limit (10).
A hop off the user's registrable domain is reported; it is followed only because nothing secret
is ever sent. Never is a label stripped from the user's domain (the 2021 "Autodiscover.<tld>"
leak): the names asked are the domain, autodiscover.<domain> and what their answers name.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from mailaudit.context import Context
from mailaudit.discovery.autodiscover import Action, AutodiscoverResponse, parse_response
from mailaudit.discovery.autodiscover import request_body as pox_request_body
from mailaudit.discovery.fetch import Fetcher, describe_error, fetch_following, host_of
from mailaudit.discovery.query import DomainRules, Query
from mailaudit.discovery.sources import Found, SourceLog, SourceRun
from mailaudit.discovery.xmlsafe import ConfigError
from mailaudit.model import ForeignRedirect, ServerSetting, Source, SourceStatus, Trust
from mailaudit.net.errors import NetError
from mailaudit.net.http import fetch
from mailaudit.net.resolver import AnswerStatus

_PATH = "/autodiscover/autodiscover.xml"
_HEADERS = {"Content-Type": "text/xml; charset=utf-8"}


@dataclass
class _State:
    query: Query
    rules: DomainRules
    log: SourceLog
    redirects_left: int
    http: Fetcher
    trust: Trust = Trust.TRUSTED
    seen: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _Answer:
    response: AutodiscoverResponse
    url: str
    address: str


async def autodiscover(
    ctx: Context, query: Query, rules: DomainRules, *, http: Fetcher = fetch
) -> SourceRun:
    log = SourceLog(Source.AUTODISCOVER)
    state = _State(query, rules, log, ctx.settings.limits.max_http_redirects, http)
    address = query.address or f"postmaster@{query.domain}"
    answer = await _for_address(ctx, state, address)
    if answer is None:
        status = SourceStatus.NOT_FOUND
        if any(a.outcome.startswith(("unusable", "too many", "error")) for a in log.attempts):
            status = SourceStatus.FAILED
        return log.done(status, "no Autodiscover answer with IMAP, POP3 or SMTP settings")
    found = []
    for rank, setting in enumerate(answer.response.settings):
        if query.address is None:
            # We asked for postmaster@ only to get an answer; the user's name is not known.
            setting = _template_username(setting, address)
        found.append(Found(setting, state.trust, answer.url, rank))
    log.note(answer.url, f"settings for {answer.address}")
    run = log.done(SourceStatus.FOUND, answer.url, found=tuple(found))
    return replace(run, webmail=answer.response.webmail)


def _template_username(setting: ServerSetting, address: str) -> ServerSetting:
    if setting.username == address:
        return replace(setting, username="%EMAILADDRESS%")
    return setting


async def _for_address(ctx: Context, state: _State, address: str) -> _Answer | None:
    domain = address.rpartition("@")[2].lower()
    for url in (f"https://{domain}{_PATH}", f"https://autodiscover.{domain}{_PATH}"):
        answer = await _post(ctx, state, url, address)
        if answer is not None:
            return answer
    # Step 3: the plain-HTTP GET exists only to learn an HTTPS URL; nothing is posted over HTTP.
    http_url = f"http://autodiscover.{domain}{_PATH}"
    target = await _redirect_of(ctx, http_url, state)
    if target is not None:
        if not target.lower().startswith("https:"):
            state.log.note(http_url, f"redirect to {target} refused: not HTTPS")
        elif _spend(state, http_url, target):
            if not state.rules.same_registrable(host_of(target), state.query.domain):
                # A plain-HTTP answer sent us off the domain: anyone could have written it.
                state.trust = Trust.UNTRUSTED
            answer = await _post(ctx, state, target, address)
            if answer is not None:
                return answer
    # Step 4: SRV.
    name = f"_autodiscover._tcp.{domain}"
    try:
        dns_answer, records = await ctx.resolver.srv(name)
    except NetError as exc:
        state.log.note(name, describe_error(exc))
        return None
    if dns_answer.status is not AnswerStatus.OK or not records:
        state.log.note(name, dns_answer.status.value)
        return None
    for record in records:
        if not record.target:
            state.log.note(name, "target '.': not offered")
            continue
        url = f"https://{record.target}:{record.port}{_PATH}"
        if not state.rules.same_registrable(record.target, state.query.domain):
            if not dns_answer.authenticated:
                state.trust = Trust.UNTRUSTED
            _report_foreign(state, name, url)
        answer = await _post(ctx, state, url, address)
        if answer is not None:
            return answer
    return None


async def _redirect_of(ctx: Context, url: str, state: _State) -> str | None:
    """One GET without following, to read its Location."""
    try:
        response = await state.http(ctx, url)
    except NetError as exc:
        state.log.note(url, describe_error(exc))
        return None
    target = response.redirect_target()
    if target is None:
        state.log.note(url, f"HTTP {response.status}, no redirect")
    return target


async def _post(ctx: Context, state: _State, url: str, address: str) -> _Answer | None:
    while True:
        if url in state.seen:
            state.log.note(url, "redirect loop")
            return None
        state.seen.add(url)
        try:
            fetched = await fetch_following(
                ctx,
                url,
                method="POST",
                body=pox_request_body(address),
                headers=_HEADERS,
                max_redirects=state.redirects_left,
                allow_downgrade=False,
                http=state.http,
            )
        except NetError as exc:
            outcome = describe_error(exc)
            if exc.reason == "too-many-redirects":
                outcome = f"too many redirects: {exc}"
            state.log.note(url, outcome)
            return None
        hops = len(fetched.chain) - 1
        state.redirects_left -= hops
        for hop in fetched.chain[1:]:
            if not state.rules.same_registrable(host_of(hop), state.query.domain):
                _report_foreign(state, url, hop)
        final = fetched.chain[-1]
        if fetched.response.status != 200:
            state.log.note(final, f"HTTP {fetched.response.status}")
            return None
        try:
            response = parse_response(fetched.response.body, address=address)
        except ConfigError as exc:
            state.log.note(final, f"unusable response: {exc}")
            return None
        if response.action is Action.ERROR:
            state.log.note(final, f"error {response.error}")
            return None
        if response.action is Action.REDIRECT_URL and response.redirect:
            target = response.redirect
            if not target.lower().startswith("https:"):
                state.log.note(final, f"redirectUrl {target} refused: not HTTPS")
                return None
            if not _spend(state, final, target):
                return None
            url = target
            continue
        if response.action is Action.REDIRECT_ADDR and response.redirect:
            new_address = response.redirect
            if not _spend(state, final, f"mailto:{new_address}"):
                return None
            state.log.note(final, f"redirectAddr {new_address}")
            return await _for_address(ctx, state, new_address)
        if not response.settings:
            state.log.note(final, "answer without IMAP, POP3 or SMTP settings")
            return None
        return _Answer(response, final, address)


def _spend(state: _State, source: str, target: str) -> bool:
    """Count one redirect; False (and a note) when the budget is gone."""
    if state.redirects_left <= 0:
        state.log.note(source, f"too many redirects: not following {target}")
        return False
    state.redirects_left -= 1
    # `target` is a URL, or "mailto:<address>" for a redirectAddr.
    host = target.rpartition("@")[2] if target.startswith("mailto:") else host_of(target)
    if not state.rules.same_registrable(host, state.query.domain):
        _report_foreign(state, source, target)
    return True


def _report_foreign(state: _State, source: str, target: str) -> None:
    redirect = ForeignRedirect(Source.AUTODISCOVER, source, target, state.query.domain)
    if redirect not in state.log.redirects:
        state.log.redirects.append(redirect)
