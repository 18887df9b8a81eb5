"""mailaudit: find and audit mail servers.

The library API, as the command line uses it:

    ctx = Context.create(Settings(nameservers=("127.0.0.53",), ca_file="lab-ca.pem"))
    observation = await probe(ctx, Endpoint.parse("smtp://mail.example.test"))
    result = await discover(ctx, "alice@example.test")
    report = await run_audit(ctx, ["example.test"])
    print(render_report(report, "html"))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "AuditOptions",
    "CheckRun",
    "CheckStatus",
    "Context",
    "DiscoveryResult",
    "Endpoint",
    "Finding",
    "Limits",
    "MailauditError",
    "NetError",
    "Observation",
    "ProtocolError",
    "Report",
    "Scheme",
    "Settings",
    "Severity",
    "Timeouts",
    "UsageError",
    "__version__",
    "discover",
    "load_report",
    "parse_report",
    "probe",
    "probe_all_addresses",
    "render_report",
    "run_audit",
]

# Where each public name lives; imported on first use so `import mailaudit` stays cheap
# (sslyze and jinja2 load only when an audit or a renderer needs them).
_HOME = {
    "MailauditError": "mailaudit.errors",
    "UsageError": "mailaudit.errors",
    "NetError": "mailaudit.net.errors",
    "ProtocolError": "mailaudit.protocols.errors",
    "AuditOptions": "mailaudit.audit.runner",
    "run_audit": "mailaudit.audit.runner",
    "CheckRun": "mailaudit.model",
    "CheckStatus": "mailaudit.model",
    "Finding": "mailaudit.model",
    "Severity": "mailaudit.model",
    "Context": "mailaudit.context",
    "Settings": "mailaudit.settings",
    "Timeouts": "mailaudit.settings",
    "Limits": "mailaudit.settings",
    "DiscoveryResult": "mailaudit.discovery",
    "discover": "mailaudit.discovery",
    "Endpoint": "mailaudit.model",
    "Observation": "mailaudit.model",
    "Scheme": "mailaudit.model",
    "probe": "mailaudit.probes.endpoint",
    "probe_all_addresses": "mailaudit.probes.endpoint",
    "Report": "mailaudit.model",
    "load_report": "mailaudit.report.json_report",
    "parse_report": "mailaudit.report.json_report",
    "render_report": "mailaudit.report.formats",
}

if TYPE_CHECKING:
    from mailaudit.audit.runner import AuditOptions, run_audit
    from mailaudit.context import Context
    from mailaudit.discovery import DiscoveryResult, discover
    from mailaudit.errors import MailauditError, UsageError
    from mailaudit.model import (
        CheckRun,
        CheckStatus,
        Endpoint,
        Finding,
        Observation,
        Report,
        Scheme,
        Severity,
    )
    from mailaudit.net.errors import NetError
    from mailaudit.probes.endpoint import probe, probe_all_addresses
    from mailaudit.protocols.errors import ProtocolError
    from mailaudit.report.formats import render_report
    from mailaudit.report.json_report import load_report, parse_report
    from mailaudit.settings import Limits, Settings, Timeouts


def __getattr__(name: str) -> Any:
    if name in _HOME:
        import importlib

        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'mailaudit' has no attribute {name!r}")
