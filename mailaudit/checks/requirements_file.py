"""Requirements files (`mailaudit.toml`, `--requirements`; `--policy` is the older name) for CI: endpoints a server must have, requirements per
endpoint, and waivers with a reason and an expiry date.

    [[require]]
    url = "submission://smtp.staging.test"   # must exist and answer
    min_tls = "TLSv1.2"                      # negotiated version at least this
    auth_after_tls_only = true               # no login offered before TLS
    valid_certificate = true                 # chain and name validate

    [[waiver]]
    id = "banner.version-disclosed"
    subject = "smtp://mail.good.test"        # optional: every subject when left out
    reason = "vendor appliance, ticket OPS-42"
    expires = 2027-01-01                     # waives until the day before; then reported

Parsing only (text in, `Requirements` out): reading the file is `mailaudit.report.requirements`.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from typing import Any

from mailaudit.checks.catalogue import CATALOGUE
from mailaudit.checks.requirements import TLS_ALIASES as _TLS_ALIASES
from mailaudit.checks.requirements import TLS_VERSIONS, Requirement, Requirements, Waiver
from mailaudit.errors import UsageError
from mailaudit.model import Endpoint

__all__ = ["RequirementsError", "parse_requirements"]


class RequirementsError(UsageError):
    """The requirements file is not valid; the message names the file and the entry."""


def parse_requirements(text: str, *, source: str = "mailaudit.toml") -> Requirements:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RequirementsError(f"{source}: not valid TOML ({exc})") from None
    _only(data, {"require", "waiver"}, source)
    requirements = tuple(
        _requirement(entry, f"{source}: [[require]] #{i + 1}")
        for i, entry in enumerate(_tables(data, "require", source))
    )
    waivers = tuple(
        _waiver(entry, f"{source}: [[waiver]] #{i + 1}")
        for i, entry in enumerate(_tables(data, "waiver", source))
    )
    return Requirements(requirements, waivers, source)


def _tables(data: dict[str, Any], key: str, source: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise RequirementsError(f"{source}: {key!r} must be an array of tables ([[{key}]])")
    return value


def _only(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise RequirementsError(
            f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})"
        )


def _get(table: dict[str, Any], key: str, kind: type, where: str, *, required: bool) -> Any:
    if key not in table:
        if required:
            raise RequirementsError(f"{where}: {key!r} is required")
        return None
    value = table[key]
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise RequirementsError(f"{where}: {key!r} must be a {kind.__name__}")
    return value


def _requirement(table: dict[str, Any], where: str) -> Requirement:
    _only(table, {"url", "min_tls", "auth_after_tls_only", "valid_certificate"}, where)
    url = _get(table, "url", str, where, required=True)
    try:
        Endpoint.parse(url)
    except ValueError as exc:
        raise RequirementsError(f"{where}: {exc}") from None
    min_tls = _get(table, "min_tls", str, where, required=False)
    if min_tls is not None:
        min_tls = _TLS_ALIASES.get(min_tls, min_tls)
        if min_tls not in TLS_VERSIONS:
            raise RequirementsError(
                f"{where}: min_tls must be one of {', '.join(TLS_VERSIONS[2:])}"
            )
    return Requirement(
        url=url,
        min_tls=min_tls,
        auth_after_tls_only=bool(_get(table, "auth_after_tls_only", bool, where, required=False)),
        valid_certificate=bool(_get(table, "valid_certificate", bool, where, required=False)),
    )


def _waiver(table: dict[str, Any], where: str) -> Waiver:
    _only(table, {"id", "subject", "reason", "expires"}, where)
    finding_id = _get(table, "id", str, where, required=True)
    if finding_id not in CATALOGUE:
        raise RequirementsError(f"{where}: unknown finding id {finding_id!r} (a typo?)")
    reason = _get(table, "reason", str, where, required=True).strip()
    if not reason:
        raise RequirementsError(f"{where}: 'reason' must say why the finding is accepted")
    expires = table.get("expires")
    if isinstance(expires, str):
        try:
            expires = dt.date.fromisoformat(expires)
        except ValueError:
            raise RequirementsError(
                f"{where}: 'expires' must be a date such as 2027-01-01"
            ) from None
    if isinstance(expires, dt.datetime):
        expires = expires.date()
    if not isinstance(expires, dt.date):
        raise RequirementsError(f"{where}: 'expires' is required (a date such as 2027-01-01)")
    subject = _get(table, "subject", str, where, required=False)
    return Waiver(id=finding_id, reason=reason, expires=expires, subject=subject)
