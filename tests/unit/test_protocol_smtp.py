"""SMTP reply reader, EHLO parsing and command building (RFC 5321 §4.2, RFC 4954, RFC 1870)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailaudit.protocols import (
    Ehlo,
    ProtocolError,
    SmtpReply,
    SmtpReplyReader,
    parse_ehlo,
    smtp_command,
)

# Postfix 3.x with `smtpd_sasl_auth_enable` and `broken_sasl_auth_clients = yes`.
POSTFIX_EHLO = (
    b"250-mail.example.org\r\n"
    b"250-PIPELINING\r\n"
    b"250-SIZE 10240000\r\n"
    b"250-VRFY\r\n"
    b"250-ETRN\r\n"
    b"250-STARTTLS\r\n"
    b"250-AUTH PLAIN LOGIN\r\n"
    b"250-AUTH=PLAIN LOGIN\r\n"
    b"250-ENHANCEDSTATUSCODES\r\n"
    b"250-8BITMIME\r\n"
    b"250-DSN\r\n"
    b"250-SMTPUTF8\r\n"
    b"250 CHUNKING\r\n"
)
POSTFIX_SESSION = b"220 mail.example.org ESMTP Postfix (Debian/GNU)\r\n" + POSTFIX_EHLO


def _drain(reader: SmtpReplyReader) -> list[SmtpReply]:
    out: list[SmtpReply] = []
    while (reply := reader.next_reply()) is not None:
        out.append(reply)
    return out


def _read_all(data: bytes, **caps: int) -> list[SmtpReply]:
    reader = SmtpReplyReader(**caps)
    reader.feed(data)
    replies = _drain(reader)
    assert reader.pending_bytes == 0
    return replies


def _error(data: bytes, **caps: int) -> ProtocolError:
    reader = SmtpReplyReader(**caps)
    reader.feed(data)
    with pytest.raises(ProtocolError) as info:
        _drain(reader)
    return info.value


def test_single_line_reply() -> None:
    [reply] = _read_all(b"220 mx.example ESMTP ready\r\n")
    assert reply == SmtpReply(code=220, lines=("mx.example ESMTP ready",))
    assert reply.is_positive
    assert not reply.is_intermediate
    assert not reply.is_transient
    assert not reply.is_permanent


def test_multiline_reply_keeps_every_line_in_order() -> None:
    [reply] = _read_all(b"250-first\r\n250-second\r\n250 last\r\n")
    assert reply.lines == ("first", "second", "last")
    assert reply.text == "first\nsecond\nlast"


def test_bare_code_line_is_a_complete_reply() -> None:
    # RFC 5321 §4.2: the textstring is optional, so "250" alone is a full reply.
    assert _read_all(b"250\r\n354\r\n") == [
        SmtpReply(code=250, lines=("",)),
        SmtpReply(code=354, lines=("",)),
    ]


def test_bare_lf_is_tolerated() -> None:
    assert _read_all(b"250-a\n250 b\n") == [SmtpReply(code=250, lines=("a", "b"))]


@pytest.mark.parametrize(
    ("code", "predicate"),
    [(250, "is_positive"), (354, "is_intermediate"), (421, "is_transient"), (554, "is_permanent")],
)
def test_reply_class_predicates(code: int, predicate: str) -> None:
    reply = SmtpReply(code=code, lines=("x",))
    flags = {
        name: getattr(reply, name)
        for name in ("is_positive", "is_intermediate", "is_transient", "is_permanent")
    }
    assert flags == {name: name == predicate for name in flags}


@pytest.mark.parametrize(
    ("first_line", "expected"),
    [
        ("5.7.1 Relay access denied", "5.7.1"),
        ("2.0.0 Ok: queued as 4XyZ", "2.0.0"),
        ("4.7.0 Try again later", "4.7.0"),
        ("5.7.1", "5.7.1"),
        ("Relay access denied", None),
        ("3.0.0 not a class", None),  # RFC 3463 §3.1: class is 2, 4 or 5
        ("5.7.1234 too long", None),
        ("5.7.1x", None),
    ],
)
def test_enhanced_status_code(first_line: str, expected: str | None) -> None:
    assert (
        SmtpReply(code=554, lines=(first_line, "2.0.0 not the first")).enhanced_status == expected
    )


def test_raw_lines_rebuild_the_wire_form() -> None:
    [reply] = _read_all(b"250-a b\r\n250-\r\n250 c\r\n")
    assert reply.raw_lines() == ["250-a b", "250-", "250 c"]
    assert SmtpReply(code=250, lines=("",)).raw_lines() == ["250"]


@pytest.mark.parametrize("cut", range(len(POSTFIX_SESSION) + 1))
def test_every_split_position_gives_the_same_replies(cut: int) -> None:
    # Given the greeting and EHLO reply arriving in two TCP reads split at `cut`
    reader = SmtpReplyReader()
    reader.feed(POSTFIX_SESSION[:cut])
    got = _drain(reader)
    reader.feed(POSTFIX_SESSION[cut:])
    got += _drain(reader)
    # Then the replies are exactly those of one read
    assert got == _read_all(POSTFIX_SESSION)
    assert [reply.code for reply in got] == [220, 250]
    assert len(got[1].lines) == 13


def test_byte_by_byte_feeding_reports_partial_reply_as_pending() -> None:
    reader = SmtpReplyReader()
    for index, byte in enumerate(POSTFIX_EHLO[:-1]):
        reader.feed(bytes([byte]))
        assert reader.next_reply() is None
        # Completed lines of an unfinished reply still count: nothing was handed out yet.
        assert reader.pending_bytes == index + 1
    reader.feed(POSTFIX_EHLO[-1:])
    assert reader.next_reply() is not None
    assert reader.pending_bytes == 0


def test_bytes_pipelined_after_starttls_reply_show_as_pending() -> None:
    # Given a server (or a man in the middle) that appends data to the "220 ready" reply:
    # the STARTTLS injection bug class (CVE-2011-0411). Those bytes were sent in clear text
    # and must never be treated as if they came through TLS.
    reader = SmtpReplyReader()
    reader.feed(b"220 2.0.0 Ready to start TLS\r\n250 injected\r\n")
    # When the driver reads the STARTTLS reply
    reply = reader.next_reply()
    # Then the reply is complete, and the injected bytes are visible as pending
    assert reply is not None
    assert reply.code == 220
    assert reader.pending_bytes == len(b"250 injected\r\n")


def test_partial_pipelined_line_also_counts_as_pending() -> None:
    reader = SmtpReplyReader()
    reader.feed(b"220 go ahead\r\nX")
    assert reader.next_reply() is not None
    assert reader.next_reply() is None
    assert reader.pending_bytes == 1


@pytest.mark.parametrize(
    "data",
    [
        b"hello\r\n",
        b"25\r\n",
        b"2x0 ok\r\n",
        b"150 not smtp\r\n",
        b"600 out of range\r\n",
        b"099 no\r\n",
        b"\xff\xfe\xfd ok\r\n",
        b"\r\n",
        b"\xd9\xa1\xd9\xa2\xd9\xa3 arabic-indic digits\r\n",
    ],
)
def test_bad_reply_code(data: bytes) -> None:
    assert _error(data).reason == "bad-reply-code"


@pytest.mark.parametrize("data", [b"250+ok\r\n", b"250_ok\r\n", b"2500 ok\r\n", b"250\tok\r\n"])
def test_bad_separator_is_a_bad_reply_line(data: bytes) -> None:
    assert _error(data).reason == "bad-reply-code"


def test_inconsistent_code_inside_one_reply() -> None:
    error = _error(b"250-first\r\n550 second\r\n")
    assert error.reason == "inconsistent-reply-code"
    assert "250" in str(error)
    assert "550" in str(error)


def test_over_long_line_is_rejected() -> None:
    assert _error(b"250 " + b"x" * 100 + b"\r\n", max_line_bytes=64).reason == "line-too-long"


def test_too_many_lines() -> None:
    data = b"250-x\r\n" * 5 + b"250 end\r\n"
    assert len(_read_all(data, max_reply_lines=6)[0].lines) == 6
    assert _error(data, max_reply_lines=5).reason == "too-many-lines"


def test_too_many_bytes() -> None:
    data = b"250-" + b"x" * 40 + b"\r\n" + b"250 " + b"y" * 40 + b"\r\n"
    assert _read_all(data, max_reply_bytes=len(data))
    assert _error(data, max_reply_bytes=len(data) - 1).reason == "reply-too-large"


def test_reply_that_never_ends_stays_bounded_then_raises() -> None:
    # Given a server that answers EHLO with "250-" lines forever
    reader = SmtpReplyReader(max_reply_lines=50, max_reply_bytes=10_000)
    line = b"250-still going\r\n"
    # When we keep feeding, the reader keeps saying "need more" without growing past its caps
    for _ in range(50):
        reader.feed(line)
        assert reader.next_reply() is None
        assert reader.pending_bytes <= 50 * len(line)
    # Then the first line past the cap is a protocol violation, not unbounded memory
    reader.feed(line)
    with pytest.raises(ProtocolError) as info:
        reader.next_reply()
    assert info.value.reason == "too-many-lines"


def test_error_is_sticky_because_the_stream_is_out_of_step() -> None:
    reader = SmtpReplyReader()
    reader.feed(b"garbage\r\n")
    with pytest.raises(ProtocolError):
        reader.next_reply()
    reader.feed(b"250 ok\r\n")
    with pytest.raises(ProtocolError) as info:
        reader.next_reply()
    assert info.value.reason == "bad-reply-code"


def test_invalid_utf8_text_is_replaced_not_raised() -> None:
    [reply] = _read_all(b"250 caf\xe9\r\n")
    assert reply.lines == ("caf\ufffd",)


def test_parse_postfix_ehlo() -> None:
    [ehlo_reply] = _read_all(POSTFIX_EHLO)
    ehlo = parse_ehlo(ehlo_reply)
    assert ehlo.hostname == "mail.example.org"
    assert ehlo.supports_starttls
    assert ehlo.size_limit == 10240000
    # Both AUTH forms list the same mechanisms: reported once each, in order.
    assert ehlo.auth_mechanisms == ("PLAIN", "LOGIN")
    assert ehlo.has("chunking")
    assert ehlo.has("SMTPUTF8")
    assert not ehlo.has("XCLIENT")
    assert ehlo.extensions["AUTH"] == ("PLAIN", "LOGIN")


def test_auth_mechanisms_union_of_both_forms_upper_cased() -> None:
    reply = SmtpReply(
        code=250, lines=("mx hello", "auth=login cram-md5", "AUTH PLAIN LOGIN", "AUTH XOAUTH2")
    )
    assert parse_ehlo(reply).auth_mechanisms == ("LOGIN", "CRAM-MD5", "PLAIN", "XOAUTH2")


def test_ehlo_greeting_and_keywords_upper_cased() -> None:
    ehlo = parse_ehlo(
        SmtpReply(code=250, lines=("mx.example Hello client [192.0.2.1]", "8bitmime"))
    )
    assert ehlo.hostname == "mx.example"
    assert ehlo.greeting == "Hello client [192.0.2.1]"
    assert ehlo.extensions == {"8BITMIME": ()}
    assert ehlo.auth_mechanisms == ()
    assert not ehlo.supports_starttls


@pytest.mark.parametrize(
    ("size_line", "expected"),
    [("SIZE 52428800", 52428800), ("SIZE", None), ("SIZE 0", None), ("SIZE lots", None)],
)
def test_size_limit(size_line: str, expected: int | None) -> None:
    # RFC 1870 §4: SIZE without a number, or 0, means "no fixed maximum".
    assert parse_ehlo(SmtpReply(code=250, lines=("mx", size_line))).size_limit == expected


def test_refused_ehlo_has_no_extensions() -> None:
    ehlo = parse_ehlo(SmtpReply(code=502, lines=("5.5.1 EHLO not supported",)))
    assert ehlo == Ehlo(hostname="", greeting="5.5.1 EHLO not supported", extensions={})


def test_smtp_command() -> None:
    assert smtp_command("EHLO", "client.example") == b"EHLO client.example\r\n"
    assert smtp_command("STARTTLS") == b"STARTTLS\r\n"
    assert smtp_command("MAIL", "FROM:<>") == b"MAIL FROM:<>\r\n"


@pytest.mark.parametrize(
    ("verb", "arg"),
    [
        ("EHLO", "x\r\nRCPT TO:<victim@example>"),
        ("EHLO", "x\nQUIT"),
        ("EHLO", "x\rQUIT"),
        ("EHLO", "x\0"),
        ("NOOP\r\nQUIT", None),
        ("", None),
    ],
)
def test_smtp_command_refuses_injection(verb: str, arg: str | None) -> None:
    with pytest.raises(ValueError, match=r"CR, LF or NUL|empty"):
        smtp_command(verb, arg)


# --- properties -----------------------------------------------------------------------------

SMTP_ALPHABET = st.sampled_from(
    [b"2", b"5", b"0", b"250", b"-", b" ", b"\r", b"\n", b"\r\n", b"x", b"\xff", b"550", b"1"]
)
SMTP_BYTES = st.one_of(st.binary(max_size=300), st.lists(SMTP_ALPHABET, max_size=80).map(b"".join))


def _run(chunks: list[bytes]) -> tuple[list[SmtpReply], str | None, int]:
    """Feed chunks, draining after each: (replies, error reason, pending bytes)."""
    reader = SmtpReplyReader(max_line_bytes=32, max_reply_lines=4, max_reply_bytes=100)
    replies: list[SmtpReply] = []
    for chunk in chunks:
        reader.feed(chunk)
        try:
            before = reader.pending_bytes
            while (reply := reader.next_reply()) is not None:
                # Termination: every returned reply consumed at least one byte.
                assert reader.pending_bytes < before
                before = reader.pending_bytes
                replies.append(reply)
        except ProtocolError as error:
            return replies, error.reason, -1
        assert reader.pending_bytes <= 100 + 32 + 2
    return replies, None, reader.pending_bytes


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    return [data[a:b] for a, b in itertools.pairwise(points)]


@settings(max_examples=300, deadline=None)
@given(data=SMTP_BYTES, cuts=st.lists(st.integers(0, 300), max_size=10))
def test_arbitrary_bytes_in_arbitrary_chunks(data: bytes, cuts: list[int]) -> None:
    # Only replies or ProtocolError come out, and the outcome does not depend on the split.
    assert _run(_chunks(data, cuts)) == _run([data])


REPLIES = st.builds(
    SmtpReply,
    code=st.integers(200, 599),
    lines=st.lists(
        st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=20),
        min_size=1,
        max_size=4,
    ).map(tuple),
)


@settings(max_examples=150, deadline=None)
@given(replies=st.lists(REPLIES, max_size=4), cuts=st.lists(st.integers(0, 400), max_size=6))
def test_raw_lines_round_trip(replies: list[SmtpReply], cuts: list[int]) -> None:
    # Given replies serialised with raw_lines() (a bare last "" is written as the bare code)
    wire = b"".join((line + "\r\n").encode() for reply in replies for line in reply.raw_lines())
    # When they are read back in arbitrary chunks
    reader = SmtpReplyReader()
    got: list[SmtpReply] = []
    for chunk in _chunks(wire, cuts):
        reader.feed(chunk)
        got += _drain(reader)
    # Then the same replies come out and nothing is left over
    assert got == replies
    assert reader.pending_bytes == 0
