"""The parts of `mailaudit serve` that need no network: the address guard, the rate limiter,
language choice, address checks, the Greek catalogue's completeness, report filtering."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from mailaudit.model import Severity
from mailaudit.serve.guard import PublicOnly
from mailaudit.serve.i18n import catalogue_path, choose
from mailaudit.serve.limits import Rate, RateLimiter
from mailaudit.serve.reports import narrowed
from mailaudit.serve.views import check_address, echoed
from mailaudit.settings import Settings
from tests.unit.report_samples import relay_report

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fc00::1",
        "fe80::1",
        "::ffff:10.0.0.1",
        "::ffff:127.0.0.1",
    ],
)
def test_the_page_refuses_non_public_addresses(address: str) -> None:
    # Even with a nameserver on loopback, which opts the command line into private targets
    page = PublicOnly.create(Settings(nameservers=("127.0.0.53",)))

    assert not page.policy.permits("mail.example.org", address)


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888", "[2606:4700::1111]"])
def test_the_page_allows_public_addresses(address: str) -> None:
    assert PublicOnly.create(Settings()).policy.permits("mail.example.org", address)


def test_allow_private_and_resolve_do_not_open_the_page() -> None:
    settings = Settings(allow_private=True, resolve={"intranet.example": ("10.0.0.1",)})

    page = PublicOnly.create(settings)

    assert not page.policy.permits("intranet.example", "10.0.0.1")


def test_a_staging_network_allows_that_network_only() -> None:
    page = PublicOnly.create(Settings(nameservers=("127.0.0.53",)), staging=("127.0.0.0/24",))

    assert page.policy.permits("imap.good.test", "127.0.0.10")
    assert not page.policy.permits("internal.sneaky.test", "127.0.1.1")
    assert not page.policy.permits("x.test", "10.0.0.1")
    with pytest.raises(ValueError, match="does not appear to be"):
        PublicOnly.create(Settings(), staging=("lab",))


def test_each_discovery_has_its_own_record_of_refusals() -> None:
    page = PublicOnly.create(Settings())

    assert page.resolver().guard is not page.resolver().guard
    assert page.resolver().guard.parent is None


def test_the_rate_limiter_allows_a_burst_then_the_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(Rate(burst=3, per_minute=6), clock=lambda: now[0], max_clients=2)

    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(10.0)  # one token every 10 s
    assert limiter.take("b") == 0.0  # another client has its own bucket
    now[0] = 10.0
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0.0


def test_the_rate_limiter_table_is_bounded() -> None:
    limiter = RateLimiter(Rate(burst=1, per_minute=1), clock=lambda: 0.0, max_clients=2)
    for client in ("a", "b", "c"):
        limiter.take(client)

    assert limiter.take("c") > 0.0  # still remembered
    assert limiter.take("a") == 0.0  # forgotten (oldest): starts again with a full bucket


@pytest.mark.parametrize(
    ("param", "header", "expected"),
    [
        (None, None, "en"),
        (None, "el-GR,el;q=0.9,en;q=0.8", "el"),
        (None, "en-US,en;q=0.9,el;q=0.8", "en"),
        (None, "fr-FR,el;q=0.5", "el"),
        (None, "el;q=0,en;q=0.1", "en"),
        (None, "de, fr", "en"),
        (None, "el;q=abc", "en"),
        ("en", "el", "en"),
        ("el", None, "el"),
        ("xx", "el", "el"),
    ],
)
def test_language_choice(param: str | None, header: str | None, expected: str) -> None:
    assert choose(param, header) == expected


@pytest.mark.parametrize(
    ("typed", "ok"),
    [
        ("alice@good.test", True),
        (" Alice@Good.Test ", True),
        ("good.test", True),  # a help desk may look up a domain
        ("o'brien+tag@example.org", True),
        ("γιώργος@παράδειγμα.ελ", True),
        ("<script>alert(1)</script>@good.test", False),
        ('"quoted local"@good.test', False),
        ("alice@good.test\x00", False),
        ("alice\u202e@good.test", False),  # right-to-left override
        ("a" * 65 + "@good.test", False),
        ("alice@" + "a" * 250 + ".test", False),
        ("", False),
        ("alice@", False),
    ],
)
def test_address_checks(typed: str, ok: bool) -> None:
    query, problem = check_address(typed)

    assert (query is not None) is ok
    assert (problem is None) is ok


def test_echo_drops_control_characters_and_length() -> None:
    assert echoed("al\x1bice\r\n@x") == "alice@x"
    assert len(echoed("a" * 10_000)) == 255


def test_every_page_string_has_a_greek_translation() -> None:
    # Given every string the templates and the serve package mark for translation
    extracted = {
        message
        for _, _, message, _, _ in extract_from_dir(
            str(ROOT),
            method_map=[
                ("mailaudit/serve/**.py", "python"),
                ("reports/templates/serve/**.j2", "jinja2"),
            ],
            options_map={"reports/templates/serve/**.j2": {"extensions": "jinja2.ext.i18n"}},
            keywords={"_": None, "N_": None},
        )
    }
    with (ROOT / "mailaudit" / "serve" / catalogue_path("el")).open("rb") as po:
        catalog = read_po(po, locale="el")

    # Then each has a Greek text that is not marked fuzzy, and the catalogue has no leftovers
    assert len(extracted) > 100
    translated = {m.id for m in catalog if m.id and m.string and "fuzzy" not in m.flags}
    assert extracted - translated == set()
    assert {m.id for m in catalog if m.id} - extracted == set()
    for message in catalog:
        if message.id:
            assert message.string != message.id or message.id in _SAME_IN_GREEK, message.id


# Names of products and protocols read the same in Greek.
_SAME_IN_GREEK = {
    "Microsoft Autodiscover",
    "Thunderbird (autoconfig XML)",
    "Outlook (Autodiscover XML)",
    "Apple Mail (iPhone, iPad, Mac)",
    "Android (Thunderbird for Android, K-9 Mail)",
    "Webmail:",
}


def test_report_filters() -> None:
    report = relay_report()

    by_host = narrowed(report, host="MAIL.relay", finding="", severity=None)
    by_finding = narrowed(report, host="", finding="open-relay", severity=None)
    by_severity = narrowed(report, host="", finding="", severity=Severity.CRITICAL)
    nothing = narrowed(report, host="nowhere.example", finding="", severity=None)

    assert by_host.endpoints
    assert {e.url for e in by_host.endpoints} == {
        e.url
        for e in report.endpoints
        if "mail.relay" in e.url.lower() or any("mail.relay" in n for n in e.names)
    }
    assert all("open-relay" in f.id for f in by_finding.all_findings())
    assert by_finding.all_findings()
    assert all(f.severity is Severity.CRITICAL for f in by_severity.all_findings())
    assert nothing.domains == ()
    assert nothing.endpoints == ()
