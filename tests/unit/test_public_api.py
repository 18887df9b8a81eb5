"""The public API is curated: this fails when `__all__` drifts (httpx's test_exported_members)."""

from __future__ import annotations

import mailaudit

EXPECTED = {
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
}


def test_all_is_what_we_publish() -> None:
    assert set(mailaudit.__all__) == EXPECTED


def test_every_published_name_resolves() -> None:
    for name in mailaudit.__all__:
        assert getattr(mailaudit, name) is not None, name


def test_cli_uses_the_same_objects() -> None:
    from mailaudit.audit.runner import run_audit
    from mailaudit.probes.endpoint import probe

    assert mailaudit.run_audit is run_audit
    assert mailaudit.probe is probe


def test_every_package_declares_its_public_names() -> None:
    # A package (and each top-level module) says what it exports, even when that is nothing:
    # the rest is implementation, reached through submodules.
    import ast
    from pathlib import Path

    root = Path(mailaudit.__file__).parent
    files = [*root.glob("*/__init__.py"), *root.glob("*/*/__init__.py"), *root.glob("*.py")]
    missing = [
        str(path.relative_to(root))
        for path in files
        if path.name != "__main__.py"
        and not any(
            isinstance(node, ast.Assign | ast.AnnAssign)
            and "__all__" in ast.unparse(node).split("=")[0]
            for node in ast.parse(path.read_text(encoding="utf-8")).body
        )
    ]
    assert missing == []
