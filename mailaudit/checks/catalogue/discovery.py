"""Findings of the discovery area: what a mail client would find for a domain, and the data
problems of ISPDB / autoconfig files (`mailaudit ispdb lint`)."""

from mailaudit.checks.catalogue._entry import Entry
from mailaudit.model import Severity

_AUTOCONFIG = "https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat"

ENTRIES: tuple[Entry, ...] = tuple(
    [
        Entry(
            id="discovery.plaintext-only",
            severity=Severity.HIGH,
            title="Only plaintext mail settings found",
            remediation=(
                "Offer implicit TLS (IMAP 993, POP3 995, submission 465) or STARTTLS with a valid "
                "certificate, and publish those settings. Until then passwords cross the network "
                "in clear text."
            ),
            references=("RFC 8314", "RFC 3207", "RFC 2595"),
        ),
        Entry(
            id="discovery.no-settings",
            severity=Severity.MEDIUM,
            severities=(Severity.INFO, Severity.LOW, Severity.MEDIUM),
            title="No working mail settings found",
            remediation=(
                "Publish autoconfig (https://autoconfig.<domain>/mail/config-v1.1.xml) or RFC "
                "6186 SRV records pointing at servers that answer with TLS."
            ),
            references=("RFC 6186", _AUTOCONFIG),
        ),
        Entry(
            id="discovery.source-conflict",
            severity=Severity.MEDIUM,
            severities=(Severity.LOW, Severity.MEDIUM),
            title="Published settings disagree with the server",
            remediation=(
                "Correct the published setting (port and socketType / Encryption) so it matches "
                "what the server really offers; clients that trust it fail or fall back."
            ),
            references=(_AUTOCONFIG, "RFC 8314"),
        ),
        Entry(
            id="discovery.setting-broken",
            severity=Severity.MEDIUM,
            title="A published setting does not work",
            remediation=(
                "Fix or remove the published server: it is unreachable, speaks another protocol "
                "or presents a certificate that does not validate for its name."
            ),
            references=(_AUTOCONFIG,),
        ),
        Entry(
            id="discovery.untrusted-source",
            severity=Severity.MEDIUM,
            title="Settings came over an unauthenticated channel",
            remediation=(
                "Serve autoconfig over HTTPS with a valid certificate (and without plain-HTTP "
                "redirect hops), or sign the SRV records with DNSSEC; anyone on the path can "
                "rewrite plain-HTTP or unsigned answers."
            ),
            references=(_AUTOCONFIG, "RFC 6186 section 6"),
        ),
        Entry(
            id="discovery.cross-domain-redirect",
            severity=Severity.LOW,
            title="Discovery redirected to another domain",
            remediation=(
                "Check that the redirect is intended. Clients must ask before sending "
                "credentials to a domain other than the user's; mailaudit followed it without "
                "credentials."
            ),
            references=(
                "https://learn.microsoft.com/en-us/exchange/client-developer/"
                "exchange-web-services/autodiscover-for-exchange",
            ),
        ),
        Entry(
            id="discovery.guessed-only",
            severity=Severity.LOW,
            title="Settings found only by guessing",
            remediation=(
                "Publish autoconfig over HTTPS or RFC 6186 SRV records so clients need not "
                "guess host names and ports."
            ),
            references=("RFC 6186", _AUTOCONFIG),
        ),
        Entry(
            id="discovery.ispdb-bad-placeholder",
            severity=Severity.MEDIUM,
            title="Unknown or broken placeholder in a config file",
            remediation=(
                "Use only %EMAILADDRESS%, %EMAILLOCALPART%, %EMAILDOMAIN% (and %REALNAME%), "
                "each closed by a percent sign."
            ),
            references=(_AUTOCONFIG,),
        ),
        Entry(
            id="discovery.ispdb-plaintext-only",
            severity=Severity.HIGH,
            title="Provider config offers plaintext only",
            remediation="Add SSL or STARTTLS servers for incoming and outgoing mail.",
            references=("RFC 8314",),
        ),
        Entry(
            id="discovery.ispdb-plaintext-server",
            severity=Severity.LOW,
            title="Provider config lists a plaintext server",
            remediation="Drop the plaintext server or switch it to SSL or STARTTLS.",
            references=("RFC 8314",),
        ),
        Entry(
            id="discovery.ispdb-odd-port",
            severity=Severity.MEDIUM,
            title="Unusual port for the protocol and security",
            remediation=(
                "Check the port: it is the standard port of another protocol, or implicit TLS "
                "on a STARTTLS port (or the reverse)."
            ),
            references=("RFC 8314 section 7", "RFC 6186"),
        ),
        Entry(
            id="discovery.ispdb-missing-username",
            severity=Severity.LOW,
            severities=(Severity.INFO, Severity.LOW),
            title="Server without a username",
            remediation=(
                "Add <username> (usually %EMAILADDRESS%) unless the server takes no authentication."
            ),
            references=(_AUTOCONFIG,),
        ),
        Entry(
            id="discovery.ispdb-invalid",
            severity=Severity.HIGH,
            title="Config file cannot be used",
            remediation="Fix the XML so it is a well-formed config-v1.1 document.",
            references=(_AUTOCONFIG,),
        ),
    ]
)
