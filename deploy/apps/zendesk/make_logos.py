#!/usr/bin/env python3
"""Draws the app's logos into assets/ (Zendesk: logo.png 320 px, logo-small.png 128 px, both
PNG-24 with an alpha channel, square corners): a white "D" on Debrief's teal. Standard library
only, so the logos can be redrawn anywhere: python3 deploy/apps/zendesk/make_logos.py"""

import pathlib
import struct
import zlib

TEAL = (31, 95, 107)
WHITE = (255, 255, 255)
AMBER = (242, 169, 0)


def shade(x, y):
    """The colour at (x, y) in the unit square."""
    # The "D": a bar and a half ring, both 0.1 thick, around (0.5, 0.5).
    dx, dy = x - 0.5, y - 0.5
    r = (dx * dx + dy * dy) ** 0.5
    in_bar = 0.28 <= x <= 0.38 and 0.24 <= y <= 0.76
    in_top = 0.28 <= x <= 0.5 and (0.24 <= y <= 0.34 or 0.66 <= y <= 0.76)
    in_bow = x >= 0.5 and 0.16 <= r <= 0.26
    if in_bar or in_top or in_bow:
        return WHITE
    # A dot inside the D: the root cause it finds.
    if ((x - 0.47) ** 2 + dy * dy) ** 0.5 <= 0.06:
        return AMBER
    return TEAL


def png(size):
    ss = 4  # 4x4 samples a pixel: smooth edges
    rows = []
    for py in range(size):
        row = bytearray([0])  # filter: none
        for px in range(size):
            acc = [0, 0, 0]
            for sy in range(ss):
                for sx in range(ss):
                    c = shade((px + (sx + 0.5) / ss) / size, (py + (sy + 0.5) / ss) / size)
                    for i in range(3):
                        acc[i] += c[i]
            row += bytes(round(a / (ss * ss)) for a in acc) + b"\xff"
        rows.append(bytes(row))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))


def main():
    assets = pathlib.Path(__file__).resolve().parent / "assets"
    assets.mkdir(exist_ok=True)
    (assets / "logo.png").write_bytes(png(320))
    (assets / "logo-small.png").write_bytes(png(128))


if __name__ == "__main__":
    main()
