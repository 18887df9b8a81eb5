"""What the user asked about: an address or a bare domain, normalised. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from publicsuffixlist import PublicSuffixList

from mailaudit.errors import UsageError
from mailaudit.names import ascii_host


@dataclass(frozen=True)
class Query:
    text: str
    address: str | None
    localpart: str | None
    # Lower case, IDNA (A-label) form, no trailing dot.
    domain: str

    def substitute(self, template: str) -> str:
        """Fill Thunderbird's placeholders; without an address, the address placeholders stay."""
        out = template.replace("%EMAILDOMAIN%", self.domain)
        if self.address is not None and self.localpart is not None:
            out = out.replace("%EMAILADDRESS%", self.address)
            out = out.replace("%EMAILLOCALPART%", self.localpart)
        return out


def parse_query(text: str) -> Query:
    """`user@example.org` or `example.org`; the domain in its IDNA A-label form (UTS 46); raises
    UsageError (a ValueError) with a message for a user."""
    cleaned = text.strip()
    if cleaned.lower().startswith("mailto:"):
        cleaned = cleaned[len("mailto:") :]
    localpart: str | None
    if "@" in cleaned:
        localpart, _, domain_text = cleaned.rpartition("@")
        if not localpart or any(c.isspace() for c in localpart):
            raise UsageError(f"{text!r}: not an e-mail address")
    else:
        localpart, domain_text = None, cleaned
    domain = normalise_domain(domain_text)
    address = f"{localpart}@{domain}" if localpart is not None else None
    return Query(text=text, address=address, localpart=localpart, domain=domain)


def normalise_domain(text: str) -> str:
    name = text.strip().rstrip(".")
    if not name or ("." not in name and "。" not in name and name.lower() != "localhost"):
        raise UsageError(f"{text!r}: not a domain name")
    name = ascii_host(name)  # UTS 46: straße.test -> xn--strae-oqa.test
    for label in name.split("."):
        if not label or len(label) > 63 or label.startswith("-") or label.endswith("-"):
            raise UsageError(f"{text!r}: not a valid domain name")
        if not all(c.isalnum() or c in "-_" for c in label):
            raise UsageError(f"{text!r}: not a valid domain name")
    return name


class DomainRules:
    """Registrable-domain questions, answered from the Public Suffix List bundled with
    `publicsuffixlist` (no network)."""

    def __init__(self, psl: PublicSuffixList | None = None) -> None:
        # Pass the run's `Context.public_suffixes`: one parse per run.
        self._psl = psl if psl is not None else PublicSuffixList()

    def registrable(self, host: str) -> str | None:
        """`mx1.mail.example.co.uk` -> `example.co.uk`; None for a public suffix itself."""
        name = host.lower().rstrip(".")
        result = self._psl.privatesuffix(name)
        return str(result) if result else None

    def same_registrable(self, host: str, domain: str) -> bool:
        """Is `host` inside `domain`'s registrable domain (or `domain` itself, when `domain`
        has none, e.g. a bare public suffix)?"""
        host = host.lower().rstrip(".")
        domain = domain.lower().rstrip(".")
        base = self.registrable(domain) or domain
        return host == base or host.endswith("." + base)
