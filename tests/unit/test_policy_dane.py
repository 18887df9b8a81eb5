"""DANE TLSA matching (RFC 6698, RFC 7671, RFC 7672) on certificates made here."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from mailaudit.policy.dane import TlsaRecord, parse_tlsa, tlsa_matches

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
) -> bytes:
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW)
        .not_valid_after(NOW + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256()).public_bytes(Encoding.DER)


@pytest.fixture(scope="module")
def pki() -> dict[str, bytes]:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    other_ca_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    return {
        "ca": _cert("Lab CA", ca_key, "Lab CA", ca_key, ca=True),
        "leaf": _cert("mail.dane.test", leaf_key, "Lab CA", ca_key, ca=False),
        # Same CA name, signed by a different key: a chain that does not verify.
        "forged_leaf": _cert("mail.dane.test", leaf_key, "Lab CA", other_ca_key, ca=False),
        "other_ca": _cert("Other CA", other_ca_key, "Other CA", other_ca_key, ca=True),
    }


def _spki(der: bytes) -> bytes:
    return (
        x509.load_der_x509_certificate(der)
        .public_key()
        .public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    )


def _record(usage: int, selector: int, matching: int, der: bytes) -> TlsaRecord:
    selected = der if selector == 0 else _spki(der)
    data = {
        0: selected,
        1: hashlib.sha256(selected).digest(),
        2: hashlib.sha512(selected).digest(),
    }[matching]
    return parse_tlsa(f"{usage} {selector} {matching} {data.hex().upper()}")


@pytest.mark.parametrize("selector", [0, 1])
@pytest.mark.parametrize("matching", [0, 1, 2])
def test_dane_ee_matches_the_leaf(pki: dict[str, bytes], selector: int, matching: int) -> None:
    result = tlsa_matches([_record(3, selector, matching, pki["leaf"])], (pki["leaf"], pki["ca"]))
    assert result.matched
    assert result.checks[0].chain_index == 0


def test_dane_ee_does_not_match_another_certificate(pki: dict[str, bytes]) -> None:
    result = tlsa_matches([_record(3, 1, 1, pki["other_ca"])], (pki["leaf"], pki["ca"]))
    assert not result.matched
    assert result.usable_records == 1
    # What to publish instead: the record of the key the server really presents.
    assert result.presented_record == _record(3, 1, 1, pki["leaf"]).text


def test_dane_ee_never_matches_an_issuer(pki: dict[str, bytes]) -> None:
    # DANE-EE is about the server's own certificate only.
    assert not tlsa_matches([_record(3, 1, 1, pki["ca"])], (pki["leaf"], pki["ca"])).matched


@pytest.mark.parametrize("selector", [0, 1])
def test_dane_ta_matches_the_issuer(pki: dict[str, bytes], selector: int) -> None:
    result = tlsa_matches([_record(2, selector, 1, pki["ca"])], (pki["leaf"], pki["ca"]))
    assert result.matched
    assert result.checks[0].chain_index == 1


def test_dane_ta_needs_a_chain_that_verifies(pki: dict[str, bytes]) -> None:
    result = tlsa_matches([_record(2, 0, 1, pki["ca"])], (pki["forged_leaf"], pki["ca"]))
    assert not result.matched
    assert result.checks[0].note is not None
    assert "does not verify" in result.checks[0].note


def test_dane_ta_does_not_match_the_leaf(pki: dict[str, bytes]) -> None:
    result = tlsa_matches([_record(2, 0, 1, pki["leaf"])], (pki["leaf"],))
    assert not result.matched


def test_pkix_usages_are_unusable_for_smtp(pki: dict[str, bytes]) -> None:
    result = tlsa_matches(
        [_record(1, 1, 1, pki["leaf"]), _record(0, 1, 1, pki["ca"])], (pki["leaf"], pki["ca"])
    )
    assert not result.matched
    assert result.usable_records == 0
    assert result.note == "no usable TLSA record"


def test_one_matching_record_among_several_is_enough(pki: dict[str, bytes]) -> None:
    # A key rollover publishes the next key's record next to the current one.
    result = tlsa_matches(
        [_record(3, 1, 1, pki["other_ca"]), _record(3, 1, 1, pki["leaf"])], (pki["leaf"], pki["ca"])
    )
    assert result.matched
    assert [c.matched for c in result.checks] == [False, True]


def test_empty_chain_is_no_match(pki: dict[str, bytes]) -> None:
    assert not tlsa_matches([_record(3, 1, 1, pki["leaf"])], ()).matched


def test_garbage_chain_is_data_not_an_exception(pki: dict[str, bytes]) -> None:
    result = tlsa_matches([_record(3, 1, 1, pki["leaf"])], (b"not a certificate",))
    assert not result.matched
    assert result.note is not None
    assert "unreadable" in result.note


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("3 1 1 abcd", "association data of 2 bytes"),
        ("4 1 1 " + "00" * 32, "unknown usage"),
        ("3 2 1 " + "00" * 32, "unknown selector"),
        ("3 1 3 " + "00" * 32, "unknown matching type"),
        ("3 1 1 zz", "not hex"),
        ("garbage", "unreadable"),
    ],
)
def test_unusable_records(text: str, reason: str) -> None:
    record = parse_tlsa(text)
    assert not record.is_usable
    assert record.unusable_reason is not None
    assert reason in record.unusable_reason


def test_presentation_with_split_data() -> None:
    record = parse_tlsa("3 1 1 ABCD " + "00" * 30)
    assert record.data == "abcd" + "00" * 30
    assert record.is_usable
