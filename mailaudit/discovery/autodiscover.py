"""Microsoft Autodiscover, plain old XML (POX) flavour: the request body and the response
reader. Pure; the fetching order lives in `autodiscover_fetch.py`.

Schema: https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/
pox-autodiscover-request-for-exchange (request) and .../pox-autodiscover-response-for-exchange.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from enum import StrEnum
from xml.sax.saxutils import escape

from mailaudit.discovery.xmlsafe import ConfigError, child, child_text, local_name, parse_document
from mailaudit.model import Protocol, Security, ServerSetting, UsernameForm

REQUEST_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
RESPONSE_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
ENVELOPE_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"

_PROTOCOLS = {"IMAP": Protocol.IMAP, "POP3": Protocol.POP3, "SMTP": Protocol.SMTP}
_IMPLICIT_TLS_PORTS = {993, 995, 465}
_DEFAULT_PORTS = {
    (Protocol.IMAP, True): 993,
    (Protocol.IMAP, False): 143,
    (Protocol.POP3, True): 995,
    (Protocol.POP3, False): 110,
    (Protocol.SMTP, True): 465,
    (Protocol.SMTP, False): 587,
}


class Action(StrEnum):
    SETTINGS = "settings"
    REDIRECT_ADDR = "redirectAddr"
    REDIRECT_URL = "redirectUrl"
    ERROR = "error"


@dataclass(frozen=True)
class AutodiscoverResponse:
    action: Action
    settings: tuple[ServerSetting, ...] = ()
    # The new address (redirectAddr) or URL (redirectUrl).
    redirect: str | None = None
    error: str | None = None
    display_name: str | None = None
    webmail: str | None = None


def request_body(address: str) -> bytes:
    """The POX request: the address and the response schema we accept. No credentials."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<Autodiscover xmlns="{REQUEST_SCHEMA}">\n'
        "  <Request>\n"
        f"    <EMailAddress>{escape(address)}</EMailAddress>\n"
        f"    <AcceptableResponseSchema>{RESPONSE_SCHEMA}</AcceptableResponseSchema>\n"
        "  </Request>\n"
        "</Autodiscover>\n"
    ).encode()


def parse_response(data: bytes, *, address: str) -> AutodiscoverResponse:
    """Read a POX response; raises ConfigError when it is not one."""
    root = parse_document(data)
    if local_name(root.tag) != "Autodiscover":
        raise ConfigError(f"root element is <{local_name(root.tag)}>, expected <Autodiscover>")
    response = child(root, "Response")
    if response is None:
        raise ConfigError("no <Response> element")
    error = child(response, "Error")
    if error is not None:
        code = child_text(error, "ErrorCode") or "?"
        message = child_text(error, "Message") or ""
        return AutodiscoverResponse(Action.ERROR, error=f"{code} {message}".strip())
    account = child(response, "Account")
    if account is None:
        raise ConfigError("no <Account> element")
    action = (child_text(account, "Action") or "settings").strip()
    display_name = None
    user = child(response, "User")
    if user is not None:
        display_name = child_text(user, "DisplayName")
    if action == Action.REDIRECT_ADDR.value:
        target = child_text(account, "RedirectAddr")
        if not target or "@" not in target:
            raise ConfigError("redirectAddr without a usable <RedirectAddr>")
        return AutodiscoverResponse(Action.REDIRECT_ADDR, redirect=target)
    if action == Action.REDIRECT_URL.value:
        target = child_text(account, "RedirectUrl")
        if not target:
            raise ConfigError("redirectUrl without <RedirectUrl>")
        return AutodiscoverResponse(Action.REDIRECT_URL, redirect=target)
    if action != Action.SETTINGS.value:
        raise ConfigError(f"unknown <Action> {action!r}")
    settings = []
    webmail = None
    for element in account:
        if local_name(element.tag) != "Protocol":
            continue
        kind = (child_text(element, "Type") or "").upper()
        if kind == "WEB":
            webmail = _owa_url(element)
            continue
        setting = _protocol_setting(element, kind, address)
        if setting is not None:
            settings.append(setting)
    return AutodiscoverResponse(
        Action.SETTINGS, settings=tuple(settings), display_name=display_name, webmail=webmail
    )


def _protocol_setting(element: ET.Element, kind: str, address: str) -> ServerSetting | None:
    protocol = _PROTOCOLS.get(kind)
    host = child_text(element, "Server")
    if protocol is None or not host:
        return None  # EXCH, EXPR and friends: Exchange protocols we do not speak
    port_text = child_text(element, "Port")
    port = int(port_text) if port_text and port_text.isdigit() else None
    security = _security(element, port)
    if port is None:
        port = _DEFAULT_PORTS[(protocol, security is Security.SSL)]
    login = child_text(element, "LoginName")
    localpart = address.rpartition("@")[0]
    if login is None or login == address:
        username, form = address, UsernameForm.ADDRESS
    elif login == localpart:
        username, form = login, UsernameForm.LOCALPART
    else:
        username, form = login, UsernameForm.OTHER
    spa = (child_text(element, "SPA") or "off").lower() == "on"
    return ServerSetting(
        protocol=protocol,
        host=host.lower().rstrip("."),
        port=port,
        security=security,
        username=username,
        username_form=form,
        auth=("password-encrypted",) if spa else ("password-cleartext",),
    )


def _security(element: ET.Element, port: int | None) -> Security:
    # <Encryption> wins over <SSL> when present; "TLS" there means STARTTLS.
    encryption = (child_text(element, "Encryption") or "").lower()
    if encryption == "ssl":
        return Security.SSL
    if encryption == "tls":
        return Security.STARTTLS
    if encryption == "none":
        return Security.PLAIN
    if (child_text(element, "SSL") or "on").lower() == "off" and encryption != "auto":
        return Security.PLAIN
    if port is None or port in _IMPLICIT_TLS_PORTS:
        return Security.SSL
    return Security.STARTTLS


def _owa_url(element: ET.Element) -> str | None:
    for holder in element.iter():
        if local_name(holder.tag) == "OWAUrl" and holder.text and holder.text.strip():
            return holder.text.strip()
    return None
