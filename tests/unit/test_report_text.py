from __future__ import annotations

import io

from mailaudit.report.text import Progress, progress_callback, render_text
from tests.unit.report_samples import clean_report, hostile_report, relay_report


def test_summary_table_findings_and_untested() -> None:
    out = render_text(relay_report())

    assert "relay.test  grade F (incomplete)" in out
    assert "smtp://mail.relay.test" in out
    assert "critical" in out
    assert "failed (timeout)" in out
    assert "[critical] smtp.open-relay smtp://mail.relay.test" in out
    assert "Could not be tested:" in out
    assert "not offered (not a finding): pop3://pop3.relay.test" in out
    assert "Total: critical 1  high 0  medium 1  low 2  info 2" in out


def test_quiet_prints_only_the_summary() -> None:
    out = render_text(relay_report(), quiet=True)

    assert "relay.test  grade F" in out
    assert "smtp.open-relay" not in out
    assert "could not test 7 item(s)" in out


def test_verbose_adds_remediation_evidence_checks_and_transcripts() -> None:
    normal = render_text(relay_report())
    out = render_text(relay_report(), verbose=True)

    assert "fix: Restrict relaying" in out
    assert "fix: Restrict relaying" not in normal
    assert "| S: 250 2.1.5 Ok" in out
    assert "check smtp.starttls: passed" in out
    assert "C: EHLO mailaudit.invalid" in out


def test_no_colour_unless_asked() -> None:
    assert "\x1b[" not in render_text(relay_report())
    assert "\x1b[" in render_text(relay_report(), color=True)


def test_server_text_can_neither_style_nor_move_the_terminal() -> None:
    out = render_text(hostile_report(), verbose=True, color=True)

    # The only escapes are rich's own colour codes: the server's ESC is shown as text.
    assert "\\x1b[31mred" in out
    assert "\x00" not in out
    assert "\x07" not in out
    assert "[bold red]pwned[/]" in out  # rich markup printed literally
    assert "<script>alert(1)</script>" in out


def test_clean_report() -> None:
    out = render_text(clean_report())

    assert "good.test  grade A" in out
    assert "findings: none" in out
    assert "Could not be tested" not in out


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal() -> None:
    assert progress_callback(enabled=True, stream=io.StringIO()) is None
    assert progress_callback(enabled=False, stream=_Tty()) is None
    assert isinstance(progress_callback(enabled=True, stream=_Tty()), Progress)


def test_progress_shows_steps_as_text_and_cleans_up() -> None:
    stream = _Tty()

    with Progress(stream, min_interval_s=0) as progress:
        progress("probed smtp://mail.relay.test (127.0.0.20)")
        progress("probed \x1b[2Jimap://imap.relay.test (127.0.0.22)")
    progress.close()  # closing twice is harmless

    assert "\x1b[2J" not in stream.getvalue()
    assert "\\x1b[2Jimap://imap.relay.test" in stream.getvalue()
    assert stream.getvalue().endswith("\r\x1b[K")
