"""The sslyze adapter without the lab: host name matching, the trust walk (apart from names and
dates), dead and silent endpoints as data (loopback only), and Mozilla's profile in step."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mailaudit.checks.tls import (
    MOZILLA_INTERMEDIATE_CIPHERS,
    MOZILLA_INTERMEDIATE_TLS13_CIPHERS,
    MOZILLA_INTERMEDIATE_VERSIONS,
)
from mailaudit.model import (
    ScanErrorReason,
    ScanPart,
    Scheme,
    TlsTarget,
    TlsVersion,
)
from mailaudit.net.chain import TrustAnchors
from mailaudit.net.sslyze_adapter import scan_endpoints
from mailaudit.net.tls import name_matches

# ---------------------------------------------------------------------------- name matching


@pytest.mark.parametrize(
    ("names", "host", "expected"),
    [
        (("mail.example.test",), "mail.example.test", True),
        (("MAIL.example.test.",), "mail.EXAMPLE.test", True),
        (("*.example.test",), "mail.example.test", True),
        (("*.example.test",), "example.test", False),
        (("*.example.test",), "a.b.example.test", False),
        (("*.test",), "example.test", False),  # no wildcard over a single remaining label
        (("m*.example.test",), "mail.example.test", False),
        (("other.example.test",), "mail.example.test", False),
        ((), "mail.example.test", False),
    ],
)
def test_name_matches(names: tuple[str, ...], host: str, expected: bool) -> None:
    assert name_matches(names, host) is expected


def test_target_names_are_normalised_and_deduplicated() -> None:
    t = TlsTarget(
        "Mail.Example.test.", "192.0.2.1", 25, Scheme.SMTP, ("mail.example.test", "mx.example.test")
    )
    assert t.all_names == ("mail.example.test", "mx.example.test")
    assert (
        TlsTarget("imap.example.test", "192.0.2.1", 10993, Scheme.IMAPS).url
        == "imaps://imap.example.test:10993"
    )


# -------------------------------------------------------------------------- chain validation


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(
    subject: str,
    issuer: str,
    key: ec.EllipticCurvePrivateKey,
    signer: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    not_before: datetime,
    not_after: datetime,
    dns_names: tuple[str, ...] = (),
    server_auth: bool = True,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
            critical=False,
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False
        )
    if not ca:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server_auth else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(signer, hashes.SHA256())


NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def pki() -> dict[str, x509.Certificate]:
    root_key, inter_key, leaf_key, rogue_key = (
        ec.generate_private_key(ec.SECP256R1()) for _ in range(4)
    )
    recent = NOW - timedelta(days=1)
    long_ago = datetime(2019, 1, 1, tzinfo=UTC)

    def leaf(
        subject: str, signer: ec.EllipticCurvePrivateKey, issuer: str, **kw: object
    ) -> x509.Certificate:
        options: dict[str, object] = {
            "ca": False,
            "not_before": recent,
            "not_after": NOW + timedelta(days=90),
            "dns_names": (f"{subject}.example.test",),
            **kw,
        }
        return _cert(subject, issuer, leaf_key, signer, **options)  # type: ignore[arg-type]

    return {
        "root": _cert("Lab Root", "Lab Root", root_key, root_key, ca=True,
                      not_before=recent, not_after=NOW + timedelta(days=3650)),
        # A root as old as the certificates it signed long ago (the usual case in the field).
        "old root": _cert("Old Root", "Old Root", root_key, root_key, ca=True,
                          not_before=long_ago, not_after=NOW + timedelta(days=3650)),
        "inter": _cert("Lab Intermediate", "Lab Root", inter_key, root_key, ca=True,
                       not_before=recent, not_after=NOW + timedelta(days=365)),
        "leaf": leaf("mail", inter_key, "Lab Intermediate"),
        "wrong name": leaf("www", inter_key, "Lab Intermediate", dns_names=("www.elsewhere.test",)),
        "client only": leaf("client", inter_key, "Lab Intermediate", server_auth=False),
        # An intermediate that is not a CA signing a leaf: basicConstraints forbids the path.
        "not a ca": _cert("Not A CA", "Lab Root", inter_key, root_key, ca=False,
                          not_before=recent, not_after=NOW + timedelta(days=365)),
        "under not a ca": leaf("sub", inter_key, "Not A CA"),
        "expired, old root": leaf("old", root_key, "Old Root",
                                  not_before=datetime(2020, 1, 1, tzinfo=UTC),
                                  not_after=datetime(2021, 1, 1, tzinfo=UTC)),
        # Expired years before the CA that signed it existed, as in the lab.
        "expired, young root": leaf("older", root_key, "Lab Root",
                                    not_before=datetime(2020, 1, 1, tzinfo=UTC),
                                    not_after=datetime(2021, 1, 1, tzinfo=UTC)),
        "rogue": leaf("evil", rogue_key, "Lab Root"),
    }  # fmt: skip


def test_a_chain_through_an_intermediate_is_trusted(pki: dict[str, x509.Certificate]) -> None:
    anchors = TrustAnchors([pki["root"]])
    assert anchors.verdict([pki["leaf"], pki["inter"]], at=NOW) == (True, None)


def test_a_missing_intermediate_is_not_trusted(pki: dict[str, x509.Certificate]) -> None:
    trusted, error = TrustAnchors([pki["root"]]).verdict([pki["leaf"]], at=NOW)
    assert not trusted
    assert error is not None
    assert "Lab Intermediate" in error


def test_a_wrong_name_is_not_untrusted(pki: dict[str, x509.Certificate]) -> None:
    # The name is the name check's business: trust is judged for a name the leaf covers.
    anchors = TrustAnchors([pki["root"]])
    assert anchors.verdict([pki["wrong name"], pki["inter"]], at=NOW) == (True, None)


@pytest.mark.parametrize("expired", ["expired, old root", "expired, young root"])
def test_an_expired_certificate_from_a_trusted_ca_is_still_trusted(
    pki: dict[str, x509.Certificate], expired: str
) -> None:
    anchors = TrustAnchors([pki["root"], pki["old root"]])
    assert anchors.verdict([pki[expired]], at=NOW) == (True, None)


def test_a_forged_issuer_name_is_not_trusted(pki: dict[str, x509.Certificate]) -> None:
    # Given a certificate naming the trusted root as issuer but signed by another key
    trusted, error = TrustAnchors([pki["root"]]).verdict([pki["rogue"]], at=NOW)
    assert not trusted
    assert error == "candidates exhausted: signature does not match"


def test_a_leaf_under_a_non_ca_is_not_trusted(pki: dict[str, x509.Certificate]) -> None:
    # The hand-written walk followed signatures only and trusted this chain.
    anchors = TrustAnchors([pki["root"]])
    trusted, error = anchors.verdict([pki["under not a ca"], pki["not a ca"]], at=NOW)
    assert not trusted
    assert error is not None


def test_a_certificate_for_clients_only_is_not_trusted_for_a_server(
    pki: dict[str, x509.Certificate],
) -> None:
    anchors = TrustAnchors([pki["root"]])
    trusted, error = anchors.verdict([pki["client only"], pki["inter"]], at=NOW)
    assert not trusted
    assert error is not None


# ------------------------------------------------------------------- dead and silent endpoints


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_refused_connection_is_data_and_targets_are_merged() -> None:
    # Given two names for one closed loopback port
    port = _free_port()
    targets = [
        TlsTarget("imap.example.test", "127.0.0.1", port, Scheme.IMAPS),
        TlsTarget("mail.example.test", "127.0.0.1", port, Scheme.IMAPS, ("mx.example.test",)),
    ]
    # When scanned
    scans = scan_endpoints(
        targets, now=NOW, network_timeout_s=1, network_max_retries=1, deadline_s=20
    )
    # Then one scan, with every name, not connected, the reason as data
    assert len(scans) == 1
    (s,) = scans
    assert s.target.all_names == ("imap.example.test", "mail.example.test", "mx.example.test")
    assert not s.connected
    assert [(e.part, e.reason) for e in s.errors] == [
        (ScanPart.CONNECTIVITY, ScanErrorReason.REFUSED)
    ]


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never says a word (a tarpit)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


# sslyze drops (does not close) its socket when a STARTTLS greeting times out; the
# ResourceWarning surfaces as an unraisable exception in whichever test runs next.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_silent_server_ends_as_a_timeout_within_the_deadline(silent_server: int) -> None:
    started = time.monotonic()
    (s,) = scan_endpoints(
        [TlsTarget("mail.example.test", "127.0.0.1", silent_server, Scheme.IMAP)],
        now=NOW,
        network_timeout_s=1,
        network_max_retries=1,
        deadline_s=3,
    )
    assert time.monotonic() - started < 4
    assert not s.connected
    assert s.errors[0].reason in (
        ScanErrorReason.TIMEOUT,
        ScanErrorReason.DEADLINE,
    )


def test_no_targets_no_scan() -> None:
    assert scan_endpoints([], now=NOW) == []


# -------------------------------------------------------------------- Mozilla's profile in step


def test_our_intermediate_profile_matches_the_one_sslyze_ships() -> None:
    profile = json.loads(
        resources.files("sslyze.mozilla_tls_profile").joinpath("5.7.json").read_text()
    )
    intermediate = profile["configurations"]["intermediate"]
    versions = {
        v.replace("TLSv1.", "TLSv1.").replace("TLSv1", "TLSv1.0") if v == "TLSv1" else v
        for v in intermediate["tls_versions"]
    }
    assert {v.value for v in MOZILLA_INTERMEDIATE_VERSIONS} == versions
    assert set(intermediate["ciphers"]["iana"]) == MOZILLA_INTERMEDIATE_CIPHERS
    assert set(intermediate["ciphersuites"]) == MOZILLA_INTERMEDIATE_TLS13_CIPHERS
    assert intermediate["rsa_key_size"] == 2048


def test_deprecated_versions() -> None:
    assert [v for v in TlsVersion if v.deprecated] == [
        TlsVersion.SSL_2_0,
        TlsVersion.SSL_3_0,
        TlsVersion.TLS_1_0,
        TlsVersion.TLS_1_1,
    ]


def test_a_host_name_sslyze_cannot_encode_fails_alone() -> None:
    # Given one target whose name IDNA refuses (an empty label) next to a closed port
    bad = TlsTarget("bad..example.test", "127.0.0.1", _free_port(), Scheme.IMAPS)
    other = TlsTarget("mail.example.test", "127.0.0.1", _free_port(), Scheme.IMAPS)
    # When scanned together
    first, second = scan_endpoints(
        [bad, other], now=NOW, network_timeout_s=1, network_max_retries=1, deadline_s=20
    )
    # Then the bad one is a configuration error and the other was still scanned
    assert first.errors[0].reason is ScanErrorReason.CONFIGURATION
    assert second.errors[0].reason is ScanErrorReason.REFUSED
