"""MX checks: present, null MX (RFC 7505), no CNAME or IP-literal MX, every MX resolvable."""

from __future__ import annotations

from mailaudit.checks.dns_policy._verdict import _failed, _Verdict
from mailaudit.model import (
    LookupStatus,
    PolicyObservation,
    Severity,
)


def _check_mx(obs: PolicyObservation) -> _Verdict:
    v = _Verdict("dns.mx")
    mx, domain = obs.mx, obs.domain
    if mx.lookup.failed:
        v.not_tested(_failed(mx.lookup))
        return v
    if mx.lookup.status is LookupStatus.NXDOMAIN:
        v.add(
            "dns.domain-nxdomain",
            domain,
            f"{domain} does not exist (NXDOMAIN).",
            evidence=[mx.lookup.evidence],
        )
        return v
    if not mx.hosts:
        v.add(
            "dns.mx-missing",
            domain,
            f"{domain} has no MX record; senders fall back to its address records.",
            evidence=[mx.lookup.evidence],
        )
        return v
    if mx.null_mx_records and not mx.is_null_mx:
        v.add(
            "dns.null-mx-invalid",
            domain,
            "A null MX must be the only MX record and have preference 0.",
            evidence=[mx.lookup.evidence],
        )
    for host in mx.mail_hosts:
        if host.is_ip_literal:
            v.add(
                "dns.mx-ip-literal",
                domain,
                f"The MX target {host.host} is an address, not a host name.",
                evidence=[mx.lookup.evidence],
            )
            continue
        if host.canonical_name:
            v.add(
                "dns.mx-cname",
                domain,
                f"The MX target {host.host} is an alias of {host.canonical_name}.",
                evidence=[lk.evidence for lk in host.address_lookups],
            )
        if host.addresses:
            continue
        if host.resolution_failed:
            v.not_tested(
                f"addresses of {host.host}: "
                + ", ".join(_failed(lk) for lk in host.address_lookups if lk.failed)
            )
        else:
            v.add(
                "dns.mx-unresolvable",
                domain,
                f"The MX host {host.host} has no A or AAAA record.",
                evidence=[lk.evidence for lk in host.address_lookups],
                severity=None if _all_unresolvable(obs) else Severity.MEDIUM,
            )
    return v


def _all_unresolvable(obs: PolicyObservation) -> bool:
    return not any(h.addresses for h in obs.mx.mail_hosts)
