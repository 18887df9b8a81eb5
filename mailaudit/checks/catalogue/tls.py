"""Findings of the tls area: protocols, cipher suites, certificates and the vulnerability scans,
judged against Mozilla's intermediate profile in context (opportunistic TLS between MTAs on
port 25, RFC 7435, versus client access on submission, IMAP and POP3, RFC 8314).

Default severities are those of client access; `mailaudit.checks.tls` lowers them on port 25 and
says so in the finding's context."""

from mailaudit.checks.catalogue._entry import Entry
from mailaudit.model import Severity

MOZILLA = "https://wiki.mozilla.org/Security/Server_Side_TLS (intermediate, version 5.7)"

ENTRIES: tuple[Entry, ...] = tuple(
    [
        Entry(
            id="tls.protocol-deprecated",
            severity=Severity.MEDIUM,
            severities=(Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH),
            title="Deprecated SSL/TLS protocol versions accepted",
            remediation="Accept TLS 1.2 and TLS 1.3 only on submission, IMAP and POP3 (Postfix: "
            "smtpd_tls_mandatory_protocols = >=TLSv1.2; Dovecot: ssl_min_protocol = TLSv1.2). "
            "On port 25 older versions may stay for old senders as long as TLS 1.2 or later is "
            "offered too.",
            references=("RFC 8996", "RFC 7568 (SSL 3.0)", "RFC 6176 (SSL 2.0)", MOZILLA),
        ),
        Entry(
            id="tls.cipher-weak",
            severity=Severity.HIGH,
            severities=(Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH),
            title="Weak cipher suites accepted",
            remediation="Remove NULL, EXPORT, anonymous, RC4, DES, 3DES and MD5 cipher suites "
            "(Postfix: smtpd_tls_mandatory_ciphers = high and smtpd_tls_mandatory_exclude_ciphers "
            "= aNULL, eNULL, RC4, 3DES, MD5; Dovecot: ssl_cipher_list). Anonymous suites on port "
            "25 are acceptable for opportunistic TLS.",
            references=("RFC 7465 (RC4)", "RFC 7525 §4.2", "RFC 7435", MOZILLA),
        ),
        Entry(
            id="tls.cipher-outside-profile",
            severity=Severity.LOW,
            severities=(Severity.INFO, Severity.LOW),
            title="Cipher suites outside Mozilla's intermediate profile accepted",
            remediation="Offer the intermediate profile's AEAD suites with ECDHE or DHE (AES-GCM, "
            "ChaCha20-Poly1305) and drop CBC, CAMELLIA, ARIA and CCM suites on client ports.",
            references=(MOZILLA, "RFC 9325 §4.2"),
        ),
        Entry(
            id="tls.no-forward-secrecy",
            severity=Severity.MEDIUM,
            severities=(Severity.INFO, Severity.LOW, Severity.MEDIUM),
            title="Cipher suites without forward secrecy accepted",
            remediation="Prefer and, on client ports, require ECDHE or DHE key exchange: without "
            "it, whoever obtains the server's private key later can decrypt recorded sessions, "
            "passwords included.",
            references=("RFC 9325 §4.1", MOZILLA),
        ),
        Entry(
            id="tls.cert-expired",
            severity=Severity.HIGH,
            severities=(Severity.MEDIUM, Severity.HIGH),
            title="Certificate expired (or not yet valid)",
            remediation="Renew the certificate and reload the service; automate renewal (ACME) "
            "and monitor expiry.",
            references=("RFC 5280 §4.1.2.5", "RFC 8461 §4.2 (MTA-STS)", "RFC 7672 (DANE)"),
        ),
        Entry(
            id="tls.cert-expiring-soon",
            severity=Severity.LOW,
            severities=(Severity.INFO, Severity.LOW, Severity.MEDIUM),
            title="Certificate expires soon",
            remediation="Renew the certificate before it expires; automate renewal (ACME).",
            references=("RFC 5280 §4.1.2.5",),
        ),
        Entry(
            id="tls.cert-name-mismatch",
            severity=Severity.HIGH,
            severities=(Severity.LOW, Severity.HIGH),
            title="Certificate does not cover the host name",
            remediation="Issue a certificate whose subjectAltName lists every name clients and "
            "MX records use for this server, or point those names at a server that has one.",
            references=("RFC 6125 §6", "RFC 8461 §4.2 (MTA-STS)", "RFC 7817 (mail clients)"),
        ),
        Entry(
            id="tls.cert-untrusted",
            severity=Severity.HIGH,
            severities=(Severity.LOW, Severity.HIGH),
            title="Certificate chain not trusted",
            remediation="Use a certificate from a publicly trusted CA and send the complete "
            "intermediate chain; a private CA only works for clients that were given it.",
            references=("RFC 5280 §6", "RFC 8461 §4.2 (MTA-STS)"),
        ),
        Entry(
            id="tls.cert-weak-key",
            severity=Severity.MEDIUM,
            severities=(Severity.LOW, Severity.MEDIUM, Severity.HIGH),
            title="Certificate key too weak",
            remediation="Use an ECDSA P-256/P-384 key or an RSA key of at least 2048 bits.",
            references=(MOZILLA, "NIST SP 800-57 Part 1"),
        ),
        Entry(
            id="tls.cert-weak-signature",
            severity=Severity.MEDIUM,
            severities=(Severity.LOW, Severity.MEDIUM),
            title="Certificate chain signed with a weak hash",
            remediation="Reissue the certificate (and intermediates) signed with SHA-256 or "
            "stronger; MD5 and SHA-1 signatures can be forged.",
            references=("RFC 6151 (MD5)", "RFC 9155 (SHA-1 in TLS 1.2)", MOZILLA),
        ),
        Entry(
            id="tls.ocsp-must-staple-missing",
            severity=Severity.HIGH,
            severities=(Severity.MEDIUM, Severity.HIGH),
            title="Certificate requires OCSP stapling but none was stapled",
            remediation="Enable OCSP stapling on the server, or issue the certificate without the "
            "TLS feature (must-staple) extension; clients that honour it refuse the connection.",
            references=("RFC 7633",),
        ),
        Entry(
            id="tls.vuln.heartbleed",
            severity=Severity.CRITICAL,
            title="Vulnerable to Heartbleed (CVE-2014-0160)",
            remediation="Upgrade OpenSSL at once, then replace the private key, reissue the "
            "certificate and change the passwords that went through the server.",
            references=("CVE-2014-0160",),
        ),
        Entry(
            id="tls.vuln.robot",
            severity=Severity.HIGH,
            severities=(Severity.LOW, Severity.MEDIUM, Severity.HIGH),
            title="Vulnerable to ROBOT (RSA padding oracle)",
            remediation="Upgrade the TLS library and disable cipher suites with RSA key exchange "
            "(TLS_RSA_*).",
            references=("https://robotattack.org/", "CVE-2017-13099"),
        ),
        Entry(
            id="tls.vuln.ccs-injection",
            severity=Severity.HIGH,
            severities=(Severity.MEDIUM, Severity.HIGH),
            title="Vulnerable to OpenSSL CCS injection (CVE-2014-0224)",
            remediation="Upgrade OpenSSL.",
            references=("CVE-2014-0224",),
        ),
        Entry(
            id="tls.vuln.insecure-renegotiation",
            severity=Severity.MEDIUM,
            severities=(Severity.LOW, Severity.MEDIUM),
            title="Insecure TLS renegotiation",
            remediation="Support secure renegotiation (RFC 5746) and refuse client-initiated "
            "renegotiation; current TLS libraries do both.",
            references=("RFC 5746", "CVE-2009-3555"),
        ),
        Entry(
            id="tls.vuln.compression",
            severity=Severity.MEDIUM,
            severities=(Severity.LOW, Severity.MEDIUM),
            title="TLS compression enabled (CRIME)",
            remediation="Disable TLS-level compression.",
            references=("CVE-2012-4929", "RFC 7525 §3.3"),
        ),
        Entry(
            id="tls.no-fallback-scsv",
            severity=Severity.LOW,
            title="No downgrade protection (TLS_FALLBACK_SCSV) while old versions are accepted",
            remediation="Support TLS_FALLBACK_SCSV, or better, stop accepting TLS versions below "
            "1.2 so there is nothing to downgrade to.",
            references=("RFC 7507",),
        ),
        Entry(
            id="tls.scan-failed",
            severity=Severity.INFO,
            title="TLS scan incomplete: not tested",
            remediation="Check that the service answers and completes TLS handshakes within the "
            "timeout; re-run. Nothing was concluded about the parts that were not tested.",
        ),
        Entry(
            id="tls.inconsistent",
            severity=Severity.LOW,
            severities=(Severity.INFO, Severity.LOW),
            title="TLS configuration differs between addresses or ports of one host",
            remediation="Configure every address (IPv4 and IPv6) and every port of a host alike; "
            "clients reach whichever address DNS and their network pick, so the weakest "
            "configuration is the one that counts.",
        ),
    ]
)
