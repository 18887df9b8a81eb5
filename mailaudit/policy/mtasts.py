"""MTA-STS (RFC 8461): the `_mta-sts` TXT record, the policy file, and `mx:` pattern matching.
Syntax errors are data on the results."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from mailaudit.policy._names import is_domain_name, normalise
from mailaudit.policy.fields import FIELD_NAME as _FIELD_NAME
from mailaudit.policy.fields import WSP as _WSP
from mailaudit.policy.fields import has_version, split_fields

__all__ = [
    "MAX_AGE_LIMIT_S",
    "POLICY_MAX_BYTES",
    "MtaStsMode",
    "MtaStsPolicy",
    "MtaStsRecord",
    "is_mtasts_record",
    "mtasts_records_among",
    "mx_pattern_matches",
    "parse_mtasts_policy",
    "parse_mtasts_record",
    "uncovered_mx_hosts",
]

# RFC 8461 §3.2: max_age is at most 31557600 seconds (about a year).
MAX_AGE_LIMIT_S = 31_557_600
# RFC 8461 §3.3 suggests senders bound the policy body, e.g. to 64 KiB.
POLICY_MAX_BYTES = 65_536


class MtaStsMode(StrEnum):
    ENFORCE = "enforce"
    TESTING = "testing"
    NONE = "none"


@dataclass(frozen=True)
class MtaStsRecord:
    text: str
    id: str | None = None
    extensions: dict[str, str] | None = None
    errors: tuple[str, ...] = ()

    @property
    def is_valid(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class MtaStsPolicy:
    text: str
    version: str | None = None
    mode: MtaStsMode | None = None
    max_age_s: int | None = None
    mx_patterns: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def is_valid(self) -> bool:
        return not self.errors


_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")


def is_mtasts_record(text: str) -> bool:
    """§3.1: records that do not begin with `v=STSv1;` are discarded."""
    return has_version(text, "STSv1")


def mtasts_records_among(txt_strings: Iterable[str]) -> tuple[str, ...]:
    return tuple(t for t in txt_strings if is_mtasts_record(t))


def _record_value_error(key: str, value: str) -> str | None:
    if not value or any(not 0x21 <= ord(c) <= 0x7E or c in ";=" for c in value):
        return f"'{key}' has an invalid value '{value}'"
    return None


def parse_mtasts_record(text: str) -> MtaStsRecord:
    """`v=STSv1; id=20240101T000000;` (RFC 8461 §3.1)."""
    fields, errors = split_fields(text, value_error=_record_value_error)
    if not fields or fields[0] != ("v", "STSv1"):
        errors.append("the record must start with 'v=STSv1'")
    ids = [v for k, v in fields if k == "id"]
    record_id: str | None = None
    if not ids:
        errors.append("the required 'id' field is missing")
    elif len(ids) > 1:
        errors.append("'id' appears more than once")
    elif not _ID.match(ids[0]):
        errors.append(f"id={ids[0]}: must be 1 to 32 letters and digits")
    else:
        record_id = ids[0]
    extensions = {k: v for k, v in fields if k not in ("v", "id")}
    return MtaStsRecord(text, record_id, extensions or None, tuple(errors))


def parse_mtasts_policy(text: str) -> MtaStsPolicy:
    """The policy file: `key: value` lines separated by LF or CRLF (RFC 8461 §3.2)."""
    errors: list[str] = []
    warnings: list[str] = []
    seen: dict[str, str] = {}
    mx: list[str] = []
    for number, raw_line in enumerate(text.split("\n"), start=1):
        line = raw_line.removesuffix("\r")
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        key, value = key.strip(_WSP), value.strip(_WSP)
        if not sep or not _FIELD_NAME.match(key):
            errors.append(f"line {number}: '{line.strip()}' is not a 'key: value' line")
            continue
        if key == "mx":
            if not _is_mx_pattern(value):
                errors.append(f"line {number}: mx: '{value}' is not a host name or '*.' pattern")
            else:
                mx.append(normalise(value))
            continue
        if key in seen:
            # The RFC does not say which one wins; senders differ, so treat it as an error.
            errors.append(f"line {number}: '{key}' appears more than once")
            continue
        seen[key] = value
    version = seen.get("version")
    if version != "STSv1":
        errors.append(
            "'version: STSv1' is missing"
            if version is None
            else f"version: {version}: must be STSv1"
        )
    mode: MtaStsMode | None = None
    if "mode" not in seen:
        errors.append("the required 'mode' field is missing")
    else:
        try:
            mode = MtaStsMode(seen["mode"])
        except ValueError:
            errors.append(f"mode: {seen['mode']}: must be enforce, testing or none")
    max_age: int | None = None
    if "max_age" not in seen:
        errors.append("the required 'max_age' field is missing")
    else:
        raw = seen["max_age"]
        if raw.isdigit() and len(raw) <= 10 and int(raw) <= MAX_AGE_LIMIT_S:
            max_age = int(raw)
        else:
            errors.append(f"max_age: {raw}: must be an integer from 0 to {MAX_AGE_LIMIT_S}")
    if not mx and mode in (MtaStsMode.ENFORCE, MtaStsMode.TESTING):
        errors.append("no 'mx' field: a policy in enforce or testing mode must list the MX hosts")
    return MtaStsPolicy(text, version, mode, max_age, tuple(mx), tuple(errors), tuple(warnings))


def _is_mx_pattern(value: str) -> bool:
    host = value.removeprefix("*.") if value.startswith("*.") else value
    return is_domain_name(host)


def mx_pattern_matches(pattern: str, host: str) -> bool:
    """RFC 8461 §4.1: a literal name, or `*.` plus a name where the wildcard stands for exactly
    one leftmost label (`*.example.com` matches `mx.example.com`, not `example.com` nor
    `a.b.example.com`)."""
    pattern, host = normalise(pattern), normalise(host)
    if pattern.startswith("*."):
        label, dot, rest = host.partition(".")
        return bool(label) and bool(dot) and rest == pattern[2:]
    return pattern == host


def uncovered_mx_hosts(patterns: Iterable[str], hosts: Iterable[str]) -> tuple[str, ...]:
    """The MX hosts no `mx:` pattern matches."""
    pattern_list = tuple(patterns)
    return tuple(h for h in hosts if not any(mx_pattern_matches(p, h) for p in pattern_list))
