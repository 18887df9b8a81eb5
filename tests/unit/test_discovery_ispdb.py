"""The config-v1.1.xml reader and the ISPDB linter against Thunderbird's real ISPDB
(../shared/ispdb, 163 files; see its SOURCE.md)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mailaudit.discovery import lint_file, lint_files, parse_config, parse_query
from mailaudit.discovery.autoconfig_xml import read_raw
from mailaudit.model import Protocol, Security, Severity, UsernameForm

ISPDB = Path(__file__).resolve().parents[2].parent / "shared" / "ispdb"

pytestmark = pytest.mark.skipif(
    not ISPDB.is_dir(), reason=f"Thunderbird's ISPDB corpus is not at {ISPDB}"
)


def _files() -> list[Path]:
    return sorted(ISPDB.glob("*.xml"))


def _lint(name: str) -> list[tuple[str, str]]:
    findings, _ = lint_file(name, (ISPDB / name).read_bytes())
    return [(f.id, f.detail) for f in findings]


def test_every_file_parses_with_the_documented_counts() -> None:
    query = parse_query("alice@example.org")
    files = _files()
    configs = [parse_config(p.read_bytes(), query) for p in files]
    raws = [read_raw(p.read_bytes()) for p in files]

    assert len(files) == 163
    assert len(configs) == 163
    assert sum(len(c.domains) for c in configs) == 963
    socket_types = Counter(s.socket_type for r in raws for s in r.servers)
    assert socket_types["SSL"] == 328
    assert socket_types["STARTTLS"] == 112
    assert socket_types["plain"] == 70
    # Every provider has something a mail client can use.
    assert all(c.incoming or c.outgoing for c in configs)


def test_placeholders_are_substituted() -> None:
    query = parse_query("Alice.Smith@Example.ORG")
    config = parse_config((ISPDB / "pop.shibata.ne.jp.xml").read_bytes(), query)

    # %EMAILDOMAIN% in the host name becomes the user's domain (lower case).
    assert config.incoming[0].host == "example.org"
    assert config.incoming[0].username in ("Alice.Smith@example.org", "Alice.Smith")


def test_address_and_localpart_usernames() -> None:
    query = parse_query("bob@example.org")
    config = parse_config((ISPDB / "teol.net.xml").read_bytes(), query)
    imap = config.incoming[0]

    assert imap.protocol is Protocol.IMAP
    assert (imap.host, imap.port, imap.security) == ("imap.teol.net", 993, Security.SSL)
    assert imap.username == "bob@example.org"
    assert imap.username_form is UsernameForm.ADDRESS
    assert config.outgoing[0].username is None
    assert config.outgoing[0].username_form is UsernameForm.NONE


def test_exchange_server_types_are_set_aside() -> None:
    config = parse_config(
        (ISPDB / "office365.com.xml").read_bytes(), parse_query("a@contoso.example")
    )

    assert {s.protocol for s in config.incoming} == {Protocol.IMAP, Protocol.POP3}
    assert set(config.ignored_server_types) == {"ews", "owa", "graph", "exchange"}
    assert config.outgoing[0].auth == ("OAuth2",)


def test_webmail_is_read() -> None:
    config = parse_config((ISPDB / "aol.com.xml").read_bytes(), parse_query("a@aol.com"))

    assert config.webmail == "https://mail.aol.com/"


def test_without_an_address_the_address_placeholders_stay() -> None:
    config = parse_config((ISPDB / "teol.net.xml").read_bytes(), parse_query("teol.net"))

    assert config.incoming[0].username == "%EMAILADDRESS%"


def test_lint_finds_office365_broken_placeholder() -> None:
    found = _lint("office365.com.xml")

    broken = [d for i, d in found if i == "discovery.ispdb-bad-placeholder"]
    assert len(broken) == 2
    assert all("%EMAILADDRESS is not closed" in d for d in broken)


@pytest.mark.parametrize("name", ["teol.net.xml", "kokuyou.ne.jp.xml"])
def test_lint_finds_smtp_without_username(name: str) -> None:
    findings, _ = lint_file(name, (ISPDB / name).read_bytes())

    missing = [f for f in findings if f.id == "discovery.ispdb-missing-username"]
    assert len(missing) == 1
    assert missing[0].detail.startswith("smtp ")


def test_lint_missing_username_is_info_when_no_password_is_used() -> None:
    findings, _ = lint_file("kokuyou.ne.jp.xml", (ISPDB / "kokuyou.ne.jp.xml").read_bytes())
    teol, _ = lint_file("teol.net.xml", (ISPDB / "teol.net.xml").read_bytes())

    assert [f.severity for f in findings if f.id.endswith("missing-username")] == [Severity.INFO]
    assert [f.severity for f in teol if f.id.endswith("missing-username")] == [Severity.LOW]


def test_lint_finds_imap_on_the_submission_port() -> None:
    odd = [d for i, d in _lint("pdx.edu.xml") if i == "discovery.ispdb-odd-port"]

    assert odd == ["imap psumail.pdx.edu:587 STARTTLS: port 587 is the standard smtp port"]


def test_lint_finds_pop3_on_the_imaps_port() -> None:
    odd = [d for i, d in _lint("arubapec.it.xml") if i == "discovery.ispdb-odd-port"]

    assert odd == ["pop3 pop3s.pec.aruba.it:993 SSL: port 993 is the standard imap port"]


def test_lint_finds_plaintext_only_providers() -> None:
    found = _lint("nifty.com.xml")

    assert [i for i, _ in found].count("discovery.ispdb-plaintext-only") == 2


def test_lint_whole_corpus_summary() -> None:
    report = lint_files((p.name, p.read_bytes()) for p in _files())

    assert (report.files, report.providers, report.domains) == (163, 163, 963)
    ids = Counter(f.id for f in report.findings)
    assert ids["discovery.ispdb-invalid"] == 0
    assert ids["discovery.ispdb-bad-placeholder"] == 2
    assert ids["discovery.ispdb-plaintext-only"] > 30
    subjects = {f.subject for f in report.findings if f.id == "discovery.ispdb-odd-port"}
    assert {"pdx.edu.xml", "arubapec.it.xml"} <= subjects
    # A clean, modern provider gets no finding.
    assert not [
        f
        for f in report.findings
        if f.subject == "teol.net.xml" and f.id != ("discovery.ispdb-missing-username")
    ]


def test_lint_reports_unreadable_files() -> None:
    findings, domains = lint_file("broken.xml", b"<clientConfig><emailProvider>")

    assert domains is None
    assert [f.id for f in findings] == ["discovery.ispdb-invalid"]
