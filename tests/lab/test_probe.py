"""`probe` against the real Postfix and Dovecot of the lab."""

from __future__ import annotations

import pytest

from mailaudit.context import Context
from mailaudit.model import Endpoint, ProbeStatus
from mailaudit.probes.endpoint import probe, probe_all_addresses

GOOD_STARTTLS = [
    "smtp://mail.good.test",
    "submission://smtp.good.test",
    "imap://imap.good.test",
    "pop3://pop3.good.test",
]
GOOD_IMPLICIT = ["smtps://smtp.good.test", "imaps://imap.good.test", "pop3s://pop3.good.test"]


@pytest.mark.parametrize("url", GOOD_STARTTLS)
async def test_starttls_is_performed_and_certificate_valid(lab_ctx: Context, url: str) -> None:
    obs = await probe(lab_ctx, Endpoint.parse(url))

    assert obs.status is ProbeStatus.COMPLETED, obs.failure
    assert obs.starttls_offered is True
    assert obs.tls is not None
    assert obs.tls.certificate_valid, obs.tls.verify_error
    assert obs.tls.version in ("TLSv1.2", "TLSv1.3")
    assert obs.capabilities_before_tls
    assert obs.capabilities_after_tls
    # good.test disables login before TLS everywhere.
    assert obs.login_offered_before_tls is False
    # STARTTLS is not offered a second time inside TLS (RFC 3207 §4.2).
    assert obs.starttls_offered_after_tls is False
    assert any(line.text.startswith("TLS established") for line in obs.transcript)


@pytest.mark.parametrize("url", GOOD_IMPLICIT)
async def test_implicit_tls_endpoints(lab_ctx: Context, url: str) -> None:
    obs = await probe(lab_ctx, Endpoint.parse(url))

    assert obs.status is ProbeStatus.COMPLETED, obs.failure
    assert obs.tls is not None
    assert obs.tls.certificate_valid
    assert obs.starttls_offered is None
    assert obs.greeting


async def test_submission_offers_auth_only_after_tls(lab_ctx: Context) -> None:
    obs = await probe(lab_ctx, Endpoint.parse("submission://smtp.good.test"))

    assert obs.auth_mechanisms_before_tls == ()
    assert "PLAIN" in obs.auth_mechanisms_after_tls


@pytest.mark.parametrize(
    "url", ["submission://smtp.plain.test", "pop3://pop3.plain.test", "imap://imap.plain.test"]
)
async def test_plain_test_offers_login_before_tls(lab_ctx: Context, url: str) -> None:
    obs = await probe(lab_ctx, Endpoint.parse(url))

    assert obs.status is ProbeStatus.COMPLETED, obs.failure
    assert obs.login_offered_before_tls is True


async def test_certificate_checked_against_the_name_we_asked_for(lab_ctx: Context) -> None:
    # Given a name that resolves to good.test's server but is not in its certificate
    addresses = await lab_ctx.resolver.addresses("mail.good.test")
    obs = await probe(lab_ctx, Endpoint.parse(f"smtps://{addresses[0]}:465"))

    # Then the handshake still completes (we look further) but the certificate is invalid
    assert obs.status is ProbeStatus.COMPLETED, obs.failure
    assert obs.tls is not None
    assert not obs.tls.certificate_valid
    assert obs.tls.verify_error


async def test_silent_server_times_out_within_budget(fast_lab_ctx: Context) -> None:
    obs = await probe(fast_lab_ctx, Endpoint.parse("smtp://mail.dead.test"))

    assert obs.status is ProbeStatus.FAILED
    assert obs.failure is not None
    assert obs.failure.reason == "timeout"
    assert obs.failure.step == "greeting"
    assert obs.elapsed_ms < fast_lab_ctx.settings.timeouts.endpoint_budget_s * 1000 + 500


async def test_refused_connection_is_reported(fast_lab_ctx: Context) -> None:
    obs = await probe(fast_lab_ctx, Endpoint.parse("submission://smtp.dead.test"))

    assert obs.status is ProbeStatus.FAILED
    assert obs.failure is not None
    assert obs.failure.reason == "refused"


async def test_unknown_host_is_a_dns_failure(fast_lab_ctx: Context) -> None:
    (obs,) = await probe_all_addresses(fast_lab_ctx, Endpoint.parse("imap://nonexistent.good.test"))

    assert obs.status is ProbeStatus.FAILED
    assert obs.failure is not None
    assert obs.failure.reason == "dns-nxdomain"
