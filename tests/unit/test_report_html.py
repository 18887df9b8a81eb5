from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser

from mailaudit.model import (
    CipherSuite,
    DiscoveryResult,
    Protocol,
    ProtocolScan,
    Recommendation,
    ScanError,
    ScanErrorReason,
    ScanPart,
    Scheme,
    Security,
    ServerSetting,
    Source,
    TlsScan,
    TlsTarget,
    TlsVersion,
    Trust,
)
from mailaudit.report.html import code_spans, render_html, template_dir
from mailaudit.report.summary import reference_link
from tests.unit.report_samples import HOSTILE, clean_report, hostile_report, relay_report


class _Page(HTMLParser):
    """Tags, attributes and text of a rendered page, as a browser's parser sees them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._in_style = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if not self._in_style:
            self.text.append(data)

    def all_text(self) -> str:
        return "".join(self.text)


def test_hostile_banner_is_text_not_markup() -> None:
    html = render_html(hostile_report())
    page = _Page(html)

    # Then no element came from the server: no script, no <b> from the banner
    assert [t for t, _ in page.tags if t in ("script", "b", "iframe", "img")] == []
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert HOSTILE in page.all_text()
    # The greeting itself, the transcript, the finding detail and the check name all show it.
    assert page.all_text().count("<script>alert(1)</script>") >= 5


def test_control_characters_from_servers_are_made_visible() -> None:
    html = render_html(hostile_report())

    assert "\x00" not in html
    assert "\x1b" not in html
    assert "\x07" not in html
    assert "\\x1b[31mred" in html


def test_references_link_to_rfcs_and_never_to_other_schemes() -> None:
    page = _Page(render_html(hostile_report()) + render_html(relay_report()))
    hrefs = [a.get("href") or "" for t, a in page.tags if t == "a"]

    assert "https://www.rfc-editor.org/rfc/rfc5321#section-3.6.2" in hrefs
    assert "https://www.rfc-editor.org/rfc/rfc7489#section-6.3" in hrefs
    assert "https://dmarc.org/overview/" in hrefs
    external = [h for h in hrefs if not h.startswith("#")]
    assert all(h.startswith("https://") for h in external), external


def test_reference_links() -> None:
    assert reference_link("RFC 8314") == "https://www.rfc-editor.org/rfc/rfc8314"
    assert reference_link("RFC 8314 §3.3") == "https://www.rfc-editor.org/rfc/rfc8314#section-3.3"
    assert (
        reference_link("RFC 6186 section 6") == "https://www.rfc-editor.org/rfc/rfc6186#section-6"
    )
    assert reference_link("rfc3207") == "https://www.rfc-editor.org/rfc/rfc3207"
    assert reference_link("https://example.test/x y") == "https://example.test/x"
    assert reference_link("javascript:alert(1)") is None
    assert reference_link("Thunderbird autoconfig") is None


def test_page_is_self_contained() -> None:
    html = render_html(relay_report())
    page = _Page(html)

    assert [t for t, _ in page.tags if t in ("script", "img", "iframe", "object")] == []
    links = [a for t, a in page.tags if t == "link"]
    assert links == [{"rel": "icon", "href": "data:,"}]
    assert not re.search(r"""\bsrc\s*=|@import|url\((?!data:)""", html)
    metas = {
        a.get("name") or a.get("http-equiv"): a.get("content") for t, a in page.tags if t == "meta"
    }
    assert metas["viewport"] == "width=device-width, initial-scale=1"
    assert "default-src 'none'" in (metas["Content-Security-Policy"] or "")
    assert "@media print" in html
    assert "@media (max-width: 640px)" in html


def test_summary_comes_first_with_grade_and_counts() -> None:
    text = _Page(render_html(relay_report())).all_text()

    summary = text.index("Summary")
    assert summary < text.index("Domain findings")
    head = text[summary : text.index("How the grade is computed")]
    assert "relay.test" in head
    assert "F" in head
    assert "incomplete" in head
    assert "Open relay: the server accepts mail for foreign domains from anyone" in head


def test_what_could_not_be_tested_and_why_is_listed() -> None:
    text = _Page(render_html(relay_report())).all_text()
    section = text[text.index("Could not be tested") :]

    assert "smtp://mx2.relay.test: name does not resolve" in section
    assert "timeout at greeting: no greeting within 10 s" in section
    assert "imap.login-before-tls (inconclusive)" in section
    assert "dane.tlsa (not tested): the resolver does not validate DNSSEC" in section
    assert "pop3://pop3.relay.test" in section  # not offered, and said to be no finding
    assert "not a finding" in section


def test_findings_show_remediation_evidence_and_waiver() -> None:
    report = relay_report()
    mx = report.endpoints[1]
    waived = dataclasses.replace(mx.findings[1], waived="accepted until the appliance is replaced")
    report = dataclasses.replace(
        report,
        endpoints=(
            report.endpoints[0],
            dataclasses.replace(mx, findings=(mx.findings[0], waived)),
            report.endpoints[2],
        ),
    )
    html = render_html(report)
    text = _Page(html).all_text()

    assert "Restrict relaying to authenticated users" in text
    assert '<details class="evidence">' in html
    assert "C: RCPT TO:<probe@mailaudit-relay-test.invalid>" in text
    assert "Waived: accepted until the appliance is replaced" in text
    assert "1 waived" in text


def test_clean_report_grades_a() -> None:
    page = _Page(render_html(clean_report()))
    text = page.all_text()

    assert (
        "span",
        {"class": "grade grade-a", "title": "worst unwaived finding: none"},
    ) in page.tags
    assert "good.test" in text
    assert (
        "span",
        {"class": "incomplete", "title": "something could not be tested"},
    ) not in page.tags
    assert "Everything this domain depends on could be tested." in text


def test_recommended_client_settings_from_discovery() -> None:
    # Given a domain report carrying a discovery result with an alternative outgoing setting
    report = relay_report()
    setting = ServerSetting(Protocol.IMAP, "imap.relay.test", 993, Security.SSL, "alice@relay.test")
    outgoing = ServerSetting(Protocol.SMTP, "smtp.relay.test", 465, Security.SSL)
    result = DiscoveryResult(
        query="relay.test",
        address=None,
        domain="relay.test",
        incoming=Recommendation(setting, Source.AUTOCONFIG_HTTPS, Trust.TRUSTED, "https://x"),
        alternative_incoming=None,
        outgoing=Recommendation(outgoing, Source.SRV, Trust.TRUSTED, "_submissions._tcp"),
        candidates=(),
        sources=(),
        findings=(),
        provider_name="Relay <Test>",
        alternative_outgoing=Recommendation(
            ServerSetting(Protocol.SMTP, "smtp.relay.test", 587, Security.STARTTLS),
            Source.SRV,
            Trust.TRUSTED,
            "_submission._tcp",
        ),
    )
    domain = dataclasses.replace(report.domains[0], discovery=result)
    report = dataclasses.replace(report, domains=(domain, *report.domains[1:]))

    text = _Page(render_html(report)).all_text()

    assert "Recommended client settings" in text
    assert "imap.relay.test" in text
    assert "993" in text
    assert "SSL/TLS (implicit)" in text
    assert "alice@relay.test" in text
    assert "autoconfig-https (trusted)" in text
    assert "Provider: Relay <Test>" in text
    assert "Outgoing (alternative)" in text
    assert "587" in text


def test_fields_added_to_the_model_later_are_shown() -> None:
    @dataclasses.dataclass(frozen=True)
    class LaterEndpoint:
        id: str
        tls_scan: dict[str, str]

    report = relay_report()
    fake = LaterEndpoint("x", {"accepted": "<TLSv1.2>"})
    from mailaudit.report.html import _extras

    extras = _extras(fake, {"id"})

    assert [e.name for e in extras] == ["tls scan"]
    assert "<TLSv1.2>" in extras[0].text
    assert "&lt;TLSv1.2&gt;" not in extras[0].text  # escaped once, by the template
    # the sample itself has no field the renderer does not know
    assert "More data" not in render_html(report)


def test_templates_are_found_in_the_source_checkout() -> None:
    assert template_dir().joinpath("report.html.j2").is_file()


def test_tls_scan_versions_are_shown_with_deprecated_ones_marked() -> None:
    # Given an endpoint whose TLS scan found TLS 1.0 and 1.3, and could not test one part
    suite = CipherSuite("TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", 128, False)
    scan = TlsScan(
        target=TlsTarget("mail.relay.test", "127.0.0.20", 25, Scheme.SMTP),
        connected=True,
        protocols=(
            ProtocolScan(TlsVersion.TLS_1_0, (suite,)),
            ProtocolScan(TlsVersion.TLS_1_2, ()),
            ProtocolScan(TlsVersion.TLS_1_3, (suite,)),
        ),
        errors=(ScanError(ScanPart.HEARTBLEED, ScanErrorReason.TIMEOUT, "no answer <x>"),),
    )
    sample = relay_report()
    endpoints = list(sample.endpoints)
    endpoints[1] = dataclasses.replace(endpoints[1], tls_scan=scan)
    report = dataclasses.replace(sample, endpoints=tuple(endpoints))

    html = render_html(report)
    text = _Page(html).all_text()

    assert "TLS versions (scan)TLSv1.0, TLSv1.3" in text.replace("\n", "")
    assert '<span class="fail">TLSv1.0</span>' in html
    assert "no answer <x>" in text


def test_backticks_in_remediation_become_code_and_stay_escaped() -> None:
    assert str(code_spans("Set `smtpd_banner = <x>` now")) == (
        "Set <code>smtpd_banner = &lt;x&gt;</code> now"
    )
    assert str(code_spans("one ` only <b>")) == "one ` only &lt;b&gt;"


def test_informational_and_waived_findings_are_folded_below_the_others() -> None:
    report = relay_report()
    mx = report.endpoints[1]
    waived = dataclasses.replace(mx.findings[1], waived="accepted")
    report = dataclasses.replace(
        report,
        endpoints=(
            report.endpoints[0],
            dataclasses.replace(mx, findings=(mx.findings[0], waived)),
            report.endpoints[2],
        ),
    )

    html = render_html(report)

    assert "1 waived finding</summary>" in html
    assert "1 informational finding (Endpoint could not be tested)</summary>" in html
    # The critical one is not folded: it comes before any folded group of its endpoint.
    relay = html.index('id="f-smtp-open-relay-smtp-mail-relay-test"')
    assert relay < html.index("1 waived finding")
