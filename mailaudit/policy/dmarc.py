"""DMARC records (RFC 7489 §6.3-6.4): tag-value lists read into a frozen record, with syntax
errors as data. Unknown tags are ignored, as receivers must (§6.3)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote, urlsplit

from mailaudit.policy._names import is_domain_name, normalise

__all__ = [
    "Alignment",
    "DmarcPolicy",
    "DmarcRecord",
    "ReportUri",
    "dmarc_records_among",
    "is_dmarc_record",
    "parse_dmarc",
    "parse_report_uri",
]


class DmarcPolicy(StrEnum):
    NONE = "none"
    QUARANTINE = "quarantine"
    REJECT = "reject"

    @property
    def enforces(self) -> bool:
        return self is not DmarcPolicy.NONE


class Alignment(StrEnum):
    RELAXED = "r"
    STRICT = "s"


@dataclass(frozen=True)
class ReportUri:
    uri: str
    scheme: str  # "mailto" normally
    # The mailbox (mailto:) and its domain; None when the URI has none.
    address: str | None = None
    domain: str | None = None
    # The optional "!size" suffix, as written ("10m").
    size_limit: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class DmarcRecord:
    text: str
    tags: dict[str, str]
    # None when `p` is missing or invalid.
    policy: DmarcPolicy | None = None
    subdomain_policy: DmarcPolicy | None = None
    # RFC 9091 / DMARCbis: the policy for non-existent subdomains.
    nonexistent_subdomain_policy: DmarcPolicy | None = None
    adkim: Alignment = Alignment.RELAXED
    aspf: Alignment = Alignment.RELAXED
    percent: int = 100
    rua: tuple[ReportUri, ...] = ()
    ruf: tuple[ReportUri, ...] = ()
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def is_valid(self) -> bool:
        return not self.errors

    @property
    def falls_back_to_none(self) -> bool:
        """RFC 7489 §6.6.3 step 6: a record without a valid `p`, or with an `sp` that is not
        valid, is treated as `p=none` (when it has a valid `rua`) or ignored (when not)."""
        sp_invalid = "sp" in self.tags and self.subdomain_policy is None
        return self.policy is None or sp_invalid

    @property
    def is_usable(self) -> bool:
        """Whether a receiver applies it at all (§6.6.3 step 6): a valid `v` and either a valid
        `p` (and `sp`, when present) or, failing that, at least one valid `rua` (then treated as
        p=none)."""
        if self.tags.get("v") != "DMARC1":
            return False
        return not self.falls_back_to_none or any(u.error is None for u in self.rua)

    @property
    def effective_policy(self) -> DmarcPolicy:
        """The policy a receiver applies to the domain itself (a broken `p` or `sp` with a valid
        `rua` is p=none, §6.6.3)."""
        if self.falls_back_to_none or self.policy is None:
            return DmarcPolicy.NONE
        return self.policy

    @property
    def effective_subdomain_policy(self) -> DmarcPolicy:
        if self.falls_back_to_none:
            return DmarcPolicy.NONE
        return self.subdomain_policy or self.effective_policy


# Keyword = ldh-str (RFC 5321 §4.1.2), as RFC 7489 §6.4 uses it for `rf`.
_KEYWORD = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", re.IGNORECASE)


def is_dmarc_record(text: str) -> bool:
    """§6.6.3: records that do not start with a `v=DMARC1` tag are discarded. The tag name is
    an ABNF literal, case-insensitive (RFC 5234 §2.3); the value is spelled with %x, exact."""
    first, _, _ = text.partition(";")
    key, sep, value = first.partition("=")
    return bool(sep) and key.strip().lower() == "v" and value.strip() == "DMARC1"


def dmarc_records_among(txt_strings: Iterable[str]) -> tuple[str, ...]:
    return tuple(t for t in txt_strings if is_dmarc_record(t))


def parse_dmarc(text: str) -> DmarcRecord:
    """Read one DMARC record; never raises on bad input."""
    errors: list[str] = []
    warnings: list[str] = []
    tags: dict[str, str] = {}
    order: list[str] = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            errors.append(f"'{part}' is not a tag=value pair")
            continue
        # Tag names are case-insensitive ABNF literals (RFC 5234 §2.3): "P=reject" is "p=reject".
        lowered = key.lower()
        if lowered in tags:
            errors.append(f"tag '{lowered}' appears more than once")
            continue
        tags[lowered] = value
        order.append(lowered)
    if tags.get("v") != "DMARC1" or not order or order[0] != "v":
        errors.append("the record must start with 'v=DMARC1'")
    policy = _policy(tags, "p", errors)
    if "p" not in tags:
        errors.append("the required 'p' tag is missing")
    elif len(order) > 1 and order[1] != "p":
        warnings.append("'p' should directly follow 'v' (RFC 7489 §6.3)")
    subdomain_policy = _policy(tags, "sp", errors)
    np_policy = _policy(tags, "np", errors)
    adkim = _alignment(tags, "adkim", errors)
    aspf = _alignment(tags, "aspf", errors)
    percent = 100
    if "pct" in tags:
        raw = tags["pct"]
        if raw.isdigit() and 0 <= int(raw) <= 100:
            percent = int(raw)
        else:
            errors.append(f"pct={raw}: must be an integer from 0 to 100")
    rua = _uris(tags.get("rua"), "rua", errors)
    ruf = _uris(tags.get("ruf"), "ruf", errors)
    if "fo" in tags:
        options = [o.strip() for o in tags["fo"].split(":")]
        if not options or any(o not in ("0", "1", "d", "s") for o in options):
            errors.append(f"fo={tags['fo']}: options are 0, 1, d and s separated by ':'")
    if "rf" in tags:
        # rf = Keyword *(":" Keyword) (§6.4): an unregistered keyword is well-formed; receivers
        # ignore formats they do not know.
        formats = [f.strip().lower() for f in tags["rf"].split(":")]
        if not all(_KEYWORD.fullmatch(f) for f in formats):
            errors.append(f"rf={tags['rf']}: formats are keywords separated by ':'")
        elif "afrf" not in formats:
            warnings.append(f"rf={tags['rf']}: no format receivers know ('afrf')")
    if "ri" in tags and not (tags["ri"].isdigit() and int(tags["ri"]) < 2**32):
        errors.append(f"ri={tags['ri']}: must be a 32-bit unsigned integer")
    return DmarcRecord(
        text=text,
        tags=tags,
        policy=policy,
        subdomain_policy=subdomain_policy,
        nonexistent_subdomain_policy=np_policy,
        adkim=adkim,
        aspf=aspf,
        percent=percent,
        rua=rua,
        ruf=ruf,
        errors=tuple(errors),
        warnings=tuple(warnings),
    )


def _policy(tags: dict[str, str], tag: str, errors: list[str]) -> DmarcPolicy | None:
    if tag not in tags:
        return None
    try:
        return DmarcPolicy(tags[tag].lower())
    except ValueError:
        errors.append(f"{tag}={tags[tag]}: must be none, quarantine or reject")
        return None


def _alignment(tags: dict[str, str], tag: str, errors: list[str]) -> Alignment:
    if tag not in tags:
        return Alignment.RELAXED
    try:
        return Alignment(tags[tag].lower())
    except ValueError:
        errors.append(f"{tag}={tags[tag]}: must be r or s")
        return Alignment.RELAXED


def _uris(value: str | None, tag: str, errors: list[str]) -> tuple[ReportUri, ...]:
    if value is None:
        return ()
    uris = tuple(parse_report_uri(u.strip()) for u in value.split(",") if u.strip())
    if not uris:
        errors.append(f"{tag}= is empty")
    for uri in uris:
        if uri.error:
            errors.append(f"{tag}: {uri.uri}: {uri.error}")
    return uris


def parse_report_uri(text: str) -> ReportUri:
    """A DMARC report URI with its optional `!size` suffix (RFC 7489 §6.2)."""
    uri, bang, size = text.partition("!")
    size_limit = size if bang else None
    if bang and not (size[:-1].isdigit() if size[-1:].lower() in "kmgt" else size.isdigit()):
        return ReportUri(text, "", size_limit=size_limit, error=f"bad size limit '!{size}'")
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if not scheme:
        return ReportUri(text, "", size_limit=size_limit, error="not a URI (missing 'mailto:')")
    if scheme != "mailto":
        # RFC 7489 only defines mailto: destinations for reports.
        return ReportUri(text, scheme, size_limit=size_limit)
    address = unquote(parts.path)
    local, at, domain = address.rpartition("@")
    if not at or not local or not is_domain_name(domain):
        return ReportUri(
            text, scheme, address or None, size_limit=size_limit, error="not a mail address"
        )
    return ReportUri(text, scheme, address, normalise(domain), size_limit)
