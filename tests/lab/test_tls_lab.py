"""The TLS scan and its judgement against the lab's real Postfix and Dovecot.

Names are resolved by our resolver (the lab DNS) and sslyze is given the address. good.test is
scanned once for the whole module (all seven endpoints in one sslyze run, as an audit does); each
bad scenario scans only its own endpoint. A lab that is down fails these tests (the `lab_env`
fixture, and `connected` below), it never skips them.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

from mailaudit.checks.tls import judge_consistency, judge_tls
from mailaudit.context import Context
from mailaudit.model import Finding, Severity
from mailaudit.net.sslyze_adapter import ScanErrorReason, TlsScan, TlsTarget, TlsVersion
from mailaudit.probes.model import Scheme
from mailaudit.probes.tls_scan import scan_tls
from tests.conftest import lab_settings

# Every name of good.test that points at 127.0.0.10; the lab certificate covers them all.
GOOD_NAMES = ("mail.good.test", "smtp.good.test", "imap.good.test", "pop3.good.test")
GOOD_ENDPOINTS = [
    (Scheme.SMTP, "mail.good.test"),
    (Scheme.SUBMISSION, "smtp.good.test"),
    (Scheme.SMTPS, "smtp.good.test"),
    (Scheme.IMAP, "imap.good.test"),
    (Scheme.IMAPS, "imap.good.test"),
    (Scheme.POP3, "pop3.good.test"),
    (Scheme.POP3S, "pop3.good.test"),
]

# Postfix's own defaults on good.test's 587 and 465 (smtpd_tls_mandatory_protocols >=TLSv1,
# anonymous suites allowed server-side) are deprecated protocols and weak suites where clients
# send passwords: medium by the rules. The lab needs, on those two listeners,
#   -o smtpd_tls_mandatory_protocols=>=TLSv1.2 -o smtpd_tls_mandatory_exclude_ciphers=aNULL
# Strict: once the lab is fixed these pass and the marker must go.
_POSTFIX_CLIENT_DEFAULTS = pytest.mark.xfail(
    strict=True,
    reason="lab good.test 587/465 keep Postfix defaults: TLS 1.0/1.1 and anonymous suites",
)


async def _targets(
    ctx: Context, endpoints: list[tuple[Scheme, str]], names: tuple[str, ...] = ()
) -> list[TlsTarget]:
    targets = []
    for scheme, host in endpoints:
        for address in await ctx.resolver.addresses(host):
            targets.append(TlsTarget(host, address, scheme.default_port, scheme, names))
    return targets


def _scan(
    ctx: Context, endpoints: list[tuple[Scheme, str]], names: tuple[str, ...] = ()
) -> list[TlsScan]:
    async def run() -> list[TlsScan]:
        return await scan_tls(ctx, await _targets(ctx, endpoints, names))

    scans = asyncio.run(run())
    # The lab is shared: another test run may be restarting it this very second. One more try
    # for endpoints that refused us; a lab that stays down still fails below.
    if any(
        not s.connected and s.errors and s.errors[0].reason is ScanErrorReason.REFUSED
        for s in scans
    ):
        time.sleep(3)
        scans = asyncio.run(run())
    for s in scans:
        assert s.connected, f"{s.target.url} at {s.target.address}: {s.errors}"
        assert not s.errors, s.errors
    return scans


def _above_low(findings: list[Finding]) -> list[str]:
    return [
        f"{f.severity.value} {f.id}: {f.detail}"
        for f in findings
        if f.severity.at_least(Severity.MEDIUM)
    ]


@pytest.fixture(scope="module")
def lab_context(lab_env: dict[str, str]) -> Context:
    return Context.create(lab_settings(lab_env))


@pytest.fixture(scope="module")
def good_scans(lab_context: Context) -> dict[Scheme, TlsScan]:
    scans = _scan(lab_context, GOOD_ENDPOINTS, GOOD_NAMES)
    return {s.target.scheme: s for s in scans}


# -------------------------------------------------------------------------------- good.test


@pytest.mark.parametrize(
    "scheme",
    [
        Scheme.SMTP,
        pytest.param(Scheme.SUBMISSION, marks=_POSTFIX_CLIENT_DEFAULTS),
        pytest.param(Scheme.SMTPS, marks=_POSTFIX_CLIENT_DEFAULTS),
        Scheme.IMAP,
        Scheme.IMAPS,
        Scheme.POP3,
        Scheme.POP3S,
    ],
)
def test_good_test_has_no_tls_finding_above_low(
    good_scans: dict[Scheme, TlsScan], scheme: Scheme
) -> None:
    scan = good_scans[scheme]
    findings, _ = judge_tls(scan, now=datetime.now(UTC))
    assert _above_low(findings) == []


def test_good_test_facts(good_scans: dict[Scheme, TlsScan]) -> None:
    # One scan per (address, port), every name checked against the certificate.
    assert len(good_scans) == len(GOOD_ENDPOINTS)
    for scan in good_scans.values():
        assert TlsVersion.TLS_1_3 in scan.supported_versions
        assert TlsVersion.SSL_3_0 not in scan.supported_versions
        (deployment,) = scan.certificates
        assert deployment.trusted, deployment.trust_error
        assert deployment.store_results["Supplied CA file"] == ""
        assert set(deployment.name_matches) == set(GOOD_NAMES)
        assert all(deployment.name_matches.values())
        assert deployment.leaf.key_type == "EC"
        assert scan.vulnerabilities.heartbleed is False
        assert scan.vulnerabilities.secure_renegotiation is True


def test_good_test_port_25_is_judged_as_opportunistic_tls(
    good_scans: dict[Scheme, TlsScan],
) -> None:
    # Debian's Postfix defaults on port 25: TLS 1.0 and anonymous suites, which beat plaintext.
    findings, _ = judge_tls(good_scans[Scheme.SMTP], now=datetime.now(UTC))
    by_id = {f.id: f for f in findings}
    assert by_id["tls.protocol-deprecated"].severity is Severity.INFO
    assert by_id["tls.cipher-weak"].severity is Severity.INFO
    for f in findings:
        assert f.context is not None
        assert "RFC 7435" in f.context


def test_good_test_imaps_is_clean_but_for_suites_outside_the_profile(
    good_scans: dict[Scheme, TlsScan],
) -> None:
    findings, _ = judge_tls(good_scans[Scheme.IMAPS], now=datetime.now(UTC))
    assert {f.id for f in findings} <= {"tls.cipher-outside-profile"}


def test_good_test_consistency_is_at_most_low(good_scans: dict[Scheme, TlsScan]) -> None:
    findings = judge_consistency(list(good_scans.values()))
    assert _above_low(findings) == []


# -------------------------------------------------------------------------------- dead.test


# sslyze drops (does not close) its socket when a STARTTLS greeting times out.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_dead_endpoints_are_not_tested_with_the_reason(lab_env: dict[str, str]) -> None:
    # Given the tarpit (accepts, never speaks) and a host that refuses, with short timeouts
    ctx = Context.create(
        lab_settings(lab_env, connect_s=1.0, tls_handshake_s=1.0, endpoint_budget_s=3.0)
    )

    async def run() -> list[TlsScan]:
        targets = await _targets(
            ctx, [(Scheme.SMTP, "mail.dead.test"), (Scheme.IMAPS, "smtp.dead.test")]
        )
        return await scan_tls(ctx, targets, deadline_s=8.0)

    started = time.monotonic()
    tarpit, refused = asyncio.run(run())
    # Then both come back within the deadline as data, judged "not tested", never passed
    assert time.monotonic() - started < 12
    assert tarpit.target.address == "127.0.0.60"
    assert refused.target.address == "127.0.0.61"
    assert not tarpit.connected
    assert tarpit.errors[0].reason in (
        ScanErrorReason.TIMEOUT,
        ScanErrorReason.DEADLINE,
        ScanErrorReason.STARTTLS_REFUSED,
    )
    assert not refused.connected
    assert refused.errors[0].reason is ScanErrorReason.REFUSED
    for scan in (tarpit, refused):
        findings, runs = judge_tls(scan, now=datetime.now(UTC))
        assert [f.id for f in findings] == ["tls.scan-failed"]
        assert all(r.status.value in ("not_tested", "not_applicable") for r in runs)
