"""Discovery: from an address or a domain to verified mail client settings.

    result = await discover(ctx, "alice@example.org", ispdb_dir="path/to/ispdb")

Sources (provider autoconfig, ISPDB, the MX provider, Autodiscover, RFC 6186 SRV, guessing) run
concurrently; every candidate is probed with a real TLS handshake; the answer is ranked by
source priority. See `mailaudit.discovery.run`.
"""

from mailaudit.discovery.autoconfig_xml import parse_config
from mailaudit.discovery.ispdb_lint import LintReport, lint_file, lint_files
from mailaudit.discovery.login import Credentials
from mailaudit.discovery.query import Query, parse_query
from mailaudit.discovery.run import GuessMode, discover
from mailaudit.discovery.xmlsafe import ConfigError
from mailaudit.model import (
    Candidate,
    DiscoveryResult,
    LoginCheck,
    LoginStatus,
    Protocol,
    ProviderConfig,
    Recommendation,
    Security,
    ServerSetting,
    Source,
    SourceOutcome,
    SourceStatus,
    Trust,
    UsernameForm,
    Verification,
    VerificationStatus,
)

__all__ = [
    "Candidate",
    "ConfigError",
    "Credentials",
    "DiscoveryResult",
    "GuessMode",
    "LintReport",
    "LoginCheck",
    "LoginStatus",
    "Protocol",
    "ProviderConfig",
    "Query",
    "Recommendation",
    "Security",
    "ServerSetting",
    "Source",
    "SourceOutcome",
    "SourceStatus",
    "Trust",
    "UsernameForm",
    "Verification",
    "VerificationStatus",
    "discover",
    "lint_file",
    "lint_files",
    "parse_config",
    "parse_query",
]
