"""Is a certificate chain trusted? Judged with `cryptography.x509.verification` (RFC 5280 path
building with basicConstraints, key usage, EKU and name constraints), apart from the two things
the TLS checks judge on their own: the dates and the host name.

- The name: the chain is verified for a name the leaf itself covers, so a certificate for the
  wrong host is "wrong name", not also "untrusted".
- The dates: verified first at the run's clock; if the only complaint is a validity period, again
  at an instant inside the leaf's own validity, so an expired certificate is "expired", not also
  "untrusted".
- A chain where no single instant has every certificate valid (a CA younger than the leaf it
  signed, as the lab's expired scenario has) cannot be judged by a path validator at all; only
  then do we check signatures alone, from the leaf to an anchor, and say so in the verdict.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

__all__ = ["TrustAnchors"]

# cryptography's VerificationError has no codes; this is the text of its validity-period failure.
_TIME_ERROR = "not valid at validation time"


class TrustAnchors:
    """The anchors of one run: the system store, sslyze's Mozilla store and the user's CA file."""

    def __init__(self, certificates: Iterable[x509.Certificate]) -> None:
        anchors = list(certificates)
        self._store = Store(anchors) if anchors else None
        self._by_subject: dict[bytes, list[x509.Certificate]] = {}
        self._fingerprints: set[bytes] = set()
        for cert in anchors:
            self._by_subject.setdefault(cert.subject.public_bytes(), []).append(cert)
            self._fingerprints.add(cert.fingerprint(hashes.SHA256()))

    def __len__(self) -> int:
        return len(self._fingerprints)

    def verdict(
        self, chain: Sequence[x509.Certificate], *, at: datetime
    ) -> tuple[bool, str | None]:
        """(trusted, why not) for the chain a server sent, leaf first; dates and host name aside."""
        if not chain:
            return False, "no certificate"
        if self._store is None:
            return False, "no trust anchors"
        leaf = chain[0]
        subject = _covered_name(leaf)
        if subject is None:
            return False, "the certificate names no host (no DNS or IP subjectAltName)"
        error = self._verify(chain, subject, at)
        if error is not None and _TIME_ERROR in error:
            inside = min(max(at, leaf.not_valid_before_utc), leaf.not_valid_after_utc)
            error = self._verify(chain, subject, inside)
            if error is not None and _TIME_ERROR in error:
                return self._signatures_reach_anchor(chain)
        if error is None:
            return True, None
        if error.endswith("no interior errors"):
            # No path from the leaf to any anchor: say which issuer we could not find.
            return False, _no_anchor(chain)
        return False, error

    def _verify(
        self,
        chain: Sequence[x509.Certificate],
        subject: x509.DNSName | x509.IPAddress,
        at: datetime,
    ) -> str | None:
        assert self._store is not None
        verifier = PolicyBuilder().store(self._store).time(at).build_server_verifier(subject)
        try:
            verifier.verify(chain[0], list(chain[1:]))
        except VerificationError as exc:
            return _tidy(str(exc))
        return None

    def _signatures_reach_anchor(
        self, chain: Sequence[x509.Certificate]
    ) -> tuple[bool, str | None]:
        current = chain[0]
        pool = list(chain[1:])
        for _ in range(len(chain) + 1):
            if current.fingerprint(hashes.SHA256()) in self._fingerprints:
                return True, None
            for anchor in self._by_subject.get(current.issuer.public_bytes(), []):
                if _issued_by(current, anchor):
                    return True, None
            parent = next(
                (c for c in pool if c.subject == current.issuer and _issued_by(current, c)), None
            )
            if parent is None:
                break
            pool.remove(parent)
            current = parent
        return False, _no_anchor([current])


def _covered_name(leaf: x509.Certificate) -> x509.DNSName | x509.IPAddress | None:
    """A name the leaf covers, to verify it for (a wildcard stands for one concrete label)."""
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for name in san.get_values_for_type(x509.DNSName):
        if name.startswith("*."):
            name = "wildcard" + name[1:]
        if "*" not in name:
            return x509.DNSName(name)
    for address in san.get_values_for_type(x509.IPAddress):
        if isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
            return x509.IPAddress(address)
    return None


def _issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(issuer)
    except Exception:  # wrong issuer, bad signature, unsupported algorithm: not issued by it
        return False
    return True


def _no_anchor(chain: Sequence[x509.Certificate]) -> str:
    last = chain[-1]
    issuer = last.issuer.rfc4514_string()
    if last.issuer == last.subject:
        return f"self-signed certificate {issuer} is not a trust anchor"
    return f"no trusted anchor for issuer {issuer}"


def _tidy(message: str) -> str:
    # Drop the library's "(encountered processing <Certificate(...)>)" object dump.
    head, _, _ = message.partition(" (encountered processing")
    return head.removeprefix("validation failed: ")
