"""HTTP(S) fetches through the tool's resolver, with our trust store, a size limit, a deadline,
and no automatic redirects: each hop is the caller's decision (Autodiscover, MTA-STS and
autoconfig each have their own rules about redirects)."""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpcore
import httpx

from mailaudit.net.connection import step
from mailaudit.net.errors import ConnectError, NetError, StepTimeout, TlsError, TooMuchData
from mailaudit.net.resolver import Resolver
from mailaudit.settings import Settings

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class HttpSeams(Protocol):
    """What a fetch needs from the run's context (`mailaudit.context.Context` has it): named
    here so that net/ does not import the context, which is built from net/."""

    @property
    def settings(self) -> Settings: ...
    @property
    def resolver(self) -> Resolver: ...
    @property
    def verifying_tls(self) -> ssl.SSLContext: ...


class HttpError(NetError):
    reason = "http"


@dataclass(frozen=True)
class HttpResponse:
    url: str
    address: str
    status: int
    content_type: str | None
    location: str | None
    body: bytes

    @property
    def is_redirect(self) -> bool:
        return self.status in REDIRECT_STATUSES and self.location is not None

    def redirect_target(self) -> str | None:
        if not self.is_redirect or self.location is None:
            return None
        return str(httpx.URL(self.url).join(self.location))


async def fetch(
    ctx: HttpSeams,
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    max_bytes: int | None = None,
) -> HttpResponse:
    """One request, one response; raises a NetError subclass on any failure."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HttpError(f"unsupported URL {url!r}", reason="bad-url")
    host = parts.hostname
    addresses = await ctx.resolver.addresses(host)
    limit = max_bytes or ctx.settings.limits.max_http_body_bytes
    last_error: NetError | None = None
    for address in addresses:
        netloc = f"[{address}]" if ":" in address else address
        if parts.port:
            netloc += f":{parts.port}"
        target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        request_headers = {"Host": parts.netloc.rsplit("@", 1)[-1], "User-Agent": "mailaudit"}
        request_headers.update(headers or {})
        try:
            return await _one(ctx, url, target, address, host, method, body, request_headers, limit)
        except ConnectError as exc:
            last_error = exc  # try the next address, as a browser would
    assert last_error is not None
    raise last_error


async def _one(
    ctx: HttpSeams,
    url: str,
    target: str,
    address: str,
    host: str,
    method: str,
    body: bytes | None,
    headers: dict[str, str],
    limit: int,
) -> HttpResponse:
    timeout_s = ctx.settings.timeouts.http_s
    async with httpx.AsyncClient(
        transport=_transport(ctx.verifying_tls),
        follow_redirects=False,
        trust_env=False,
        timeout=timeout_s,
    ) as client:
        try:
            async with step(timeout_s, f"HTTP {method} {url}"):
                request = client.build_request(
                    method, target, content=body, headers=headers, extensions={"sni_hostname": host}
                )
                response = await client.send(request, stream=True)
                try:
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > limit:
                            raise TooMuchData(
                                f"{url}: body larger than {limit} bytes", reason="too-large"
                            )
                        chunks.append(chunk)
                finally:
                    await response.aclose()
        except StepTimeout:
            raise
        except httpx.ConnectError as exc:
            text = str(exc)
            if "CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower():
                raise TlsError(
                    f"{url}: certificate verification failed: {text}", reason="certificate"
                ) from exc
            if "SSL" in text or "TLS" in text:
                raise TlsError(
                    f"{url}: TLS handshake failed: {text}", reason="handshake-failed"
                ) from exc
            raise ConnectError(
                f"{url} ({address}): {text or 'connection failed'}", reason="refused"
            ) from exc
        except httpx.TimeoutException as exc:
            raise StepTimeout(f"{url}: timeout", reason="timeout") from exc
        except httpx.HTTPError as exc:
            raise HttpError(f"{url}: {exc}", reason="http") from exc
    content_type = response.headers.get("content-type")
    return HttpResponse(
        url=url,
        address=address,
        status=response.status_code,
        content_type=content_type,
        location=response.headers.get("location"),
        body=b"".join(chunks),
    )


def _transport(context: ssl.SSLContext) -> httpx.AsyncHTTPTransport:
    """httpx's transport over a connection pool whose streams close their socket when a TLS
    handshake is cancelled. httpcore closes the socket when the handshake fails, not when the
    task is cancelled, and discovery cancels fetches it gives up on (a silent autoconfig host):
    without this, each given-up tarpit leaks a socket. httpx has no parameter for the network
    backend, hence the pool is replaced (httpx and httpcore are pinned in pyproject.toml)."""
    transport = httpx.AsyncHTTPTransport(verify=context, trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=context, network_backend=_ClosingBackend()
    )
    return transport


class _ClosingStream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
    ) -> httpcore.AsyncNetworkStream:
        try:
            return await self._inner.start_tls(ssl_context, server_hostname, timeout)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._inner.aclose()
            raise

    def get_extra_info(self, info: str) -> object:
        return self._inner.get_extra_info(info)


class _ClosingBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return _ClosingStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
