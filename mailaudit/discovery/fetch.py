"""HTTP for discovery: one request at a time through `mailaudit.net.http.fetch`, redirects
followed here so each hop can be judged (plain-HTTP hops make a result untrusted, hops off the
user's registrable domain are reported), and bounded in number."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from mailaudit.context import Context
from mailaudit.discovery.query import DomainRules
from mailaudit.net.addresses import PrivateAddressRefused
from mailaudit.net.errors import NetError
from mailaudit.net.http import HttpError, HttpResponse, fetch


class Fetcher(Protocol):
    """One HTTP request, one response (`mailaudit.net.http.fetch`); a seam for tests."""

    async def __call__(
        self,
        ctx: Context,
        url: str,
        *,
        method: str = "GET",
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpResponse: ...


@dataclass(frozen=True)
class Fetched:
    response: HttpResponse
    # Every URL requested, the first one first.
    chain: tuple[str, ...]

    @property
    def has_plain_http_hop(self) -> bool:
        return any(url.lower().startswith("http:") for url in self.chain)

    def foreign_hops(self, rules: DomainRules, domain: str) -> tuple[str, ...]:
        """URLs of the chain outside `domain`'s registrable domain."""
        return tuple(url for url in self.chain if not rules.same_registrable(host_of(url), domain))


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


async def fetch_following(
    ctx: Context,
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    max_redirects: int | None = None,
    allow_downgrade: bool = True,
    http: Fetcher = fetch,
) -> Fetched:
    """Fetch `url`, following redirects with the same method and body (Autodiscover expects
    its POST to be repeated). Raises NetError on transport failures and on too many redirects;
    with `allow_downgrade=False` a redirect from HTTPS to plain HTTP is refused."""
    limit = ctx.settings.limits.max_http_redirects if max_redirects is None else max_redirects
    chain = [url]
    current = url
    while True:
        try:
            response = await http(ctx, current, method=method, body=body, headers=headers)
        except PrivateAddressRefused as exc:
            if len(chain) == 1:
                raise
            # Name the chain: the redirect, not the first host, led into the private range.
            raise PrivateAddressRefused(
                f"{' -> '.join(chain)}: {exc}", reason="private-address"
            ) from exc
        target = response.redirect_target()
        if target is None:
            return Fetched(response, tuple(chain))
        if len(chain) > limit:
            raise HttpError(f"{url}: more than {limit} redirects", reason="too-many-redirects")
        if (
            not allow_downgrade
            and current.lower().startswith("https:")
            and target.lower().startswith("http:")
        ):
            raise HttpError(
                f"{current}: redirect to plain HTTP ({target}) refused", reason="downgrade"
            )
        chain.append(target)
        current = target


def describe_error(exc: NetError) -> str:
    return f"{exc.reason}: {exc}"
