"""The check registry: every check mailaudit has, in one table (sslyze's scan-command registry
is the model). The runner and every report iterate it; `mailaudit checks` prints it.

A row says what the check is called, what it checks, the finding ids it can raise (their words
are in `mailaudit.checks.catalogue`), what it applies to, the facts it needs, and its pure judge
(facts in, `Outcome` out). Rows of one scope run in table order, which is report order.

Adding a check: write its module (a judge over the facts of its scope), add its catalogue
entries and one row here, and tests. See "Adding a check" in the README's design notes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from mailaudit.checks import (
    audit_discovery,
    discovery,
    ispdb,
    protocol_banner,
    protocol_enum,
    protocol_host,
    protocol_login,
    protocol_relay,
    protocol_starttls,
    tls,
    tls_consistency,
    tls_vulns,
)
from mailaudit.checks.adapters import dns_judge, endpoint_judge, tls_judge, tls_judge_at
from mailaudit.checks.check import Check, Scope
from mailaudit.checks.dns_policy import dmarc, dnssec, mtasts, mtasts_mx, mx, spf
from mailaudit.checks.facts import EndpointFacts
from mailaudit.checks.protocol import (
    NameFor,
    any_family,
    endpoint_gate,
    smtp_only,
    with_family,
    with_service,
)
from mailaudit.checks.protocol_verdict import Verdict
from mailaudit.model import Scheme

__all__ = [
    "CHECKS",
    "Check",
    "Scope",
    "check_for_id",
    "check_for_run",
    "checks_of",
    "endpoint_checks_for",
    "find",
]

_FAMILIES = ("smtp", "imap", "pop3")
_SERVICES = ("smtp", "submission", "imap", "pop3")
_CLIENT_SERVICES = ("submission", "imap", "pop3")
_PROBE = ("observation",)
_AUDIT = ("observation", "protocol_audit")
_SCAN = ("tls_scan",)
_POLICY = ("policy",)


def _by_family(ids: dict[str, str]) -> NameFor:
    def name_for(scheme: Scheme) -> str | None:
        return ids.get(scheme.family)

    return name_for


def _per(pattern: str, names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(pattern.format(n) for n in names)


def _endpoint(
    name: str,
    summary: str,
    ids: tuple[str, ...],
    applies_to: str,
    needs: tuple[str, ...],
    judge: Callable[[EndpointFacts], Verdict],
    name_for: NameFor,
    *,
    needs_session: bool,
) -> Check:
    return Check(
        name=name,
        scope=Scope.ENDPOINT,
        summary=summary,
        ids=ids,
        applies_to=applies_to,
        needs=needs,
        judge=endpoint_judge(name_for, judge, needs_session=needs_session),
        runs=ids,
        name_for=name_for,
    )


CHECKS: tuple[Check, ...] = (
    # ------------------------------------------------------------------ one endpoint (probe + audit)
    Check(
        name="endpoint",
        scope=Scope.ENDPOINT,
        summary="Could the endpoint be tested at all (answered, not rate limited)?",
        ids=("endpoint.unreachable", "endpoint.rate-limited"),
        applies_to="every endpoint",
        needs=_PROBE,
        judge=endpoint_gate,
        gate=True,
    ),
    _endpoint(
        "smtp.open-relay",
        "Relays mail for foreign domains from anyone (RCPT TO variants, no DATA sent)",
        ("smtp.open-relay",),
        "SMTP endpoints (25, 587, 465)",
        ("protocol_audit.relay", "protocol_audit.relay_over_tls"),
        protocol_relay.open_relay,
        smtp_only("smtp.open-relay"),
        needs_session=True,
    ),
    _endpoint(
        "submission.accepts-unauthenticated",
        "Submission port takes mail without AUTH",
        ("submission.accepts-unauthenticated",),
        "SMTP endpoints; not applicable on port 25",
        ("protocol_audit.submission",),
        protocol_relay.accepts_unauthenticated,
        smtp_only("submission.accepts-unauthenticated"),
        needs_session=True,
    ),
    _endpoint(
        "auth-before-tls",
        "Login offered or accepted before TLS (capabilities and an active login probe)",
        _per("{}.auth-before-tls", _FAMILIES),
        "STARTTLS endpoints (25, 587, 143, 110)",
        ("observation.capabilities_before_tls", "protocol_audit.auth_before_tls"),
        protocol_starttls.auth_before_tls,
        with_family("auth-before-tls"),
        needs_session=False,
    ),
    _endpoint(
        "login-refusal-unannounced",
        "Login refused before TLS but still advertised (no LOGINDISABLED, USER listed)",
        ("imap.logindisabled-missing", "pop3.user-advertised-before-tls"),
        "IMAP and POP3 STARTTLS endpoints (143, 110)",
        ("observation.capabilities_before_tls", "protocol_audit.auth_before_tls"),
        protocol_login.login_refusal_unannounced,
        _by_family(protocol_login.IDS),
        needs_session=False,
    ),
    _endpoint(
        "starttls-missing",
        "STARTTLS not offered on a plaintext port",
        _per("{}.starttls-missing", _SERVICES),
        "plaintext ports (25, 587, 143, 110)",
        ("observation.capabilities_before_tls",),
        protocol_starttls.starttls_missing,
        with_service("starttls-missing"),
        needs_session=False,
    ),
    _endpoint(
        "starttls-failed",
        "STARTTLS advertised but the upgrade fails",
        _per("{}.starttls-failed", _SERVICES),
        "plaintext ports that offer STARTTLS",
        ("observation",),
        protocol_starttls.starttls_failed,
        with_service("starttls-failed"),
        needs_session=False,
    ),
    _endpoint(
        "starttls-injection",
        "Commands pipelined with STARTTLS executed after the handshake (CVE-2011-0411 class)",
        _per("{}.starttls-injection", _FAMILIES),
        "STARTTLS endpoints",
        ("protocol_audit.starttls_injection",),
        protocol_starttls.starttls_injection,
        with_family("starttls-injection"),
        needs_session=True,
    ),
    _endpoint(
        "starttls-readvertised",
        "STARTTLS offered again after the TLS handshake",
        _per("{}.starttls-readvertised", _FAMILIES),
        "STARTTLS endpoints",
        ("observation.capabilities_after_tls",),
        protocol_starttls.starttls_readvertised,
        with_family("starttls-readvertised"),
        needs_session=True,
    ),
    _endpoint(
        "smtp.vrfy-enabled",
        "VRFY tells which addresses exist",
        ("smtp.vrfy-enabled",),
        "SMTP endpoints",
        ("protocol_audit.vrfy",),
        protocol_enum.vrfy_enabled,
        smtp_only("smtp.vrfy-enabled"),
        needs_session=True,
    ),
    _endpoint(
        "smtp.expn-enabled",
        "EXPN discloses list members",
        ("smtp.expn-enabled",),
        "SMTP endpoints",
        ("protocol_audit.expn",),
        protocol_enum.expn_enabled,
        smtp_only("smtp.expn-enabled"),
        needs_session=True,
    ),
    _endpoint(
        "banner.version-disclosed",
        "Greeting (or IMAP IMPLEMENTATION) names the software version",
        ("banner.version-disclosed",),
        "every endpoint",
        ("observation.greeting",),
        protocol_banner.version_disclosed,
        any_family("banner.version-disclosed"),
        needs_session=False,
    ),
    _endpoint(
        "banner.hostname-mismatch",
        "Greeting name disagrees with PTR, forward DNS or the certificate",
        ("banner.hostname-mismatch",),
        "SMTP endpoints",
        ("observation.greeting", "protocol_audit.names"),
        protocol_banner.hostname_mismatch,
        smtp_only("banner.hostname-mismatch"),
        needs_session=True,
    ),
    # ------------------------------------------------------------------ all ports of one address
    Check(
        name="implicit-tls",
        scope=Scope.ADDRESS,
        summary="Implicit TLS (465, 993, 995) next to the plaintext client ports (RFC 8314)",
        ids=(
            *_per("{}.plaintext-only", _CLIENT_SERVICES),
            *_per("{}.implicit-tls-missing", _CLIENT_SERVICES),
        ),
        applies_to="plaintext client endpoints (587, 143, 110), per address",
        needs=("observations of every port probed at the address",),
        judge=protocol_host.judge_address,
        runs=(
            *_per("{}.plaintext-only", _CLIENT_SERVICES),
            *_per("{}.implicit-tls-missing", _CLIENT_SERVICES),
        ),
    ),
    # ------------------------------------------------------------------ one TLS scan
    Check(
        name="tls.protocols",
        scope=Scope.TLS,
        summary="Deprecated TLS/SSL versions accepted",
        ids=("tls.protocol-deprecated",),
        applies_to="every TLS endpoint (port 25 judged as opportunistic TLS)",
        needs=_SCAN,
        judge=tls_judge(tls._check_protocols),
    ),
    Check(
        name="tls.ciphers",
        scope=Scope.TLS,
        summary="Weak cipher suites, or suites outside Mozilla's intermediate profile",
        ids=("tls.cipher-weak", "tls.cipher-outside-profile"),
        applies_to="every TLS endpoint",
        needs=_SCAN,
        judge=tls_judge(tls._check_ciphers),
    ),
    Check(
        name="tls.forward-secrecy",
        scope=Scope.TLS,
        summary="Cipher suites without forward secrecy",
        ids=("tls.no-forward-secrecy",),
        applies_to="every TLS endpoint",
        needs=_SCAN,
        judge=tls_judge(tls._check_forward_secrecy),
    ),
    Check(
        name="tls.certificate",
        scope=Scope.TLS,
        summary="Certificate expiry, name, trust, key, signature and OCSP must-staple",
        ids=(
            "tls.cert-expired",
            "tls.cert-expiring-soon",
            "tls.cert-name-mismatch",
            "tls.cert-untrusted",
            "tls.cert-weak-key",
            "tls.cert-weak-signature",
            "tls.ocsp-must-staple-missing",
        ),
        applies_to="every TLS endpoint",
        needs=(*_SCAN, "clock"),
        judge=tls_judge_at(tls._check_certificate),
    ),
    Check(
        name="tls.vuln.heartbleed",
        scope=Scope.TLS,
        summary="Heartbleed (CVE-2014-0160)",
        ids=("tls.vuln.heartbleed",),
        applies_to="every TLS endpoint",
        needs=_SCAN,
        judge=tls_judge(tls_vulns._check_heartbleed),
    ),
    Check(
        name="tls.vuln.robot",
        scope=Scope.TLS,
        summary="ROBOT (RSA padding oracle)",
        ids=("tls.vuln.robot",),
        applies_to="every TLS endpoint",
        needs=_SCAN,
        judge=tls_judge(tls_vulns._check_robot),
    ),
    Check(
        name="tls.vuln.ccs-injection",
        scope=Scope.TLS,
        summary="OpenSSL CCS injection (CVE-2014-0224)",
        ids=("tls.vuln.ccs-injection",),
        applies_to="every TLS endpoint",
        needs=_SCAN,
        judge=tls_judge(tls_vulns._check_ccs),
    ),
    Check(
        name="tls.vuln.insecure-renegotiation",
        scope=Scope.TLS,
        summary="Insecure or client-initiated renegotiation",
        ids=("tls.vuln.insecure-renegotiation",),
        applies_to="every TLS endpoint",
        needs=_SCAN,
        judge=tls_judge(tls_vulns._check_renegotiation),
    ),
    Check(
        name="tls.vuln.compression",
        scope=Scope.TLS,
        summary="TLS compression (CRIME)",
        ids=("tls.vuln.compression",),
        applies_to="every TLS endpoint",
        needs=_SCAN,
        judge=tls_judge(tls_vulns._check_compression),
    ),
    Check(
        name="tls.fallback-scsv",
        scope=Scope.TLS,
        summary="No TLS_FALLBACK_SCSV downgrade protection",
        ids=("tls.no-fallback-scsv",),
        applies_to="client TLS endpoints (not judged on port 25)",
        needs=_SCAN,
        judge=tls_judge(tls_vulns._check_fallback_scsv),
    ),
    Check(
        name="tls.scan",
        scope=Scope.TLS,
        summary="Could sslyze scan the endpoint (all parts)?",
        ids=("tls.scan-failed",),
        applies_to="every TLS endpoint",
        needs=_SCAN,
        judge=tls.scan_gate,
        gate=True,
    ),
    # ------------------------------------------------------------------ every scan of a host
    Check(
        name=tls_consistency.CHECK,
        scope=Scope.TLS_HOSTS,
        summary="Addresses or ports of one host differ in TLS versions or certificates",
        ids=("tls.inconsistent",),
        applies_to="host names with two or more scanned (address, port) pairs",
        needs=("tls_scan of every address and port of the host",),
        judge=tls_consistency.judge_consistency,
    ),
    # ------------------------------------------------------------------ one domain: DNS policy
    Check(
        name="dns.mx",
        scope=Scope.DOMAIN,
        summary="MX records: present, valid null MX, no CNAME or IP literal, resolvable",
        ids=(
            "dns.domain-nxdomain",
            "dns.mx-missing",
            "dns.null-mx-invalid",
            "dns.mx-cname",
            "dns.mx-ip-literal",
            "dns.mx-unresolvable",
        ),
        applies_to="every audited domain",
        needs=_POLICY,
        judge=dns_judge(mx._check_mx),
    ),
    Check(
        name="spf.record",
        scope=Scope.DOMAIN,
        summary="One SPF record, valid syntax, no ptr mechanism (RFC 7208)",
        ids=("spf.missing", "spf.multiple-records", "spf.syntax", "spf.ptr-mechanism"),
        applies_to="every audited domain",
        needs=_POLICY,
        judge=dns_judge(spf._check_spf_record),
    ),
    Check(
        name="spf.lookups",
        scope=Scope.DOMAIN,
        summary="SPF DNS lookup limits and broken includes",
        ids=("spf.include-broken", "spf.too-many-lookups", "spf.too-many-void-lookups"),
        applies_to="domains with an SPF record",
        needs=_POLICY,
        judge=dns_judge(spf._check_spf_lookups),
    ),
    Check(
        name="spf.all",
        scope=Scope.DOMAIN,
        summary="What SPF says about everyone else (+all, ?all, ~all)",
        ids=("spf.plus-all", "spf.neutral-all", "spf.softfail-all"),
        applies_to="domains with an SPF record",
        needs=_POLICY,
        judge=dns_judge(spf._check_spf_all),
    ),
    Check(
        name="spf.helo",
        scope=Scope.DOMAIN,
        summary="SPF for the MX hosts' HELO names",
        ids=("spf.helo-missing",),
        applies_to="domains with MX hosts",
        needs=_POLICY,
        judge=dns_judge(spf._check_spf_helo),
    ),
    Check(
        name="dmarc.record",
        scope=Scope.DOMAIN,
        summary="One valid DMARC record (RFC 7489)",
        ids=("dmarc.missing", "dmarc.multiple-records", "dmarc.syntax"),
        applies_to="every audited domain",
        needs=_POLICY,
        judge=dns_judge(dmarc._check_dmarc_record),
    ),
    Check(
        name="dmarc.policy",
        scope=Scope.DOMAIN,
        summary="DMARC policy strength, pct, subdomain policy and reporting",
        ids=(
            "dmarc.policy-none",
            "dmarc.pct-partial",
            "dmarc.subdomain-policy-none",
            "dmarc.no-reports",
        ),
        applies_to="domains with a DMARC record",
        needs=_POLICY,
        judge=dns_judge(dmarc._check_dmarc_policy),
    ),
    Check(
        name="dmarc.external-reports",
        scope=Scope.DOMAIN,
        summary="External report destinations authorised (RFC 7489 §7.1)",
        ids=("dmarc.external-rua-unauthorised",),
        applies_to="domains whose DMARC reports go to another domain",
        needs=_POLICY,
        judge=dns_judge(dmarc._check_dmarc_reports),
    ),
    Check(
        name="mtasts.policy",
        scope=Scope.DOMAIN,
        summary="MTA-STS record and policy file: present, reachable, valid (RFC 8461)",
        ids=(
            "mtasts.missing",
            "mtasts.record-invalid",
            "mtasts.record-missing",
            "mtasts.policy-unreachable",
            "mtasts.redirect",
            "mtasts.certificate-invalid",
            "mtasts.bad-content-type",
            "mtasts.policy-syntax",
        ),
        applies_to="every audited domain",
        needs=_POLICY,
        judge=dns_judge(mtasts._check_mtasts_policy),
    ),
    Check(
        name="mtasts.mode",
        scope=Scope.DOMAIN,
        summary="MTA-STS mode and max_age",
        ids=("mtasts.mode-testing", "mtasts.mode-none", "mtasts.max-age-small"),
        applies_to="domains with an MTA-STS policy",
        needs=_POLICY,
        judge=dns_judge(mtasts._check_mtasts_mode),
    ),
    Check(
        name="mtasts.mx-coverage",
        scope=Scope.DOMAIN,
        summary="Every MX host matches the MTA-STS policy's mx patterns",
        ids=("mtasts.mx-not-covered",),
        applies_to="domains with an MTA-STS policy",
        needs=_POLICY,
        judge=dns_judge(mtasts._check_mtasts_coverage),
    ),
    Check(
        name="tlsrpt.record",
        scope=Scope.DOMAIN,
        summary="TLS-RPT record present and valid (RFC 8460)",
        ids=("tlsrpt.missing", "tlsrpt.syntax"),
        applies_to="every audited domain",
        needs=_POLICY,
        judge=dns_judge(mtasts._check_tlsrpt),
    ),
    Check(
        name="dnssec",
        scope=Scope.DOMAIN,
        summary="Zone signed and validated",
        ids=("dnssec.unsigned", "dnssec.not-validated"),
        applies_to="every audited domain",
        needs=_POLICY,
        judge=dns_judge(dnssec._check_dnssec),
    ),
    Check(
        name="dane",
        scope=Scope.DOMAIN,
        summary="DANE TLSA records of the MX hosts match, validate and are usable (RFC 7672)",
        ids=("dane.tlsa-mismatch", "dane.tlsa-unvalidated", "dane.tlsa-unusable"),
        applies_to="MX hosts that publish TLSA records",
        needs=_POLICY,
        judge=dns_judge(dnssec._check_dane),
    ),
    Check(
        name="ptr",
        scope=Scope.DOMAIN,
        summary="MX addresses have forward-confirmed reverse DNS",
        ids=("ptr.missing", "ptr.not-forward-confirmed"),
        applies_to="the addresses of the MX hosts",
        needs=_POLICY,
        judge=dns_judge(dnssec._check_ptr),
    ),
    # ------------------------------------------------------------------ a domain with its endpoints
    Check(
        name=mtasts_mx.CHECK,
        scope=Scope.DOMAIN_AUDIT,
        summary="Under a published MTA-STS policy, every MX offers STARTTLS with a valid "
        "certificate",
        ids=("mtasts.mx-no-starttls", "mtasts.mx-certificate-invalid"),
        applies_to="domains whose DNS policy was gathered",
        needs=("policy", "observation of each MX's port 25"),
        judge=mtasts_mx.judge_mx_certificates,
    ),
    Check(
        name=audit_discovery.CHECK,
        scope=Scope.DOMAIN_AUDIT,
        summary="Discovery's findings weighed in an audit (guessable endpoints, MX-only domains)",
        ids=(),
        applies_to="domains where discovery ran",
        needs=("discovery findings", "observations of the domain's client endpoints"),
        judge=audit_discovery.judge_discovery_in_audit,
    ),
)


# Judged outside an audit's endpoint and domain scopes: discovery's candidates (judged by
# mailaudit.checks.discovery, called by mailaudit.discovery.run), ISPDB files (`mailaudit ispdb
# lint`), and a requirements file applied to a finished report (checks/requirements.py); rows
# without a judge list the ids they raise.
CHECKS += (
    Check(
        name="discovery",
        scope=Scope.DISCOVERY,
        summary="Published client settings work, over TLS, from a trustworthy source",
        ids=(
            "discovery.plaintext-only",
            "discovery.no-settings",
            "discovery.source-conflict",
            "discovery.setting-broken",
            "discovery.untrusted-source",
            "discovery.cross-domain-redirect",
            "discovery.guessed-only",
        ),
        applies_to="every discovered domain (discover, and the audit's discovery step)",
        needs=("candidates and their verification", "sources and their redirects"),
        judge=discovery.judge_discovery,
    ),
    Check(
        name="ispdb",
        scope=Scope.ISPDB,
        summary="ISPDB / autoconfig files: placeholders, ports, TLS, usernames, validity",
        ids=(
            "discovery.ispdb-bad-placeholder",
            "discovery.ispdb-plaintext-only",
            "discovery.ispdb-plaintext-server",
            "discovery.ispdb-odd-port",
            "discovery.ispdb-missing-username",
            "discovery.ispdb-invalid",
        ),
        applies_to="config-v1.1.xml files (mailaudit ispdb lint)",
        needs=("each file as written: servers, placeholders",),
        judge=ispdb.judge_ispdb_file,
    ),
    Check(
        name="scope",
        scope=Scope.AUDIT_SCOPE,
        summary="Names that lead into private networks (not contacted) and endpoints outside "
        "the audit's scope (looked at passively only)",
        ids=("scope.private-address-refused", "scope.out-of-scope"),
        applies_to="every name discovery and the audit follow",
        needs=("the SSRF guard's refused targets", "the audit scope"),
        judge=None,
        gate=True,
    ),
    Check(
        name="requirements",
        scope=Scope.REQUIREMENTS,
        summary="A requirements file's [[require]] entries: endpoint present, minimum TLS, "
        "login only after TLS, valid certificate",
        ids=("policy.endpoint-missing", "policy.requirement-failed"),
        applies_to="the endpoints a requirements file names",
        needs=("the report's endpoints",),
        judge=None,
        runs=(
            "policy.endpoint-present",
            "policy.min-tls",
            "policy.auth-after-tls-only",
            "policy.valid-certificate",
        ),
    ),
    Check(
        name="waivers",
        scope=Scope.REQUIREMENTS,
        summary="Waivers in a requirements file that have expired",
        ids=("policy.waiver-expired",),
        applies_to="every [[waiver]] of a requirements file",
        needs=("the waivers", "today's date"),
        judge=None,
        gate=True,
    ),
)


def checks_of(scope: Scope) -> Iterator[Check]:
    """The checks of one scope, in report order."""
    return (c for c in CHECKS if c.scope is scope)


def endpoint_checks_for(scheme: Scheme) -> tuple[str, ...]:
    """The endpoint checks that apply to an endpoint of this scheme, by run name, in report
    order."""
    names = (c.name_for(scheme) for c in checks_of(Scope.ENDPOINT) if c.name_for is not None)
    return tuple(n for n in names if n is not None)


def find(name: str) -> Check:
    """The check called `name`; KeyError when there is none."""
    for c in CHECKS:
        if c.name == name:
            return c
    raise KeyError(name)


def check_for_run(run_name: str) -> Check | None:
    """The check that records runs called `run_name` (a JUnit test case), if any."""
    for c in CHECKS:
        if run_name in c.run_names:
            return c
    return None


def check_for_id(finding_id: str) -> Check:
    """The check that can raise `finding_id`; KeyError when none can."""
    for c in CHECKS:
        if finding_id in c.ids:
            return c
    raise KeyError(finding_id)
