"""SPF checks (RFC 7208): one record, syntax, the lookup limits, the `all` policy, HELO."""

from __future__ import annotations

from mailaudit.checks.dns_policy._verdict import _failed, _mx_gate, _not_applicable, _Verdict
from mailaudit.model import (
    PolicyObservation,
    SpfFacts,
)
from mailaudit.policy.spf import DNS_LOOKUP_LIMIT, VOID_LOOKUP_LIMIT, Mechanism, Qualifier


def _check_spf_record(obs: PolicyObservation) -> _Verdict:
    v = _Verdict("spf.record")
    spf, domain = obs.spf, obs.domain
    if spf.lookup.failed:
        v.not_tested(_failed(spf.lookup))
        return v
    if not spf.records:
        v.add(
            "spf.missing",
            domain,
            f"{domain} publishes no v=spf1 record.",
            evidence=[spf.lookup.evidence],
        )
        return v
    if len(spf.records) > 1:
        v.add(
            "spf.multiple-records",
            domain,
            f"{domain} publishes {len(spf.records)} v=spf1 records.",
            evidence=spf.records,
        )
        return v
    assert spf.record is not None
    if spf.record.errors:
        v.add("spf.syntax", domain, "; ".join(spf.record.errors), evidence=[spf.record.text])
    ptr_users = [
        f"{n.domain}: {n.record.text}"
        for n in spf.nodes
        if any(m.kind is Mechanism.PTR for m in n.record.mechanisms)
    ]
    if ptr_users or any(m.kind is Mechanism.PTR for m in spf.record.mechanisms):
        v.add(
            "spf.ptr-mechanism",
            domain,
            "The SPF policy uses the ptr mechanism.",
            evidence=ptr_users or [spf.record.text],
        )
    return v


def _check_spf_lookups(obs: PolicyObservation) -> _Verdict:
    v = _Verdict("spf.lookups")
    spf, domain = obs.spf, obs.domain
    if spf.record is None or not spf.walked:
        if spf.lookup.failed:
            v.not_tested(_failed(spf.lookup))
            return v
        return _not_applicable(v.check, "no single SPF record to evaluate")
    if spf.record.errors:
        return _not_applicable(v.check, "the SPF record itself is invalid")
    at_least = "at least " if spf.incomplete else ""
    if spf.lookup_count > DNS_LOOKUP_LIMIT:
        v.add(
            "spf.too-many-lookups",
            domain,
            f"Evaluating the SPF policy of {domain} takes {at_least}{spf.lookup_count} DNS lookups; the limit is {DNS_LOOKUP_LIMIT}.",
            evidence=spf.lookup_terms,
        )
    if spf.void_lookup_count > VOID_LOOKUP_LIMIT:
        v.add(
            "spf.too-many-void-lookups",
            domain,
            f"{spf.void_lookup_count} terms of the SPF policy of {domain} look up names with no records; the limit is {VOID_LOOKUP_LIMIT}.",
            evidence=spf.void_lookups,
        )
    for problem in spf.problems:
        v.add("spf.include-broken", domain, problem, evidence=[problem])
    if spf.incomplete:
        v.not_tested(f"SPF walk incomplete: {spf.incomplete}")
    return v


def _final_records(spf: SpfFacts) -> list[tuple[str, Qualifier | None]]:
    """The `all` in force: the top record's, or along its redirect= chain."""
    chain: list[tuple[str, Qualifier | None]] = []
    for node in spf.nodes:
        if node.via in ("top", "redirect"):
            mechanism = node.record.all_mechanism
            chain.append((node.domain, mechanism.qualifier if mechanism else None))
    return chain


def _check_spf_all(obs: PolicyObservation) -> _Verdict:
    v = _Verdict("spf.all")
    spf, domain = obs.spf, obs.domain
    if spf.record is None or spf.record.errors:
        if spf.lookup.failed:
            v.not_tested(_failed(spf.lookup))
            return v
        return _not_applicable(v.check, "no valid SPF record")
    chain = _final_records(spf) or [
        (domain, spf.record.all_mechanism.qualifier if spf.record.all_mechanism else None)
    ]
    # The first record along the redirect chain that has an "all" decides; without one, the
    # default result is neutral (RFC 7208 §4.7).
    deciding = next(((d, q) for d, q in chain if q is not None), None)
    redirect_unresolved = spf.record.effective_redirect is not None and len(chain) == 1
    if deciding is None and redirect_unresolved:
        v.not_tested(f"the redirect= target of {domain} could not be evaluated")
    elif deciding is None or deciding[1] is Qualifier.NEUTRAL:
        where = f" (in {deciding[0]})" if deciding and deciding[0] != domain else ""
        what = (
            "ends in ?all"
            if deciding
            else "has no 'all' term, so unlisted hosts get a neutral result"
        )
        v.add(
            "spf.neutral-all",
            domain,
            f"The SPF policy of {domain} {what}{where}.",
            evidence=[spf.record.text],
        )
    elif deciding[1] is Qualifier.PASS:
        where = f" (in {deciding[0]})" if deciding[0] != domain else ""
        v.add(
            "spf.plus-all",
            domain,
            f"The SPF policy of {domain} ends in +all{where}: every host passes.",
            evidence=[spf.record.text],
        )
    elif deciding[1] is Qualifier.SOFTFAIL:
        v.add(
            "spf.softfail-all",
            domain,
            f"The SPF policy of {domain} ends in ~all.",
            evidence=[spf.record.text],
        )
    # An include of a record that passes everything matches every sender (RFC 7208 §5.2).
    for node in spf.nodes:
        mechanism = node.record.all_mechanism
        if (
            node.via == "include"
            and mechanism is not None
            and mechanism.qualifier is Qualifier.PASS
        ):
            v.add(
                "spf.plus-all",
                domain,
                f"{domain} includes {node.domain}, whose record ends in +all: the include matches every host.",
                evidence=[f"{node.domain}: {node.record.text}"],
            )
    return v


def _check_spf_helo(obs: PolicyObservation) -> _Verdict:
    v = _Verdict("spf.helo")
    gate = _mx_gate(obs, v.check)
    if gate is not None:
        return gate
    if not obs.helo_spf:
        return _not_applicable(v.check, "no MX host inside the organisational domain")
    for facts in obs.helo_spf:
        if facts.lookup.failed:
            v.not_tested(_failed(facts.lookup))
        elif not facts.records:
            v.add(
                "spf.helo-missing",
                obs.domain,
                f"The MX host {facts.domain} publishes no SPF record.",
                evidence=[facts.lookup.evidence],
            )
    return v
