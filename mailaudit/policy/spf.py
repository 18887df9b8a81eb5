"""SPF records (RFC 7208): read one `v=spf1` record into terms, with syntax errors as data.

The reader follows the ABNF of RFC 7208 §12. It does not evaluate the record and does no DNS:
walking `include:`/`redirect=` and counting lookups is the gatherer's work
(`mailaudit.probes.dns_policy`), judging the result is the checks' work.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "DNS_LOOKUP_LIMIT",
    "VOID_LOOKUP_LIMIT",
    "Mechanism",
    "Qualifier",
    "SpfMechanism",
    "SpfModifier",
    "SpfRecord",
    "is_spf_record",
    "parse_spf",
    "spf_records_among",
]

# RFC 7208 §4.6.4: at most 10 terms that cause DNS queries, at most 2 "void" lookups.
DNS_LOOKUP_LIMIT = 10
VOID_LOOKUP_LIMIT = 2


class Qualifier(StrEnum):
    PASS = "+"
    FAIL = "-"
    SOFTFAIL = "~"
    NEUTRAL = "?"


class Mechanism(StrEnum):
    ALL = "all"
    INCLUDE = "include"
    A = "a"
    MX = "mx"
    PTR = "ptr"
    IP4 = "ip4"
    IP6 = "ip6"
    EXISTS = "exists"

    @property
    def queries_dns(self) -> bool:
        """Counts against the 10-lookup limit (RFC 7208 §4.6.4)."""
        return self in _QUERYING


_QUERYING = frozenset(
    {Mechanism.INCLUDE, Mechanism.A, Mechanism.MX, Mechanism.PTR, Mechanism.EXISTS}
)


@dataclass(frozen=True)
class SpfMechanism:
    kind: Mechanism
    qualifier: Qualifier
    # The domain-spec as written (it may hold macros); None means "the current domain".
    domain: str | None = None
    # ip4/ip6: the network as written, with its prefix length when one was given.
    network: str | None = None
    # a/mx: the dual-cidr prefix lengths, when given.
    cidr4: int | None = None
    cidr6: int | None = None
    text: str = ""

    @property
    def has_macro(self) -> bool:
        return self.domain is not None and "%" in self.domain


@dataclass(frozen=True)
class SpfModifier:
    name: str  # lower case
    value: str
    text: str = ""

    @property
    def has_macro(self) -> bool:
        return "%" in self.value


@dataclass(frozen=True)
class SpfRecord:
    text: str
    mechanisms: tuple[SpfMechanism, ...] = ()
    modifiers: tuple[SpfModifier, ...] = ()
    # Each makes the record a permerror (RFC 7208 §4.6): receivers ignore the whole policy.
    errors: tuple[str, ...] = ()
    # Legal but suspect: terms that are never reached, discouraged mechanisms.
    warnings: tuple[str, ...] = ()

    @property
    def is_valid(self) -> bool:
        return not self.errors

    @property
    def all_mechanism(self) -> SpfMechanism | None:
        """The first `all` (later terms are never evaluated)."""
        return next((m for m in self.mechanisms if m.kind is Mechanism.ALL), None)

    @property
    def redirect(self) -> str | None:
        return next((m.value for m in self.modifiers if m.name == "redirect"), None)

    @property
    def effective_redirect(self) -> str | None:
        """`redirect=` only applies when no `all` is present (RFC 7208 §6.1)."""
        return None if self.all_mechanism is not None else self.redirect

    @property
    def dns_lookup_terms(self) -> tuple[str, ...]:
        """Terms of this record that count against the 10-lookup limit, as written."""
        terms = [m.text for m in self.mechanisms if m.kind.queries_dns]
        if self.effective_redirect is not None:
            terms.append(f"redirect={self.effective_redirect}")
        return tuple(terms)


def is_spf_record(text: str) -> bool:
    """RFC 7208 §4.5: exactly `v=spf1` followed by a space or the end of the record."""
    lowered = text.lower()
    return lowered == "v=spf1" or lowered.startswith("v=spf1 ")


def spf_records_among(txt_strings: Iterable[str]) -> tuple[str, ...]:
    """The TXT strings that are SPF records (other TXT records are ignored, §4.5)."""
    return tuple(t for t in txt_strings if is_spf_record(t))


_MODIFIER = re.compile(r"^([a-z][a-z0-9_.-]*)=(.*)$", re.IGNORECASE | re.DOTALL)
_MECHANISM = re.compile(r"^([a-z0-9]+)(.*)$", re.IGNORECASE | re.DOTALL)
_MACRO_EXPAND = re.compile(r"%\{([slodiphcrtv])(\d*)(r?)([.\-+,/_=]*)\}", re.IGNORECASE)
_DUAL_CIDR = re.compile(r"^(?:/(\d{1,2}))?(?://(\d{1,3}))?$")
# The prefix-length tail of an a/mx argument: the leftmost position from which the rest is
# "/digits", "//digits" or both (so the longest such tail).
_CIDR_TAIL = re.compile(r"(?:/\d+)?(?://\d+)?$")
# RFC 7208 §7.1: "c", "r" and "t" are allowed only in the explanation text exp= points at.
_EXPLANATION_ONLY = frozenset("crt")
# toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
_TOPLABEL = re.compile(r"(?:[a-z0-9]*[a-z][a-z0-9]*|[a-z0-9]+-[a-z0-9-]*[a-z0-9])", re.IGNORECASE)


def parse_spf(text: str) -> SpfRecord:
    """Read one SPF record; never raises on bad input."""
    errors: list[str] = []
    warnings: list[str] = []
    mechanisms: list[SpfMechanism] = []
    modifiers: list[SpfModifier] = []
    if not is_spf_record(text):
        return SpfRecord(text, errors=("the record does not start with 'v=spf1'",))
    if any(ch in text for ch in "\t\r\n"):
        errors.append("terms must be separated by spaces only")
    for term in text.split()[1:]:
        modifier = _MODIFIER.match(term)
        if modifier:
            name, value = modifier.group(1).lower(), modifier.group(2)
            modifiers.append(SpfModifier(name, value, term))
            if name in ("redirect", "exp"):
                error = _domain_spec_error(value)
                if error:
                    errors.append(f"{term}: {error}")
            elif _macro_error(value):
                errors.append(f"{term}: {_macro_error(value)}")
            continue
        mechanism, error = _parse_mechanism(term)
        if error:
            errors.append(f"{term}: {error}")
        if mechanism is not None:
            mechanisms.append(mechanism)
    for name in ("redirect", "exp"):
        if sum(1 for m in modifiers if m.name == name) > 1:
            errors.append(f"'{name}=' appears more than once (RFC 7208 §6)")
    kinds = [m.kind for m in mechanisms]
    if Mechanism.ALL in kinds:
        first_all = kinds.index(Mechanism.ALL)
        ignored = [m.text for m in mechanisms[first_all + 1 :]]
        if ignored:
            warnings.append(f"terms after 'all' are never evaluated: {' '.join(ignored)}")
        if any(m.name == "redirect" for m in modifiers):
            warnings.append("'redirect=' is ignored because the record has an 'all' mechanism")
    if Mechanism.PTR in kinds:
        warnings.append(
            "the 'ptr' mechanism is slow and unreliable and SHOULD NOT be used (RFC 7208 §5.5)"
        )
    return SpfRecord(text, tuple(mechanisms), tuple(modifiers), tuple(errors), tuple(warnings))


def _parse_mechanism(term: str) -> tuple[SpfMechanism | None, str | None]:
    qualifier = Qualifier.PASS
    body = term
    if body[:1] in "+-~?":
        qualifier = Qualifier(body[0])
        body = body[1:]
    match = _MECHANISM.match(body)
    if not match:
        return None, "not a mechanism or modifier"
    name, rest = match.group(1).lower(), match.group(2)
    try:
        kind = Mechanism(name)
    except ValueError:
        return None, f"unknown mechanism '{name}'"
    if kind is Mechanism.ALL:
        if rest:
            return None, "'all' takes no argument"
        return SpfMechanism(kind, qualifier, text=term), None
    if kind in (Mechanism.IP4, Mechanism.IP6):
        if not rest.startswith(":") or len(rest) < 2:
            return None, f"'{name}' needs an address"
        network = rest[1:]
        error = _network_error(kind, network)
        if error:
            return None, error
        return SpfMechanism(kind, qualifier, network=network, text=term), None
    if kind in (Mechanism.INCLUDE, Mechanism.EXISTS):
        if not rest.startswith(":") or len(rest) < 2:
            return None, f"'{name}' needs a domain"
        target = rest[1:]
        error = _domain_spec_error(target)
        if error:
            return None, error
        return SpfMechanism(kind, qualifier, domain=target, text=term), None
    # a, mx, ptr: [":" domain-spec] and, except for ptr, a dual-cidr-length. A domain-spec may
    # itself hold "/" and ":" (any visible character but "%", RFC 7208 §7.1), so the prefix
    # lengths are the longest "/N" and "//N" tail, and the domain-spec is what precedes them.
    domain: str | None = None
    cidr_text = rest
    if rest.startswith(":"):
        spec = rest[1:]
        tail = _CIDR_TAIL.search(spec)
        cidr_text = tail.group(0) if tail else ""
        domain = spec[: len(spec) - len(cidr_text)]
        if not domain:
            return None, f"'{name}:' needs a domain"
        error = _domain_spec_error(domain)
        if error:
            return None, error
    cidr4 = cidr6 = None
    if cidr_text:
        if kind is Mechanism.PTR:
            return None, "'ptr' takes no prefix length"
        cidr = _DUAL_CIDR.match(cidr_text)
        if not cidr:
            return None, f"bad prefix length '{cidr_text}'"
        cidr4 = int(cidr.group(1)) if cidr.group(1) else None
        cidr6 = int(cidr.group(2)) if cidr.group(2) else None
        if (cidr4 is not None and cidr4 > 32) or (cidr6 is not None and cidr6 > 128):
            return None, f"prefix length out of range '{cidr_text}'"
    return SpfMechanism(kind, qualifier, domain=domain, cidr4=cidr4, cidr6=cidr6, text=term), None


def _network_error(kind: Mechanism, network: str) -> str | None:
    address, slash, prefix = network.partition("/")
    max_prefix = 32 if kind is Mechanism.IP4 else 128
    try:
        if kind is Mechanism.IP4:
            ipaddress.IPv4Address(address)
        else:
            ipaddress.IPv6Address(address)
    except ValueError:
        return f"'{address}' is not an {'IPv4' if kind is Mechanism.IP4 else 'IPv6'} address"
    if slash and (
        not prefix.isdigit() or int(prefix) > max_prefix or (len(prefix) > 1 and prefix[0] == "0")
    ):
        return f"bad prefix length '/{prefix}'"
    return None


def _macro_error(value: str, *, domain_spec: bool = False) -> str | None:
    """Checks a macro-string (RFC 7208 §7.1); in a domain-spec the letters c, r and t are not
    allowed (they only make sense in explanation text)."""
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "%":
            nxt = value[i + 1 : i + 2]
            if nxt in ("%", "_", "-"):
                i += 2
                continue
            match = _MACRO_EXPAND.match(value, i)
            if not match:
                return f"bad macro at '{value[i:]}'"
            if domain_spec and match.group(1).lower() in _EXPLANATION_ONLY:
                return f"macro '{match.group(0)}' is allowed only in explanation text"
            i = match.end()
            continue
        if not 0x21 <= ord(ch) <= 0x7E:
            return f"invalid character {ch!r}"
        i += 1
    return None


def _domain_spec_error(spec: str) -> str | None:
    """domain-spec = macro-string domain-end; domain-end = "." toplabel ["."] / macro-expand
    (RFC 7208 §7.1). Any visible character but "%" may appear before the domain-end."""
    if not spec:
        return "'' is not a valid domain name"
    error = _macro_error(spec, domain_spec=True)
    if error:
        return error
    if spec.endswith("}"):
        return None
    name = spec[:-1] if spec.endswith(".") else spec
    labels = name.split(".")
    if len(labels) < 2 or not _TOPLABEL.fullmatch(labels[-1]):
        if "%" not in spec:
            return f"'{spec}' is not a valid domain name"
        return f"'{spec}' does not end in a domain name or a macro"
    if "%" not in spec and (
        any(not label or len(label) > 63 for label in labels) or len(name) > 253
    ):
        # Legal for the ABNF, but no DNS query can be made for it (RFC 1035 §2.3.4).
        return f"'{spec}' is not a valid domain name"
    return None
