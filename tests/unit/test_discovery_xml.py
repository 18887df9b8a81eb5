"""Safe parsing of autoconfig and Autodiscover documents, and the Autodiscover request."""

from __future__ import annotations

import pytest

from mailaudit.discovery import ConfigError, parse_config, parse_query
from mailaudit.discovery.autodiscover import Action, parse_response, request_body
from mailaudit.discovery.xmlsafe import MAX_DOCUMENT_BYTES
from mailaudit.model import Protocol, Security, UsernameForm

QUERY = parse_query("alice@example.org")

MINIMAL = b"""<?xml version="1.0"?>
<clientConfig version="1.1">
  <emailProvider id="example.org">
    <domain>example.org</domain>
    <futureElement><nested>ignored</nested></futureElement>
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <username>%EMAILLOCALPART%</username>
      <authentication>OAuth2</authentication>
      <authentication>password-cleartext</authentication>
      <futureSetting/>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>SMTP.Example.org.</hostname>
      <socketType>STARTTLS</socketType>
      <username>%EMAILADDRESS%</username>
    </outgoingServer>
  </emailProvider>
</clientConfig>
"""


def test_unknown_elements_are_ignored_and_defaults_applied() -> None:
    config = parse_config(MINIMAL, QUERY)

    imap = config.incoming[0]
    assert (imap.host, imap.port, imap.security) == ("imap.example.org", 993, Security.SSL)
    assert imap.username == "alice"
    assert imap.username_form is UsernameForm.LOCALPART
    assert imap.auth == ("OAuth2", "password-cleartext")
    smtp = config.outgoing[0]
    # No <port>: the standard port of the security; host name normalised.
    assert (smtp.host, smtp.port, smtp.security) == ("smtp.example.org", 587, Security.STARTTLS)


def test_entities_are_refused() -> None:
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE clientConfig [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>
<clientConfig><emailProvider id="x"><domain>&b;</domain></emailProvider></clientConfig>"""

    with pytest.raises(ConfigError, match="unsafe XML"):
        parse_config(bomb, QUERY)


def test_external_entities_are_refused() -> None:
    xxe = b"""<?xml version="1.0"?>
<!DOCTYPE clientConfig [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<clientConfig><emailProvider id="x"><domain>&x;</domain></emailProvider></clientConfig>"""

    with pytest.raises(ConfigError, match="unsafe XML"):
        parse_config(xxe, QUERY)


def test_oversized_documents_are_refused() -> None:
    big = MINIMAL.replace(b"ignored", b"x" * MAX_DOCUMENT_BYTES)

    with pytest.raises(ConfigError, match="larger than"):
        parse_config(big, QUERY)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html><body>404</body></html>", "expected <clientConfig>"),
        (b"<clientConfig/>", "no <emailProvider>"),
        (b"not xml at all", "not well-formed"),
        (
            b'<clientConfig><emailProvider id="x"><incomingServer type="exchange">'
            b"<hostname>h</hostname></incomingServer></emailProvider></clientConfig>",
            "no usable",
        ),
    ],
)
def test_unusable_documents(data: bytes, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(data, QUERY)


def test_unknown_socket_type_leaves_that_server_out() -> None:
    data = MINIMAL.replace(b"<socketType>SSL</socketType>", b"<socketType>TLS1.3</socketType>")

    config = parse_config(data, QUERY)

    assert config.incoming == ()
    assert len(config.outgoing) == 1


# --- Autodiscover ------------------------------------------------------------------------------

RESPONSE = b"""<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
    <User><DisplayName>Alice</DisplayName></User>
    <Account>
      <AccountType>email</AccountType>
      <Action>settings</Action>
      <Protocol>
        <Type>EXCH</Type><Server>exch.example.org</Server>
      </Protocol>
      <Protocol>
        <Type>IMAP</Type><Server>imap.example.org</Server><Port>993</Port>
        <LoginName>alice</LoginName><SPA>off</SPA><SSL>on</SSL><AuthRequired>on</AuthRequired>
      </Protocol>
      <Protocol>
        <Type>POP3</Type><Server>pop.example.org</Server><Port>110</Port><SSL>off</SSL>
      </Protocol>
      <Protocol>
        <Type>SMTP</Type><Server>smtp.example.org</Server><Port>587</Port>
        <Encryption>TLS</Encryption><SPA>on</SPA>
      </Protocol>
      <Protocol>
        <Type>WEB</Type><External><OWAUrl AuthenticationMethod="Fba">https://mail.example.org/owa/</OWAUrl></External>
      </Protocol>
    </Account>
  </Response>
</Autodiscover>
"""


def test_autodiscover_settings() -> None:
    response = parse_response(RESPONSE, address="alice@example.org")

    assert response.action is Action.SETTINGS
    assert response.display_name == "Alice"
    assert response.webmail == "https://mail.example.org/owa/"
    imap, pop, smtp = response.settings
    assert (imap.protocol, imap.host, imap.port, imap.security) == (
        Protocol.IMAP,
        "imap.example.org",
        993,
        Security.SSL,
    )
    assert (imap.username, imap.username_form) == ("alice", UsernameForm.LOCALPART)
    assert pop.security is Security.PLAIN
    # <Encryption>TLS</Encryption> means STARTTLS; SPA means a hashed password.
    assert smtp.security is Security.STARTTLS
    assert smtp.auth == ("password-encrypted",)
    assert smtp.username == "alice@example.org"


def test_autodiscover_redirect_addr() -> None:
    data = RESPONSE.replace(
        b"<Action>settings</Action>",
        b"<Action>redirectAddr</Action><RedirectAddr>alice@other.example</RedirectAddr>",
    )

    response = parse_response(data, address="alice@example.org")

    assert response.action is Action.REDIRECT_ADDR
    assert response.redirect == "alice@other.example"
    assert response.settings == ()


def test_autodiscover_redirect_url() -> None:
    data = RESPONSE.replace(
        b"<Action>settings</Action>",
        b"<Action>redirectUrl</Action>"
        b"<RedirectUrl>https://ad.example.org/autodiscover/autodiscover.xml</RedirectUrl>",
    )

    response = parse_response(data, address="alice@example.org")

    assert response.action is Action.REDIRECT_URL
    assert response.redirect == "https://ad.example.org/autodiscover/autodiscover.xml"


def test_autodiscover_error_response() -> None:
    data = b"""<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response><Error Time="1" Id="2"><ErrorCode>600</ErrorCode><Message>Invalid Request</Message>
  </Error></Response></Autodiscover>"""

    response = parse_response(data, address="a@example.org")

    assert response.action is Action.ERROR
    assert response.error == "600 Invalid Request"


def test_autodiscover_request_carries_the_address_only() -> None:
    body = request_body("a&b@example.org").decode()

    assert "<EMailAddress>a&amp;b@example.org</EMailAddress>" in body
    assert "responseschema/2006a" in body
    assert "assword" not in body
