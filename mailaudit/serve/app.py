"""The Starlette application: the "find my settings" form, its answer streamed as sources
answer, downloads of the answer as client configuration files, and (with `--report`) a saved
report to browse.

The answer page needs no JavaScript: it is one HTML response sent in pieces. Each source is
written as it answers; the final answer comes last in the document and the stylesheet shows it
first. Scripts are forbidden by the Content-Security-Policy altogether."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from mailaudit.discovery import DiscoveryResult, discover
from mailaudit.discovery.query import Query
from mailaudit.discovery.render import render_discovery
from mailaudit.model import Candidate, Report, SourceOutcome
from mailaudit.serve.config import ServeConfig
from mailaudit.serve.guard import PublicOnly
from mailaudit.serve.http import Guarded, hashed, note
from mailaudit.serve.i18n import LANGUAGES, choose
from mailaudit.serve.limits import RateLimiter
from mailaudit.serve.pages import Pages
from mailaudit.serve.reports import report_page
from mailaudit.serve.views import (
    answer_view,
    check_address,
    echoed,
    source_view,
    source_views,
)

LOG = logging.getLogger("mailaudit.serve")

DOWNLOADS = {
    "thunderbird": ("application/xml", "config-v1.1.xml"),
    "mobileconfig": ("application/x-apple-aspen-config", "{domain}.mobileconfig"),
    "autodiscover": ("application/xml", "autodiscover.xml"),
}
_HTML = "text/html; charset=utf-8"


class Failure(StrEnum):
    """Why a discovery ended without an answer (network trouble is inside the answer)."""

    TIMEOUT = "timeout"
    ERROR = "error"


@dataclass(frozen=True)
class Answer:
    """A finished discovery (kept for downloads and for reuse)."""

    result: DiscoveryResult


@dataclass(frozen=True)
class _Kept:
    result: Answer
    at: float


class _Store:
    """Finished answers by token (downloads) and by address (reuse), bounded in time and size."""

    def __init__(self, *, keep_s: float, max_kept: int, clock: Callable[[], float]) -> None:
        self._keep_s = keep_s
        self._max = max_kept
        self._clock = clock
        self._items: OrderedDict[str, _Kept] = OrderedDict()

    def put(self, key: str, result: Answer) -> None:
        self._items.pop(key, None)
        self._items[key] = _Kept(result, self._clock())
        while len(self._items) > self._max:
            self._items.popitem(last=False)

    def get(self, key: str, *, max_age_s: float | None = None) -> Answer | None:
        kept = self._items.get(key)
        age = self._keep_s if max_age_s is None else min(max_age_s, self._keep_s)
        if kept is None or self._clock() - kept.at > age:
            return None
        return kept.result


class _HeldResponse(StreamingResponse):
    """A streamed answer that gives its discovery slot back however the response ends."""

    def __init__(self, body: AsyncIterator[bytes], release: Callable[[], None]) -> None:
        super().__init__(body, media_type=_HTML)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


class MailSettingsApp:
    def __init__(
        self,
        network: PublicOnly,
        config: ServeConfig,
        *,
        report: Report | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.network = network
        self.ctx = network.context()
        self.config = config
        self.report = report
        self.pages = Pages(has_report=report is not None)
        self.discovery_limit = RateLimiter(config.discovery_rate, clock=clock)
        self.page_limit = RateLimiter(config.page_rate, clock=clock)
        self.slots = asyncio.Semaphore(config.max_concurrent_discoveries)
        self.by_token = _Store(keep_s=config.keep_s, max_kept=config.max_kept, clock=clock)
        self.by_query = _Store(keep_s=config.keep_s, max_kept=config.max_kept, clock=clock)
        # Parsed now rather than in the first visitor's request (shared by every discovery).
        _ = self.ctx.public_suffixes

    # --- pages -------------------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        if (limited := self._page_limited(request)) is not None:
            return limited
        return HTMLResponse(self.pages.index(_lang(request)))

    async def stylesheet(self, request: Request) -> Response:
        return Response(
            self.pages.stylesheet,
            media_type="text/css; charset=utf-8",
            headers={"cache-control": "public, max-age=3600"},
        )

    async def find_get(self, request: Request) -> Response:
        return RedirectResponse("/", status_code=303)

    async def find(self, request: Request) -> Response:
        body = await _bounded_body(request, self.config.max_body_bytes)
        if body is None:
            return HTMLResponse(self.pages.index(_lang(request), error="too-long"), status_code=413)
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items() if v}
        lang = choose(form.get("lang"), request.headers.get("accept-language"))
        query, problem = check_address(form.get("address", ""))
        typed = echoed(form.get("address", ""))
        if query is None:
            note(request.scope, refused="address")
            return HTMLResponse(
                self.pages.index(lang, typed=typed, problem=problem), status_code=400
            )
        note(request.scope, who=hashed(query.address or query.domain))
        wait_s = self.discovery_limit.take(_client(request))
        if wait_s:
            note(request.scope, limited="discovery")
            return HTMLResponse(
                self.pages.index(lang, typed=typed, error="rate-limited"),
                status_code=429,
                headers={"retry-after": str(max(1, round(wait_s)))},
            )
        key = (query.address or query.domain).lower()
        reused = self.by_query.get(key, max_age_s=self.config.reuse_s)
        if reused is not None:
            note(request.scope, reused=True)
            return StreamingResponse(self._replay(lang, typed, reused), media_type=_HTML)
        try:
            async with asyncio.timeout(self.config.slot_wait_s):
                await self.slots.acquire()
        except TimeoutError:
            note(request.scope, limited="busy")
            return HTMLResponse(
                self.pages.index(lang, typed=typed, error="busy"),
                status_code=503,
                headers={"retry-after": "10"},
            )
        return _HeldResponse(self._stream(lang, typed, query, key), self.slots.release)

    async def download(self, request: Request) -> Response:
        if (limited := self._page_limited(request)) is not None:
            return limited
        fmt = request.path_params["fmt"]
        answer = self.by_token.get(request.path_params["token"])
        if fmt not in DOWNLOADS or answer is None:
            return HTMLResponse(self.pages.gone(_lang(request)), status_code=404)
        result = answer.result
        media_type, filename = DOWNLOADS[fmt]
        return Response(
            render_discovery(result, fmt),
            media_type=media_type,
            headers={
                "content-disposition": f'attachment; filename="{filename.format(domain=result.domain)}"'
            },
        )

    async def browse(self, request: Request) -> Response:
        if (limited := self._page_limited(request)) is not None:
            return limited
        if self.report is None:
            return HTMLResponse(self.pages.gone(_lang(request)), status_code=404)
        html, csp = report_page(self.report, request.query_params, self.pages, _lang(request))
        return HTMLResponse(html, headers={"content-security-policy": csp})

    # --- the streamed answer -----------------------------------------------------------------

    async def _replay(self, lang: str, typed: str, answer: Answer) -> AsyncIterator[bytes]:
        head, middle, tail = self.pages.find_frame(lang, typed)
        yield head.encode()
        for view in source_views(answer.result):
            yield self.pages.source(lang, view).encode()
        yield middle.encode()
        yield self._answer(lang, answer).encode()
        yield tail.encode()

    async def _stream(self, lang: str, typed: str, query: Query, key: str) -> AsyncIterator[bytes]:
        head, middle, tail = self.pages.find_frame(lang, typed)
        yield head.encode()
        answered: asyncio.Queue[tuple[SourceOutcome, tuple[Candidate, ...]]] = asyncio.Queue()

        def listener(outcome: SourceOutcome, candidates: tuple[Candidate, ...]) -> None:
            answered.put_nowait((outcome, candidates))

        task = asyncio.create_task(self._discover(query, listener))
        try:
            while not (task.done() and answered.empty()):
                getter = asyncio.ensure_future(answered.get())
                await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
                if getter.done():
                    outcome, candidates = getter.result()
                    yield self.pages.source(lang, source_view(outcome, candidates)).encode()
                else:
                    getter.cancel()
            result = task.result()
        finally:
            task.cancel()
        yield middle.encode()
        if isinstance(result, Answer):
            self.by_query.put(key, result)
            yield self._answer(lang, result).encode()
        else:
            yield self.pages.failure(lang, result).encode()
        yield tail.encode()

    def _answer(self, lang: str, answer: Answer) -> str:
        token = secrets.token_urlsafe(18)
        self.by_token.put(token, answer)
        view = answer_view(answer.result)
        return self.pages.answer(lang, view, token)

    async def _discover(
        self, query: Query, listener: Callable[[SourceOutcome, tuple[Candidate, ...]], None]
    ) -> Answer | Failure:
        """The answer, or why there is none."""
        ctx = self.ctx.with_resolver(self.network.resolver())
        try:
            async with asyncio.timeout(self.config.discovery_deadline_s):
                return Answer(await discover(ctx, query.text, on_source=listener))
        except TimeoutError:
            return Failure.TIMEOUT
        except Exception:
            LOG.exception("discovery failed")
            return Failure.ERROR
        finally:
            # A resolver per discovery: its sockets go with it, not with the server's loop.
            await ctx.resolver.aclose()

    def _page_limited(self, request: Request) -> Response | None:
        wait_s = self.page_limit.take(_client(request))
        if not wait_s:
            return None
        note(request.scope, limited="pages")
        return HTMLResponse(
            self.pages.index(_lang(request), error="rate-limited"),
            status_code=429,
            headers={"retry-after": str(max(1, round(wait_s)))},
        )


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _lang(request: Request) -> str:
    return choose(request.query_params.get("lang"), request.headers.get("accept-language"))


async def _bounded_body(request: Request, limit: int) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(network: PublicOnly, config: ServeConfig, *, report: Report | None = None) -> Any:
    """The ASGI application (security headers and access log around Starlette)."""
    site = MailSettingsApp(network, config, report=report)
    routes = [
        Route("/", site.index),
        Route("/find", site.find, methods=["POST"]),
        Route("/find", site.find_get, methods=["GET"]),
        Route("/serve.css", site.stylesheet),
        Route("/download/{token}/{fmt}", site.download),
        Route("/report", site.browse),
    ]
    assert set(LANGUAGES) >= {"en"}
    return Guarded(Starlette(routes=routes))
