"""Renderers produce files their readers accept, and the JSON round-trips through the one
serialiser; plus the query, the name rules and the public API."""

from __future__ import annotations

import json
import plistlib
from dataclasses import replace

import pytest

import mailaudit.discovery as discovery
from mailaudit.discovery import Credentials, DiscoveryResult, parse_config, parse_query
from mailaudit.discovery.autodiscover import Action, parse_response
from mailaudit.discovery.guess import guess_hosts, guess_settings
from mailaudit.discovery.login import login_refusal
from mailaudit.discovery.query import DomainRules
from mailaudit.discovery.render import render_discovery
from mailaudit.discovery.sources import autoconfig_urls
from mailaudit.model import (
    Protocol,
    Recommendation,
    Security,
    ServerSetting,
    Source,
    SourceOutcome,
    SourceStatus,
    Trust,
    UsernameForm,
)
from mailaudit.serial import from_data


def _rec(protocol: Protocol, host: str, port: int, security: Security) -> Recommendation:
    return Recommendation(
        ServerSetting(
            protocol,
            host,
            port,
            security,
            "alice@x.test",
            UsernameForm.ADDRESS,
            ("password-cleartext",),
        ),
        Source.AUTOCONFIG_HTTPS,
        Trust.TRUSTED,
        "https://autoconfig.x.test/mail/config-v1.1.xml",
        ("PLAIN",),
    )


RESULT = DiscoveryResult(
    query="alice@x.test",
    address="alice@x.test",
    domain="x.test",
    incoming=_rec(Protocol.IMAP, "imap.x.test", 993, Security.SSL),
    alternative_incoming=_rec(Protocol.POP3, "pop.x.test", 110, Security.STARTTLS),
    outgoing=_rec(Protocol.SMTP, "smtp.x.test", 587, Security.STARTTLS),
    candidates=(),
    sources=(SourceOutcome(Source.AUTOCONFIG_HTTPS, SourceStatus.FOUND, "ok"),),
    findings=(),
    provider_name="X & Co <mail>",
    webmail="https://webmail.x.test/?a=1&b=2",
)


def test_thunderbird_output_reads_back() -> None:
    data = render_discovery(RESULT, "thunderbird")

    config = parse_config(data, parse_query("bob@x.test"))

    assert config.display_name == "X & Co <mail>"
    assert [(s.protocol, s.host, s.port, s.security) for s in config.incoming] == [
        (Protocol.IMAP, "imap.x.test", 993, Security.SSL),
        (Protocol.POP3, "pop.x.test", 110, Security.STARTTLS),
    ]
    assert config.outgoing[0].port == 587
    # Published with a placeholder, so it fits every user of the domain.
    assert config.incoming[0].username == "bob@x.test"
    assert config.webmail == "https://webmail.x.test/?a=1&b=2"


def test_autodiscover_output_reads_back() -> None:
    data = render_discovery(RESULT, "autodiscover")

    response = parse_response(data, address="alice@x.test")

    assert response.action is Action.SETTINGS
    assert [(s.protocol, s.host, s.port, s.security) for s in response.settings] == [
        (Protocol.IMAP, "imap.x.test", 993, Security.SSL),
        (Protocol.POP3, "pop.x.test", 110, Security.STARTTLS),
        (Protocol.SMTP, "smtp.x.test", 587, Security.STARTTLS),
    ]


def test_mobileconfig_is_a_plist_without_password() -> None:
    data = render_discovery(RESULT, "mobileconfig")

    profile = plistlib.loads(data)
    (account,) = profile["PayloadContent"]

    assert profile["PayloadType"] == "Configuration"
    assert account["EmailAccountType"] == "EmailTypeIMAP"
    assert account["IncomingMailServerHostName"] == "imap.x.test"
    assert account["IncomingMailServerPortNumber"] == 993
    assert account["OutgoingMailServerHostName"] == "smtp.x.test"
    assert account["OutgoingMailServerUseSSL"] is True
    assert not [
        k for k in account if "Password" in k and k != "OutgoingPasswordSameAsIncomingPassword"
    ]
    assert render_discovery(RESULT, "mobileconfig") == data  # stable UUIDs


def test_json_round_trips() -> None:
    data = json.loads(render_discovery(RESULT, "json"))

    assert from_data(DiscoveryResult, data) == RESULT
    assert data["incoming"]["setting"]["security"] == "ssl"


def test_text_names_source_and_trust() -> None:
    text = render_discovery(RESULT, "text").decode()

    assert "imap.x.test" in text
    assert "autoconfig-https (trusted)" in text


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        render_discovery(RESULT, "yaml")


# --- query and name rules ----------------------------------------------------------------------


def test_query_forms() -> None:
    q = parse_query("  Alice@Example.ORG. ")
    assert (q.address, q.localpart, q.domain) == ("Alice@example.org", "Alice", "example.org")
    assert parse_query("mailto:bob@x.test").address == "bob@x.test"
    d = parse_query("example.org")
    assert (d.address, d.domain) == (None, "example.org")
    assert parse_query("user@bücher.example").domain == "xn--bcher-kva.example"


@pytest.mark.parametrize("bad", ["", "@x.test", "nodot", "a@-x.test", "a@x..test", "a b@x.test"])
def test_bad_queries(bad: str) -> None:
    with pytest.raises(ValueError, match=r"not a|not an"):
        parse_query(bad)


def test_registrable_domains_from_the_public_suffix_list() -> None:
    rules = DomainRules()

    assert rules.registrable("mx1.mail.example.co.uk") == "example.co.uk"
    assert rules.registrable("co.uk") is None
    assert rules.same_registrable("imap.sub.example.org", "example.org")
    assert rules.same_registrable("autoconfig.example.org", "sub.example.org")
    assert not rules.same_registrable("example.org.evil.test", "example.org")


def test_only_the_exact_domain_is_asked() -> None:
    # The 2021 Autodiscover leak: clients stripped labels towards the public suffix. Every name
    # we derive must end in the user's own domain.
    query = parse_query("alice@mail.sub.example.co.uk")
    names = list(guess_hosts(query.domain))
    names += [u.split("/")[2] for u in autoconfig_urls(query, query.domain, https=True)]

    assert names
    assert all(n == query.domain or n.endswith("." + query.domain) for n in names)


def test_guess_order_is_tls_first() -> None:
    query = parse_query("a@x.test")
    settings = guess_settings(query, frozenset(guess_hosts("x.test")))

    ports = [s.port for s in settings]
    assert ports.index(993) < ports.index(143)
    assert ports.index(465) < ports.index(587) < ports.index(25)
    assert all(s.security is Security.SSL for s in settings[: ports.index(143)])
    assert {s.host for s in settings if s.protocol is Protocol.POP3} == {
        "pop3.x.test",
        "pop.x.test",
        "mail.x.test",
        "x.test",
    }


def test_public_api() -> None:
    assert sorted(discovery.__all__) == sorted(
        [
            "Candidate",
            "ConfigError",
            "Credentials",
            "DiscoveryResult",
            "GuessMode",
            "LintReport",
            "LoginCheck",
            "LoginStatus",
            "ProviderConfig",
            "Protocol",
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
    )
    assert all(hasattr(discovery, name) for name in discovery.__all__)


# --- the credential check's rules (pure) -------------------------------------------------------


def test_login_refused_outside_the_users_domain() -> None:
    rules = DomainRules()
    query = parse_query("alice@x.test")
    inside = _rec(Protocol.IMAP, "imap.x.test", 993, Security.SSL)
    outside = _rec(Protocol.IMAP, "imap.provider.example", 993, Security.SSL)
    credentials = Credentials(password="secret-pw")

    assert login_refusal(inside, query, rules, credentials, allow_foreign=False) is None
    refusal = login_refusal(outside, query, rules, credentials, allow_foreign=False)
    assert refusal is not None
    assert "--allow-foreign-login" in refusal
    assert login_refusal(outside, query, rules, credentials, allow_foreign=True) is None


def test_login_needs_a_username_and_keeps_the_password_out_of_repr() -> None:
    rules = DomainRules()
    rec = _rec(Protocol.SMTP, "smtp.x.test", 465, Security.SSL)
    templated = Recommendation(
        replace(rec.setting, username="%EMAILADDRESS%"), rec.source, rec.trust, rec.origin
    )
    credentials = Credentials(password="secret-pw")

    refusal = login_refusal(
        templated, parse_query("x.test"), rules, credentials, allow_foreign=False
    )
    assert refusal is not None
    assert "no username" in refusal
    assert "secret-pw" not in repr(credentials)
