"""Findings of the dns area: MX, SPF, DMARC, MTA-STS, TLS-RPT, DNSSEC, DANE and reverse DNS
(`mailaudit.checks.dns_policy`)."""

from mailaudit.checks.catalogue._entry import Entry
from mailaudit.model import Severity

ENTRIES: tuple[Entry, ...] = tuple(
    [
        # --- MX -----------------------------------------------------------------------------
        Entry(
            id="dns.domain-nxdomain",
            severity=Severity.HIGH,
            title="The domain does not exist in DNS",
            remediation="Check the domain name; a domain that does not exist receives no mail and "
            "its senders' mail is rejected everywhere.",
            references=("RFC 5321 §5.1",),
        ),
        Entry(
            id="dns.mx-missing",
            severity=Severity.MEDIUM,
            title="No MX record",
            remediation="Publish MX records naming the hosts that receive mail for the domain. "
            "Without one, senders fall back to the domain's own address (the implicit MX); a domain "
            "that receives no mail should publish a null MX (`MX 0 .`) instead.",
            references=("RFC 5321 §5.1", "RFC 7505"),
        ),
        Entry(
            id="dns.null-mx-invalid",
            severity=Severity.MEDIUM,
            title="Malformed null MX",
            remediation="A domain that accepts no mail publishes exactly one MX record, `0 .`, and "
            "no other MX records.",
            references=("RFC 7505 §3",),
        ),
        Entry(
            id="dns.mx-cname",
            severity=Severity.LOW,
            title="MX target is an alias (CNAME)",
            remediation="Point the MX record at the canonical host name, not at a CNAME; some "
            "senders refuse or mishandle aliases there, and DANE lookups become more fragile.",
            references=("RFC 2181 §10.3", "RFC 5321 §5.1"),
        ),
        Entry(
            id="dns.mx-ip-literal",
            severity=Severity.MEDIUM,
            title="MX target is an IP address",
            remediation="An MX record names a host, never an address: give the server a host name "
            "with A/AAAA records and use that name as the MX target.",
            references=("RFC 5321 §5.1", "RFC 1035 §3.3.9"),
        ),
        Entry(
            id="dns.mx-unresolvable",
            severity=Severity.HIGH,
            severities=(Severity.MEDIUM, Severity.HIGH),
            title="MX host has no address",
            remediation="Every MX host name needs A and/or AAAA records; senders skip (or bounce on) "
            "an MX they cannot resolve.",
            references=("RFC 5321 §5.1",),
        ),
        # --- SPF ----------------------------------------------------------------------------
        Entry(
            id="spf.missing",
            severity=Severity.MEDIUM,
            title="No SPF record",
            remediation="Publish one TXT record starting with `v=spf1` that lists the hosts allowed "
            "to send for the domain and ends in `-all` (or `v=spf1 -all` for a domain that sends "
            "no mail).",
            references=("RFC 7208 §3", "RFC 7208 §4.5"),
        ),
        Entry(
            id="spf.multiple-records",
            severity=Severity.HIGH,
            title="More than one SPF record",
            remediation="Merge the `v=spf1` records into one: with several, SPF evaluation is a "
            "permerror and the policy is ignored.",
            references=("RFC 7208 §3.2", "RFC 7208 §4.5"),
        ),
        Entry(
            id="spf.syntax",
            severity=Severity.HIGH,
            title="SPF record has syntax errors",
            remediation="Fix the record so that it follows the SPF grammar; a syntax error makes "
            "every evaluation a permerror, so the policy is not applied.",
            references=("RFC 7208 §4.6", "RFC 7208 §12"),
        ),
        Entry(
            id="spf.include-broken",
            severity=Severity.HIGH,
            title="SPF include or redirect cannot be evaluated",
            remediation="Every `include:` and `redirect=` must name a domain with exactly one valid "
            "SPF record, without loops; otherwise evaluation ends in a permerror when it reaches "
            "that term.",
            references=("RFC 7208 §5.2", "RFC 7208 §6.1"),
        ),
        Entry(
            id="spf.too-many-lookups",
            severity=Severity.HIGH,
            title="SPF record needs more than 10 DNS lookups",
            remediation="Reduce the `include`, `a`, `mx`, `ptr`, `exists` and `redirect` terms "
            "(counted through every include) to at most 10, e.g. by replacing includes with "
            "`ip4:`/`ip6:` ranges; beyond 10, receivers return permerror.",
            references=("RFC 7208 §4.6.4",),
        ),
        Entry(
            id="spf.too-many-void-lookups",
            severity=Severity.MEDIUM,
            title="SPF record has more than 2 void lookups",
            remediation="Remove terms that point at names with no records (NXDOMAIN or an empty "
            "answer); receivers return permerror after two of them.",
            references=("RFC 7208 §4.6.4",),
        ),
        Entry(
            id="spf.plus-all",
            severity=Severity.CRITICAL,
            title="SPF record authorises every host on the internet (+all)",
            remediation="Replace `+all` (or a bare `all`) with `-all`: as it stands, any host may "
            "send mail as this domain and pass SPF.",
            references=("RFC 7208 §5.1",),
        ),
        Entry(
            id="spf.neutral-all",
            severity=Severity.LOW,
            title="SPF record ends in a neutral policy (?all or no all)",
            remediation="End the record with `-all` (or `~all` while migrating): a neutral result "
            "tells receivers nothing about unlisted hosts.",
            references=("RFC 7208 §4.7", "RFC 7208 §8.2"),
        ),
        Entry(
            id="spf.softfail-all",
            severity=Severity.INFO,
            title="SPF record ends in ~all (softfail)",
            remediation="Once every sending host is listed, tighten `~all` to `-all`. With DMARC at "
            "p=quarantine or p=reject the difference is small.",
            references=("RFC 7208 §8.5",),
        ),
        Entry(
            id="spf.ptr-mechanism",
            severity=Severity.LOW,
            title="SPF record uses the ptr mechanism",
            remediation="Replace `ptr` with `ip4:`/`ip6:` or `a` terms; `ptr` is slow, unreliable and "
            "some receivers ignore it.",
            references=("RFC 7208 §5.5",),
        ),
        Entry(
            id="spf.helo-missing",
            severity=Severity.LOW,
            title="No SPF record for the MX host name (HELO identity)",
            remediation="Publish `v=spf1 a -all` (or the host's addresses) at each mail host name, "
            "so that the HELO identity used when it sends mail can be checked.",
            references=("RFC 7208 §2.3",),
        ),
        # --- DMARC --------------------------------------------------------------------------
        Entry(
            id="dmarc.missing",
            severity=Severity.MEDIUM,
            title="No DMARC record",
            remediation='Publish `_dmarc.<domain> TXT "v=DMARC1; p=none; rua=mailto:..."`, watch '
            "the reports, then move to p=quarantine and p=reject.",
            references=("RFC 7489 §6.1", "RFC 7489 §6.6.3"),
        ),
        Entry(
            id="dmarc.multiple-records",
            severity=Severity.HIGH,
            title="More than one DMARC record",
            remediation="Keep exactly one `v=DMARC1` record at `_dmarc.<domain>`: with several, "
            "receivers apply none.",
            references=("RFC 7489 §6.6.3",),
        ),
        Entry(
            id="dmarc.syntax",
            severity=Severity.MEDIUM,
            severities=(Severity.LOW, Severity.MEDIUM, Severity.HIGH),
            title="DMARC record has syntax errors",
            remediation="Fix the record: it must start with `v=DMARC1; p=...` and use valid tag "
            "values; an invalid `p` makes receivers treat the record as p=none or ignore it.",
            references=("RFC 7489 §6.3", "RFC 7489 §6.4"),
        ),
        Entry(
            id="dmarc.policy-none",
            severity=Severity.MEDIUM,
            title="DMARC policy is p=none (monitoring only)",
            remediation="Once the reports show that legitimate mail passes, move to p=quarantine "
            "and then p=reject; p=none lets spoofed mail through.",
            references=("RFC 7489 §6.3",),
        ),
        Entry(
            id="dmarc.pct-partial",
            severity=Severity.LOW,
            title="DMARC policy applies to part of the mail only (pct < 100)",
            remediation="Raise `pct` to 100 (or drop it) once the rollout is done.",
            references=("RFC 7489 §6.3",),
        ),
        Entry(
            id="dmarc.subdomain-policy-none",
            severity=Severity.LOW,
            title="DMARC leaves subdomains unprotected (sp=none)",
            remediation="Set `sp` to quarantine or reject (or drop it to inherit `p`), so that "
            "made-up subdomains cannot be spoofed.",
            references=("RFC 7489 §6.3",),
        ),
        Entry(
            id="dmarc.no-reports",
            severity=Severity.INFO,
            title="DMARC record asks for no aggregate reports",
            remediation="Add `rua=mailto:...` to learn who sends mail as the domain and whether it "
            "passes.",
            references=("RFC 7489 §7.2",),
        ),
        Entry(
            id="dmarc.external-rua-unauthorised",
            severity=Severity.LOW,
            title="External DMARC report destination has not authorised the domain",
            remediation="Ask the report receiver to publish `<domain>._report._dmarc.<their "
            'domain> TXT "v=DMARC1"`; until then receivers must not send it reports.',
            references=("RFC 7489 §7.1",),
        ),
        # --- MTA-STS ------------------------------------------------------------------------
        Entry(
            id="mtasts.missing",
            severity=Severity.LOW,
            title="No MTA-STS policy",
            remediation='Publish `_mta-sts.<domain> TXT "v=STSv1; id=..."` and a policy at '
            "`https://mta-sts.<domain>/.well-known/mta-sts.txt`, so that senders require "
            "authenticated TLS to your MX hosts.",
            references=("RFC 8461",),
        ),
        Entry(
            id="mtasts.record-invalid",
            severity=Severity.MEDIUM,
            title="MTA-STS TXT record is invalid",
            remediation="Publish exactly one `v=STSv1; id=<1-32 letters and digits>;` record at "
            "`_mta-sts.<domain>`; otherwise senders assume there is no policy.",
            references=("RFC 8461 §3.1",),
        ),
        Entry(
            id="mtasts.record-missing",
            severity=Severity.LOW,
            title="MTA-STS policy published without the TXT record",
            remediation='Publish `_mta-sts.<domain> TXT "v=STSv1; id=..."`: senders only fetch the '
            "policy when that record exists.",
            references=("RFC 8461 §3.1",),
        ),
        Entry(
            id="mtasts.policy-unreachable",
            severity=Severity.MEDIUM,
            title="MTA-STS policy cannot be fetched",
            remediation="Serve the policy with HTTP 200 at "
            "`https://mta-sts.<domain>/.well-known/mta-sts.txt`; until senders can fetch it, the "
            "TXT record protects nothing.",
            references=("RFC 8461 §3.3",),
        ),
        Entry(
            id="mtasts.redirect",
            severity=Severity.MEDIUM,
            title="MTA-STS policy is served through an HTTP redirect",
            remediation="Serve the policy directly: senders must not follow redirects when fetching "
            "it, so a redirected policy is no policy.",
            references=("RFC 8461 §3.3",),
        ),
        Entry(
            id="mtasts.certificate-invalid",
            severity=Severity.MEDIUM,
            title="MTA-STS policy host has an invalid certificate",
            remediation="Serve `mta-sts.<domain>` with a certificate that is valid for that name "
            "and chains to a public CA; senders refuse the policy otherwise.",
            references=("RFC 8461 §3.3",),
        ),
        Entry(
            id="mtasts.bad-content-type",
            severity=Severity.MEDIUM,
            title="MTA-STS policy is not served as text/plain",
            remediation="Serve the policy file with `Content-Type: text/plain`; senders may reject "
            "other media types.",
            references=("RFC 8461 §3.2",),
        ),
        Entry(
            id="mtasts.policy-syntax",
            severity=Severity.MEDIUM,
            title="MTA-STS policy file is invalid",
            remediation="The policy needs `version: STSv1`, `mode`, `max_age` and, unless the mode "
            "is none, one `mx:` line per MX pattern, as `key: value` lines.",
            references=("RFC 8461 §3.2",),
        ),
        Entry(
            id="mtasts.mx-not-covered",
            severity=Severity.HIGH,
            severities=(Severity.MEDIUM, Severity.HIGH),
            title="MX host not covered by the MTA-STS policy",
            remediation="Add an `mx:` line (a name or a `*.` pattern of one label) for every MX "
            "host: in enforce mode, compliant senders refuse to deliver to an MX the policy does "
            "not list.",
            references=("RFC 8461 §3.2", "RFC 8461 §4.1"),
        ),
        Entry(
            id="mtasts.mx-certificate-invalid",
            severity=Severity.HIGH,
            severities=(Severity.MEDIUM, Severity.HIGH),
            title="An MX host's certificate fails the MTA-STS check",
            remediation="Give every MX a certificate from a public CA whose names include the MX "
            "host name (and the full chain): senders enforcing MTA-STS validate it and refuse to "
            "deliver when it fails.",
            references=("RFC 8461 §4.2", "RFC 8461 §5"),
        ),
        Entry(
            id="mtasts.mx-no-starttls",
            severity=Severity.HIGH,
            severities=(Severity.MEDIUM, Severity.HIGH),
            title="An MX host offers no STARTTLS although MTA-STS is published",
            remediation="Enable STARTTLS on every MX listed in the policy, or publish mode "
            "`testing` until it is: senders enforcing MTA-STS will not deliver in plaintext.",
            references=("RFC 8461 §5",),
        ),
        Entry(
            id="mtasts.mode-testing",
            severity=Severity.LOW,
            title="MTA-STS policy is in testing mode",
            remediation="Once TLS-RPT reports show no failures, switch the policy to "
            "`mode: enforce` (and change the TXT record's id).",
            references=("RFC 8461 §5",),
        ),
        Entry(
            id="mtasts.mode-none",
            severity=Severity.INFO,
            title="MTA-STS policy is in mode none (withdrawn)",
            remediation="Mode none withdraws a policy; publish testing or enforce to protect "
            "delivery.",
            references=("RFC 8461 §5", "RFC 8461 §8.3"),
        ),
        Entry(
            id="mtasts.max-age-small",
            severity=Severity.LOW,
            title="MTA-STS max_age is short",
            remediation="Use a max_age of weeks or more (e.g. 604800 to 31557600 seconds): a short "
            "lifetime leaves senders without a cached policy, open to downgrade.",
            references=("RFC 8461 §3.2",),
        ),
        # --- TLS-RPT ------------------------------------------------------------------------
        Entry(
            id="tlsrpt.missing",
            severity=Severity.INFO,
            severities=(Severity.INFO, Severity.LOW),
            title="No TLS-RPT record",
            remediation='Publish `_smtp._tls.<domain> TXT "v=TLSRPTv1; rua=mailto:..."` to '
            "receive reports of TLS failures of senders delivering to you.",
            references=("RFC 8460 §3",),
        ),
        Entry(
            id="tlsrpt.syntax",
            severity=Severity.LOW,
            title="TLS-RPT record is invalid",
            remediation="Publish exactly one `v=TLSRPTv1; rua=<mailto: or https: URI>` record; "
            "otherwise senders send no reports.",
            references=("RFC 8460 §3",),
        ),
        # --- DNSSEC and DANE ----------------------------------------------------------------
        Entry(
            id="dnssec.unsigned",
            severity=Severity.INFO,
            title="The zone is not signed with DNSSEC",
            remediation="Sign the zone and publish a DS record at the parent; DNSSEC is the "
            "foundation DANE needs.",
            references=("RFC 4033", "RFC 7672 §2.1"),
        ),
        Entry(
            id="dnssec.not-validated",
            severity=Severity.INFO,
            title="DNSKEY published but answers are not DNSSEC-validated",
            remediation="The zone publishes keys, but the resolver did not vouch for its answers: "
            "either the resolver does not validate or the chain of trust (DS at the parent) is "
            "missing or broken. Check with a validating resolver.",
            references=("RFC 4035 §3.2.3", "RFC 6840 §5.8"),
        ),
        Entry(
            id="dane.tlsa-mismatch",
            severity=Severity.HIGH,
            title="DANE TLSA records do not match the MX certificate",
            remediation="Update the TLSA records (or the certificate) so that a usable record "
            "matches what the server presents; DANE senders will not deliver to this MX. Publish "
            "the next key's record before rolling the key.",
            references=("RFC 7672 §3.1", "RFC 7671 §8"),
        ),
        Entry(
            id="dane.tlsa-unvalidated",
            severity=Severity.LOW,
            title="TLSA records are not DNSSEC-validated (they do not count)",
            remediation="TLSA records only protect anything when the MX and TLSA answers are "
            "DNSSEC-validated: sign the zone (and the MX host's zone) and publish the DS.",
            references=("RFC 7672 §2.2",),
        ),
        Entry(
            id="dane.tlsa-unusable",
            severity=Severity.MEDIUM,
            title="TLSA records unusable for SMTP",
            remediation="Use certificate usage 3 (DANE-EE) or 2 (DANE-TA) with selector 0/1 and "
            "matching type 1/2: SMTP clients ignore PKIX usages 0 and 1 and unknown parameters.",
            references=("RFC 7672 §3.1.3", "RFC 7671 §5"),
        ),
        # --- Reverse DNS --------------------------------------------------------------------
        Entry(
            id="ptr.missing",
            severity=Severity.LOW,
            title="MX address has no reverse DNS (PTR)",
            remediation="Publish a PTR record for every mail server address, naming a host that "
            "resolves back to the address; many receivers distrust mail from addresses without one.",
            references=("RFC 1912 §2.1",),
        ),
        Entry(
            id="ptr.not-forward-confirmed",
            severity=Severity.LOW,
            title="Reverse DNS of an MX address is not forward-confirmed",
            remediation="Make the name in the PTR record resolve (A/AAAA) to the same address.",
            references=("RFC 1912 §2.1",),
        ),
    ]
)
