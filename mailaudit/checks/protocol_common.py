"""Helpers shared by the protocol checks: the service prefix of an endpoint, failure texts and
the transcript lines quoted as evidence. Pure functions on observations."""

from __future__ import annotations

import re
from collections.abc import Iterable

from mailaudit.model import Direction, Observation, Scheme, TranscriptEvent, TranscriptLine


def service_of(scheme: Scheme) -> str:
    """smtp (MTA port 25), submission (587/465), imap or pop3: the prefix of role-dependent ids."""
    if scheme.is_submission:
        return "submission"
    return scheme.family


def transcript_evidence(lines: Iterable[TranscriptLine]) -> tuple[str, ...]:
    return tuple(line.render() for line in lines)


def failure_text(observation: Observation, default: str) -> str:
    failure = observation.failure
    if failure is None:
        return default
    return f"{failure.reason} at {failure.step}: {failure.message}"


def before_tls(obs: Observation) -> list[TranscriptLine]:
    lines: list[TranscriptLine] = []
    for line in obs.transcript:
        if line.event is TranscriptEvent.TLS_ESTABLISHED:
            break
        lines.append(line)
    return lines


def capability_lines(obs: Observation) -> list[TranscriptLine]:
    """The server's capability answer before TLS (the typed CAPABILITIES events)."""
    lines = before_tls(obs)
    out = [line for line in lines if line.event is TranscriptEvent.CAPABILITIES]
    if not out:  # IMAP: capabilities came with the greeting
        out = [line for line in lines if line.event is TranscriptEvent.GREETING]
    return out[:16]


def login_capability_lines(obs: Observation) -> list[TranscriptLine]:
    family = obs.scheme.family
    lines = capability_lines(obs)
    if family == "smtp":
        return [
            line
            for line in lines
            if line.direction is Direction.CLIENT or re.match(r"^250[- ]AUTH\b", line.text)
        ]
    if family == "pop3":
        return [
            line
            for line in lines
            if line.direction is Direction.CLIENT
            or line.text.split(" ")[0].upper() in ("USER", "SASL")
        ]
    return [line for line in lines if "CAPABILITY" in line.text.upper()]
