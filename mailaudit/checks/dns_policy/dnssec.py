"""DNSSEC, DANE (RFC 7672) and reverse DNS checks."""

from __future__ import annotations

from mailaudit.checks.dns_policy._verdict import _failed, _mx_gate, _not_applicable, _Verdict
from mailaudit.model import (
    PolicyObservation,
)


def _check_dnssec(obs: PolicyObservation) -> _Verdict:
    v = _Verdict("dnssec")
    facts = obs.dnssec
    evidence = [lk.evidence + (" (AD)" if lk.authenticated else "") for lk in facts.dnskey]
    signed = facts.signed
    if signed is None:
        v.not_tested(", ".join(_failed(lk) for lk in facts.dnskey if lk.failed))
    elif not signed:
        v.add(
            "dnssec.unsigned",
            obs.domain,
            f"No DNSKEY at {obs.domain} or its organisational domain.",
            evidence=evidence,
        )
    elif not facts.validated:
        v.add(
            "dnssec.not-validated",
            obs.domain,
            "The zone publishes DNSKEY records but the resolver did not set the AD bit.",
            evidence=evidence,
        )
    return v


def _check_dane(obs: PolicyObservation) -> _Verdict:
    v = _Verdict("dane")
    gate = _mx_gate(obs, v.check)
    if gate is not None:
        return gate
    with_records = [d for d in obs.dane if d.records]
    for facts in obs.dane:
        if facts.lookup.failed:
            v.not_tested(_failed(facts.lookup))
    if not with_records:
        if v.reasons:
            return v
        return _not_applicable(v.check, "no TLSA records at the MX hosts")
    for facts in with_records:
        records = [r.text for r in facts.records]
        if not facts.validated:
            v.add(
                "dane.tlsa-unvalidated",
                obs.domain,
                f"{facts.lookup.name} has TLSA records but these answers were not "
                f"DNSSEC-validated: {', '.join(facts.unvalidated_answers)}; DANE does not apply.",
                evidence=[
                    facts.lookup.evidence,
                    *(f"{a}: no AD bit" for a in facts.unvalidated_answers),
                ],
            )
            continue
        usable = [r for r in facts.records if r.is_usable]
        if not usable:
            reasons = sorted({r.unusable_reason or "" for r in facts.records})
            v.add(
                "dane.tlsa-unusable",
                obs.domain,
                f"No TLSA record of {facts.host} is usable for SMTP: {'; '.join(reasons)}.",
                evidence=records,
            )
            continue
        if not facts.chains_gathered:
            v.not_tested(f"{facts.host}: the certificate chain was not gathered")
            continue
        for chain in facts.chains:
            if chain.match is None:
                v.not_tested(f"{facts.host} ({chain.address}): {chain.error}")
            elif not chain.match.matched:
                notes = [f"{c.record.text}: {c.note}" for c in chain.match.checks if c.note]
                if chain.match.presented_record:
                    notes.append(
                        f"the server's key as a DANE-EE record: {chain.match.presented_record}"
                    )
                v.add(
                    "dane.tlsa-mismatch",
                    obs.domain,
                    f"The certificate that {facts.host} ({chain.address}) presents matches none of its {chain.match.usable_records} usable TLSA records.",
                    evidence=records + notes,
                )
    return v


def _check_ptr(obs: PolicyObservation) -> _Verdict:
    v = _Verdict("ptr")
    gate = _mx_gate(obs, v.check)
    if gate is not None:
        return gate
    if not obs.reverse_dns:
        return _not_applicable(v.check, "no MX addresses")
    for rdns in obs.reverse_dns:
        where = f"{rdns.address} ({rdns.host})"
        if rdns.lookup.failed:
            v.not_tested(f"PTR of {where}: {rdns.lookup.error}")
        elif not rdns.names:
            v.add(
                "ptr.missing",
                obs.domain,
                f"The MX address {where} has no PTR record.",
                evidence=[rdns.lookup.evidence],
            )
        elif not rdns.confirmed_names:
            if rdns.forward_failures:
                v.not_tested(f"forward lookups for {where}: " + ", ".join(rdns.forward_failures))
            else:
                v.add(
                    "ptr.not-forward-confirmed",
                    obs.domain,
                    f"The PTR of {where} names {', '.join(rdns.names)}, which does not resolve back to {rdns.address}.",
                    evidence=[rdns.lookup.evidence],
                )
    return v
