"""Discovery against a busy IMAP/POP3 server (busyimap.test, issue 10 item 2 loose end): a server
that greets, then answers every command "busy, try again later" is not a broken setting. The
audit already calls it inconclusive; discovery must too."""

from __future__ import annotations

from click.testing import CliRunner

from mailaudit.checks.discovery import judge_discovery
from mailaudit.checks.facts import DiscoveryFacts
from mailaudit.cli import main
from mailaudit.context import Context
from mailaudit.discovery import Protocol, Source, discover
from mailaudit.model import CheckStatus, ProbeStatus


async def test_a_busy_server_is_inconclusive_not_a_broken_setting(lab_ctx: Context) -> None:
    # Given busyimap.test, whose SRV records name imap. and pop3.busyimap.test (127.0.0.130),
    # which answer CAPABILITY/CAPA with "NO [UNAVAILABLE] 421 busy" / "-ERR [SYS/TEMP] 421 busy"
    result = await discover(lab_ctx, "busyimap.test")
    srv = [c for c in result.candidates if c.source is Source.SRV]
    assert {c.setting.protocol for c in srv} == {Protocol.IMAP, Protocol.POP3}
    for candidate in srv:
        obs = candidate.verification.observation
        assert obs is not None
        assert obs.status is ProbeStatus.REFUSED
        assert "421 busy" in candidate.verification.detail

    # Then no published setting is called broken, and "no working setting" is not claimed for
    # the incoming role the busy servers would fill (before: two medium setting-broken
    # findings and a no-settings finding for incoming and outgoing)
    ids = [f.id for f in result.findings]
    assert "discovery.setting-broken" not in ids
    no_settings = [f for f in result.findings if f.id == "discovery.no-settings"]
    assert [f.detail for f in no_settings] == ["no working outgoing setting found"]
    assert result.incoming is None  # nothing verified: nothing is recommended

    # And where the busy servers are all that is left undecided (outgoing here borrowed from
    # good.test, whose submission server works), the check's run is inconclusive and says why
    good = await discover(lab_ctx, "good.test")
    assert good.outgoing is not None
    outcome = judge_discovery(DiscoveryFacts(result.domain, result.candidates, None, good.outgoing))
    (run,) = outcome.runs
    assert outcome.findings == ()
    assert run.status is CheckStatus.INCONCLUSIVE
    assert run.reason is not None
    assert "refused the session" in run.reason
    assert "421 busy" in run.reason


def test_discover_says_inconclusive_for_a_busy_server(lab_env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["discover", "busyimap.test"], env=lab_env)
    assert result.exit_code == 3, result.output  # nothing verified: could not test
    lines = result.stdout.splitlines()
    assert (
        "Incoming: inconclusive: imap imap.busyimap.test:143 starttls said busy, try again later"
        in lines
    )
    assert "discovery.setting-broken" not in result.stdout
