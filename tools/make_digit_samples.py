#!/usr/bin/python3
"""Draws handwriting-like digits as a user would photograph or scan them.

Not MNIST: each digit is one of several hand-designed pen paths (strokes,
arcs and curves in a unit box, two to four styles per digit), drawn with
random stroke width, slant, rotation, proportions and wobble, at a random
size and position on a page larger than 28x28, with a paper brightness
gradient, noise, a little blur, specks of dust and, for JPEGs, compression.
Most are dark ink on light paper; one in five is light ink on dark (chalk on
a blackboard). Files are PNG (8-bit grey, RGB, some 16-bit), JPEG (grey or
colour) and PGM/PPM.

    /usr/bin/python3 tools/make_digit_samples.py --out /tmp/digits --count 1000
    /usr/bin/python3 tools/make_digit_samples.py --out data/digits --count 30 --seed 7

writes <out>/NNNN_<digit>.<ext> and <out>/labels.csv (file,digit). The same
seed always gives the same files. Needs python3-numpy and python3-pil.
"""
import argparse
import csv
import io
import math
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def arc(cx, cy, rx, ry, a0, a1, n=None):
    """Points on an ellipse from angle a0 to a1 (degrees; y points down,
    so 90 is the bottom and 270 the top)."""
    n = n or max(8, int(abs(a1 - a0) / 8))
    return [(cx + rx * math.cos(math.radians(a0 + (a1 - a0) * t / n)),
             cy + ry * math.sin(math.radians(a0 + (a1 - a0) * t / n))) for t in range(n + 1)]


def bezier(p0, p1, p2, p3=None, n=16):
    """A quadratic (or, with p3, cubic) Bezier curve as points."""
    out = []
    for i in range(n + 1):
        t = i / n
        if p3 is None:
            x = (1 - t) ** 2 * p0[0] + 2 * (1 - t) * t * p1[0] + t ** 2 * p2[0]
            y = (1 - t) ** 2 * p0[1] + 2 * (1 - t) * t * p1[1] + t ** 2 * p2[1]
        else:
            x = ((1 - t) ** 3 * p0[0] + 3 * (1 - t) ** 2 * t * p1[0] +
                 3 * (1 - t) * t ** 2 * p2[0] + t ** 3 * p3[0])
            y = ((1 - t) ** 3 * p0[1] + 3 * (1 - t) ** 2 * t * p1[1] +
                 3 * (1 - t) * t ** 2 * p2[1] + t ** 3 * p3[1])
        out.append((x, y))
    return out


# Each style is a list of strokes (pen-down paths) in a unit box, x to the
# right and y down; digits fill about x 0.2-0.8 and y 0-1.
GLYPHS = {
    0: [
        [arc(0.5, 0.5, 0.3, 0.5, -80, 290)],
        [arc(0.5, 0.5, 0.22, 0.5, -100, 265)],
        [bezier((0.55, 0.0), (0.0, 0.05), (0.1, 1.05), (0.5, 1.0)) +
         bezier((0.5, 1.0), (0.95, 0.95), (0.95, -0.05), (0.5, 0.02))],
    ],
    1: [
        [[(0.5, 0.0), (0.5, 1.0)]],
        [[(0.32, 0.22), (0.55, 0.0), (0.55, 1.0)]],
        [[(0.55, 0.0), (0.45, 1.0)]],
    ],
    2: [
        [arc(0.5, 0.28, 0.28, 0.28, 190, 380) + [(0.2, 1.0), (0.82, 1.0)]],
        [arc(0.5, 0.27, 0.3, 0.27, 200, 370) +
         bezier((0.79, 0.35), (0.5, 0.7), (0.2, 0.98)) +
         bezier((0.2, 0.98), (0.5, 0.9), (0.85, 0.98))],
        [arc(0.5, 0.3, 0.27, 0.3, 180, 360) +
         bezier((0.77, 0.3), (0.7, 0.7), (0.25, 0.95)) +
         arc(0.3, 0.9, 0.08, 0.08, 270, 30) + [(0.55, 0.95), (0.82, 0.98)]],
    ],
    3: [
        [arc(0.48, 0.26, 0.27, 0.25, 200, 450) + arc(0.48, 0.74, 0.3, 0.26, -90, 165)],
        [[(0.22, 0.02), (0.75, 0.02), (0.42, 0.42)] + arc(0.48, 0.7, 0.3, 0.3, -80, 160)],
        [arc(0.5, 0.25, 0.25, 0.25, 190, 440) + arc(0.47, 0.73, 0.32, 0.27, -100, 150)],
    ],
    4: [
        [[(0.62, 0.0), (0.15, 0.66), (0.85, 0.66)], [(0.62, 0.3), (0.62, 1.0)]],
        [[(0.22, 0.0), (0.18, 0.55), (0.8, 0.55)], [(0.68, 0.0), (0.68, 1.0)]],
        [[(0.3, 0.0), (0.22, 0.6), (0.85, 0.58)], [(0.7, 0.15), (0.64, 1.0)]],
    ],
    5: [
        [[(0.78, 0.0), (0.3, 0.0), (0.27, 0.45)] + arc(0.48, 0.68, 0.3, 0.3, -130, 150)],
        [[(0.3, 0.02), (0.25, 0.45)] + arc(0.47, 0.7, 0.3, 0.28, -125, 155), [(0.3, 0.02), (0.8, 0.0)]],
        [[(0.75, 0.02), (0.32, 0.04)] + bezier((0.32, 0.04), (0.3, 0.3), (0.25, 0.45)) +
         bezier((0.25, 0.45), (0.9, 0.2), (0.8, 0.8), (0.2, 0.95))],
    ],
    6: [
        [bezier((0.7, 0.0), (0.28, 0.2), (0.22, 0.7)) + arc(0.5, 0.72, 0.28, 0.27, 180, 530)],
        [bezier((0.65, 0.0), (0.2, 0.35), (0.25, 0.85)) + arc(0.5, 0.75, 0.26, 0.24, 150, 510)],
    ],
    7: [
        [[(0.18, 0.02), (0.82, 0.0), (0.42, 1.0)]],
        [[(0.18, 0.02), (0.82, 0.0), (0.45, 1.0)], [(0.35, 0.52), (0.78, 0.5)]],
        [[(0.2, 0.05), (0.8, 0.02)] + bezier((0.8, 0.02), (0.5, 0.4), (0.45, 1.0))],
    ],
    8: [
        [arc(0.5, 0.25, 0.23, 0.25, 90, 450) + arc(0.5, 0.73, 0.29, 0.27, -90, 270)],
        [bezier((0.7, 0.12), (0.5, -0.1), (0.2, 0.1), (0.5, 0.48)) +
         bezier((0.5, 0.48), (0.9, 0.8), (0.6, 1.05), (0.4, 0.97)) +
         bezier((0.4, 0.97), (0.1, 0.85), (0.3, 0.6), (0.5, 0.48)) +
         bezier((0.5, 0.48), (0.8, 0.3), (0.75, 0.15), (0.7, 0.12))],
    ],
    9: [
        [arc(0.47, 0.3, 0.27, 0.29, 0, 360), [(0.74, 0.3), (0.72, 1.0)]],
        [arc(0.47, 0.28, 0.27, 0.27, 10, 370) + bezier((0.74, 0.33), (0.75, 0.8), (0.45, 1.0))],
        [arc(0.45, 0.28, 0.25, 0.28, -20, 340) + [(0.68, 0.2), (0.55, 1.0)]],
    ],
}


def transform(strokes, rng):
    """Wobble, slant, rotate and stretch a glyph; returns strokes in a box
    whose height is 1."""
    slant = rng.uniform(-0.35, 0.35)
    angle = math.radians(rng.uniform(-12, 12))
    aspect = rng.uniform(0.7, 1.25)
    wobble = rng.uniform(0.0, 0.035)
    out = []
    for stroke in strokes:
        pts = np.array(stroke, dtype=float)
        # Smooth wobble: a few random offsets interpolated along the stroke.
        knots = rng.normal(0, wobble, size=(4, 2))
        t = np.linspace(0, 3, len(pts))
        pts += np.stack([np.interp(t, np.arange(4), knots[:, k]) for k in range(2)], axis=1)
        x, y = (pts[:, 0] - 0.5) * aspect, pts[:, 1] - 0.5
        x = x - slant * y
        xr = x * math.cos(angle) - y * math.sin(angle)
        yr = x * math.sin(angle) + y * math.cos(angle)
        out.append(np.stack([xr, yr], axis=1))
    allp = np.concatenate(out)
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    height = hi[1] - lo[1]
    return [(s - lo) / height for s in out], (hi[0] - lo[0]) / height


def draw(digit, rng, supersample=3):
    style = GLYPHS[digit][rng.integers(len(GLYPHS[digit]))]
    strokes, width_ratio = transform(style, rng)
    W, H = int(rng.integers(48, 400)), int(rng.integers(48, 400))
    digit_h = rng.uniform(0.3, 0.85) * min(H, W / max(width_ratio, 0.3))
    pen_ratio = rng.uniform(0.03, 0.16)
    # The whole digit, pen width included, stays on the page.
    digit_h = min(digit_h, (H - 2) / (1 + pen_ratio), (W - 2) / (width_ratio + pen_ratio))
    digit_w = digit_h * width_ratio
    pen = max(1.0, digit_h * pen_ratio)
    x0 = rng.uniform(pen / 2 + 1, max(pen / 2 + 1, W - digit_w - pen / 2 - 1))
    y0 = rng.uniform(pen / 2 + 1, max(pen / 2 + 1, H - digit_h - pen / 2 - 1))
    s = supersample
    canvas = Image.new("L", (W * s, H * s), 0)
    d = ImageDraw.Draw(canvas)
    r = pen * s / 2
    for stroke in strokes:
        pts = [((x0 + p[0] * digit_h) * s, (y0 + p[1] * digit_h) * s) for p in stroke]
        d.line(pts, fill=255, width=max(1, int(round(pen * s))))
        for px, py in pts:  # round joints and ends
            d.ellipse([px - r, py - r, px + r, py + r], fill=255)
    ink = np.asarray(canvas.resize((W, H), Image.BOX), dtype=float) / 255

    # The page: brightness, a gradient, noise, blur, specks.
    light_on_dark = rng.random() < 0.2
    if light_on_dark:
        paper, ink_level = rng.uniform(0.0, 0.35), None
        ink_level = rng.uniform(paper + 0.35, 1.0)
    else:
        paper = rng.uniform(0.55, 1.0)
        ink_level = rng.uniform(0.0, paper - 0.35)
    yy, xx = np.mgrid[0:H, 0:W]
    g = rng.uniform(-0.2, 0.2, size=2)
    background = paper + g[0] * (xx / W - 0.5) + g[1] * (yy / H - 0.5)
    if rng.random() < 0.3:  # a vignette
        rr = ((xx / W - 0.5) ** 2 + (yy / H - 0.5) ** 2)
        background -= rng.uniform(0.0, 0.3) * rr * (1 if not light_on_dark else -0.3)
    page = background * (1 - ink) + ink_level * ink
    for _ in range(int(rng.integers(0, 6))):  # specks of dust
        sx, sy = rng.integers(0, W), rng.integers(0, H)
        rad = rng.uniform(0.5, 1.5)
        page[(xx - sx) ** 2 + (yy - sy) ** 2 <= rad * rad] = ink_level
    img = Image.fromarray(np.clip(page * 255, 0, 255).astype(np.uint8), "L")
    if rng.random() < 0.5:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    page = np.asarray(img, dtype=float) / 255 + rng.normal(0, rng.uniform(0, 0.05), size=(H, W))
    return np.clip(page, 0, 1)


def save(page, path_stem, rng):
    """Writes `page` (floats, 0-1) in a random format; returns the file name."""
    kind = rng.choice(["png", "png_rgb", "png16", "jpg", "jpg_rgb", "pgm", "ppm"],
                      p=[0.25, 0.1, 0.05, 0.25, 0.15, 0.1, 0.1])
    grey8 = np.clip(np.round(page * 255), 0, 255).astype(np.uint8)
    # Colour: blue-black ink on slightly warm paper.
    tint = np.array([1.0, 0.97, 0.92]) if rng.random() < 0.5 else np.array([0.9, 0.95, 1.0])
    rgb = np.clip(np.round(page[..., None] * tint * 255), 0, 255).astype(np.uint8)
    if kind == "png":
        name, image = path_stem + ".png", Image.fromarray(grey8, "L")
        image.save(name)
    elif kind == "png_rgb":
        name = path_stem + ".png"
        Image.fromarray(rgb, "RGB").save(name)
    elif kind == "png16":
        name = path_stem + ".png"
        g16 = np.clip(np.round(page * 65535), 0, 65535).astype("<u2")
        Image.frombytes("I;16", (page.shape[1], page.shape[0]), g16.tobytes()).save(name)
    elif kind in ("jpg", "jpg_rgb"):
        name = path_stem + ".jpg"
        image = Image.fromarray(grey8, "L") if kind == "jpg" else Image.fromarray(rgb, "RGB")
        image.save(name, quality=int(rng.integers(40, 95)))
    elif kind == "pgm":
        name = path_stem + ".pgm"
        Image.fromarray(grey8, "L").save(name)
    else:
        name = path_stem + ".ppm"
        Image.fromarray(rgb, "RGB").save(name)
    return os.path.basename(name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="folder to write into")
    parser.add_argument("--count", type=int, default=1000, help="how many images")
    parser.add_argument("--seed", type=int, default=2026, help="random seed")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    rows = []
    for i in range(args.count):
        digit = i % 10
        page = draw(digit, rng)
        rows.append((save(page, os.path.join(args.out, "%04d_%d" % (i, digit)), rng), digit))
    with open(os.path.join(args.out, "labels.csv"), "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["file", "digit"])
        writer.writerows(rows)


if __name__ == "__main__":
    main()
