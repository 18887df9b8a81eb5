"""Thunderbird's `config-v1.1.xml` (autoconfig and ISPDB), parsed safely. Pure: bytes in,
`ProviderConfig` out.

The format: https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat. Unknown
elements are ignored, as Thunderbird does; server types we cannot use (exchange, ews, graph, owa)
are recorded and skipped. Several `<authentication>` elements are kept in order (the client takes
the first it supports).
"""

from __future__ import annotations

from mailaudit.discovery.query import Query
from mailaudit.discovery.xmlsafe import ConfigError, child, child_text, local_name, parse_document
from mailaudit.model import (
    Protocol,
    ProviderConfig,
    RawProvider,
    RawServer,
    Security,
    ServerSetting,
    UsernameForm,
)

KNOWN_PLACEHOLDERS = ("%EMAILADDRESS%", "%EMAILLOCALPART%", "%EMAILDOMAIN%", "%REALNAME%")

_SECURITY = {"ssl": Security.SSL, "starttls": Security.STARTTLS, "plain": Security.PLAIN}
_PROTOCOL = {"imap": Protocol.IMAP, "pop3": Protocol.POP3, "smtp": Protocol.SMTP}
_DEFAULT_PORT = {
    (Protocol.IMAP, Security.SSL): 993,
    (Protocol.IMAP, Security.STARTTLS): 143,
    (Protocol.IMAP, Security.PLAIN): 143,
    (Protocol.POP3, Security.SSL): 995,
    (Protocol.POP3, Security.STARTTLS): 110,
    (Protocol.POP3, Security.PLAIN): 110,
    (Protocol.SMTP, Security.SSL): 465,
    (Protocol.SMTP, Security.STARTTLS): 587,
    (Protocol.SMTP, Security.PLAIN): 587,
}


def read_raw(data: bytes) -> RawProvider:
    root = parse_document(data)
    if local_name(root.tag) != "clientConfig":
        raise ConfigError(f"root element is <{local_name(root.tag)}>, expected <clientConfig>")
    provider = child(root, "emailProvider")
    if provider is None:
        raise ConfigError("no <emailProvider> element")
    servers = []
    for element in provider:
        direction = local_name(element.tag)
        if direction not in ("incomingServer", "outgoingServer"):
            continue
        servers.append(
            RawServer(
                direction=direction,
                type=(element.get("type") or "").strip().lower(),
                hostname=child_text(element, "hostname"),
                port=child_text(element, "port"),
                socket_type=child_text(element, "socketType"),
                username=child_text(element, "username"),
                authentication=tuple(
                    (a.text or "").strip() for a in element if local_name(a.tag) == "authentication"
                ),
            )
        )
    # <webMail> sits beside <emailProvider> in the format, inside it in some real files.
    webmail = None
    for holder in (provider, root):
        web = child(holder, "webMail")
        page = child(web, "loginPage") if web is not None else None
        if page is not None and page.get("url"):
            webmail = (page.get("url") or "").strip()
            break
    documentation = tuple(
        (d.get("url") or "").strip()
        for d in provider
        if local_name(d.tag) == "documentation" and d.get("url")
    )
    return RawProvider(
        provider_id=(provider.get("id") or "").strip(),
        display_name=child_text(provider, "displayName"),
        domains=tuple(
            (d.text or "").strip().lower()
            for d in provider
            if local_name(d.tag) == "domain" and (d.text or "").strip()
        ),
        servers=tuple(servers),
        webmail=webmail,
        documentation=documentation,
    )


def parse_config(data: bytes, query: Query) -> ProviderConfig:
    """Parse and substitute placeholders for `query`. Servers with an unusable type, no host name
    or an unknown socketType are left out; a config with no usable server at all is an error."""
    raw = read_raw(data)
    incoming: list[ServerSetting] = []
    outgoing: list[ServerSetting] = []
    ignored: list[str] = []
    for server in raw.servers:
        setting = to_setting(server, query)
        if setting is None:
            ignored.append(server.type or "?")
        elif setting.protocol.is_incoming and server.direction == "incomingServer":
            incoming.append(setting)
        elif setting.protocol is Protocol.SMTP and server.direction == "outgoingServer":
            outgoing.append(setting)
        else:
            ignored.append(server.type)
    if not incoming and not outgoing:
        raise ConfigError("no usable IMAP, POP3 or SMTP server in the config")
    return ProviderConfig(
        provider_id=raw.provider_id,
        display_name=query.substitute(raw.display_name) if raw.display_name else None,
        domains=raw.domains,
        incoming=tuple(incoming),
        outgoing=tuple(outgoing),
        webmail=query.substitute(raw.webmail) if raw.webmail else None,
        documentation=raw.documentation,
        ignored_server_types=tuple(ignored),
    )


def to_setting(server: RawServer, query: Query) -> ServerSetting | None:
    protocol = _PROTOCOL.get(server.type)
    if protocol is None or not server.hostname:
        return None
    security = _SECURITY.get((server.socket_type or "plain").lower())
    if security is None:
        return None
    port = _DEFAULT_PORT[(protocol, security)]
    if server.port:
        try:
            port = int(server.port)
        except ValueError:
            return None
        if not 0 < port < 65536:
            return None
    host = query.substitute(server.hostname).lower().rstrip(".")
    return ServerSetting(
        protocol=protocol,
        host=host,
        port=port,
        security=security,
        username=query.substitute(server.username) if server.username else None,
        username_form=username_form(server.username),
        auth=tuple(a for a in server.authentication if a),
    )


def username_form(template: str | None) -> UsernameForm:
    if not template:
        return UsernameForm.NONE
    if template == "%EMAILADDRESS%":
        return UsernameForm.ADDRESS
    if template == "%EMAILLOCALPART%":
        return UsernameForm.LOCALPART
    return UsernameForm.OTHER
