"""The registry's ispdb check on constructed facts (the corpus tests in test_discovery_ispdb.py
need Thunderbird's ISPDB next to the checkout)."""

from __future__ import annotations

from mailaudit.checks.ispdb import judge_ispdb_file
from mailaudit.model import IspdbFile, PlaceholderUse, RawProvider, RawServer, Severity


def test_the_ispdb_check_judges_facts_not_files() -> None:
    # Given what the linter read from a file (no XML involved)
    server = RawServer("incomingServer", "imap", "imap.x.test", "995", "SSL", None, ("none",))
    provider = RawProvider("x.test", None, ("x.test",), (server,), None, ())
    facts = IspdbFile(
        "x.test.xml",
        provider=provider,
        placeholders=(PlaceholderUse("username", "%EMAILADRESS%", "EMAILADRESS", True, False),),
    )
    # When the registry's ispdb check judges it
    out = judge_ispdb_file(facts)
    # Then: an unknown placeholder, 995 is the POP3 port, no username (info: no password)
    assert [f.id for f in out.findings] == [
        "discovery.ispdb-bad-placeholder",
        "discovery.ispdb-odd-port",
        "discovery.ispdb-missing-username",
    ]
    assert out.findings[-1].severity is Severity.INFO
    assert [(r.check, r.subject) for r in out.runs] == [("ispdb", "x.test.xml")]
    unreadable = judge_ispdb_file(IspdbFile("bad.xml", error="not XML"))
    assert [f.id for f in unreadable.findings] == ["discovery.ispdb-invalid"]
