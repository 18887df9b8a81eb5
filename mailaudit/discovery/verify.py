"""Verification: every candidate setting is probed with the probe core (a real STARTTLS or
implicit-TLS handshake, the certificate checked against the host name), and the observation is
judged against what the setting promised.

`classify` is pure; `Verifier` does the probing, once per (scheme, host, port) however many
sources name it, within a per-candidate budget so a silent host costs at most that budget.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from mailaudit.context import Context
from mailaudit.model import (
    Endpoint,
    Observation,
    ProbeStatus,
    Scheme,
    Security,
    ServerSetting,
    Verification,
    VerificationStatus,
)
from mailaudit.probes.endpoint import probe

_UNREACHABLE_STEPS = frozenset({"resolve", "connect"})
# Share of the per-candidate budget that one step (connect, a reply, a handshake) may take.
STEP_SHARE = 0.4


def classify(setting: ServerSetting, observation: Observation) -> Verification:
    """Judge one observation against the setting that led to it."""
    mechanisms = observation.auth_mechanisms_after_tls
    failure = observation.failure
    if observation.status is ProbeStatus.REFUSED and failure is not None:
        return Verification(
            VerificationStatus.FAILED, f"server refused: {failure.message}", observation
        )
    if failure is not None:
        tls_failure = failure.reason.startswith("tls")
        if failure.reason == "tls-timeout" or (tls_failure and _is_silence(failure.message)):
            # Accepted TCP, then said nothing: a silent (tarpit) server, not a missing TLS.
            return Verification(
                VerificationStatus.FAILED,
                f"{failure.step}: silent server: {failure.message}",
                observation,
            )
        if tls_failure and setting.security is Security.SSL and _speaks_plaintext(failure.message):
            return Verification(
                VerificationStatus.NO_TLS,
                f"no TLS handshake on port {setting.port} (implicit TLS): {failure.message}",
                observation,
            )
        if tls_failure:
            return Verification(
                VerificationStatus.FAILED, f"TLS handshake failed: {failure.message}", observation
            )
        if failure.reason == "starttls-refused":
            return Verification(VerificationStatus.NO_TLS, failure.message, observation)
        if failure.step in _UNREACHABLE_STEPS or failure.reason.startswith("dns"):
            return Verification(VerificationStatus.UNREACHABLE, failure.message, observation)
        return Verification(
            VerificationStatus.FAILED,
            f"{failure.step}: {failure.reason}: {failure.message}",
            observation,
        )
    tls = observation.tls
    if tls is None:
        if setting.security is Security.PLAIN:
            return Verification(
                VerificationStatus.NO_TLS, "plaintext: the server offers no STARTTLS", observation
            )
        return Verification(
            VerificationStatus.NO_TLS,
            f"the server does not offer STARTTLS on port {setting.port}",
            observation,
        )
    if not tls.certificate_valid:
        return Verification(
            VerificationStatus.CERTIFICATE_INVALID,
            f"certificate not valid for {setting.host}: {tls.verify_error or 'unknown reason'}",
            observation,
            mechanisms,
        )
    if setting.security is Security.PLAIN:
        # Said plain, but the server offers STARTTLS with a good certificate: usable as
        # STARTTLS; the ranking reports the mismatch.
        return Verification(
            VerificationStatus.NO_TLS,
            "setting is plaintext, but the server offers STARTTLS with a valid certificate",
            observation,
            mechanisms,
        )
    return Verification(
        VerificationStatus.VERIFIED,
        f"{tls.version}, certificate valid for {setting.host}",
        observation,
        mechanisms,
    )


def _is_silence(message: str) -> bool:
    # The probe reports every TLS failure with reason "tls"; a handshake that timed out says
    # so in its message ("no answer within ...").
    text = message.lower()
    return "no answer within" in text or "timed out" in text or "timeout" in text


def _speaks_plaintext(message: str) -> bool:
    # What OpenSSL says when the first bytes back are not a TLS record, i.e. the server greeted
    # in clear text on a port the setting calls implicit TLS. Other handshake failures (a reset,
    # a bad cipher) prove nothing about the port and stay "failed".
    text = message.lower()
    return any(
        sign in text
        for sign in (
            "wrong version number",
            "unknown protocol",
            "record layer failure",
            "packet length too long",
        )
    )


def probe_key(setting: ServerSetting) -> tuple[Scheme, str, int]:
    return (setting.scheme, setting.host, setting.port)


class Verifier:
    """Probes each (scheme, host, port) once for the whole run."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._tasks: dict[tuple[Scheme, str, int], asyncio.Task[Observation | None]] = {}

    async def verify(
        self, setting: ServerSetting, *, budget_s: float, delay_s: float = 0.0
    ) -> Verification:
        key = probe_key(setting)
        task = self._tasks.get(key)
        if task is None:
            task = asyncio.create_task(self._probe(setting, budget_s, delay_s))
            self._tasks[key] = task
        # Shielded: a cancelled caller (a guess no longer needed) must not cancel a probe that
        # another source is waiting for.
        observation = await asyncio.shield(task)
        if observation is None:
            return Verification(
                VerificationStatus.UNREACHABLE,
                f"no answer within the per-candidate budget of {budget_s:g} s",
            )
        return classify(setting, observation)

    async def _probe(
        self, setting: ServerSetting, budget_s: float, delay_s: float
    ) -> Observation | None:
        if delay_s:
            await asyncio.sleep(delay_s)
        # Once per run, not once per discovery: thousands of customer domains name the same
        # shared hosts (issue 11), and the audit reuses these observations too.
        return await self._ctx.memo.once(
            ("verify", *probe_key(setting), budget_s),
            lambda: self._probe_once(setting, budget_s),
        )

    async def _probe_once(self, setting: ServerSetting, budget_s: float) -> Observation | None:
        ctx = budgeted(self._ctx, budget_s)
        endpoint = Endpoint(setting.scheme, setting.host, setting.port)
        try:
            # The probe keeps its own budget; this outer one also bounds DNS and queueing.
            async with asyncio.timeout(budget_s + 1.0):
                return await probe(ctx, endpoint)
        except TimeoutError:
            return None

    async def close(self) -> None:
        """Cancel probes nobody waits for any more."""
        pending = [t for t in self._tasks.values() if not t.done()]
        for task in pending:
            task.cancel()
        # Not `suppress(CancelledError)` around each await: that would also swallow our own
        # cancellation (Ctrl-C landing here let a fleet run on to its end, exit 3, not 130).
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


def budgeted(ctx: Context, budget_s: float) -> Context:
    """The same context (resolver, trust store, politeness slots) with the endpoint bounded by
    the per-candidate budget and each step (connect, one reply, one handshake) by 40 % of it:
    a server that accepts TCP and stays silent is given up after that step, not the whole
    budget."""
    t = ctx.settings.timeouts
    step_s = budget_s * STEP_SHARE
    timeouts = replace(
        t,
        connect_s=min(t.connect_s, step_s),
        reply_s=min(t.reply_s, step_s),
        tls_handshake_s=min(t.tls_handshake_s, step_s),
        endpoint_budget_s=min(t.endpoint_budget_s, budget_s),
    )
    return ctx.with_settings(replace(ctx.settings, timeouts=timeouts))
