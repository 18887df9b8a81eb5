"""Renderings of a `DiscoveryResult`: text for people, JSON (the one serialiser), and the three
files an ISP can publish — a Thunderbird `config-v1.1.xml`, an Apple `.mobileconfig` (no
password inside) and an Autodiscover POX response. Pure: result in, text or bytes out."""

from __future__ import annotations

import json
import plistlib
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from mailaudit.checks.discovery import is_refused_by_server
from mailaudit.discovery.autodiscover import ENVELOPE_SCHEMA, RESPONSE_SCHEMA
from mailaudit.model import (
    DiscoveryResult,
    LoginStatus,
    Protocol,
    Recommendation,
    Security,
    ServerSetting,
    UsernameForm,
    VerificationStatus,
)
from mailaudit.serial import to_data

FORMATS = ("text", "json", "thunderbird", "mobileconfig", "autodiscover")

_SOCKET_TYPE = {Security.SSL: "SSL", Security.STARTTLS: "STARTTLS", Security.PLAIN: "plain"}
_SECURITY_TEXT = {Security.SSL: "SSL/TLS", Security.STARTTLS: "STARTTLS", Security.PLAIN: "none"}


def render_discovery(result: DiscoveryResult, fmt: str) -> bytes:
    if fmt == "text":
        return render_text(result).encode()
    if fmt == "json":
        return (json.dumps(to_data(result), indent=2) + "\n").encode()
    if fmt == "thunderbird":
        return render_thunderbird(result)
    if fmt == "mobileconfig":
        return render_mobileconfig(result)
    if fmt == "autodiscover":
        return render_autodiscover(result)
    raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")


def recommendations(result: DiscoveryResult) -> tuple[Recommendation, ...]:
    chosen = (
        result.incoming,
        result.alternative_incoming,
        result.outgoing,
        result.alternative_outgoing,
    )
    return tuple(r for r in chosen if r is not None)


# --- text ----------------------------------------------------------------------------------


def _none_found(result: DiscoveryResult, *, incoming: bool) -> str:
    # A server that said "busy, try later" is not broken: whether it works is unknown.
    for candidate in result.candidates:
        if candidate.setting.protocol.is_incoming is incoming and is_refused_by_server(candidate):
            return f"inconclusive: {candidate.setting.label()} said busy, try again later"
    return "none found (see findings)"


def render_text(result: DiscoveryResult) -> str:
    lines = [f"Mail settings for {result.address or result.domain}"]
    if result.provider_name:
        lines.append(f"  provider: {result.provider_name}")
    lines.append("")
    for title, rec in (
        ("Incoming", result.incoming),
        ("Incoming (alternative)", result.alternative_incoming),
        ("Outgoing", result.outgoing),
        ("Outgoing (alternative)", result.alternative_outgoing),
    ):
        if rec is None:
            if "alternative" not in title:
                lines.append(f"{title}: {_none_found(result, incoming=title == 'Incoming')}")
            continue
        lines.extend(_recommendation(title, rec))
    if result.webmail:
        lines.append(f"Webmail: {result.webmail}")
    lines.append("")
    lines.append("Sources (highest priority first):")
    for outcome in result.sources:
        lines.append(f"  {outcome.source.value:<28} {outcome.status.value:<10} {outcome.detail}")
    lines.append("")
    lines.append("Candidates:")
    for c in result.candidates:
        mark = "ok" if c.verification.status is VerificationStatus.VERIFIED else "--"
        lines.append(
            f"  {mark} {c.setting.label():<44} {c.source.value:<26} {c.trust.value:<9} "
            f"{c.verification.status.value}: {c.verification.detail}"
        )
    if not result.candidates:
        lines.append("  (none)")
    if result.logins:
        lines.append("")
        lines.append("Login check (password sent only over verified TLS):")
        for check in result.logins:
            # "not tried: ..." says its status itself.
            shown = (
                check.detail
                if check.status is LoginStatus.NOT_TRIED
                else f"{check.status.value} ({check.detail})"
            )
            lines.append(f"  {check.protocol.value} {check.host}:{check.port}: {shown}")
    if result.findings:
        lines.append("")
        lines.append("Findings:")
        for f in result.findings:
            lines.append(f"  [{f.severity.value.upper()}] {f.id}: {f.detail}")
    lines.append("")
    lines.append(f"({result.elapsed_ms} ms)")
    return "\n".join(lines) + "\n"


def _recommendation(title: str, rec: Recommendation) -> list[str]:
    s = rec.setting
    out = [
        f"{title}: {s.protocol.value.upper()}",
        f"  server:   {s.host}",
        f"  port:     {s.port}",
        f"  security: {_SECURITY_TEXT[s.security]}",
        f"  username: {s.username or '(none)'} ({s.username_form.value})",
        f"  auth:     {', '.join(s.auth) or 'unknown'}",
        f"  source:   {rec.source.value} ({rec.trust.value}) {rec.origin}",
    ]
    if rec.mechanisms_after_tls:
        out.append(f"  offered after TLS: {' '.join(rec.mechanisms_after_tls)}")
    return out


# --- Thunderbird config-v1.1.xml ------------------------------------------------------------


def _username_template(setting: ServerSetting) -> str | None:
    if setting.username_form is UsernameForm.ADDRESS:
        return "%EMAILADDRESS%"
    if setting.username_form is UsernameForm.LOCALPART:
        return "%EMAILLOCALPART%"
    return setting.username


def render_thunderbird(result: DiscoveryResult) -> bytes:
    root = ET.Element("clientConfig", version="1.1")
    provider = ET.SubElement(root, "emailProvider", id=result.domain)
    ET.SubElement(provider, "domain").text = result.domain
    ET.SubElement(provider, "displayName").text = result.provider_name or result.domain
    ET.SubElement(provider, "displayShortName").text = result.domain
    for rec in recommendations(result):
        s = rec.setting
        tag = "outgoingServer" if s.protocol is Protocol.SMTP else "incomingServer"
        server = ET.SubElement(provider, tag, type=s.protocol.value)
        ET.SubElement(server, "hostname").text = s.host
        ET.SubElement(server, "port").text = str(s.port)
        ET.SubElement(server, "socketType").text = _SOCKET_TYPE[s.security]
        username = _username_template(s)
        if username:
            ET.SubElement(server, "username").text = username
        for auth in s.auth or ("password-cleartext",):
            ET.SubElement(server, "authentication").text = auth
    if result.webmail:
        web = ET.SubElement(root, "webMail")
        ET.SubElement(web, "loginPage", url=result.webmail)
    return _xml_bytes(root, "UTF-8")


# --- Apple .mobileconfig ---------------------------------------------------------------------


def render_mobileconfig(result: DiscoveryResult) -> bytes:
    """A configuration profile with one mail account; the password is left for the device to ask."""
    incoming, outgoing = result.incoming, result.outgoing
    name = result.provider_name or result.domain
    identifier = "invalid.mailaudit." + ".".join(reversed(result.domain.split(".")))
    account: dict[str, object] = {
        "PayloadType": "com.apple.mail.managed",
        "PayloadVersion": 1,
        "PayloadIdentifier": identifier + ".mail",
        "PayloadUUID": _uuid(result, "mail"),
        "PayloadDisplayName": f"{name} mail",
        "EmailAccountDescription": name,
        "EmailAccountName": result.address or "",
    }
    if result.address:
        account["EmailAddress"] = result.address
    if incoming is not None:
        s = incoming.setting
        account.update(
            {
                "EmailAccountType": "EmailTypeIMAP"
                if s.protocol is Protocol.IMAP
                else "EmailTypePOP",
                "IncomingMailServerHostName": s.host,
                "IncomingMailServerPortNumber": s.port,
                "IncomingMailServerUseSSL": s.security is not Security.PLAIN,
                "IncomingMailServerAuthentication": _apple_auth(s),
            }
        )
        if s.username and "%" not in s.username:
            account["IncomingMailServerUsername"] = s.username
    if outgoing is not None:
        s = outgoing.setting
        account.update(
            {
                "OutgoingMailServerHostName": s.host,
                "OutgoingMailServerPortNumber": s.port,
                "OutgoingMailServerUseSSL": s.security is not Security.PLAIN,
                "OutgoingMailServerAuthentication": _apple_auth(s),
                "OutgoingPasswordSameAsIncomingPassword": True,
            }
        )
        if s.username and "%" not in s.username:
            account["OutgoingMailServerUsername"] = s.username
    profile = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": identifier,
        "PayloadUUID": _uuid(result, "profile"),
        "PayloadDisplayName": f"{name} mail settings",
        "PayloadDescription": "Mail settings found and verified by mailaudit (no password).",
        "PayloadContent": [account],
    }
    return plistlib.dumps(profile, fmt=plistlib.FMT_XML, sort_keys=True)


def _apple_auth(setting: ServerSetting) -> str:
    auth = {a.lower() for a in setting.auth}
    if auth and auth <= {"none", "client-ip-address"}:
        return "EmailAuthNone"
    if "password-encrypted" in auth and "password-cleartext" not in auth:
        return "EmailAuthCRAMMD5"
    return "EmailAuthPassword"


def _uuid(result: DiscoveryResult, what: str) -> str:
    # Stable across runs, so a republished profile replaces the installed one.
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{what}.{result.domain}")).upper()


# --- Autodiscover POX response ---------------------------------------------------------------


def render_autodiscover(result: DiscoveryResult) -> bytes:
    ET.register_namespace("", ENVELOPE_SCHEMA)
    root = ET.Element(f"{{{ENVELOPE_SCHEMA}}}Autodiscover")
    response = ET.SubElement(root, f"{{{RESPONSE_SCHEMA}}}Response")
    account = ET.SubElement(response, f"{{{RESPONSE_SCHEMA}}}Account")
    _sub(account, "AccountType", "email")
    _sub(account, "Action", "settings")
    for rec in recommendations(result):
        s = rec.setting
        proto = ET.SubElement(account, f"{{{RESPONSE_SCHEMA}}}Protocol")
        _fill(
            proto,
            (
                ("Type", {"imap": "IMAP", "pop3": "POP3", "smtp": "SMTP"}[s.protocol.value]),
                ("Server", s.host),
                ("Port", str(s.port)),
                ("DomainRequired", "off"),
                ("LoginName", s.username if s.username and "%" not in s.username else None),
                ("SPA", "on" if s.auth == ("password-encrypted",) else "off"),
                ("SSL", "off" if s.security is Security.PLAIN else "on"),
                ("Encryption", {"ssl": "SSL", "starttls": "TLS", "plain": "None"}[s.security]),
                ("AuthRequired", "on"),
            ),
        )
    return _xml_bytes(root, "utf-8")


def _sub(parent: ET.Element, name: str, text: str) -> None:
    ET.SubElement(parent, f"{{{RESPONSE_SCHEMA}}}{name}").text = text


def _fill(parent: ET.Element, items: Iterable[tuple[str, str | None]]) -> None:
    for name, value in items:
        if value is not None:
            _sub(parent, name, value)


def _xml_bytes(root: ET.Element, declared: str) -> bytes:
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return f'<?xml version="1.0" encoding="{declared}"?>\n'.encode() + body + b"\n"
