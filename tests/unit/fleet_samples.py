"""A fleet Report built in code (no network): N customer domains on the 15 endpoints of 10
shared hosts, shaped like the fleet lab (`lab.sh fleet N`, fixtures/lab/fleet.py).

Every domain misses MTA-STS (low) and TLS-RPT (info); one MX host has a certificate about to
expire (medium, so every domain on it is affected); one POP3 host greets with markup (hostile
text, low); every 1,000th domain's DMARC lookup timed out (not tested: incomplete).
"""

from __future__ import annotations

import dataclasses

from mailaudit.model import (
    SCHEMA_VERSION,
    CheckRun,
    CheckStatus,
    DomainReport,
    EndpointReport,
    Finding,
    Observation,
    ProbeStatus,
    Report,
    RunInfo,
    Scheme,
    Severity,
)
from tests.unit.report_samples import HOSTILE, tls13

MX = (
    ("mail.good.test", "127.0.0.10"),
    ("mail.wellknown.test", "127.0.0.71"),
    ("mail.autodisc.test", "127.0.0.79"),
    ("mx1.provider.test", "127.0.0.76"),
    ("mail.guess.test", "127.0.0.40"),
)
SUBMISSION = (("out-q3.srvonly.test", "127.0.0.75"), ("smtp.guess.test", "127.0.0.41"))
IMAP = (("in-x7.srvonly.test", "127.0.0.74"), ("mail.httponly.test", "127.0.0.73"))
POP3 = (("pop3.guess.test", "127.0.0.42"),)
EXPIRING_MX = "127.0.0.79:25"
HOSTILE_POP3 = "127.0.0.42:110"


def customer(index: int) -> str:
    return f"cust{index:05d}.test"


def _endpoint(host: str, address: str, scheme: Scheme, port: int) -> EndpointReport:
    url = f"{scheme.value}://{host}"
    eid = f"{address}:{port}"
    findings: tuple[Finding, ...] = ()
    greeting = f"220 {host} ESMTP" if scheme.family == "smtp" else "+OK Dovecot ready."
    if eid == EXPIRING_MX:
        findings = (
            Finding(
                id="tls.cert-expiring-soon",
                severity=Severity.MEDIUM,
                subject=url,
                title="Certificate expires soon",
                detail=f"The certificate of {host} expires in 6 days.",
                remediation="Renew the certificate.",
            ),
        )
    if eid == HOSTILE_POP3:
        greeting = f"+OK {HOSTILE}"
        findings = (
            Finding(
                id="banner.version-disclosed",
                severity=Severity.LOW,
                subject=url,
                title="Banner discloses software",
                detail=f"The greeting says {HOSTILE}.",
                remediation="Configure a neutral greeting.",
            ),
        )
    return EndpointReport(
        id=eid,
        url=url,
        address=address,
        port=port,
        names=(host,),
        roles=("mx",) if port == 25 else ("client",),
        domains=(),
        observation=Observation(
            url=url,
            scheme=scheme,
            host=host,
            address=address,
            port=port,
            status=ProbeStatus.COMPLETED,
            greeting=greeting,
            tls=tls13(host),
            elapsed_ms=40,
        ),
        findings=findings,
        checks=(CheckRun("tls.certificate", url, CheckStatus.PASSED),),
    )


def _shared() -> dict[str, EndpointReport]:
    out = {}
    for hosts, ports in (
        (MX, ((Scheme.SMTP, 25),)),
        (SUBMISSION, ((Scheme.SUBMISSION, 587), (Scheme.SMTPS, 465))),
        (IMAP, ((Scheme.IMAP, 143), (Scheme.IMAPS, 993))),
        (POP3, ((Scheme.POP3, 110), (Scheme.POP3S, 995))),
    ):
        for host, address in hosts:
            for scheme, port in ports:
                e = _endpoint(host, address, scheme, port)
                out[e.id] = e
    return out


def _domain(index: int) -> DomainReport:
    name = customer(index)
    ids = [f"{MX[index % 5][1]}:25"]
    ids += [f"{SUBMISSION[index % 2][1]}:{p}" for p in (587, 465)]
    ids += [f"{IMAP[index % 2][1]}:{p}" for p in (143, 993)]
    ids += [f"{POP3[0][1]}:{p}" for p in (110, 995)]
    findings = (
        Finding(
            id="mtasts.missing",
            severity=Severity.LOW,
            subject=name,
            title="No MTA-STS policy",
            detail=f"_mta-sts.{name} has no v=STSv1 record.",
            remediation="Publish an MTA-STS policy.",
        ),
        Finding(
            id="tlsrpt.missing",
            severity=Severity.INFO,
            subject=name,
            title="No TLS-RPT record",
            detail=f"_smtp._tls.{name} has no v=TLSRPTv1 record.",
            remediation="Publish a TLS-RPT record.",
        ),
    )
    dmarc = CheckRun("dmarc.record", name, CheckStatus.PASSED)
    if index % 1000 == 0:
        dmarc = CheckRun("dmarc.record", name, CheckStatus.NOT_TESTED, "DNS timeout")
    return DomainReport(
        domain=name,
        endpoint_ids=tuple(ids),
        not_offered=(f"imap://imap.{name}", f"smtp://mail.{name}"),
        findings=findings,
        checks=(
            CheckRun("dns.mx", name, CheckStatus.PASSED),
            CheckRun("spf.record", name, CheckStatus.PASSED),
            dmarc,
            CheckRun("mtasts.record", name, CheckStatus.FAILED, None, ("mtasts.missing",)),
        ),
    )


def fleet_report(n: int) -> Report:
    shared = _shared()
    domains = tuple(_domain(i) for i in range(1, n + 1))
    users: dict[str, list[str]] = {eid: [] for eid in shared}
    for d in domains:
        for eid in d.endpoint_ids:
            users[eid].append(d.domain)
    endpoints = tuple(dataclasses.replace(e, domains=tuple(users[e.id])) for e in shared.values())
    return Report(
        schema_version=SCHEMA_VERSION,
        run=RunInfo(
            tool_version="0.1.0",
            started_at="2026-12-03T03:00:00+00:00",
            finished_at="2026-12-03T03:01:40+00:00",
            duration_ms=100_000,
            nameservers=("127.0.0.53",),
        ),
        domains=domains,
        endpoints=endpoints,
    )
