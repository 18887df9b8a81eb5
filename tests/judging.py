"""The registry's judges (`mailaudit.checks.judge`) as the tests use them: facts built from the
plain values a test has, results as lists (findings, runs)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from mailaudit.checks import judge
from mailaudit.checks.facts import AddressFacts, EndpointFacts, TlsFacts, TlsHostsFacts
from mailaudit.model import CheckRun, Finding, Observation, ProtocolAudit, TlsScan


def judge_endpoint(
    observation: Observation, audit: ProtocolAudit | None
) -> tuple[list[Finding], list[CheckRun]]:
    out = judge.judge_endpoint(EndpointFacts(observation, audit))
    return list(out.findings), list(out.runs)


def judge_host(observations: Iterable[Observation]) -> tuple[list[Finding], list[CheckRun]]:
    out = judge.judge_address(AddressFacts(tuple(observations)))
    return list(out.findings), list(out.runs)


def judge_host_ports(observations: Iterable[Observation]) -> list[Finding]:
    return judge_host(observations)[0]


def judge_tls(scan: TlsScan, *, now: datetime) -> tuple[list[Finding], list[CheckRun]]:
    out = judge.judge_tls(TlsFacts(scan, now))
    return list(out.findings), list(out.runs)


def judge_consistency(scans: Iterable[TlsScan]) -> list[Finding]:
    return list(judge.judge_tls_hosts(TlsHostsFacts(tuple(scans))).findings)
