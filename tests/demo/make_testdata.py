#!/usr/bin/env python3
"""Writes the demo server tests' images into tests/demo/testdata/.

  python3 tests/demo/make_testdata.py

mnist_t10k_0.png: MNIST's first test image (a 7) as a scan would show it,
dark ink on white paper, scaled 10x to 280x280 (a canvas's size) by pixel
repetition. blank.png: a white 280x280 page with no ink. Plain zlib and
struct, so that nothing beyond Python is needed. (seven_canvas.png is a 7
drawn with mouse events on the demo page in Chromium and saved with
canvas.toDataURL; tests/js/demo_browser.mjs draws the same strokes.)
"""
import gzip
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def write_png(path, rows):
    """rows: a list of bytes objects, one 8-bit grey sample per pixel."""
    height, width = len(rows), len(rows[0])
    raw = b"".join(b"\x00" + row for row in rows)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9))
    png += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def main():
    with gzip.open(os.path.join(ROOT, "data/mnist/t10k-images-idx3-ubyte.gz")) as f:
        images = f.read()[16:]
    digit = images[:784]
    rows = []
    for y in range(28):
        row = bytes(255 - digit[28 * y + x // 10] for x in range(280))
        rows.extend([row] * 10)
    out = os.path.join(HERE, "testdata")
    os.makedirs(out, exist_ok=True)
    write_png(os.path.join(out, "mnist_t10k_0.png"), rows)
    write_png(os.path.join(out, "blank.png"), [bytes([255] * 280)] * 280)


if __name__ == "__main__":
    main()
