"""The probe's text output is safe for a terminal whatever the server says."""

from __future__ import annotations

from mailaudit.model import Direction, Observation, ProbeStatus, Scheme, TranscriptLine
from mailaudit.report.probe_text import render_observations


def test_control_characters_from_the_server_are_shown_not_obeyed() -> None:
    # Given a banner that would clear the screen and rewrite the line
    hostile = "mail.test ESMTP \x1b[2J\rOK all good\x00"
    obs = Observation(
        url="smtp://mail.test",
        scheme=Scheme.SMTP,
        host="mail.test",
        address="127.0.0.1",
        port=25,
        status=ProbeStatus.COMPLETED,
        greeting=hostile,
        transcript=(TranscriptLine(Direction.SERVER, f"220 {hostile}"),),
    )

    text = render_observations([obs])

    assert "\x1b" not in text
    assert "\r" not in text
    assert "\x00" not in text
    assert "\\x1b[2J\\x0dOK all good\\x00" in text
