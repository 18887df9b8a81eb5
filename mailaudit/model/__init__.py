"""The one result model: every frozen fact and result type a run produces, as pure data.

Probes fill it, checks judge it, reports render it and `mailaudit.serial` turns any of it into
JSON and back (one model, one serialiser). It imports nothing from the rest of mailaudit except
the pure record types of `mailaudit.policy` (SPF, DMARC, MTA-STS... records, which live beside
their parsers); nothing here does I/O or judges.

- `findings`: severities, findings, check runs, transcript lines
- `endpoint`: schemes, endpoints, observations, TLS sessions and certificates
- `tls`: the TLS scan of one (address, port)
- `audit`: the protocol audit's facts (relay, AUTH, injection, VRFY/EXPN, names)
- `discovery`: client settings, candidates and the discovery result
- `policy`: the DNS mail policy facts of one domain (MX, SPF, DMARC, MTA-STS, DANE...)
- `scope`: what a run may touch (address ranges, names the SSRF guard refused)
- `report`: the Report that holds all of the above
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailaudit.model.audit import (
        AttemptKind,
        AuthProbe,
        CommandPair,
        EnumerationProbe,
        InjectionProbe,
        NameFacts,
        Outcome,
        ProtocolAudit,
        RcptAttempt,
        RcptTest,
        ServerReply,
    )
    from mailaudit.model.discovery import (
        Attempt,
        Candidate,
        DiscoveryResult,
        ForeignRedirect,
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
        WebMail,
    )
    from mailaudit.model.endpoint import (
        HOSTNAME,
        CertificateInfo,
        Endpoint,
        Observation,
        ProbeFailure,
        ProbeStatus,
        Scheme,
        TlsSession,
    )
    from mailaudit.model.findings import (
        CheckRun,
        CheckStatus,
        Confidence,
        Direction,
        Finding,
        Severity,
        TranscriptEvent,
        TranscriptLine,
    )
    from mailaudit.model.policy import (
        ChainCheck,
        DaneFacts,
        DmarcFacts,
        DnssecFacts,
        FetchStatus,
        Lookup,
        LookupStatus,
        MtaStsFacts,
        MtaStsFetch,
        MxFacts,
        MxHost,
        PolicyObservation,
        ReportAuthorisation,
        ReverseDns,
        SpfFacts,
        SpfNode,
        TlsRptFacts,
    )
    from mailaudit.model.report import (
        SCHEMA_VERSION,
        DomainReport,
        EndpointReport,
        Report,
        RunInfo,
    )
    from mailaudit.model.scope import (
        AddressRange,
        RefusedTarget,
    )
    from mailaudit.model.tls import (
        CIPHER_PARTS,
        CertificateDeployment,
        CipherSuite,
        ProtocolScan,
        ScanError,
        ScanErrorReason,
        ScanPart,
        TlsScan,
        TlsTarget,
        TlsVersion,
        Vulnerabilities,
    )

# Public name -> the submodule that defines it. Names load on first use, so a caller that needs
# only `Severity` does not pay for every dataclass (and the policy records' cryptography).
_HOME = {
    "AttemptKind": "audit",
    "AuthProbe": "audit",
    "CommandPair": "audit",
    "EnumerationProbe": "audit",
    "InjectionProbe": "audit",
    "NameFacts": "audit",
    "Outcome": "audit",
    "ProtocolAudit": "audit",
    "RcptAttempt": "audit",
    "RcptTest": "audit",
    "ServerReply": "audit",
    "Attempt": "discovery",
    "Candidate": "discovery",
    "DiscoveryResult": "discovery",
    "ForeignRedirect": "discovery",
    "LoginCheck": "discovery",
    "LoginStatus": "discovery",
    "Protocol": "discovery",
    "ProviderConfig": "discovery",
    "Recommendation": "discovery",
    "Security": "discovery",
    "ServerSetting": "discovery",
    "Source": "discovery",
    "SourceOutcome": "discovery",
    "SourceStatus": "discovery",
    "Trust": "discovery",
    "UsernameForm": "discovery",
    "Verification": "discovery",
    "VerificationStatus": "discovery",
    "WebMail": "discovery",
    "HOSTNAME": "endpoint",
    "CertificateInfo": "endpoint",
    "Endpoint": "endpoint",
    "Observation": "endpoint",
    "ProbeFailure": "endpoint",
    "ProbeStatus": "endpoint",
    "Scheme": "endpoint",
    "TlsSession": "endpoint",
    "CheckRun": "findings",
    "CheckStatus": "findings",
    "Confidence": "findings",
    "Direction": "findings",
    "Finding": "findings",
    "Severity": "findings",
    "TranscriptEvent": "findings",
    "TranscriptLine": "findings",
    "ChainCheck": "policy",
    "DaneFacts": "policy",
    "DmarcFacts": "policy",
    "DnssecFacts": "policy",
    "FetchStatus": "policy",
    "Lookup": "policy",
    "LookupStatus": "policy",
    "MtaStsFacts": "policy",
    "MtaStsFetch": "policy",
    "MxFacts": "policy",
    "MxHost": "policy",
    "PolicyObservation": "policy",
    "ReportAuthorisation": "policy",
    "ReverseDns": "policy",
    "SpfFacts": "policy",
    "SpfNode": "policy",
    "TlsRptFacts": "policy",
    "SCHEMA_VERSION": "report",
    "DomainReport": "report",
    "EndpointReport": "report",
    "Report": "report",
    "RunInfo": "report",
    "AddressRange": "scope",
    "RefusedTarget": "scope",
    "CIPHER_PARTS": "tls",
    "CertificateDeployment": "tls",
    "CipherSuite": "tls",
    "ProtocolScan": "tls",
    "ScanError": "tls",
    "ScanErrorReason": "tls",
    "ScanPart": "tls",
    "TlsScan": "tls",
    "TlsTarget": "tls",
    "TlsVersion": "tls",
    "Vulnerabilities": "tls",
}

__all__ = [
    "CIPHER_PARTS",
    "HOSTNAME",
    "SCHEMA_VERSION",
    "AddressRange",
    "Attempt",
    "AttemptKind",
    "AuthProbe",
    "Candidate",
    "CertificateDeployment",
    "CertificateInfo",
    "ChainCheck",
    "CheckRun",
    "CheckStatus",
    "CipherSuite",
    "CommandPair",
    "Confidence",
    "DaneFacts",
    "Direction",
    "DiscoveryResult",
    "DmarcFacts",
    "DnssecFacts",
    "DomainReport",
    "Endpoint",
    "EndpointReport",
    "EnumerationProbe",
    "FetchStatus",
    "Finding",
    "ForeignRedirect",
    "InjectionProbe",
    "LoginCheck",
    "LoginStatus",
    "Lookup",
    "LookupStatus",
    "MtaStsFacts",
    "MtaStsFetch",
    "MxFacts",
    "MxHost",
    "NameFacts",
    "Observation",
    "Outcome",
    "PolicyObservation",
    "ProbeFailure",
    "ProbeStatus",
    "Protocol",
    "ProtocolAudit",
    "ProtocolScan",
    "ProviderConfig",
    "RcptAttempt",
    "RcptTest",
    "Recommendation",
    "RefusedTarget",
    "Report",
    "ReportAuthorisation",
    "ReverseDns",
    "RunInfo",
    "ScanError",
    "ScanErrorReason",
    "ScanPart",
    "Scheme",
    "Security",
    "ServerReply",
    "ServerSetting",
    "Severity",
    "Source",
    "SourceOutcome",
    "SourceStatus",
    "SpfFacts",
    "SpfNode",
    "TlsRptFacts",
    "TlsScan",
    "TlsSession",
    "TlsTarget",
    "TlsVersion",
    "TranscriptEvent",
    "TranscriptLine",
    "Trust",
    "UsernameForm",
    "Verification",
    "VerificationStatus",
    "Vulnerabilities",
    "WebMail",
]


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'mailaudit.model' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"mailaudit.model.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
