"""TLS contexts and the facts read off a finished handshake."""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from mailaudit.model import CertificateInfo, TlsSession


def verifying_context(ca_file: str | None) -> ssl.SSLContext:
    """The system trust store plus the user's private CA (lab, staging)."""
    ctx = ssl.create_default_context()
    if ca_file:
        ctx.load_verify_locations(cafile=ca_file)
    return ctx


def permissive_context() -> ssl.SSLContext:
    """For looking at a server whose certificate failed validation: still complete the handshake
    so the rest of the dialogue (capabilities after TLS) can be observed. Never used to send
    credentials."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    # Reach legacy servers too: what they offer is for the TLS checks to judge, not for us to
    # refuse before we have seen it.
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    return ctx


def describe_certificate(der: bytes) -> CertificateInfo:
    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = tuple(san.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        names = ()
    key = cert.public_key()
    key_type, bits = _key_facts(key)
    sig = cert.signature_hash_algorithm
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        dns_names=names,
        not_before=cert.not_valid_before_utc.isoformat(),
        not_after=cert.not_valid_after_utc.isoformat(),
        key_type=key_type,
        key_bits=bits,
        signature_algorithm=f"{sig.name}-{key_type}" if sig else key_type,
        sha256_fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
    )


def _key_facts(key: object) -> tuple[str, int | None]:
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    return type(key).__name__, None


def session_facts(
    ssl_object: ssl.SSLObject | ssl.SSLSocket, *, verified: bool, verify_error: str | None
) -> TlsSession:
    cipher = ssl_object.cipher()
    der = ssl_object.getpeercert(binary_form=True)
    return TlsSession(
        version=ssl_object.version() or "unknown",
        cipher=cipher[0] if cipher else "unknown",
        cipher_bits=cipher[2] if cipher else None,
        certificate_valid=verified,
        verify_error=verify_error,
        certificate=describe_certificate(der) if der else None,
    )


def peer_chain_der(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> tuple[bytes, ...]:
    """The certificates the server sent, leaf first, as DER.

    Python 3.13 has this as `get_unverified_chain()`; 3.11 and 3.12 only have it on the private
    `_sslobj`. Fall back to the leaf alone where neither exists (DANE-EE still works then).
    """
    public = getattr(ssl_object, "get_unverified_chain", None)
    private = getattr(getattr(ssl_object, "_sslobj", None), "get_unverified_chain", None)
    getter = public or private
    if getter is not None:
        chain = getter() or []
        return tuple(_der(cert) for cert in chain)
    leaf = ssl_object.getpeercert(binary_form=True)
    return (leaf,) if leaf else ()


def _der(cert: Any) -> bytes:
    # `_ssl.Certificate` objects take `_ssl.ENCODING_DER`.
    if isinstance(cert, bytes):
        return cert
    return bytes(cert.public_bytes(_ENCODING_DER))


_ENCODING_DER: int = ssl._ssl.ENCODING_DER  # type: ignore[attr-defined]


def name_matches(dns_names: Iterable[str], host: str) -> bool:
    """Does a certificate with these subjectAltName DNS names cover `host`? RFC 6125 §6.4.3: a
    wildcard is only the whole left-most label and stands for exactly one label."""
    wanted = host.lower().rstrip(".")
    if not wanted:
        return False
    for raw in dns_names:
        pattern = raw.lower().rstrip(".")
        if pattern == wanted:
            return True
        if pattern.startswith("*.") and "*" not in pattern[2:]:
            head, sep, rest = wanted.partition(".")
            if sep and head and rest == pattern[2:] and "." in rest:
                return True
    return False
