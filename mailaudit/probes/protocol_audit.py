"""The protocol audit of one endpoint at one address: open relay, unauthenticated submission,
login before TLS, STARTTLS command injection, VRFY/EXPN and the names around the greeting.

It runs after the probe (`mailaudit.probes.endpoint.probe`) and only where the probe completed.
It gathers facts only; `mailaudit.checks.protocol.judge_endpoint` judges them. Whatever goes
wrong ends up in the sub-test's `Outcome` and reason; `audit_endpoint` never raises for network
trouble.

Politeness: every connection holds `ctx.global_slot()` and `ctx.endpoint_slot(address, port)`;
the sub-tests run one after another, so one endpoint sees at most one audit connection at a time
(with the default limits), and the caller must hold neither slot while awaiting the audit.
Safety: DATA is never sent, no credentials are ever sent, and the injected command is NOOP.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from mailaudit.context import Context
from mailaudit.model import (
    HOSTNAME,
    AuthProbe,
    EnumerationProbe,
    InjectionProbe,
    NameFacts,
    Observation,
    Outcome,
    ProtocolAudit,
    RcptTest,
)
from mailaudit.probes.audit_probes import (
    imap_auth,
    name_facts,
    pop3_auth,
    smtp_misc,
    starttls_injection,
)
from mailaudit.probes.relay import run_rcpt_test, run_relay_pass, submission_plan

__all__ = ["DEFAULT_RELAY_TEST_DOMAIN", "audit_endpoint"]

# A name under the reserved .invalid TLD (RFC 6761 §6.4): it can never belong to anyone, so even
# a relay that accepted a recipient there could not deliver to a third party. The price: a server
# that checks recipient domains before relaying answers 4xx/5xx "domain not found", which the
# judgement reports as inconclusive when nothing else was decisive; pass a resolvable domain you
# control with --relay-test-domain for a sharper test.
DEFAULT_RELAY_TEST_DOMAIN = "mailaudit-relay-test.invalid"

T = TypeVar("T")


async def audit_endpoint(
    ctx: Context,
    observation: Observation,
    *,
    relay_test_domain: str = DEFAULT_RELAY_TEST_DOMAIN,
    own_domain: str | None = None,
) -> ProtocolAudit:
    """Audit one observed endpoint. `own_domain` is the audited mail domain the endpoint serves
    (the MX's domain); the endpoint's host name stands in when it is None.
    Raises ValueError for a `relay_test_domain` that is not a host name."""
    relay_test_domain = relay_test_domain.strip().rstrip(".").lower()
    if not HOSTNAME.match(relay_test_domain) or "." not in relay_test_domain:
        raise ValueError(f"relay test domain {relay_test_domain!r} is not a domain name")
    own = (own_domain or observation.host).strip().rstrip(".").lower()
    started = time.monotonic()
    if not observation.completed or observation.address is None:
        reason = "the probe did not complete" + (
            f" ({observation.failure.reason}: {observation.failure.message})"
            if observation.failure
            else ""
        )
        return _all(observation, relay_test_domain, own_domain, Outcome.FAILED, reason)

    scheme = observation.scheme
    family = scheme.family
    starttls = bool(observation.starttls_offered) and not scheme.implicit_tls
    budget_s = ctx.settings.timeouts.endpoint_budget_s
    na = _all(observation, relay_test_domain, own_domain, Outcome.NOT_APPLICABLE, "")

    relay, relay_tls, submission = na.relay, na.relay_over_tls, na.submission
    vrfy, expn, auth = na.vrfy, na.expn, _na_auth(scheme.implicit_tls)
    injection = na.starttls_injection
    names = na.names
    if not starttls:
        injection = InjectionProbe(
            Outcome.NOT_APPLICABLE,
            "implicit TLS" if scheme.implicit_tls else "STARTTLS not offered",
        )

    if family == "smtp":
        server = observation.greeting_name or observation.host
        relay = await _bounded(
            budget_s,
            lambda: run_relay_pass(
                ctx, observation, foreign=relay_test_domain, own_domain=own,
                server_name=server, starttls=False,
            ),
            lambda r: RcptTest(Outcome.FAILED, r),
        )  # fmt: skip
        if starttls:
            relay_tls = await _bounded(
                budget_s,
                lambda: run_relay_pass(
                    ctx, observation, foreign=relay_test_domain, own_domain=own,
                    server_name=server, starttls=True,
                ),
                lambda r: RcptTest(Outcome.FAILED, r, over_tls=True),
            )  # fmt: skip
        else:
            relay_tls = RcptTest(
                Outcome.NOT_APPLICABLE,
                "implicit TLS: the relay test already ran over TLS"
                if scheme.implicit_tls
                else "STARTTLS not offered",
            )
        if scheme.is_submission:
            submission = await _bounded(
                budget_s,
                lambda: run_rcpt_test(
                    ctx,
                    observation,
                    submission_plan(foreign=relay_test_domain, own_domain=own),
                    starttls=starttls,
                    stop_when_auth_required=False,
                ),
                lambda r: RcptTest(Outcome.FAILED, r),
            )
        vrfy, expn, auth = await _bounded(
            budget_s,
            lambda: smtp_misc(ctx, observation, own_domain=own),
            lambda r: (
                EnumerationProbe(Outcome.FAILED, r, command="VRFY"),
                EnumerationProbe(Outcome.FAILED, r, command="EXPN"),
                AuthProbe(Outcome.FAILED, r),
            ),
        )
        names = await _bounded(
            budget_s, lambda: name_facts(ctx, observation), lambda r: NameFacts(Outcome.FAILED, r)
        )
    elif not scheme.implicit_tls:
        auth_probe = pop3_auth if family == "pop3" else imap_auth
        auth = await _bounded(
            budget_s, lambda: auth_probe(ctx, observation), lambda r: AuthProbe(Outcome.FAILED, r)
        )
    if starttls:
        injection = await _bounded(
            budget_s,
            lambda: starttls_injection(ctx, observation),
            lambda r: InjectionProbe(Outcome.FAILED, r),
        )
    return ProtocolAudit(
        url=observation.url,
        address=observation.address,
        relay_test_domain=relay_test_domain,
        own_domain=own_domain,
        relay=relay,
        relay_over_tls=relay_tls,
        submission=submission,
        auth_before_tls=auth,
        starttls_injection=injection,
        vrfy=vrfy,
        expn=expn,
        names=names,
        elapsed_ms=int((time.monotonic() - started) * 1000),
    )


async def _bounded(
    budget_s: float, run: Callable[[], Awaitable[T]], failed: Callable[[str], T]
) -> T:
    """One sub-test within the endpoint budget; running out of it is a FAILED sub-test."""
    try:
        async with asyncio.timeout(budget_s):
            return await run()
    except TimeoutError:
        return failed(f"budget-exceeded: the sub-test took longer than {budget_s:g} s")


def _na_auth(implicit_tls: bool) -> AuthProbe:
    return AuthProbe(
        Outcome.NOT_APPLICABLE, "implicit TLS: no plaintext phase" if implicit_tls else None
    )


def _all(
    observation: Observation,
    relay_test_domain: str,
    own_domain: str | None,
    outcome: Outcome,
    reason: str,
) -> ProtocolAudit:
    """Every sub-test with the same outcome (probe failed, or a starting point of N/A)."""
    why = reason or None
    return ProtocolAudit(
        url=observation.url,
        address=observation.address,
        relay_test_domain=relay_test_domain,
        own_domain=own_domain,
        relay=RcptTest(outcome, why),
        relay_over_tls=RcptTest(outcome, why, over_tls=True),
        submission=RcptTest(outcome, why),
        auth_before_tls=AuthProbe(outcome, why),
        starttls_injection=InjectionProbe(outcome, why),
        vrfy=EnumerationProbe(outcome, why, command="VRFY"),
        expn=EnumerationProbe(outcome, why, command="EXPN"),
        names=NameFacts(outcome, why),
    )
