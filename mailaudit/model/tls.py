"""The TLS scan model: what a scan of one (address, port) found, as frozen dataclasses of our own.

`mailaudit.net.sslyze_adapter` fills it from sslyze; the checks and the report read it without
ever loading sslyze.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from mailaudit.model.endpoint import CertificateInfo, Endpoint, Scheme

__all__ = [
    "CIPHER_PARTS",
    "CertificateDeployment",
    "CipherSuite",
    "ProtocolScan",
    "ScanError",
    "ScanErrorReason",
    "ScanPart",
    "TlsScan",
    "TlsTarget",
    "TlsVersion",
    "Vulnerabilities",
]


class TlsVersion(StrEnum):
    SSL_2_0 = "SSLv2"
    SSL_3_0 = "SSLv3"
    TLS_1_0 = "TLSv1.0"
    TLS_1_1 = "TLSv1.1"
    TLS_1_2 = "TLSv1.2"
    TLS_1_3 = "TLSv1.3"

    @property
    def deprecated(self) -> bool:
        """SSL 2 and 3 (RFC 6176, RFC 7568), TLS 1.0 and 1.1 (RFC 8996)."""
        return self in (
            TlsVersion.SSL_2_0,
            TlsVersion.SSL_3_0,
            TlsVersion.TLS_1_0,
            TlsVersion.TLS_1_1,
        )

    @property
    def rank(self) -> int:
        return list(TlsVersion).index(self)


class ScanPart(StrEnum):
    """What one sslyze scan command looked at; `SCAN` is the endpoint as a whole."""

    SCAN = "scan"
    CONNECTIVITY = "connectivity"
    CERTIFICATE = "certificate"
    CIPHERS_SSL_2_0 = "ciphers-sslv2"
    CIPHERS_SSL_3_0 = "ciphers-sslv3"
    CIPHERS_TLS_1_0 = "ciphers-tlsv1.0"
    CIPHERS_TLS_1_1 = "ciphers-tlsv1.1"
    CIPHERS_TLS_1_2 = "ciphers-tlsv1.2"
    CIPHERS_TLS_1_3 = "ciphers-tlsv1.3"
    HEARTBLEED = "heartbleed"
    ROBOT = "robot"
    CCS_INJECTION = "ccs-injection"
    RENEGOTIATION = "renegotiation"
    COMPRESSION = "compression"
    FALLBACK_SCSV = "fallback-scsv"


CIPHER_PARTS: dict[TlsVersion, ScanPart] = {
    TlsVersion.SSL_2_0: ScanPart.CIPHERS_SSL_2_0,
    TlsVersion.SSL_3_0: ScanPart.CIPHERS_SSL_3_0,
    TlsVersion.TLS_1_0: ScanPart.CIPHERS_TLS_1_0,
    TlsVersion.TLS_1_1: ScanPart.CIPHERS_TLS_1_1,
    TlsVersion.TLS_1_2: ScanPart.CIPHERS_TLS_1_2,
    TlsVersion.TLS_1_3: ScanPart.CIPHERS_TLS_1_3,
}


class ScanErrorReason(StrEnum):
    TIMEOUT = "timeout"
    REFUSED = "refused"  # the TCP connection was refused or reset
    STARTTLS_REFUSED = "starttls-refused"
    HANDSHAKE_FAILED = "handshake-failed"
    # The server speaks only what sslyze's OpenSSL builds cannot (or no TLS at all).
    TLS_NOT_SUPPORTED = "tls-not-supported"
    CLIENT_CERTIFICATE_NEEDED = "client-certificate-needed"
    CONNECTIVITY = "connectivity"
    SCANNER_ERROR = "scanner-error"  # a bug or a wrong use of sslyze
    CONFIGURATION = "configuration"  # e.g. an unreadable CA file
    DEADLINE = "deadline"  # the overall deadline passed before the scan finished


@dataclass(frozen=True)
class ScanError:
    part: ScanPart
    reason: ScanErrorReason
    message: str


@dataclass(frozen=True)
class TlsTarget:
    """One (address, port) to scan, with every host name that points there."""

    host: str  # the name sent as SNI (and used in the EHLO dialogue's logs)
    address: str
    port: int
    scheme: Scheme
    names: tuple[str, ...] = ()

    @property
    def all_names(self) -> tuple[str, ...]:
        seen = dict.fromkeys(n.lower().rstrip(".") for n in (self.host, *self.names))
        return tuple(seen)

    @property
    def url(self) -> str:
        return Endpoint(self.scheme, self.host, self.port).url

    @property
    def key(self) -> tuple[str, int]:
        return (self.address, self.port)


@dataclass(frozen=True)
class CipherSuite:
    name: str  # IANA / RFC name, e.g. TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    openssl_name: str
    key_bits: int
    anonymous: bool
    # The key exchange the server chose for this suite: "ECDH" or "DH" (ephemeral), or None.
    key_exchange: str | None = None
    key_exchange_group: str | None = None  # curve name for ECDH
    key_exchange_bits: int | None = None


@dataclass(frozen=True)
class ProtocolScan:
    version: TlsVersion
    accepted: tuple[CipherSuite, ...] = ()

    @property
    def supported(self) -> bool:
        return bool(self.accepted)


@dataclass(frozen=True)
class CertificateDeployment:
    """One leaf certificate the server presents (most servers have one; some an RSA and an
    ECDSA one) with its chain as received, leaf first."""

    chain: tuple[CertificateInfo, ...]
    # The chain's signatures lead to an anchor in the system store, sslyze's Mozilla store or
    # our CA file; names and dates are judged separately.
    trusted: bool
    trust_error: str | None
    # sslyze's own verdict per trust store (chain, SNI name and now together): store -> error,
    # "" when that store validated it.
    store_results: dict[str, str] = field(default_factory=dict)
    # Every name of the target -> does the leaf cover it (RFC 6125 §6.4)?
    name_matches: dict[str, bool] = field(default_factory=dict)
    ocsp_stapled: bool = False
    ocsp_status: str | None = None  # "good", "revoked", "unknown" or the response status
    ocsp_trusted: bool | None = None
    must_staple: bool = False
    chain_in_order: bool | None = None

    @property
    def leaf(self) -> CertificateInfo:
        return self.chain[0]


@dataclass(frozen=True)
class Vulnerabilities:
    """None: not tested (see the scan's errors)."""

    heartbleed: bool | None = None
    # sslyze's ROBOT verdict, lower-cased: vulnerable_strong_oracle, vulnerable_weak_oracle,
    # not_vulnerable_no_oracle, not_vulnerable_rsa_not_supported, unknown_inconsistent_results
    robot: str | None = None
    ccs_injection: bool | None = None
    secure_renegotiation: bool | None = None
    client_renegotiation_dos: bool | None = None
    compression: bool | None = None
    fallback_scsv: bool | None = None


@dataclass(frozen=True)
class TlsScan:
    target: TlsTarget
    connected: bool
    # Only the versions whose scan completed; a version with no accepted suite is not supported.
    protocols: tuple[ProtocolScan, ...] = ()
    certificates: tuple[CertificateDeployment, ...] = ()
    vulnerabilities: Vulnerabilities = field(default_factory=Vulnerabilities)
    errors: tuple[ScanError, ...] = ()
    elapsed_ms: int = 0

    def protocol(self, version: TlsVersion) -> ProtocolScan | None:
        return next((p for p in self.protocols if p.version is version), None)

    @property
    def supported_versions(self) -> tuple[TlsVersion, ...]:
        return tuple(p.version for p in self.protocols if p.supported)

    @property
    def scan_complete_for_protocols(self) -> bool:
        """Every protocol version was tested, so `supported_versions` is the whole truth."""
        return self.connected and all(self.failed(p) is None for p in CIPHER_PARTS.values())

    def failed(self, part: ScanPart) -> ScanError | None:
        """The error that kept `part` from being tested (or the whole scan's), if any. A
        configuration problem (an unreadable CA file) did not keep anything from being tested."""
        for error in self.errors:
            if error.reason is ScanErrorReason.CONFIGURATION:
                continue
            if error.part is part or error.part in (ScanPart.SCAN, ScanPart.CONNECTIVITY):
                return error
        return None
