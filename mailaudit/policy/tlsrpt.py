"""SMTP TLS Reporting records (RFC 8460 §3): `v=TLSRPTv1; rua=mailto:...,https://...`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from mailaudit.policy._names import is_domain_name
from mailaudit.policy.fields import WSP as _WSP
from mailaudit.policy.fields import has_version, split_fields

__all__ = ["TlsRptRecord", "is_tlsrpt_record", "parse_tlsrpt", "tlsrpt_records_among"]


@dataclass(frozen=True)
class TlsRptRecord:
    text: str
    rua: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()

    @property
    def is_valid(self) -> bool:
        return not self.errors


def is_tlsrpt_record(text: str) -> bool:
    """§3: records that do not begin with `v=TLSRPTv1;` are discarded."""
    return has_version(text, "TLSRPTv1")


def tlsrpt_records_among(txt_strings: Iterable[str]) -> tuple[str, ...]:
    return tuple(t for t in txt_strings if is_tlsrpt_record(t))


def parse_tlsrpt(text: str) -> TlsRptRecord:
    fields, errors = split_fields(text)
    if not fields or fields[0] != ("v", "TLSRPTv1"):
        errors.append("the record must start with 'v=TLSRPTv1'")
    ruas = [v for k, v in fields if k == "rua"]
    uris: list[str] = []
    if not ruas:
        errors.append("the required 'rua' field is missing")
    elif len(ruas) > 1:
        errors.append("'rua' appears more than once")
    else:
        for uri in (u.strip(_WSP) for u in ruas[0].split(",")):
            error = _uri_error(uri)
            if error:
                errors.append(f"rua: '{uri}': {error}")
            else:
                uris.append(uri)
    return TlsRptRecord(text, tuple(uris), tuple(errors))


def _uri_error(uri: str) -> str | None:
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme == "mailto":
        local, at, domain = parts.path.rpartition("@")
        return None if at and local and is_domain_name(domain) else "not a mail address"
    if scheme == "https":
        return None if parts.hostname else "an https URI needs a host"
    return "only mailto: and https: destinations are defined (RFC 8460 §3)"
