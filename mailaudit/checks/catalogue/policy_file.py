"""Finding ids raised by policy files (`mailaudit.toml`), registered in the one catalogue."""

from mailaudit.checks.catalogue import register
from mailaudit.checks.catalogue._entry import Entry
from mailaudit.model import Severity

__all__ = ["ENDPOINT_MISSING", "REQUIREMENT_FAILED", "WAIVER_EXPIRED"]

ENDPOINT_MISSING = "policy.endpoint-missing"
REQUIREMENT_FAILED = "policy.requirement-failed"
WAIVER_EXPIRED = "policy.waiver-expired"

register(
    [
        Entry(
            id=ENDPOINT_MISSING,
            severity=Severity.HIGH,
            title="A required endpoint is missing or does not work",
            remediation="Deploy the endpoint the policy requires (name, port and TLS mode), or "
            "remove the [[require]] entry from the policy if it is no longer needed.",
        ),
        Entry(
            id=REQUIREMENT_FAILED,
            severity=Severity.HIGH,
            title="An endpoint does not meet a policy requirement",
            remediation="Change the server configuration to meet the requirement named in the "
            "detail (e.g. raise the minimum TLS version, offer AUTH only after TLS).",
            references=("RFC 8996", "RFC 8314 §3"),
        ),
        Entry(
            id=WAIVER_EXPIRED,
            severity=Severity.LOW,
            title="A waiver in the policy file has expired",
            remediation="Fix the waived finding, or review the waiver and give it a new "
            "expiry date; an expired waiver no longer waives anything.",
        ),
    ]
)
