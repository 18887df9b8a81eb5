"""DANE for SMTP (RFC 6698, RFC 7671, RFC 7672): TLSA records and matching them against the
certificate chain an MX really presents. Pure: records and DER bytes in, a verdict out."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509

# cryptography is imported by the functions that match certificates, not here: the record types
# of this module are part of the model, which every command loads.

__all__ = ["DaneMatch", "TlsaCheck", "TlsaRecord", "parse_tlsa", "tlsa_matches"]

# Certificate usages (RFC 6698 §2.1.1); SMTP uses only 2 and 3 (RFC 7672 §3.1.3).
PKIX_TA, PKIX_EE, DANE_TA, DANE_EE = 0, 1, 2, 3


@dataclass(frozen=True)
class TlsaRecord:
    usage: int
    selector: int
    matching_type: int
    # Certificate association data, lower-case hex.
    data: str
    error: str | None = None

    @property
    def text(self) -> str:
        return f"{self.usage} {self.selector} {self.matching_type} {self.data}"

    @property
    def unusable_reason(self) -> str | None:
        """Why an SMTP client must ignore this record, or None when it is usable."""
        if self.error:
            return self.error
        if self.usage in (PKIX_TA, PKIX_EE):
            return f"usage {self.usage} (PKIX) is not used for SMTP (RFC 7672 §3.1.3)"
        if self.usage not in (DANE_TA, DANE_EE):
            return f"unknown usage {self.usage}"
        if self.selector not in (0, 1):
            return f"unknown selector {self.selector}"
        if self.matching_type not in (0, 1, 2):
            return f"unknown matching type {self.matching_type}"
        expected = {1: 64, 2: 128}.get(self.matching_type)
        if expected is not None and len(self.data) != expected:
            return f"association data of {len(self.data) // 2} bytes for matching type {self.matching_type}"
        return None

    @property
    def is_usable(self) -> bool:
        return self.unusable_reason is None


def parse_tlsa(presentation: str) -> TlsaRecord:
    """A TLSA record in presentation form: `3 1 1 ab12...` (the data may be split by spaces)."""
    fields = presentation.split()
    if len(fields) < 4 or not all(f.isdigit() for f in fields[:3]):
        return TlsaRecord(-1, -1, -1, "", error=f"unreadable TLSA record '{presentation}'")
    data = "".join(fields[3:]).lower()
    try:
        bytes.fromhex(data)
    except ValueError:
        return TlsaRecord(
            int(fields[0]),
            int(fields[1]),
            int(fields[2]),
            data,
            error="association data is not hex",
        )
    return TlsaRecord(int(fields[0]), int(fields[1]), int(fields[2]), data)


@dataclass(frozen=True)
class TlsaCheck:
    """One TLSA record against the chain."""

    record: TlsaRecord
    matched: bool
    # Index in the chain (0 = the server's own certificate) of the certificate that matched.
    chain_index: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class DaneMatch:
    # At least one usable record matched (and, for DANE-TA, the chain up to the matched
    # certificate is signed link by link).
    matched: bool
    usable_records: int
    checks: tuple[TlsaCheck, ...] = ()
    note: str | None = None
    # The DANE-EE record that would match what the server presents (`3 1 1 <SHA-256 of the
    # leaf's public key>`), for the operator fixing a mismatch.
    presented_record: str | None = None


def tlsa_matches(
    tlsa_records: Iterable[TlsaRecord], cert_chain_der: tuple[bytes, ...]
) -> DaneMatch:
    """Match TLSA records against a presented chain (leaf first), per RFC 7671/7672:

    - DANE-EE(3): the leaf certificate (selector 0) or its public key (selector 1) matches;
      names and expiry are not checked (RFC 7672 §3.1.1).
    - DANE-TA(2): a certificate of the chain above the leaf matches and the chain from the leaf up
      to it is signed link by link (RFC 7671 §5.2). Reference-identifier checks of the leaf name
      are left to the caller, which knows the MX host name.
    - PKIX-TA(0)/PKIX-EE(1) and unknown parameters are unusable for SMTP and never match.
    """
    records = tuple(tlsa_records)
    usable = [r for r in records if r.is_usable]
    if not cert_chain_der:
        return DaneMatch(
            False,
            len(usable),
            tuple(TlsaCheck(r, False, note="no certificate") for r in records),
            "no certificate chain",
        )
    from cryptography import x509

    try:
        certs = [x509.load_der_x509_certificate(der) for der in cert_chain_der]
    except ValueError as exc:
        return DaneMatch(False, len(usable), (), f"unreadable certificate in the chain: {exc}")
    checks: list[TlsaCheck] = []
    for record in records:
        reason = record.unusable_reason
        if reason is not None:
            checks.append(TlsaCheck(record, False, note=reason))
            continue
        checks.append(_check(record, certs, cert_chain_der))
    matched = any(c.matched for c in checks)
    note = None if usable else "no usable TLSA record"
    spki = _spki_der(certs[0])
    presented = f"3 1 1 {hashlib.sha256(spki).hexdigest()}"
    return DaneMatch(matched, len(usable), tuple(checks), note, presented)


def _check(record: TlsaRecord, certs: list[x509.Certificate], ders: tuple[bytes, ...]) -> TlsaCheck:
    positions = range(1) if record.usage == DANE_EE else range(1, len(certs))
    for index in positions:
        if _associated(record, certs[index], ders[index]):
            if record.usage == DANE_TA and not _signed_up_to(certs, index):
                return TlsaCheck(
                    record, False, index, "the chain below the trust anchor does not verify"
                )
            return TlsaCheck(record, True, index)
    if record.usage == DANE_TA and len(certs) == 1:
        return TlsaCheck(
            record, False, note="the server sent no issuer certificate to match DANE-TA against"
        )
    return TlsaCheck(record, False)


def _associated(record: TlsaRecord, cert: x509.Certificate, der: bytes) -> bool:
    selected = der if record.selector == 0 else _spki_der(cert)
    if record.matching_type == 0:
        digest = selected
    elif record.matching_type == 1:
        digest = hashlib.sha256(selected).digest()
    else:
        digest = hashlib.sha512(selected).digest()
    return digest.hex() == record.data


def _spki_der(cert: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _signed_up_to(certs: list[x509.Certificate], anchor_index: int) -> bool:
    from cryptography.exceptions import InvalidSignature

    for child, parent in itertools.pairwise(certs[: anchor_index + 1]):
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature):
            return False
    return True
