"""Findings of the protocol area: how mail endpoints behave (relay, AUTH, STARTTLS, banners).

Naming: ``<prefix>.<check>``, lower case, words joined by hyphens. The prefix says what the
finding is about:

- the protocol **family** — ``smtp``, ``imap``, ``pop3`` — for behaviour of the implementation
  wherever it listens: ``smtp.open-relay``, ``smtp.auth-before-tls`` (port 25 or 587 alike),
  ``imap.starttls-injection``, ``pop3.starttls-readvertised``, ``smtp.vrfy-enabled``;
- the **service** where the stakes depend on the port's role — ``smtp`` for MTA-to-MTA SMTP on
  port 25, ``submission`` for 587/465, ``imap``, ``pop3`` — for the TLS offer:
  ``<service>.starttls-missing``, ``<service>.starttls-failed``, ``<service>.plaintext-only``,
  ``<service>.implicit-tls-missing``, and ``submission.accepts-unauthenticated``;
- ``banner`` for what any greeting discloses, whatever the protocol.

Ids are a public interface (CI policies and waivers name them): never rename one; add new ones.
"""

from mailaudit.checks.catalogue._entry import Entry
from mailaudit.model import Severity

_SERVICES = {
    "smtp": "SMTP between MTAs (port 25)",
    "submission": "mail submission (587, 465)",
    "imap": "IMAP",
    "pop3": "POP3",
}
_CLIENT_SERVICES = ("submission", "imap", "pop3")
_FAMILIES = ("smtp", "imap", "pop3")
_STARTTLS_RFC = {
    "smtp": "RFC 3207",
    "submission": "RFC 3207",
    "imap": "RFC 9051 §6.2.1",
    "pop3": "RFC 2595 §4",
}

_entries: list[Entry] = [
    Entry(
        id="smtp.open-relay",
        severity=Severity.CRITICAL,
        title="Open relay: the server accepts mail for foreign domains from anyone",
        remediation="Relay only for authenticated users and your own networks: Postfix "
        "`smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, "
        "reject_unauth_destination` with a tight `mynetworks`; Exim `relay_from_hosts` and "
        "an ACL that requires `authenticated = *`. Keep `allow_percent_hack` and source-route "
        "handling off where the MTA offers them. Spammers find open relays within hours and "
        "get the server blocklisted.",
        references=("RFC 5321 §3.9, §7.1", "RFC 2505", "RFC 5068"),
    ),
    Entry(
        id="submission.accepts-unauthenticated",
        severity=Severity.HIGH,
        title="Submission port accepts mail without authentication",
        remediation="Require SMTP AUTH on the submission ports and answer mail without it with "
        "530 5.7.0 (Postfix: `-o smtpd_client_restrictions=permit_sasl_authenticated,reject` "
        "and `-o smtpd_relay_restrictions=permit_sasl_authenticated,reject` in master.cf).",
        references=("RFC 6409 §4.3", "RFC 4954 §6", "RFC 8314 §3.3"),
    ),
    Entry(
        id="smtp.vrfy-enabled",
        severity=Severity.MEDIUM,
        title="VRFY tells which addresses exist (user enumeration)",
        remediation="Disable VRFY or answer it with 252 for every name (Postfix "
        "`disable_vrfy_command = yes`; Exim: no `acl_smtp_vrfy` accept; Sendmail "
        "`PrivacyOptions=novrfy`).",
        references=("RFC 5321 §3.5.3, §7.3",),
    ),
    Entry(
        id="smtp.expn-enabled",
        severity=Severity.MEDIUM,
        title="EXPN discloses mailing-list members (user enumeration)",
        remediation="Disable EXPN (Postfix does not implement it; Exim: no `acl_smtp_expn` "
        "accept; Sendmail `PrivacyOptions=noexpn`).",
        references=("RFC 5321 §3.5.2, §7.3",),
    ),
    Entry(
        id="banner.version-disclosed",
        severity=Severity.LOW,
        title="The greeting discloses the server software and version",
        remediation="Announce the host name only (Postfix `smtpd_banner = $myhostname ESMTP`; "
        "Exim `smtp_banner`; Dovecot `login_greeting`); a version tells attackers which "
        "vulnerabilities to try.",
        references=("RFC 5321 §4.3.1",),
    ),
    Entry(
        id="banner.hostname-mismatch",
        severity=Severity.LOW,
        title="The greeting's host name does not match reverse DNS, forward DNS or the certificate",
        remediation="Make the greeting name, the PTR record of each address, the A/AAAA "
        "records of that name and the certificate's names agree (forward-confirmed reverse "
        "DNS). Receivers score mismatches as spam signals and TLS clients check the name.",
        references=("RFC 5321 §4.1.4, §4.3.1", "RFC 1912 §2.1", "RFC 8461 §4.1"),
    ),
]

for family in _FAMILIES:
    _entries += [
        Entry(
            id=f"{family}.auth-before-tls",
            severity=Severity.HIGH,
            title=f"{family.upper()} login is offered or accepted before TLS",
            remediation="Refuse authentication until TLS is up (Postfix "
            "`smtpd_tls_auth_only = yes`; Dovecot `disable_plaintext_auth = yes` / "
            "`ssl = required`), or better offer implicit TLS only: passwords sent in the clear "
            "can be read on the path.",
            references=("RFC 8314 §3", "RFC 4954 §4", "RFC 2595 §3.1", "RFC 9051 §6.2.3"),
        ),
        Entry(
            id=f"{family}.starttls-injection",
            severity=Severity.HIGH,
            title=f"{family.upper()} STARTTLS command injection: commands sent before the "
            "handshake are executed as if protected",
            remediation="Update the server: it must discard everything buffered when the TLS "
            "handshake starts (CVE-2011-0411 and its relatives). An attacker on the path can "
            "otherwise inject commands into the encrypted session.",
            references=(
                "CVE-2011-0411",
                "RFC 3207 §4.2",
                "Poddebniak et al., Why TLS is better without STARTTLS, USENIX Security 2021",
            ),
        ),
        Entry(
            id=f"{family}.starttls-readvertised",
            severity=Severity.LOW,
            title=f"{family.upper()} offers STARTTLS again after TLS is established",
            remediation="Stop offering STARTTLS inside TLS; it shows a server that does not "
            "reset its state after the handshake.",
            references=("RFC 3207 §4.2", "RFC 2595 §3.1", "RFC 9051 §6.2.1"),
        ),
    ]

for service, what in _SERVICES.items():
    is_mx = service == "smtp"
    _entries += [
        Entry(
            id=f"{service}.starttls-missing",
            severity=Severity.MEDIUM if is_mx else Severity.HIGH,
            title=f"STARTTLS is not offered ({what})",
            remediation="Enable STARTTLS with a valid certificate"
            + (
                " (Postfix `smtpd_tls_security_level = may`): without it every sender "
                "delivers to you in the clear."
                if is_mx
                else "; better, offer implicit TLS on the dedicated port (RFC 8314)."
            ),
            references=(_STARTTLS_RFC[service], "RFC 8314"),
        ),
        Entry(
            id=f"{service}.starttls-failed",
            severity=Severity.MEDIUM if is_mx else Severity.HIGH,
            title=f"STARTTLS is advertised but the upgrade fails ({what})",
            remediation="Fix the TLS configuration (certificate and key files, protocol and "
            "cipher settings): clients that see STARTTLS and then fail either give up or, "
            + ("for MTAs, fall back to plaintext." if is_mx else "worse, retry in the clear."),
            references=(_STARTTLS_RFC[service],),
        ),
    ]

for service in _CLIENT_SERVICES:
    port = {"submission": 465, "imap": 993, "pop3": 995}[service]
    _entries += [
        Entry(
            id=f"{service}.plaintext-only",
            severity=Severity.HIGH,
            title=f"{_SERVICES[service]} is reachable in the clear only (no STARTTLS, no "
            "implicit TLS)",
            remediation=f"Offer implicit TLS on port {port} (RFC 8314 §3.3) and STARTTLS on "
            "the plaintext port, or close the plaintext port.",
            references=("RFC 8314 §3, §4",),
        ),
        Entry(
            id=f"{service}.implicit-tls-missing",
            severity=Severity.INFO,
            title=f"No implicit TLS on port {port} ({_SERVICES[service]})",
            remediation=f"Offer implicit TLS on port {port}: RFC 8314 prefers it to STARTTLS, "
            "which an attacker on the path can strip or tamper with.",
            references=("RFC 8314 §3.3",),
        ),
    ]

_entries += [
    Entry(
        id="imap.logindisabled-missing",
        severity=Severity.MEDIUM,
        title="IMAP refuses login before TLS without advertising LOGINDISABLED",
        remediation="Advertise LOGINDISABLED (and no AUTH= mechanisms) before STARTTLS wherever "
        "LOGIN is refused, so clients never send the password in the clear (Dovecot does so "
        "with `disable_plaintext_auth = yes`; on appliances, remove LOGIN/AUTH=PLAIN from the "
        "pre-TLS capability override). Better still, offer implicit TLS on 993.",
        references=("RFC 9051 §6.2.3", "RFC 3501 §6.2.3", "RFC 5530 §3", "RFC 8314 §3"),
    ),
    Entry(
        id="pop3.user-advertised-before-tls",
        severity=Severity.LOW,
        title="POP3 lists USER before TLS although it refuses it there",
        remediation="Leave USER (and SASL PLAIN/LOGIN) out of CAPA until after STLS wherever "
        "plaintext login is refused, so clients do not send the user name in the clear first "
        "(Dovecot does so with `disable_plaintext_auth = yes`). Better still, offer implicit "
        "TLS on 995.",
        references=("RFC 2449 §6.8", "RFC 2595 §4", "RFC 3206 §4", "RFC 8314 §3"),
    ),
]

ENTRIES: tuple[Entry, ...] = tuple(_entries)
