"""The banner checks (`banner.version-disclosed`, `banner.hostname-mismatch`) and their pure
helpers: software versions in greetings, and whether the greeting name agrees with reverse DNS,
forward DNS and the certificate."""

from __future__ import annotations

import re
from collections.abc import Iterable

from mailaudit.checks.catalogue import finding
from mailaudit.checks.facts import EndpointFacts
from mailaudit.checks.protocol_common import transcript_evidence
from mailaudit.checks.protocol_verdict import Verdict, failed
from mailaudit.model import CheckStatus
from mailaudit.model import Outcome as SubtestOutcome

# Product, then a version of at least two numeric parts. Postfix and Dovecot do not put their
# version in the default banner, but admins add `$mail_version` / `login_greeting` text.
_VERSION_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("Postfix", r"\bPostfix[ /(v-]*(\d+\.\d+(?:\.\d+)*)"),
        ("Exim", r"\bExim[ /v]*(\d+\.\d+(?:\.\d+)*)"),
        ("Sendmail", r"\bSendmail[ /v]*(\d+\.\d+(?:\.\d+)*)"),
        ("Dovecot", r"\bDovecot[ /(v-]*(\d+\.\d+(?:\.\d+)*)"),
        ("Microsoft Exchange", r"\bVersion:?\s*(\d+\.\d+\.\d+(?:\.\d+)*)"),
        ("Courier", r"\bCourier[- ](?:IMAP|POP3|MTA)?[ /v]*(\d+\.\d+(?:\.\d+)*)"),
        ("Cyrus", r"\bCyrus\b.*?\bv?(\d+\.\d+(?:\.\d+)*)"),
        ("OpenSMTPD", r"\bOpenSMTPD[ /v]*(\d+\.\d+(?:\.\d+)*)"),
        ("qmail", r"\bqmail[ /v]*(\d+\.\d+(?:\.\d+)*)"),
        ("Zimbra", r"\bZimbra[ /v]*(\d+\.\d+(?:\.\d+)*)"),
        ("MDaemon", r"\bMDaemon[ /v]*(\d+\.\d+(?:\.\d+)*)"),
        ("hMailServer", r"\bhMailServer[ /v]*(\d+\.\d+(?:\.\d+)*)"),
        ("Haraka", r"\bHaraka[ /v]*(\d+\.\d+(?:\.\d+)*)"),
        ("Axigen", r"\bAxigen\b.*?(\d+\.\d+(?:\.\d+)*)"),
        ("CommuniGate Pro", r"\bCommuniGate Pro[ /v]*(\d+\.\d+(?:\.\d+)*)"),
        ("Kerio Connect", r"\bKerio Connect[ /v]*(\d+\.\d+(?:\.\d+)*)"),
        ("IceWarp", r"\bIceWarp[ /v]*(\d+\.\d+(?:\.\d+)*)"),
        ("Domino", r"\bDomino\b.*?\b(?:Release\s*)?(\d+\.\d+(?:\.\d+)*)"),
        ("UW IMAP", r"\bIMAP4rev1\s+(?:v|server\s+)?(\d{4}\.\d+)"),
    )
)


def disclosed_versions(texts: Iterable[str]) -> list[tuple[str, str, str]]:
    """(product, version, the text it was found in) for each product version found."""
    found: list[tuple[str, str, str]] = []
    for text in texts:
        for product, pattern in _VERSION_PATTERNS:
            match = pattern.search(text)
            if match and not any(p == product for p, _, _ in found):
                found.append((product, match.group(1), text))
    return found


def name_matches(name: str, patterns: Iterable[str]) -> bool:
    """RFC 6125 §6.4 matching of a host name against certificate DNS names (one wildcard in the
    left-most label only)."""
    name = name.lower().rstrip(".")
    for pattern in patterns:
        pattern = pattern.lower().rstrip(".")
        if pattern == name:
            return True
        if pattern.startswith("*."):
            head, _, rest = name.partition(".")
            if head and rest == pattern[2:] and "." in rest:
                return True
    return False


def hostname_problems(
    *,
    greeting_name: str | None,
    address: str | None,
    ptr_names: tuple[str, ...],
    forward: dict[str, tuple[str, ...]],
    certificate_names: tuple[str, ...] | None,
) -> list[str]:
    """What does not agree, one sentence each; empty when all agree."""
    problems: list[str] = []
    ptrs = tuple(p.lower().rstrip(".") for p in ptr_names)
    if greeting_name is None:
        problems.append("the greeting does not start with a fully qualified host name")
    if not ptrs:
        problems.append(f"{address} has no PTR record")
    elif greeting_name is not None and greeting_name not in ptrs:
        problems.append(
            f"the greeting name {greeting_name} is not the PTR name of {address} "
            f"({', '.join(ptrs)})"
        )
    for name, addresses in forward.items():
        if address is not None and address not in addresses:
            problems.append(
                f"the PTR name {name} does not resolve back to {address} "
                f"({', '.join(addresses) or 'no address'})"
            )
    if (
        greeting_name is not None
        and certificate_names is not None
        and not name_matches(greeting_name, certificate_names)
    ):
        problems.append(
            f"the certificate names ({', '.join(certificate_names) or 'none'}) do not "
            f"cover the greeting name {greeting_name}"
        )
    return problems


# ------------------------------------------------------------------------------------ checks
def version_disclosed(facts: EndpointFacts) -> Verdict:
    """`banner.version-disclosed`: a software version in the greeting or IMAP ID/IMPLEMENTATION."""
    obs = facts.observation
    texts = [obs.greeting] if obs.greeting else []
    texts += [c for c in (*obs.capabilities_before_tls, *obs.capabilities_after_tls)
              if c.upper().startswith("IMPLEMENTATION")]  # fmt: skip
    if not texts:
        return Verdict(CheckStatus.NOT_TESTED, "no greeting seen")
    found = disclosed_versions(texts)
    if not found:
        return Verdict(CheckStatus.PASSED, "no software version in the greeting")
    detail = "The server announces " + ", ".join(f"{p} {v}" for p, v, _ in found) + "."
    evidence = sorted({f"S: {text}" for _, _, text in found})
    return failed(finding("banner.version-disclosed", obs.url, detail, evidence=evidence))


def hostname_mismatch(facts: EndpointFacts) -> Verdict:
    """`banner.hostname-mismatch`: the greeting name against PTR, forward DNS and certificate."""
    audit = facts.audit
    names = audit.names if audit else None
    if audit is None or names is None:
        return Verdict(CheckStatus.NOT_TESTED, "the protocol audit was not run")
    if names.outcome is SubtestOutcome.NOT_APPLICABLE:
        return Verdict(CheckStatus.NOT_APPLICABLE, names.reason)
    if names.outcome is not SubtestOutcome.DONE:
        return Verdict(CheckStatus.NOT_TESTED, names.reason)
    obs = facts.observation
    cert = obs.tls.certificate if obs.tls else None
    greeting = obs.greeting_name
    problems = hostname_problems(
        greeting_name=greeting,
        address=obs.address,
        ptr_names=names.ptr_names,
        forward=names.forward,
        certificate_names=cert.dns_names if cert else None,
    )
    if not problems:
        return Verdict(
            CheckStatus.PASSED, f"{greeting} agrees with PTR, forward DNS and certificate"
        )
    text = "; ".join(problems)
    detail = text[:1].upper() + text[1:] + "."
    evidence = [f"S: {obs.greeting.splitlines()[0]}"] if obs.greeting else []
    evidence += transcript_evidence(names.evidence)
    if cert is not None:
        evidence.append(f"*: certificate names: {', '.join(cert.dns_names) or '(none)'}")
    return failed(finding("banner.hostname-mismatch", obs.url, detail, evidence=evidence))
