"""Findings raised by a requirements file (`mailaudit.toml`, given with `--requirements` or its
older name `--policy`): required endpoints, requirements per endpoint, waivers. The ids keep their
`policy.` prefix: they are a public interface."""

from mailaudit.checks.catalogue._entry import Entry
from mailaudit.model import Severity

__all__ = ["ENDPOINT_MISSING", "ENTRIES", "REQUIREMENT_FAILED", "WAIVER_EXPIRED"]

ENDPOINT_MISSING = "policy.endpoint-missing"
REQUIREMENT_FAILED = "policy.requirement-failed"
WAIVER_EXPIRED = "policy.waiver-expired"

ENTRIES: tuple[Entry, ...] = (
    Entry(
        id=ENDPOINT_MISSING,
        severity=Severity.HIGH,
        title="A required endpoint is missing or does not work",
        remediation="Deploy the endpoint the requirements file requires (name, port and TLS "
        "mode), or remove the [[require]] entry if it is no longer needed.",
    ),
    Entry(
        id=REQUIREMENT_FAILED,
        severity=Severity.HIGH,
        title="An endpoint does not meet a requirement",
        remediation="Change the server configuration to meet the requirement named in the "
        "detail (e.g. raise the minimum TLS version, offer AUTH only after TLS).",
        references=("RFC 8996", "RFC 8314 §3"),
    ),
    Entry(
        id=WAIVER_EXPIRED,
        severity=Severity.LOW,
        title="A waiver in the requirements file has expired",
        remediation="Fix the waived finding, or review the waiver and give it a new "
        "expiry date; an expired waiver no longer waives anything.",
    ),
)
