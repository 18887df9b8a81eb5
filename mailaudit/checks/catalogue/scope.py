"""Findings about what the tool may touch: names that lead into private networks (the SSRF
guard, `mailaudit.net.addresses`) and endpoints outside the audit's scope."""

from mailaudit.checks.catalogue._entry import Entry
from mailaudit.model import Severity

ENTRIES: tuple[Entry, ...] = tuple(
    [
        Entry(
            id="scope.private-address-refused",
            severity=Severity.MEDIUM,
            title="A published name leads into a private network",
            remediation=(
                "A DNS answer, MX or SRV target, or HTTP redirect of this domain points at a "
                "loopback, private, shared, link-local, unique-local, multicast or reserved "
                "address. Public clients cannot use it, and an auditor inside a network would "
                "be led to probe its own hosts (SSRF); mailaudit did not connect. Publish "
                "global addresses, or audit with --allow-private if the target is internal by "
                "design."
            ),
            references=("RFC 6890", "RFC 1918", "RFC 6598", "RFC 4193"),
        ),
        Entry(
            id="scope.out-of-scope",
            severity=Severity.LOW,
            title="Out of scope, not actively tested",
            remediation=(
                "The domain's published settings (autoconfig, ISPDB, Autodiscover, redirects) "
                "name a host outside the domain, its MX hosts and their provider. mailaudit "
                "only looked at it passively (greeting, capabilities, certificate). If the host "
                "is yours to test, audit again with --scope <its domain>; if not, check that "
                "the published settings are meant to send your users there."
            ),
            references=("https://wiki.mozilla.org/Thunderbird:Autoconfiguration",),
        ),
    ]
)
