"""LineBuffer: the line splitter under every reader (bytes in, lines out, None = need more)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailaudit.protocols import LineBuffer, ProtocolError


def _lines(buf: LineBuffer) -> list[bytes]:
    out: list[bytes] = []
    while (line := buf.next_line()) is not None:
        out.append(line)
    return out


def test_crlf_and_bare_lf_both_end_a_line() -> None:
    buf = LineBuffer()
    buf.feed(b"one\r\ntwo\nthree")
    assert _lines(buf) == [b"one", b"two"]
    assert buf.pending_bytes == len(b"three")


def test_lone_cr_stays_inside_the_line() -> None:
    # Only CRLF (or a tolerated bare LF) ends a line; a CR alone is data.
    buf = LineBuffer()
    buf.feed(b"a\rb\r\n")
    assert _lines(buf) == [b"a\rb"]


def test_crlf_split_between_cr_and_lf_waits_for_lf() -> None:
    buf = LineBuffer()
    buf.feed(b"250 ok\r")
    assert buf.next_line() is None
    buf.feed(b"\n")
    assert buf.next_line() == b"250 ok"
    assert buf.pending_bytes == 0


@pytest.mark.parametrize("cut", range(len(b"ab\r\ncd\nef\r\n") + 1))
def test_every_split_position_gives_the_same_lines(cut: int) -> None:
    data = b"ab\r\ncd\nef\r\n"
    buf = LineBuffer()
    buf.feed(data[:cut])
    got = _lines(buf)
    buf.feed(data[cut:])
    got += _lines(buf)
    assert got == [b"ab", b"cd", b"ef"]


def test_line_of_exactly_max_bytes_is_accepted() -> None:
    buf = LineBuffer(max_line_bytes=8)
    buf.feed(b"x" * 8 + b"\r\n")
    assert buf.next_line() == b"x" * 8


def test_max_bytes_plus_cr_still_waits_for_lf() -> None:
    # The CR may be the first half of the terminator, so this is not yet too long.
    buf = LineBuffer(max_line_bytes=8)
    buf.feed(b"x" * 8 + b"\r")
    assert buf.next_line() is None


@pytest.mark.parametrize("data", [b"x" * 9, b"x" * 9 + b"\r\n", b"x" * 8 + b"\ry"])
def test_line_over_max_raises_line_too_long(data: bytes) -> None:
    buf = LineBuffer(max_line_bytes=8)
    buf.feed(data)
    with pytest.raises(ProtocolError) as info:
        buf.next_line()
    assert info.value.reason == "line-too-long"


def test_endless_line_raises_as_soon_as_it_passes_the_cap() -> None:
    # Given a server dripping a line that never ends, one byte at a time
    buf = LineBuffer(max_line_bytes=16)
    # When we feed byte by byte, then the buffer says "need more" up to the cap...
    for _ in range(16):
        buf.feed(b"a")
        assert buf.next_line() is None
    # ...and raises on the first byte past it, having held at most cap + 1 bytes.
    buf.feed(b"a")
    with pytest.raises(ProtocolError, match="16"):
        buf.next_line()
    assert buf.pending_bytes == 17


def test_take_raw_returns_at_most_n_bytes_and_consumes_them() -> None:
    buf = LineBuffer()
    buf.feed(b"abc\r\ntail\r\n")
    assert buf.take_raw(2) == b"ab"
    assert buf.take_raw(0) == b""
    assert buf.next_line() == b"c"
    assert buf.take_raw(100) == b"tail\r\n"
    assert buf.pending_bytes == 0
    with pytest.raises(ValueError, match="negative"):
        buf.take_raw(-1)


def test_max_line_bytes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        LineBuffer(max_line_bytes=0)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200), cuts=st.lists(st.integers(0, 200), max_size=8))
def test_any_chunking_gives_the_same_lines_or_the_same_error(data: bytes, cuts: list[int]) -> None:
    def run(chunks: list[bytes]) -> tuple[list[bytes], str | None, int]:
        buf = LineBuffer(max_line_bytes=16)
        lines: list[bytes] = []
        for chunk in chunks:
            buf.feed(chunk)
            try:
                # Line by line: the lines read before an over-long one count in both runs.
                while (line := buf.next_line()) is not None:
                    lines.append(line)
            except ProtocolError as error:
                return lines, error.reason, -1
            # After "need more data" no unterminated line longer than the cap is held.
            assert buf.pending_bytes <= 16 + 1
        return lines, None, buf.pending_bytes

    points = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    chunks = [data[a:b] for a, b in itertools.pairwise(points)]
    assert run(chunks) == run([data])
