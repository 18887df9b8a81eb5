"""sslyze end to end against small TLS servers of our own on 127.0.0.1 (no lab needed): the
certificate scenarios each give exactly their finding, whatever else the scan saw.

The servers speak implicit TLS only (the scheme is imaps on a random port) and offer Mozilla's
intermediate suites, so nothing but the certificate is at fault."""

from __future__ import annotations

import socketserver
import ssl
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mailaudit.model import Scheme, Severity
from mailaudit.net.sslyze_adapter import TlsScan, TlsTarget, TlsVersion, scan_endpoints
from tests.judging import judge_tls

NOW = datetime.now(UTC)
INTERMEDIATE_SUITES = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305"
)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class _Ca:
    def __init__(self, cn: str, not_before: datetime) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(_name(cn))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(NOW + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )

    def issue(
        self, names: tuple[str, ...], not_before: datetime, not_after: datetime
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(names[0]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        return cert, key


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        context: ssl.SSLContext = self.server.tls_context  # type: ignore[attr-defined]
        self.request.settimeout(3)
        try:
            with context.wrap_socket(self.request, server_side=True) as tls:
                tls.recv(1024)
        except (OSError, ssl.SSLError):
            return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("pki")
    # The lab CA is young: the expired leaf predates it, as in the lab.
    lab = _Ca("Loopback Lab CA", NOW - timedelta(days=1))
    rogue = _Ca("Rogue CA", NOW - timedelta(days=1))
    names = ("mail.loop.test", "imap.loop.test")
    soon = NOW - timedelta(days=1)
    leaves = {
        "good": lab.issue(names, soon, NOW + timedelta(days=300)),
        "expired": lab.issue(
            names, datetime(2020, 1, 1, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC)
        ),
        "wrong-name": lab.issue(("www.elsewhere.test",), soon, NOW + timedelta(days=300)),
        "untrusted": rogue.issue(names, soon, NOW + timedelta(days=300)),
    }
    files = {"ca": base / "ca.pem"}
    files["ca"].write_bytes(lab.cert.public_bytes(serialization.Encoding.PEM))
    for label, (cert, key) in leaves.items():
        path = base / f"{label}.pem"
        path.write_bytes(
            cert.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        files[label] = path
    return files


Serve = Callable[[str], int]


@pytest.fixture(scope="module")
def serve(pki: dict[str, Path]) -> Iterator[Serve]:
    servers: list[_Server] = []

    def start(label: str) -> int:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if label == "legacy":
            context.load_cert_chain(pki["good"])
            # Debian's OpenSSL refuses TLS 1.0/1.1 above security level 0; Python warns that
            # TLS 1.0 is deprecated, which is the point of this server.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                context.minimum_version = ssl.TLSVersion.TLSv1
            context.set_ciphers(f"{INTERMEDIATE_SUITES}:ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0")
        else:
            context.load_cert_chain(pki[label])
            context.set_ciphers(INTERMEDIATE_SUITES)
        server = _Server(("127.0.0.1", 0), _Handler)
        server.tls_context = context  # type: ignore[attr-defined]
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        servers.append(server)
        return int(server.server_address[1])

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def scans(serve: Serve, pki: dict[str, Path]) -> dict[str, TlsScan]:
    # One sslyze run for all four servers, as the audit does.
    labels = ["good", "expired", "wrong-name", "untrusted", "legacy"]
    targets = [
        TlsTarget("mail.loop.test", "127.0.0.1", serve(label), Scheme.IMAPS, ("imap.loop.test",))
        for label in labels
    ]
    results = scan_endpoints(
        targets,
        now=NOW,
        ca_file=str(pki["ca"]),
        connections_per_server=2,
        network_timeout_s=3,
        deadline_s=60,
    )
    return dict(zip(labels, results, strict=True))


def _ids(scan: TlsScan, at_least: Severity = Severity.INFO) -> list[str]:
    findings, _ = judge_tls(scan, now=NOW)
    return sorted(f.id for f in findings if f.severity.at_least(at_least))


def test_the_scan_sees_the_server_as_it_is(scans: dict[str, TlsScan]) -> None:
    scan = scans["good"]
    assert scan.connected, scan.errors
    assert scan.errors == ()
    assert set(scan.supported_versions) <= {TlsVersion.TLS_1_2, TlsVersion.TLS_1_3}
    assert TlsVersion.TLS_1_3 in scan.supported_versions
    (deployment,) = scan.certificates
    assert deployment.trusted
    assert deployment.name_matches == {"mail.loop.test": True, "imap.loop.test": True}
    assert deployment.store_results["Supplied CA file"] == ""
    # Only Mozilla's verdict and our CA file's are kept (sslyze's other stores repeat Mozilla).
    assert set(deployment.store_results) == {"Mozilla", "Supplied CA file"}
    assert scan.vulnerabilities.heartbleed is False


def test_a_good_server_has_no_finding(scans: dict[str, TlsScan]) -> None:
    assert _ids(scans["good"]) == []


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("expired", ["tls.cert-expired"]),
        ("wrong-name", ["tls.cert-name-mismatch"]),
        ("untrusted", ["tls.cert-untrusted"]),
    ],
)
def test_each_certificate_scenario_gives_exactly_its_finding(
    scans: dict[str, TlsScan], label: str, expected: list[str]
) -> None:
    scan = scans[label]
    assert scan.connected, scan.errors
    assert _ids(scan) == expected


def test_an_expired_certificate_from_a_trusted_ca_is_not_also_untrusted(
    scans: dict[str, TlsScan],
) -> None:
    (deployment,) = scans["expired"].certificates
    assert deployment.trusted
    # sslyze's own validation fails it (dates and chain are judged together there).
    assert deployment.store_results["Supplied CA file"] != ""


def test_an_untrusted_chain_names_its_issuer(scans: dict[str, TlsScan]) -> None:
    (deployment,) = scans["untrusted"].certificates
    assert not deployment.trusted
    assert deployment.trust_error is not None
    assert "Rogue CA" in deployment.trust_error


def test_a_legacy_tls10_listener_is_medium_on_imaps_and_info_on_port_25(
    scans: dict[str, TlsScan],
) -> None:
    # Given a server that also accepts TLS 1.0 and 1.1 (CBC suites come with them)
    scan = scans["legacy"]
    assert scan.connected, scan.errors
    assert {TlsVersion.TLS_1_0, TlsVersion.TLS_1_1} <= set(scan.supported_versions)
    # Then, where clients send passwords, the only finding above low is the protocol one
    assert _ids(scan, Severity.MEDIUM) == ["tls.protocol-deprecated"]
    assert "tls.cipher-outside-profile" in _ids(scan)
    # And the same facts on port 25 are opportunistic TLS: nothing above info
    as_mta = replace(scan, target=replace(scan.target, scheme=Scheme.SMTP))
    assert _ids(as_mta, Severity.LOW) == []
