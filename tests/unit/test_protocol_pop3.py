"""POP3 reader, CAPA parsing and command building (RFC 1939 §3, RFC 2449, RFC 2595)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailaudit.protocols import (
    Pop3Capabilities,
    Pop3Reader,
    Pop3Response,
    ProtocolError,
    parse_capa,
    pop3_command,
)

DOVECOT_GREETING = b"+OK Dovecot (Debian) ready.\r\n"
# Dovecot 2.3 answering CAPA before STLS, with `auth_mechanisms = plain login`.
DOVECOT_CAPA = (
    b"+OK\r\n"
    b"CAPA\r\n"
    b"TOP\r\n"
    b"UIDL\r\n"
    b"RESP-CODES\r\n"
    b"PIPELINING\r\n"
    b"AUTH-RESP-CODE\r\n"
    b"STLS\r\n"
    b"USER\r\n"
    b"SASL PLAIN LOGIN\r\n"
    b".\r\n"
)
DOVECOT_SESSION = DOVECOT_GREETING + DOVECOT_CAPA


def _one(data: bytes, *, multiline: bool = False, **caps: int) -> Pop3Response:
    reader = Pop3Reader(**caps)
    reader.feed(data)
    response = reader.next_response(multiline=multiline)
    assert response is not None
    assert reader.pending_bytes == 0
    return response


def _error(data: bytes, *, multiline: bool = False, **caps: int) -> ProtocolError:
    reader = Pop3Reader(**caps)
    reader.feed(data)
    with pytest.raises(ProtocolError) as info:
        reader.next_response(multiline=multiline)
    return info.value


def test_greeting() -> None:
    assert _one(DOVECOT_GREETING) == Pop3Response(ok=True, text="Dovecot (Debian) ready.")


def test_err_response() -> None:
    response = _one(b"-ERR [AUTH] Authentication failed.\r\n")
    assert not response.ok
    assert response.text == "[AUTH] Authentication failed."


@pytest.mark.parametrize(
    ("line", "ok", "text"),
    [(b"+OK", True, ""), (b"-ERR", False, ""), (b"+ok fine", True, "fine"), (b"+OK\tx", True, "x")],
)
def test_status_line_variants(line: bytes, ok: bool, text: str) -> None:
    # Some servers send "+OK" alone (e.g. to CAPA); RFC 1939 §3 wants upper case, we accept any.
    assert _one(line + b"\r\n") == Pop3Response(ok=ok, text=text)


@pytest.mark.parametrize(
    "line", [b"OK ready", b"+OKAY", b"* OK imap", b"220 smtp", b"", b"+ base64=", b"\xff"]
)
def test_bad_status_line(line: bytes) -> None:
    assert _error(line + b"\r\n").reason == "bad-response"


def test_multiline_body_is_dot_unstuffed_without_terminator() -> None:
    # RFC 1939 §3: a body line starting with "." is sent with an extra "."; "." alone ends it.
    data = b"+OK 2 messages\r\n1 120\r\n..hidden\r\n.\r\n"
    response = _one(data, multiline=True)
    assert response == Pop3Response(ok=True, text="2 messages", lines=("1 120", ".hidden"))
    assert response.raw_lines() == ["+OK 2 messages", "1 120", "..hidden", "."]


def test_empty_multiline_body() -> None:
    response = _one(b"+OK 0 messages\r\n.\r\n", multiline=True)
    assert response.lines == ()
    assert response.raw_lines() == ["+OK 0 messages", "."]


def test_err_ends_a_multiline_response_at_the_status_line() -> None:
    # Given a server refusing CAPA (a plain RFC 1939 server) with the next reply pipelined
    reader = Pop3Reader()
    reader.feed(b"-ERR unknown command\r\n+OK next\r\n")
    # When we ask for a multi-line response
    response = reader.next_response(multiline=True)
    # Then the -ERR alone is the response, and the next one is untouched
    assert response == Pop3Response(ok=False, text="unknown command")
    assert response.raw_lines() == ["-ERR unknown command"]
    assert reader.pending_bytes == len(b"+OK next\r\n")


def test_single_line_response_leaves_the_body_like_bytes_pending() -> None:
    reader = Pop3Reader()
    reader.feed(b"+OK\r\n.\r\n")
    assert reader.next_response() == Pop3Response(ok=True, text="")
    assert reader.pending_bytes == 3


@pytest.mark.parametrize("cut", range(len(DOVECOT_SESSION) + 1))
def test_every_split_position_gives_the_same_responses(cut: int) -> None:
    # Given the greeting and the CAPA response arriving in two reads split at `cut`
    reader = Pop3Reader()
    reader.feed(DOVECOT_SESSION[:cut])
    got: list[Pop3Response] = []
    multiline = False  # the greeting is single-line, CAPA multi-line
    for chunk in (b"", DOVECOT_SESSION[cut:]):
        reader.feed(chunk)
        while (response := reader.next_response(multiline=multiline)) is not None:
            got.append(response)
            multiline = True
    # Then both responses come out whole
    assert [r.text for r in got] == ["Dovecot (Debian) ready.", ""]
    assert got[1].lines[0] == "CAPA"
    assert got[1].lines[-1] == "SASL PLAIN LOGIN"
    assert reader.pending_bytes == 0


def test_partial_body_counts_as_pending_until_the_terminator() -> None:
    reader = Pop3Reader()
    reader.feed(DOVECOT_CAPA[:-3])
    assert reader.next_response(multiline=True) is None
    assert reader.pending_bytes == len(DOVECOT_CAPA) - 3
    reader.feed(DOVECOT_CAPA[-3:])
    assert reader.next_response(multiline=True) is not None
    assert reader.pending_bytes == 0


def test_bytes_pipelined_after_stls_reply_show_as_pending() -> None:
    # RFC 2595 §4: TLS starts right after "+OK"; anything already buffered was sent in clear.
    reader = Pop3Reader()
    reader.feed(b"+OK Begin TLS negotiation now.\r\n-ERR injected\r\n")
    assert reader.next_response() == Pop3Response(ok=True, text="Begin TLS negotiation now.")
    assert reader.pending_bytes == len(b"-ERR injected\r\n")


def test_over_long_line() -> None:
    assert _error(b"+OK " + b"x" * 100 + b"\r\n", max_line_bytes=64).reason == "line-too-long"


def test_too_many_body_lines() -> None:
    data = b"+OK\r\n" + b"line\r\n" * 3 + b".\r\n"
    assert len(_one(data, multiline=True, max_lines=3).lines) == 3
    assert _error(data, multiline=True, max_lines=2).reason == "too-many-lines"


def test_too_many_bytes() -> None:
    data = b"+OK\r\n" + b"y" * 50 + b"\r\n.\r\n"
    assert _one(data, multiline=True, max_bytes=len(data)).lines == ("y" * 50,)
    assert _error(data, multiline=True, max_bytes=len(data) - 1).reason == "reply-too-large"


def test_body_that_never_ends_stays_bounded_then_raises() -> None:
    # Given a RETR answer that never sends the terminating "."
    reader = Pop3Reader(max_lines=100, max_bytes=100_000)
    reader.feed(b"+OK\r\n")
    # When lines keep coming, the reader says "need more" up to its cap
    for _ in range(100):
        reader.feed(b"more\r\n")
        assert reader.next_response(multiline=True) is None
        assert reader.pending_bytes <= 5 + 100 * 6
    # Then one more line is a protocol violation
    reader.feed(b"more\r\n")
    with pytest.raises(ProtocolError) as info:
        reader.next_response(multiline=True)
    assert info.value.reason == "too-many-lines"


def test_error_is_sticky() -> None:
    reader = Pop3Reader()
    reader.feed(b"garbage\r\n+OK\r\n")
    for _ in range(2):
        with pytest.raises(ProtocolError, match="neither"):
            reader.next_response()


def test_parse_dovecot_capa() -> None:
    capa = parse_capa(_one(DOVECOT_CAPA, multiline=True))
    assert capa.supports_stls
    assert capa.supports_user
    assert capa.sasl_mechanisms == ("PLAIN", "LOGIN")
    assert capa.implementation is None
    assert capa.items["TOP"] == ()


def test_capa_after_stls_without_user_and_with_implementation() -> None:
    response = Pop3Response(
        ok=True,
        text="Capability list follows",
        lines=("top", "SASL plain xoauth2 PLAIN", "IMPLEMENTATION Dovecot 2.3", "UIDL"),
    )
    capa = parse_capa(response)
    assert not capa.supports_stls
    assert not capa.supports_user
    assert capa.sasl_mechanisms == ("PLAIN", "XOAUTH2")
    assert capa.implementation == "Dovecot 2.3"
    assert capa.has("TOP")


def test_refused_capa_has_no_items() -> None:
    assert parse_capa(Pop3Response(ok=False, text="unknown command")) == Pop3Capabilities(items={})


def test_pop3_command() -> None:
    assert pop3_command("CAPA") == b"CAPA\r\n"
    assert pop3_command("USER", "alice") == b"USER alice\r\n"


@pytest.mark.parametrize(
    ("verb", "arg"), [("USER", "a\r\nDELE 1"), ("PASS", "x\n"), ("USER", "a\0"), ("QUIT\r", None)]
)
def test_pop3_command_refuses_injection(verb: str, arg: str | None) -> None:
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        pop3_command(verb, arg)


# --- properties -----------------------------------------------------------------------------

POP3_ALPHABET = st.sampled_from(
    [b"+OK", b"-ERR", b" ", b".", b"..", b"\r\n", b"\n", b"\r", b"x", b"\xff", b"+", b"-"]
)
POP3_BYTES = st.one_of(st.binary(max_size=300), st.lists(POP3_ALPHABET, max_size=80).map(b"".join))


def _run(chunks: list[bytes], multiline: list[bool]) -> tuple[list[Pop3Response], str | None, int]:
    reader = Pop3Reader(max_line_bytes=32, max_lines=5, max_bytes=120)
    out: list[Pop3Response] = []
    for chunk in chunks:
        reader.feed(chunk)
        try:
            before = reader.pending_bytes
            while (
                response := reader.next_response(multiline=multiline[len(out) % len(multiline)])
            ) is not None:
                # Termination: every returned response consumed at least one byte.
                assert reader.pending_bytes < before
                before = reader.pending_bytes
                out.append(response)
        except ProtocolError as error:
            return out, error.reason, -1
        assert reader.pending_bytes <= 120 + 32 + 2
    return out, None, reader.pending_bytes


@settings(max_examples=300, deadline=None)
@given(
    data=POP3_BYTES,
    cuts=st.lists(st.integers(0, 300), max_size=10),
    multiline=st.lists(st.booleans(), min_size=1, max_size=4),
)
def test_arbitrary_bytes_in_arbitrary_chunks(
    data: bytes, cuts: list[int], multiline: list[bool]
) -> None:
    # Only responses or ProtocolError come out, and the outcome does not depend on the split.
    points = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    chunks = [data[a:b] for a, b in itertools.pairwise(points)]
    assert _run(chunks, multiline) == _run([data], multiline)
