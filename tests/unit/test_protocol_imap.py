"""IMAP reader, capabilities and command building (RFC 9051 §2.2, §4.3, §7; RFC 3501; RFC 7888)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailaudit.protocols import (
    ImapReader,
    ImapResponse,
    ImapTagger,
    ProtocolError,
    capabilities_from,
    imap_auth_mechanisms,
    imap_command,
    imap_login_disabled,
    imap_supports_starttls,
)

DOVECOT_GREETING = (
    b"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS "
    b"LOGINDISABLED] Dovecot (Debian) ready.\r\n"
)
DOVECOT_SESSION = (
    DOVECOT_GREETING
    + b"* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS "
    b"AUTH=PLAIN AUTH=LOGIN\r\n"
    + b"A001 OK Pre-login capabilities listed, post-login capabilities have more.\r\n"
    + b"* 1 FETCH (BODY[HEADER] {12}\r\nSubject: x\r\n)\r\n"
    + b"+ idling\r\n"
)


def _read_all(data: bytes, **caps: int) -> list[ImapResponse]:
    reader = ImapReader(**caps)
    reader.feed(data)
    out: list[ImapResponse] = []
    while (response := reader.next_response()) is not None:
        out.append(response)
    assert reader.pending_bytes == 0
    return out


def _one(data: bytes, **caps: int) -> ImapResponse:
    [response] = _read_all(data, **caps)
    return response


def _error(data: bytes, **caps: int) -> ProtocolError:
    reader = ImapReader(**caps)
    reader.feed(data)
    with pytest.raises(ProtocolError) as info:  # noqa: PT012 - drain until the error
        while reader.next_response() is not None:
            pass
    return info.value


def test_dovecot_greeting() -> None:
    greeting = _one(DOVECOT_GREETING)
    assert greeting.kind == "untagged"
    assert greeting.tag is None
    assert greeting.status == "OK"
    assert greeting.code == "CAPABILITY"
    assert greeting.text == "Dovecot (Debian) ready."
    assert greeting.data_name == "OK"
    assert greeting.raw == DOVECOT_GREETING[:-2].decode()
    caps = capabilities_from(greeting)
    assert caps is not None
    assert "IMAP4REV1" in caps
    assert imap_supports_starttls(caps)
    # LOGINDISABLED before TLS is what we want to see (RFC 9051 §6.2.3, RFC 8314 §4).
    assert imap_login_disabled(caps)
    assert imap_auth_mechanisms(caps) == ()


def test_capability_data_response() -> None:
    response = _one(b"* CAPABILITY IMAP4rev1 auth=plain AUTH=XOAUTH2 AUTH=LOGIN\r\n")
    assert response.status is None
    assert response.data_name == "CAPABILITY"
    assert response.data_args == ("IMAP4rev1", "auth=plain", "AUTH=XOAUTH2", "AUTH=LOGIN")
    caps = capabilities_from(response)
    assert caps == frozenset({"IMAP4REV1", "AUTH=PLAIN", "AUTH=XOAUTH2", "AUTH=LOGIN"})
    assert imap_auth_mechanisms(caps) == ("LOGIN", "PLAIN", "XOAUTH2")
    assert not imap_login_disabled(caps)
    assert not imap_supports_starttls(caps)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"A002 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n", frozenset({"IMAP4REV1", "IDLE"})),
        (b"* PREAUTH [CAPABILITY IMAP4rev2] hi\r\n", frozenset({"IMAP4REV2"})),
        (b"* NO [CAPABILITY IMAP4rev1] no\r\n", None),  # only OK/PREAUTH carry them
        (b"* OK [ALERT] maintenance tonight\r\n", None),
        (b"* 3 EXISTS\r\n", None),
        (b"+ ready\r\n", None),
    ],
)
def test_capabilities_from(line: bytes, expected: frozenset[str] | None) -> None:
    assert capabilities_from(_one(line)) == expected


def test_tagged_response() -> None:
    response = _one(b"a7 no [AUTHENTICATIONFAILED] Authentication failed.\r\n")
    assert response == ImapResponse(
        kind="tagged",
        tag="a7",
        status="NO",
        code="AUTHENTICATIONFAILED",
        code_args=(),
        text="Authentication failed.",
        raw="a7 no [AUTHENTICATIONFAILED] Authentication failed.",
    )


def test_response_code_with_parenthesised_args() -> None:
    response = _one(b"* OK [PERMANENTFLAGS (\\Seen \\Deleted \\*)] Limited\r\n")
    assert response.code == "PERMANENTFLAGS"
    assert response.code_args == ("\\Seen", "\\Deleted", "\\*")
    assert response.text == "Limited"


@pytest.mark.parametrize(
    ("line", "text", "code"),
    [
        (b"+ idling", "idling", None),
        (b"+", "", None),
        (b"+ ", "", None),
        (b"+ [ALERT] x", "x", "ALERT"),
    ],
)
def test_continuation(line: bytes, text: str, code: str | None) -> None:
    response = _one(line + b"\r\n")
    assert response.kind == "continuation"
    assert (response.tag, response.status, response.text, response.code) == (None, None, text, code)


def test_numbered_untagged_data() -> None:
    response = _one(b"* 23 EXISTS\r\n")
    assert (response.data_name, response.data_args, response.status) == ("EXISTS", ("23",), None)


def test_bye() -> None:
    response = _one(b"* BYE Too many invalid IMAP commands.\r\n")
    assert response.status == "BYE"
    assert response.text == "Too many invalid IMAP commands."


def test_literal_is_read_as_raw_bytes_then_the_line_continues() -> None:
    # Given a literal whose content contains CRLF and something that looks like a tagged reply
    data = b"* 1 FETCH (BODY[] {20}\r\nA001 OK fake\r\n{99}\r\n FLAGS (\\Seen))\r\nA001 OK done\r\n"
    # When it is read
    fetch, done = _read_all(data)
    # Then the literal's bytes belong to the FETCH response, not to a new response
    assert fetch.data_name == "FETCH"
    assert fetch.raw == "* 1 FETCH (BODY[] {20}\r\nA001 OK fake\r\n{99}\r\n FLAGS (\\Seen))"
    assert (done.tag, done.status, done.text) == ("A001", "OK", "done")


def test_non_synchronising_literal_and_several_literals() -> None:
    # RFC 7888 (LITERAL+) "{n+}"; and RFC 9051 §4.3 allows many literals in one response.
    data = b'* LIST () "/" {3+}\r\nabc\r\n* X {0}\r\n {2}\r\nhi end\r\n'
    first, second = _read_all(data)
    assert first.raw == '* LIST () "/" {3+}\r\nabc'
    assert second.raw == "* X {0}\r\n {2}\r\nhi end"


def test_literal_larger_than_cap_is_rejected_before_reading_it() -> None:
    reader = ImapReader(max_literal_bytes=100)
    reader.feed(b"* 1 FETCH (BODY[] {101}\r\n")
    with pytest.raises(ProtocolError) as info:
        reader.next_response()
    assert info.value.reason == "literal-too-large"
    assert _one(b"* 1 FETCH (BODY[] {100}\r\n" + b"x" * 100 + b")\r\n", max_literal_bytes=100)


def test_absurd_literal_length_is_a_protocol_error_not_a_value_error() -> None:
    # int() refuses strings of more than 4300 digits (CPython int max_str_digits); a hostile
    # server must still only get a ProtocolError out of us.
    assert _error(b"* X {" + b"9" * 5000 + b"}\r\n").reason == "literal-too-large"


def test_literals_count_towards_the_response_cap() -> None:
    data = b"* X {60}\r\n" + b"x" * 60 + b" {60}\r\n" + b"y" * 60 + b"\r\n"
    assert _one(data, max_response_bytes=len(data))
    assert _error(data, max_response_bytes=len(data) - 1).reason == "reply-too-large"


@pytest.mark.parametrize("cut", range(len(DOVECOT_SESSION) + 1))
def test_every_split_position_gives_the_same_responses(cut: int) -> None:
    reader = ImapReader()
    got: list[ImapResponse] = []
    for chunk in (DOVECOT_SESSION[:cut], DOVECOT_SESSION[cut:]):
        reader.feed(chunk)
        while (response := reader.next_response()) is not None:
            got.append(response)
    assert got == _read_all(DOVECOT_SESSION)
    assert [r.kind for r in got] == ["untagged", "untagged", "tagged", "untagged", "continuation"]
    assert reader.pending_bytes == 0


def test_half_read_literal_counts_as_pending() -> None:
    reader = ImapReader()
    reader.feed(b"* 1 FETCH (BODY[] {10}\r\nabc")
    assert reader.next_response() is None
    assert reader.pending_bytes == len(b"* 1 FETCH (BODY[] {10}\r\nabc")
    reader.feed(b"defghij)\r\n")
    assert reader.next_response() is not None
    assert reader.pending_bytes == 0


def test_bytes_pipelined_after_starttls_reply_show_as_pending() -> None:
    # RFC 9051 §6.2.1: the TLS negotiation begins right after the tagged OK; bytes already
    # buffered arrived in clear text and must not be trusted (the STARTTLS injection class).
    reader = ImapReader()
    reader.feed(b"A002 OK Begin TLS negotiation now.\r\n* OK [CAPABILITY IMAP4rev1] injected\r\n")
    response = reader.next_response()
    assert response is not None
    assert response.tag == "A002"
    assert reader.pending_bytes == len(b"* OK [CAPABILITY IMAP4rev1] injected\r\n")


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"*",
        b"* ",
        b"A001",
        b"A001 ",
        b"A001 PREAUTH hi",  # RFC 9051 §7.1: tagged responses are OK, NO or BAD only
        b"A001 FETCH x",
        b"+A OK x",
        b"* 3",
        b"\xff\xfe OK",
    ],
)
def test_malformed_responses(line: bytes) -> None:
    assert _error(line + b"\r\n").reason == "bad-response"


def test_over_long_line() -> None:
    assert _error(b"* OK " + b"x" * 100 + b"\r\n", max_line_bytes=64).reason == "line-too-long"


def test_response_that_never_ends_stays_bounded_then_raises() -> None:
    # Given a server that keeps announcing literals in one response, forever
    reader = ImapReader(max_literal_bytes=100, max_response_bytes=1000)
    piece = b" {10}\r\n0123456789"
    reader.feed(b"* X")
    fed = 3
    # When we keep feeding, the reader says "need more" while under its cap
    with pytest.raises(ProtocolError) as info:  # noqa: PT012 - feed until the cap trips
        for _ in range(1000):
            reader.feed(piece)
            fed += len(piece)
            assert reader.next_response() is None
            assert reader.pending_bytes <= 1000
    # Then it raises as soon as the response would pass the cap
    assert info.value.reason == "reply-too-large"
    assert fed <= 1000 + len(piece)


def test_error_is_sticky() -> None:
    reader = ImapReader()
    reader.feed(b"garbage\r\nA001 OK fine\r\n")
    for _ in range(2):
        with pytest.raises(ProtocolError, match="malformed"):
            reader.next_response()


def test_tagger_counts_up() -> None:
    tagger = ImapTagger()
    assert [tagger.next() for _ in range(3)] == ["A001", "A002", "A003"]
    assert ImapTagger().next() == "A001"  # no shared state between taggers


def test_imap_command_atoms_and_quoting() -> None:
    assert imap_command("A001", "CAPABILITY") == b"A001 CAPABILITY\r\n"
    assert imap_command("A002", "LOGIN", "alice", "s3cret") == b"A002 LOGIN alice s3cret\r\n"
    # RFC 9051 §4.3: quoted strings escape only "\" and '"'.
    assert (
        imap_command("A003", "LOGIN", "al ice", 'p"w\\d') == b'A003 LOGIN "al ice" "p\\"w\\\\d"\r\n'
    )
    assert imap_command("A004", "SELECT", "") == b'A004 SELECT ""\r\n'
    assert imap_command("A005", "SELECT", "a(b") == b'A005 SELECT "a(b"\r\n'
    assert imap_command("A006", "SELECT", "caf\u00e9") == 'A006 SELECT "caf\u00e9"\r\n'.encode()


@pytest.mark.parametrize(
    "parts",
    [
        ("A001", "LOGIN", "alice", "x\r\nA002 DELETE INBOX"),
        ("A001", "LOGIN", "a\nb", "x"),
        ("A001", "LOGIN", "a\0", "x"),
        ("A001\r\n", "NOOP"),
        ("A001", "NOOP\r"),
    ],
)
def test_imap_command_refuses_injection(parts: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        imap_command(*parts)


@pytest.mark.parametrize("parts", [("", "NOOP"), ("A001", ""), ("A 1", "NOOP")])
def test_imap_command_needs_tag_and_command(parts: tuple[str, str]) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        imap_command(*parts)


# --- properties -----------------------------------------------------------------------------

IMAP_ALPHABET = st.sampled_from(
    [b"* ", b"A1 ", b"+ ", b"OK ", b"BAD", b"[", b"]", b"{", b"}", b"3", b"+}", b"\r\n", b"\n",
     b"\r", b"x", b"\xff", b"CAPABILITY ", b"{2}\r\n", b"{0}\r\n", b"{99}\r\n"]
)  # fmt: skip
IMAP_BYTES = st.one_of(st.binary(max_size=300), st.lists(IMAP_ALPHABET, max_size=80).map(b"".join))


def _run(chunks: list[bytes]) -> tuple[list[ImapResponse], str | None, int]:
    reader = ImapReader(max_line_bytes=40, max_literal_bytes=50, max_response_bytes=150)
    out: list[ImapResponse] = []
    for chunk in chunks:
        reader.feed(chunk)
        try:
            before = reader.pending_bytes
            while (response := reader.next_response()) is not None:
                # Termination: every returned response consumed at least one byte.
                assert reader.pending_bytes < before
                before = reader.pending_bytes
                out.append(response)
                capabilities_from(response)  # must not raise either
        except ProtocolError as error:
            return out, error.reason, -1
        assert reader.pending_bytes <= 150 + 40 + 2
    return out, None, reader.pending_bytes


@settings(max_examples=300, deadline=None)
@given(data=IMAP_BYTES, cuts=st.lists(st.integers(0, 300), max_size=10))
def test_arbitrary_bytes_in_arbitrary_chunks(data: bytes, cuts: list[int]) -> None:
    # Only responses or ProtocolError come out, and the outcome does not depend on the split.
    points = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    chunks = [data[a:b] for a, b in itertools.pairwise(points)]
    assert _run(chunks) == _run([data])
