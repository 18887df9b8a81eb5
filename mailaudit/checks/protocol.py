"""The gate of the endpoint checks, and the names they run under per scheme. Pure.

Rules that hold for every endpoint check (applied by `mailaudit.checks.adapters`):
- a probe that was refused (421, greeting or EHLO refused) makes every check INCONCLUSIVE and
  adds `endpoint.rate-limited`; never "passed";
- a probe that failed (dead, silent, broken) makes every check NOT_TESTED with the reason and
  adds `endpoint.unreachable` — except a failed STARTTLS upgrade, which is itself a finding;
- a sub-test of the audit that was throttled makes its checks INCONCLUSIVE (and adds
  `endpoint.rate-limited` once); one that failed makes them NOT_TESTED.
"""

from __future__ import annotations

from collections.abc import Callable

from mailaudit.checks.catalogue import finding
from mailaudit.checks.facts import EndpointFacts
from mailaudit.checks.outcome import Outcome
from mailaudit.checks.protocol_common import failure_text, service_of, transcript_evidence
from mailaudit.checks.protocol_verdict import upgrade_failed
from mailaudit.model import ProbeStatus, Scheme

NameFor = Callable[[Scheme], str | None]

__all__ = [
    "NameFor",
    "any_family",
    "endpoint_gate",
    "smtp_only",
    "with_family",
    "with_service",
]


def endpoint_gate(facts: EndpointFacts) -> Outcome:
    """`endpoint.rate-limited` / `endpoint.unreachable` when the probe could not talk to the
    endpoint at all (the checks' own runs then say inconclusive / not tested)."""
    obs = facts.observation
    evidence = transcript_evidence(obs.transcript[-4:])
    if obs.status is ProbeStatus.REFUSED:
        reason = failure_text(obs, "the server refused the session")
        return Outcome((finding("endpoint.rate-limited", obs.url, reason, evidence=evidence),))
    if obs.status is ProbeStatus.FAILED and not upgrade_failed(obs):
        reason = failure_text(obs, "the probe failed")
        return Outcome((finding("endpoint.unreachable", obs.url, reason, evidence=evidence),))
    return Outcome()


# ------------------------------------------------------------- check-run names per scheme
def with_family(check: str, families: tuple[str, ...] = ("smtp", "imap", "pop3")) -> NameFor:
    """`<family>.<check>` for the families it applies to."""

    def name_for(scheme: Scheme) -> str | None:
        return f"{scheme.family}.{check}" if scheme.family in families else None

    return name_for


def with_service(check: str) -> NameFor:
    """`<service>.<check>`: smtp (port 25), submission, imap or pop3."""

    def name_for(scheme: Scheme) -> str | None:
        return f"{service_of(scheme)}.{check}"

    return name_for


def smtp_only(name: str) -> NameFor:
    """`name` on SMTP endpoints (25, 587, 465) only."""

    def name_for(scheme: Scheme) -> str | None:
        return name if scheme.family == "smtp" else None

    return name_for


def any_family(name: str) -> NameFor:
    """`name` on every endpoint."""

    def name_for(scheme: Scheme) -> str | None:
        return name

    return name_for
