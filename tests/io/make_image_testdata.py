#!/usr/bin/python3
"""Writes the images tests/io/image_test.cc decodes, with encoders other
than nabla's decoders (Pillow, and plain text for the plain Netpbm files).

Run from the repository root: /usr/bin/python3 tests/io/make_image_testdata.py
(needs python3-pil and python3-numpy). The pixel values are formulas the
test recomputes: pixel i of a grey image is GREY(i), of a colour one RGB(i).
"""
import os
import struct
import zlib

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata", "images")
W, H = 5, 3  # small and odd-sized, so rows are not padded by accident


def grey(i):
    return (i * 17) % 256


def rgb(i):
    return ((i * 40) % 256, (255 - i * 13) % 256, (i * i * 7) % 256)


def grey_array():
    return np.array([grey(i) for i in range(W * H)], dtype=np.uint8).reshape(H, W)


def rgb_array():
    return np.array([rgb(i) for i in range(W * H)], dtype=np.uint8).reshape(H, W, 3)


def path(name):
    return os.path.join(OUT, name)


def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_declaring(width, height, with_data):
    """A PNG whose IHDR (valid CRC) declares width x height, 8-bit grey."""
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    if with_data:
        out += png_chunk(b"IDAT", zlib.compress(b"\0" * (width + 1)))
    return out + png_chunk(b"IEND", b"")


def main():
    os.makedirs(OUT, exist_ok=True)
    g, c = grey_array(), rgb_array()
    Image.fromarray(g, "L").save(path("grey8.png"))
    # 16-bit grey: sample i is GREY(i) * 257 + i, so the low byte matters.
    g16 = (g.astype(np.uint16) * 257 + np.arange(W * H, dtype=np.uint16).reshape(H, W))
    Image.frombytes("I;16", (W, H), g16.astype("<u2").tobytes()).save(path("grey16.png"))
    Image.fromarray(c, "RGB").save(path("rgb.png"))
    # Alpha: pixel i has alpha (i * 18) % 256.
    alpha = np.array([(i * 18) % 256 for i in range(W * H)], dtype=np.uint8).reshape(H, W, 1)
    Image.fromarray(np.concatenate([c, alpha], axis=2), "RGBA").save(path("rgba.png"))
    Image.fromarray(g, "L").convert("P").save(path("palette.png"))

    # JPEG is lossy: 8x8 blocks of one value come back within a level or two.
    blocks = np.kron(np.array([[30, 200], [120, 250]], dtype=np.uint8), np.ones((8, 8), np.uint8))
    Image.fromarray(blocks, "L").save(path("grey.jpg"), quality=95)
    colour = np.stack([blocks, 255 - blocks, blocks // 2], axis=2)
    Image.fromarray(colour, "RGB").save(path("rgb.jpg"), quality=95, subsampling=0)
    Image.fromarray(colour, "RGB").save(path("progressive.jpg"), quality=95, progressive=True)

    # Netpbm: raw from Pillow, plain (ASCII) written as text, with a comment.
    Image.fromarray(g, "L").save(path("grey8.pgm"))
    Image.fromarray(c, "RGB").save(path("rgb8.ppm"))
    with open(path("grey_plain.pgm"), "w") as f:
        f.write("P2\n# a comment\n%d %d\n255\n" % (W, H))
        f.write("\n".join(" ".join(str(v) for v in row) for row in g) + "\n")
    with open(path("rgb_plain.ppm"), "w") as f:
        f.write("P3\n%d %d\n255\n" % (W, H))
        f.write("\n".join(" ".join(str(v) for v in px) for px in c.reshape(-1, 3)) + "\n")
    # 16-bit raw: maxval 65535 (samples as grey16.png), and maxval 1000
    # (sample i is i * 60, so white is 1000, not 65535).
    with open(path("grey16.pgm"), "wb") as f:
        f.write(b"P5\n%d %d\n65535\n" % (W, H) + g16.astype(">u2").tobytes())
    with open(path("grey_max1000.pgm"), "wb") as f:
        f.write(b"P5\n%d %d\n1000\n" % (W, H) + (np.arange(W * H) * 60).astype(">u2").tobytes())
    with open(path("rgb16.ppm"), "wb") as f:
        f.write(b"P6\n%d %d\n65535\n" % (W, H) + (c.astype(np.uint16) * 257).astype(">u2").tobytes())

    # Bad images: 0x0 and 100000x100000 declared in valid PNG chunks.
    with open(path("zero.png"), "wb") as f:
        f.write(png_declaring(0, 0, with_data=False))
    with open(path("huge.png"), "wb") as f:
        f.write(png_declaring(100000, 100000, with_data=True))


if __name__ == "__main__":
    main()
