#!/usr/bin/python3
"""Draws docs/preprocessing.png: sample photos beside what the network sees.

The 28x28 digits come from nabla's own PrepareDigit, written by
//tests/infer:measure_digits; this script only lays them out:

    bazel run -c opt //tests/infer:measure_digits -- data/digits \\
        --prepared_dir=/tmp/prepared
    /usr/bin/python3 tools/make_preprocessing_figure.py --prepared /tmp/prepared

Needs python3-pil.
"""
import argparse
import os

from PIL import Image, ImageDraw

ROW = 168      # height of each row in pixels
GAP = 24
SAMPLES = ["0006_6.png", "0025_5.ppm", "0003_3.jpg", "0022_2.png"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", default="data/digits")
    parser.add_argument("--prepared", required=True)
    parser.add_argument("--out", default="docs/preprocessing.png")
    parser.add_argument("files", nargs="*", default=SAMPLES)
    args = parser.parse_args()
    rows = []
    for name in args.files:
        photo = Image.open(os.path.join(args.samples, name)).convert("RGB")
        photo = photo.resize((max(1, round(photo.width * ROW / photo.height)), ROW), Image.BOX)
        if photo.width > 2 * ROW:
            photo = photo.resize((2 * ROW, max(1, round(photo.height * 2 * ROW / photo.width))),
                                 Image.BOX)
        seen = Image.open(os.path.join(args.prepared, name + ".pgm")).convert("RGB")
        # Each of the 28x28 pixels as a 6x6 square, so that they show.
        seen = seen.resize((ROW, ROW), Image.NEAREST)
        rows.append((name, photo, seen))
    photo_w = max(p.width for _, p, _ in rows)
    width = GAP + photo_w + 3 * GAP + ROW + GAP
    height = GAP + 18 + len(rows) * (ROW + GAP)
    figure = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(figure)
    draw.text((GAP, GAP // 2), "the photo (data/digits)", fill=(0, 0, 0))
    draw.text((GAP + photo_w + 3 * GAP, GAP // 2), "what the network sees (28x28)",
              fill=(0, 0, 0))
    y = GAP + 18
    for name, photo, seen in rows:
        figure.paste(photo, (GAP, y + (ROW - photo.height) // 2))
        ax = GAP + photo_w + GAP // 2
        draw.line([(ax, y + ROW // 2), (ax + 2 * GAP, y + ROW // 2)], fill=(90, 90, 90), width=3)
        draw.polygon([(ax + 2 * GAP, y + ROW // 2 - 7), (ax + 2 * GAP + 10, y + ROW // 2),
                      (ax + 2 * GAP, y + ROW // 2 + 7)], fill=(90, 90, 90))
        figure.paste(seen, (GAP + photo_w + 3 * GAP, y))
        draw.text((GAP, y + ROW + 2), name, fill=(110, 110, 110))
        y += ROW + GAP
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    figure.save(args.out, optimize=True)


if __name__ == "__main__":
    main()
