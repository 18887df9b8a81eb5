"""The screenshot reader decodes every PNG row filter correctly (checked on images we encode)."""

from __future__ import annotations

import struct
import zlib

import pytest

from tests.browser.png import decode


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def _encode(rows: list[bytes], width: int, filter_type: int) -> bytes:
    bpp, raw, prev = 3, bytearray(), bytes(width * 3)
    for row in rows:
        raw.append(filter_type)
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            predictor = [0, a, b, (a + b) >> 1, _paeth(a, b, c)][filter_type]
            raw.append((x - predictor) & 0xFF)
        prev = row
    header = struct.pack(">IIBBBBB", width, len(rows), 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(raw)))
        + _chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("filter_type", [0, 1, 2, 3, 4])
def test_every_filter_round_trips(filter_type: int) -> None:
    width = 7
    rows = [
        bytes((x * 37 + y * 91 + c * 13) % 256 for x in range(width) for c in range(3))
        for y in range(5)
    ]

    image = decode(_encode(rows, width, filter_type))

    assert list(image.rows) == rows
    assert image.pixels(0)[1] == rows[0][3:6]
    assert len(image.distinct_colours()) == len(
        {r[i : i + 3] for r in rows for i in range(0, len(r), 3)}
    )
