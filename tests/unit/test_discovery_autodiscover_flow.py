"""The Autodiscover and autoconfig fetching rules, against a fake web (injected through the
`http` seam and a Resolver subclass on the Context; nothing global is patched): the order of
URLs, HTTPS only for POSTs, bounded redirects, reports of hops off the user's domain, and no
label ever stripped from the user's domain."""

from __future__ import annotations

from dataclasses import dataclass, field

from mailaudit.checks.discovery import judge_discovery
from mailaudit.checks.facts import DiscoveryFacts
from mailaudit.context import Context
from mailaudit.discovery.autodiscover_fetch import autodiscover
from mailaudit.discovery.query import DomainRules, parse_query
from mailaudit.discovery.sources import SourceRun, autoconfig
from mailaudit.model import Finding, Source, SourceStatus, Trust
from mailaudit.net.errors import DnsError
from mailaudit.net.http import HttpResponse
from mailaudit.net.resolver import AnswerStatus, DnsAnswer, Resolver, SrvRecord
from mailaudit.settings import Settings


def redirect_findings(run: SourceRun) -> list[Finding]:
    """What the discovery check says about the source's redirects out of the domain."""
    out = judge_discovery(DiscoveryFacts(QUERY.domain, (), None, None, run.redirects))
    return [f for f in out.findings if f.id == "discovery.cross-domain-redirect"]


POX = b"""<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
    <Account><AccountType>email</AccountType><Action>ACTION</Action>
      <Protocol><Type>IMAP</Type><Server>imap.HOST</Server><Port>993</Port><SSL>on</SSL></Protocol>
      <Protocol><Type>SMTP</Type><Server>smtp.HOST</Server><Port>465</Port><SSL>on</SSL></Protocol>
    </Account>
  </Response>
</Autodiscover>"""

CONFIG = b"""<clientConfig version="1.1"><emailProvider id="x">
  <domain>x.test</domain>
  <incomingServer type="imap"><hostname>imap.x.test</hostname><port>993</port>
    <socketType>SSL</socketType><username>%EMAILADDRESS%</username></incomingServer>
</emailProvider></clientConfig>"""


def pox(host: str, action: str = "settings", extra: bytes = b"") -> bytes:
    body = POX.replace(b"HOST", host.encode()).replace(b"ACTION", action.encode())
    return body.replace(b"</Action>", b"</Action>" + extra)


@dataclass
class FakeWeb:
    pages: dict[tuple[str, str], tuple[int, bytes, str | None]] = field(default_factory=dict)
    requests: list[tuple[str, str, bytes | None]] = field(default_factory=list)

    def add(
        self, method: str, url: str, body: bytes = b"", *, status: int = 200, to: str | None = None
    ) -> None:
        self.pages[(method, url)] = (status, body, to)

    async def __call__(
        self,
        ctx: Context,
        url: str,
        *,
        method: str = "GET",
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpResponse:
        self.requests.append((method, url, body))
        if (method, url) not in self.pages:
            raise DnsError(f"{url}: no such domain", reason="nxdomain")
        status, content, location = self.pages[(method, url)]
        return HttpResponse(url, "127.0.0.1", status, "text/xml", location, content)


class NoSrvResolver(Resolver):
    def __init__(self, srv: dict[str, tuple[SrvRecord, ...]] | None = None) -> None:
        super().__init__(nameservers=("127.0.0.1",))
        self._srv = srv or {}

    async def srv(self, name: str) -> tuple[DnsAnswer, tuple[SrvRecord, ...]]:
        records = self._srv.get(name, ())
        status = AnswerStatus.OK if records else AnswerStatus.NXDOMAIN
        return DnsAnswer(name, "SRV", status), records


def make_ctx(resolver: Resolver | None = None) -> Context:
    ctx = Context.create(Settings(nameservers=("127.0.0.1",)))
    return ctx.with_resolver(resolver or NoSrvResolver())


QUERY = parse_query("alice@x.test")
AD = "/autodiscover/autodiscover.xml"


async def test_autodiscover_order_and_no_credentials() -> None:
    web = FakeWeb()

    run = await autodiscover(make_ctx(), QUERY, DomainRules(), http=web)

    assert run.outcome.status is SourceStatus.NOT_FOUND
    assert [(m, u) for m, u, _ in web.requests] == [
        ("POST", f"https://x.test{AD}"),
        ("POST", f"https://autodiscover.x.test{AD}"),
        ("GET", f"http://autodiscover.x.test{AD}"),
    ]
    (_, _, body), *_ = web.requests
    assert body is not None
    assert b"<EMailAddress>alice@x.test</EMailAddress>" in body
    assert b"assword" not in body
    # Only the user's domain and autodiscover.<domain>: never x.test's parent ("test").
    assert all("x.test" in url for _, url, _ in web.requests)
    assert [a.target for a in run.outcome.attempts][-1] == "_autodiscover._tcp.x.test"


async def test_autodiscover_settings_from_the_second_url() -> None:
    web = FakeWeb()
    web.add("POST", f"https://x.test{AD}", status=404)
    web.add(
        "POST",
        f"https://autodiscover.x.test{AD}",
        pox("x.test").replace(
            b"</Account>",
            b"<Protocol><Type>WEB</Type><External><OWAUrl>https://owa.x.test/owa/</OWAUrl>"
            b"</External></Protocol></Account>",
        ),
    )

    run = await autodiscover(make_ctx(), QUERY, DomainRules(), http=web)

    assert run.outcome.status is SourceStatus.FOUND
    assert [f.setting.host for f in run.found] == ["imap.x.test", "smtp.x.test"]
    assert all(f.trust is Trust.TRUSTED for f in run.found)
    assert redirect_findings(run) == []
    assert run.webmail == "https://owa.x.test/owa/"


async def test_plain_http_redirect_off_the_domain_is_untrusted_and_reported() -> None:
    target = f"https://autodiscover.provider.example{AD}"
    web = FakeWeb()
    web.add("GET", f"http://autodiscover.x.test{AD}", status=302, to=target)
    web.add("POST", target, pox("provider.example"))

    run = await autodiscover(make_ctx(), QUERY, DomainRules(), http=web)

    assert run.outcome.status is SourceStatus.FOUND
    assert all(f.trust is Trust.UNTRUSTED for f in run.found)
    assert [f.id for f in redirect_findings(run)] == ["discovery.cross-domain-redirect"]
    assert "provider.example" in redirect_findings(run)[0].detail
    # The plain-HTTP URL only got a GET; the POST went over HTTPS.
    assert ("POST", f"http://autodiscover.x.test{AD}") not in [(m, u) for m, u, _ in web.requests]


async def test_redirect_to_plain_http_is_not_followed() -> None:
    web = FakeWeb()
    web.add("POST", f"https://x.test{AD}", status=302, to=f"http://x.test{AD}")

    run = await autodiscover(make_ctx(), QUERY, DomainRules(), http=web)

    assert run.outcome.status is not SourceStatus.FOUND
    assert not [u for m, u, _ in web.requests if m == "POST" and u.startswith("http:")]


async def test_redirect_addr_restarts_for_the_new_domain() -> None:
    web = FakeWeb()
    web.add(
        "POST",
        f"https://x.test{AD}",
        pox("x.test", "redirectAddr", b"<RedirectAddr>alice@mail.other.example</RedirectAddr>"),
    )
    web.add("POST", f"https://mail.other.example{AD}", pox("other.example"))

    run = await autodiscover(make_ctx(), QUERY, DomainRules(), http=web)

    assert run.outcome.status is SourceStatus.FOUND
    assert run.found[0].setting.host == "imap.other.example"
    assert "discovery.cross-domain-redirect" in [f.id for f in redirect_findings(run)]


async def test_redirects_are_bounded() -> None:
    # Given: an endless chain of HTTPS redirects inside the domain.
    web = FakeWeb()
    web.add("POST", f"https://x.test{AD}", status=302, to="https://x.test/r/1")
    for i in range(1, 40):
        web.add("POST", f"https://x.test/r/{i}", status=302, to=f"https://x.test/r/{i + 1}")

    run = await autodiscover(make_ctx(), QUERY, DomainRules(), http=web)

    # Then: at most 10 redirects are followed, and the failure is recorded.
    followed = [u for _, u, _ in web.requests if "/r/" in u]
    assert len(followed) <= 10
    assert any("redirect" in a.outcome for a in run.outcome.attempts)


async def test_srv_step_is_last_and_used() -> None:
    resolver = NoSrvResolver({"_autodiscover._tcp.x.test": (SrvRecord(0, 0, 443, "ad.x.test"),)})
    web = FakeWeb()
    web.add("POST", f"https://ad.x.test:443{AD}", pox("x.test"))

    run = await autodiscover(make_ctx(resolver), QUERY, DomainRules(), http=web)

    assert run.outcome.status is SourceStatus.FOUND
    assert web.requests[-1][:2] == ("POST", f"https://ad.x.test:443{AD}")


async def test_autoconfig_http_hop_makes_it_untrusted() -> None:
    web = FakeWeb()
    start = "http://autoconfig.x.test/mail/config-v1.1.xml"
    web.add("GET", start, status=301, to="https://autoconfig.x.test/mail/config-v1.1.xml")
    web.add("GET", "https://autoconfig.x.test/mail/config-v1.1.xml", CONFIG)

    run = await autoconfig(
        make_ctx(),
        QUERY,
        DomainRules(),
        Source.AUTOCONFIG_HTTP,
        (start,),
        domain="x.test",
        http=web,
    )

    assert run.outcome.status is SourceStatus.FOUND
    assert [f.trust for f in run.found] == [Trust.UNTRUSTED]
    assert "plain-HTTP redirect" in run.outcome.detail


async def test_autoconfig_https_redirect_off_domain_is_reported() -> None:
    web = FakeWeb()
    start = "https://autoconfig.x.test/mail/config-v1.1.xml"
    web.add("GET", start, status=302, to="https://config.provider.example/x.xml")
    web.add("GET", "https://config.provider.example/x.xml", CONFIG)

    run = await autoconfig(
        make_ctx(),
        QUERY,
        DomainRules(),
        Source.AUTOCONFIG_HTTPS,
        (start,),
        domain="x.test",
        http=web,
    )

    # Issue 10 item 1: never "trusted" across a redirect into another domain.
    assert [f.trust for f in run.found] == [Trust.CONFIRM]
    assert [f.via for f in run.found] == [(start,)]
    assert [f.id for f in redirect_findings(run)] == ["discovery.cross-domain-redirect"]
    assert "ask the user to confirm" in redirect_findings(run)[0].detail
