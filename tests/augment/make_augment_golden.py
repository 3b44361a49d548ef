#!/usr/bin/python3
"""Writes tests/augment/augment.golden: augmented images computed independently
of train/augment.cc, with PyTorch 1.13's grid_sample for the bilinear
sampling (align_corners=True, zeros outside) and numpy for the rest.

    /usr/bin/python3 tests/augment/make_augment_golden.py

Each case is a header line "case <name> <n> <c> <h> <w> <shift> <rotation>
<scale_range> <alpha> <sigma> <seed> <epoch>", a line of the n*c*h*w f32
input values, and a line of the expected f32 output, row-major.
"""

import math
import os

import numpy as np
import torch

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK = 0xFFFFFFFF


def philox4x32_10(counter, key):
    """Random123's Philox4x32-10."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for r in range(10):
        if r > 0:
            k0 = (k0 + W0) & MASK
            k1 = (k1 + W1) & MASK
        p0 = M0 * c0
        p1 = M1 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0, p1 & MASK, (p0 >> 32) ^ c3 ^ k1, p0 & MASK)
    return [c0, c1, c2, c3]


assert philox4x32_10([0, 0, 0, 0], [0, 0]) == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]


def words(seed, epoch, index, count, first_block=0):
    """`count` 32-bit words of image `index` of `epoch`, from `first_block` on."""
    key = [seed & MASK, seed >> 32]
    out = []
    block = first_block
    while len(out) < count:
        out += philox4x32_10([block, epoch & MASK, index & MASK, index >> 32], key)
        block += 1
    return out[:count]


def symmetric(word):
    return (word + 0.5) * (2.0 / 4294967296.0) - 1.0


def gaussian_smooth(plane, sigma):
    """scipy.ndimage.gaussian_filter(mode='reflect', truncate=4.0) in numpy:
    separable, rows then columns, the border mirrored with the edge repeated
    (numpy's 'symmetric' padding, folded as often as needed)."""
    radius = int(4.0 * sigma + 0.5)
    k = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * k * k / (sigma * sigma))
    kernel /= kernel.sum()
    h, w = plane.shape
    padded = np.pad(plane, ((0, 0), (radius, radius)), mode="symmetric")
    rows = np.stack([sum(kernel[j] * padded[:, x + j] for j in range(2 * radius + 1))
                     for x in range(w)], axis=1)
    padded = np.pad(rows, ((radius, radius), (0, 0)), mode="symmetric")
    return np.stack([sum(kernel[j] * padded[y + j, :] for j in range(2 * radius + 1))
                     for y in range(h)], axis=0)


def augment(images, shift, rotation, scale_range, alpha, sigma, seed, epoch):
    n, c, h, w = images.shape
    out = np.zeros_like(images, dtype=np.float32)
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    ys, xs = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64),
                         indexing="ij")
    for i in range(n):
        u = [symmetric(x) for x in words(seed, epoch, i, 4)]
        tx, ty = shift * u[0], shift * u[1]
        theta = math.radians(rotation * u[2])
        s = 1 + scale_range * u[3]
        # Content at p lands on s R (p - c) + c + t, R counter-clockwise on
        # screen (y down); the output samples the source at the inverse.
        qx, qy = xs - cx - tx, ys - cy - ty
        sx = (math.cos(theta) * qx - math.sin(theta) * qy) / s + cx
        sy = (math.sin(theta) * qx + math.cos(theta) * qy) / s + cy
        if alpha > 0:
            field = np.array([symmetric(x) for x in words(seed, epoch, i, 2 * h * w, 1)])
            dx = gaussian_smooth(field[:h * w].reshape(h, w), sigma)
            dy = gaussian_smooth(field[h * w:].reshape(h, w), sigma)
            sx = sx + (alpha * dx).astype(np.float32).astype(np.float64)
            sy = sy + (alpha * dy).astype(np.float32).astype(np.float64)
        # grid_sample with align_corners=True: -1 and 1 are the centres of
        # the first and last pixels.
        grid = np.stack([2 * sx / (w - 1) - 1, 2 * sy / (h - 1) - 1], axis=-1)
        sampled = torch.nn.functional.grid_sample(
            torch.from_numpy(images[i:i + 1].astype(np.float64)),
            torch.from_numpy(grid[None]), mode="bilinear", padding_mode="zeros",
            align_corners=True)
        out[i] = sampled[0].numpy().astype(np.float32)
    return out


CASES = [
    # name, n, c, h, w, shift, rotation, scale_range, alpha, sigma, seed, epoch
    ("affine", 3, 2, 10, 12, 2.5, 15.0, 0.1, 0.0, 4.0, 7, 4),
    ("elastic", 2, 1, 28, 28, 2.0, 10.0, 0.1, 34.0, 4.0, 123456789012345, 9),
    # A kernel wider than the image: the border folds more than once.
    ("elastic_small", 2, 3, 6, 5, 1.0, 30.0, 0.2, 3.0, 2.0, 5, 1),
]


def main():
    rng = np.random.default_rng(2003)
    lines = []
    for name, n, c, h, w, shift, rotation, scale_range, alpha, sigma, seed, epoch in CASES:
        images = rng.random((n, c, h, w), dtype=np.float32)
        out = augment(images, shift, rotation, scale_range, alpha, sigma, seed, epoch)
        lines.append(f"case {name} {n} {c} {h} {w} {shift!r} {rotation!r} {scale_range!r} "
                     f"{alpha!r} {sigma!r} {seed} {epoch}")
        lines.append(" ".join(f"{v:.9g}" for v in images.ravel()))
        lines.append(" ".join(f"{v:.9g}" for v in out.ravel()))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "augment.golden")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
