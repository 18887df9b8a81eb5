"""The pure protocol sessions: replies in, typed events and states out, no sockets."""

from __future__ import annotations

import pytest

from mailaudit.protocols.imap import ImapReader, ImapResponse
from mailaudit.protocols.pop3 import Pop3Reader, Pop3Response
from mailaudit.protocols.session import (
    Capabilities,
    GoAhead,
    Greeting,
    ImapSession,
    Pop3Session,
    Refusal,
    SessionState,
    SessionStateError,
    SmtpSession,
    TlsEstablished,
    is_temporary_text,
)
from mailaudit.protocols.smtp import SmtpReply, SmtpReplyReader


def smtp(data: bytes) -> SmtpReply:
    reader = SmtpReplyReader()
    reader.feed(data)
    reply = reader.next_reply()
    assert reply is not None
    return reply


def pop3(data: bytes, *, multiline: bool = False) -> Pop3Response:
    reader = Pop3Reader()
    reader.feed(data)
    response = reader.next_response(multiline=multiline)
    assert response is not None
    return response


def imap(data: bytes) -> list[ImapResponse]:
    reader = ImapReader()
    reader.feed(data)
    out = []
    while (response := reader.next_response()) is not None:
        out.append(response)
    return out


# ------------------------------------------------------------------------------------------ SMTP
def test_smtp_session_walks_greeting_ehlo_starttls_and_asks_again_after_tls() -> None:
    session = SmtpSession(ehlo_name="client.test")
    assert session.state is SessionState.GREETING

    assert session.receive_greeting(smtp(b"220 mx.test ESMTP\r\n")) == Greeting("mx.test ESMTP")
    assert session.capabilities_command() == b"EHLO client.test\r\n"
    caps = session.receive_capabilities(smtp(b"250-mx.test\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n"))
    assert caps == Capabilities(
        ("AUTH PLAIN", "STARTTLS"),
        starttls=True,
        auth_mechanisms=("PLAIN",),
        login_offered=True,
        over_tls=False,
    )
    assert session.starttls_command() == b"STARTTLS\r\n"
    assert session.receive_starttls(smtp(b"220 2.0.0 go ahead\r\n")) == GoAhead("2.0.0 go ahead")
    assert session.state is SessionState.HANDSHAKE

    assert session.tls_established(version="TLSv1.3", cipher="X") == TlsEstablished("TLSv1.3", "X")
    # RFC 3207 §4.2: everything learnt in the clear is void; the session must ask again.
    assert session.capabilities is None
    assert session.state is SessionState.CAPABILITIES
    session.capabilities_command()
    after = session.receive_capabilities(smtp(b"250-mx.test\r\n250 AUTH PLAIN\r\n"))
    assert isinstance(after, Capabilities)
    assert after.over_tls
    assert not after.starttls


@pytest.mark.parametrize(
    ("greeting", "temporary"),
    [(b"421 4.7.0 too many connections\r\n", True), (b"554 5.7.1 go away\r\n", False)],
)
def test_smtp_refused_greeting_is_a_refusal(greeting: bytes, temporary: bool) -> None:
    session = SmtpSession(ehlo_name="c.test")
    refusal = session.receive_greeting(smtp(greeting))
    assert isinstance(refusal, Refusal)
    assert refusal.step == "greeting"
    assert refusal.temporary is temporary
    assert session.state is SessionState.REFUSED
    with pytest.raises(SessionStateError):
        session.capabilities_command()


def test_smtp_454_to_starttls_is_a_failure_of_the_step_not_a_busy_server() -> None:
    session = SmtpSession(ehlo_name="c.test")
    session.receive_greeting(smtp(b"220 x\r\n"))
    session.capabilities_command()
    session.receive_capabilities(smtp(b"250-x\r\n250 STARTTLS\r\n"))
    session.starttls_command()
    assert session.receive_starttls(smtp(b"454 4.7.0 TLS not available\r\n")) == Refusal(
        "starttls", "STARTTLS answered 454 4.7.0 TLS not available", temporary=False
    )


def test_starttls_is_refused_locally_when_not_offered_or_out_of_order() -> None:
    session = SmtpSession(ehlo_name="c.test")
    with pytest.raises(SessionStateError):
        session.starttls_command()  # before the greeting
    session.receive_greeting(smtp(b"220 x\r\n"))
    session.capabilities_command()
    session.receive_capabilities(smtp(b"250 x\r\n"))
    with pytest.raises(SessionStateError, match="does not offer"):
        session.starttls_command()
    with pytest.raises(SessionStateError):
        session.tls_established(version="v", cipher="c")  # no go-ahead was received


def test_implicit_tls_session_cannot_starttls() -> None:
    session = SmtpSession(ehlo_name="c.test", over_tls=True)
    session.receive_greeting(smtp(b"220 x\r\n"))
    session.capabilities_command()
    caps = session.receive_capabilities(smtp(b"250-x\r\n250 STARTTLS\r\n"))
    assert isinstance(caps, Capabilities)
    assert caps.over_tls
    with pytest.raises(SessionStateError, match="already over TLS"):
        session.starttls_command()


# ------------------------------------------------------------------------------------------ POP3
def test_pop3_session_capa_and_stls() -> None:
    session = Pop3Session()
    assert session.receive_greeting(pop3(b"+OK Dovecot ready.\r\n")) == Greeting("Dovecot ready.")
    assert session.capabilities_command() == b"CAPA\r\n"
    caps = session.receive_capabilities(
        pop3(b"+OK\r\nUSER\r\nSTLS\r\nSASL PLAIN\r\n.\r\n", multiline=True)
    )
    assert isinstance(caps, Capabilities)
    assert (caps.starttls, caps.login_offered, caps.auth_mechanisms) == (True, True, ("PLAIN",))
    assert session.starttls_command() == b"STLS\r\n"
    assert isinstance(session.receive_starttls(pop3(b"+OK Begin TLS\r\n")), GoAhead)


@pytest.mark.parametrize(
    ("answer", "temporary"),
    [
        (b"-ERR [SYS/TEMP] 421 busy\r\n", True),
        (b"-ERR [IN-USE] mailbox locked\r\n", True),
        (b"-ERR 421 try later\r\n", True),
        (b"-ERR unknown command\r\n", False),
    ],
)
def test_pop3_capa_refused_is_a_refusal_never_no_stls(answer: bytes, temporary: bool) -> None:
    session = Pop3Session()
    session.receive_greeting(pop3(b"+OK hi\r\n"))
    session.capabilities_command()
    refusal = session.receive_capabilities(pop3(answer, multiline=True))
    assert isinstance(refusal, Refusal)
    assert refusal.step == "capabilities"
    assert refusal.temporary is temporary
    assert session.capabilities is None  # unknown, not "no STLS"


# ------------------------------------------------------------------------------------------ IMAP
def test_imap_greeting_with_capabilities_makes_the_session_ready() -> None:
    session = ImapSession()
    (greeting,) = imap(b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n")
    assert isinstance(session.receive_greeting(greeting), Greeting)
    assert session.state is SessionState.READY
    assert session.capabilities is not None
    assert session.capabilities.starttls
    assert not session.capabilities.login_offered
    assert session.starttls_command() == b"A001 STARTTLS\r\n"
    assert session.pending_tag == "A001"
    (done,) = imap(b"A001 OK Begin TLS negotiation now.\r\n")
    assert isinstance(session.receive_starttls(done), GoAhead)


def test_imap_capability_answered_no_unavailable_is_temporary() -> None:
    session = ImapSession()
    (greeting,) = imap(b"* OK ready\r\n")
    session.receive_greeting(greeting)
    assert session.state is SessionState.CAPABILITIES
    assert session.capabilities_command() == b"A001 CAPABILITY\r\n"
    (done,) = imap(b"A001 NO [UNAVAILABLE] 421 busy\r\n")
    refusal = session.receive_capabilities(done)
    assert refusal == Refusal(
        "capabilities", "CAPABILITY answered A001 NO [UNAVAILABLE] 421 busy", temporary=True
    )


def test_imap_untagged_capability_then_ok() -> None:
    session = ImapSession()
    session.receive_greeting(imap(b"* OK hi\r\n")[0])
    session.capabilities_command()
    untagged, done = imap(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nA001 OK done\r\n")
    caps = session.receive_capabilities(done, (untagged,))
    assert isinstance(caps, Capabilities)
    assert caps.lines == ("AUTH=PLAIN", "IMAP4REV1")
    assert caps.login_offered
    assert not caps.starttls


def test_imap_bye_greeting_is_temporary() -> None:
    refusal = ImapSession().receive_greeting(imap(b"* BYE too many connections\r\n")[0])
    assert isinstance(refusal, Refusal)
    assert refusal.temporary


@pytest.mark.parametrize(
    ("text", "temporary"),
    [
        ("NO [INUSE] mailbox in use", True),
        ("NO [LIMIT] too many", True),
        ("-ERR [LOGIN-DELAY] wait", True),
        ("NO [AUTHENTICATIONFAILED] bad password", False),
        ("BAD 14210 is not a code", False),
    ],
)
def test_temporary_markers(text: str, temporary: bool) -> None:
    assert is_temporary_text(text) is temporary
