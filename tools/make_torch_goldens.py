#!/usr/bin/python3
"""Writes tests/golden/*.golden: PyTorch's results for nabla's ops.

Run from the repository root with Debian's Python, which has torch 1.13:

    /usr/bin/python3 tools/make_torch_goldens.py

tests/torch_golden_test.cc reads the files (no Python needed) and checks
nabla's forward outputs and gradients against them.

Every case draws its inputs in float32 from a torch.Generator seeded with
crc32(case name), so the files are reproducible and adding a case leaves the
others unchanged. The inputs are stored exactly as nabla receives them (f32,
or, for the two large lecture convolutions, multiples of 1/16 stored as int8
codes),
and the reference is computed by torch autograd in float64 on those exact
values: y = op(inputs) and, for a random upstream gradient dy, every input
gradient of sum(y * dy), i.e. y.backward(dy). The float64 results are stored
rounded to f32 (a relative error of at most 6e-8).

File format (one file per op family, little-endian):

    nabla-golden 1
    # comment lines
    case <name>
    op <op>
    attr <key> <value>...
    tensor <role> <name> <encoding> [<d0>,<d1>,...]     ([] for a scalar)
    ...
    data <bytes>
    <bytes of payload: the case's tensors in the order listed>
    case ...

roles: input (fed, differentiated), label (fed, not differentiated),
dy (the upstream gradient of the op's output), output (the expected forward
output), grad (the expected gradient with respect to the input of that
name). encodings: f32, i32, i64, q8e<k> (int8 codes, value code * 2^-k)
and q16e<k> (the same with int16 codes).
"""

import os
import struct
import sys
import zlib

import torch
import torch.nn.functional as F

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                       "tests", "golden")
COMMAND = "/usr/bin/python3 tools/make_torch_goldens.py"

# A case whose ReLU pre-activations come closer to 0 than this (but are not
# exactly 0) fails the generator, since f32 rounding could put them on the
# other side of the kink than the float64 reference; none does now.
RELU_MARGIN = 1e-4

# Encodings of quantized cases (Case.quantized): inputs are multiples of
# 1/16 in one byte, results multiples of 1/256 in two.
QUANT_IN = "q8e4"
QUANT_OUT = "q16e8"


class Case:
    def __init__(self, name, op):
        self.name = name
        self.op = op
        self.attrs = []    # (key, [values])
        self.tensors = []  # (role, name, encoding, tensor)
        self.gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))

    def attr(self, key, *values):
        self.attrs.append((key, [str(v) for v in values]))

    # Random draws, in f32.
    def uniform(self, shape, lo=-1.0, hi=1.0):
        u = torch.rand(shape, generator=self.gen, dtype=torch.float32)
        return (lo + (hi - lo) * u).float()

    def quantized(self, shape):
        """Multiples of 1/16 in [-1, 1): exact in f32, stored in one byte.

        Products of two such values are multiples of 1/256, and so are their
        sums, which f32 computes exactly in any order while below 2^16 and
        which int16 codes (QUANT_OUT) store exactly while below 128 in size
        (serialize() checks it).
        """
        codes = torch.randint(-16, 16, shape, generator=self.gen)
        return codes.float() / 16

    def distinct(self, shape, lo=-2.0, hi=2.0):
        """Uniform values with no two equal: max pooling has no ties."""
        x = self.uniform(shape, lo, hi)
        assert torch.unique(x).numel() == x.numel(), self.name
        return x

    def add(self, role, name, t, encoding=None):
        if encoding is None:
            encoding = {torch.int32: "i32",
                        torch.int64: "i64"}.get(t.dtype, "f32")
        self.tensors.append((role, name, encoding, t.detach().clone()))

    def serialize(self):
        lines = ["case " + self.name, "op " + self.op]
        for key, values in self.attrs:
            lines.append(" ".join(["attr", key] + values))
        payload = bytearray()
        for role, name, encoding, t in self.tensors:
            dims = "[" + ",".join(str(d) for d in t.shape) + "]"
            lines.append(" ".join(["tensor", role, name, encoding, dims]))
            flat = t.reshape(-1)
            if encoding == "f32":
                values = flat.to(torch.float32)
                payload += struct.pack("<%df" % values.numel(),
                                       *values.tolist())
            elif encoding == "i32":
                payload += struct.pack("<%di" % flat.numel(), *flat.tolist())
            elif encoding == "i64":
                payload += struct.pack("<%dq" % flat.numel(), *flat.tolist())
            elif encoding.startswith("q8e") or encoding.startswith("q16e"):
                bits, exponent = (int(v) for v in encoding[1:].split("e"))
                codes = flat.double() * 2.0 ** exponent
                # Lossless only: the values must be exact multiples of
                # 2^-exponent, within the codes' range.
                limit = 2 ** (bits - 1)
                assert torch.equal(codes, codes.round()), (self.name, name)
                assert -limit <= codes.min() and codes.max() < limit, name
                fmt = "<%d%s" % (flat.numel(), "b" if bits == 8 else "h")
                payload += struct.pack(fmt, *[int(c) for c in codes.tolist()])
            else:
                raise ValueError(encoding)
        lines.append("data %d" % len(payload))
        return ("\n".join(lines) + "\n").encode() + bytes(payload)


def reference(case, fn, inputs, labels=(), dy_range=(-1.0, 1.0),
              quantized=False):
    """Runs fn in float64 on the case's inputs and records y, dy and grads.

    inputs: [(name, f32 tensor, encoding)], differentiated; labels:
    [(name, tensor)], passed to fn after the inputs, not differentiated.
    """
    for name, t, encoding in inputs:
        case.add("input", name, t, encoding)
    for name, t in labels:
        case.add("label", name, t)
    xs = [t.double().requires_grad_() for _, t, _ in inputs]
    ls = [t.double() if t.is_floating_point() else t for _, t in labels]
    y = fn(*xs, *ls)
    if quantized:
        dy = case.quantized(y.shape)
    else:
        dy = case.uniform(y.shape, *dy_range)
    y.backward(dy.double())
    case.add("dy", "dy", dy, QUANT_IN if quantized else None)
    case.add("output", "y", y, QUANT_OUT if quantized else None)
    for (name, _, _), x in zip(inputs, xs):
        case.add("grad", name, x.grad, QUANT_OUT if quantized else None)
    return y


def check_relu_margin(case, z):
    """Fails unless every pre-activation is 0 or at least RELU_MARGIN away."""
    near = (z.abs() < RELU_MARGIN) & (z != 0)
    if near.any():
        raise ValueError("%s: pre-activation %g too close to 0" %
                         (case.name, z[near].abs().min().item()))


# ---------------------------------------------------------------------------
# Convolution.

def same_pads(size, kernel, stride, dilation):
    """TensorFlow's "same": output ceil(size / stride), odd pad at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def conv_case(name, x_shape, w_shape, strides=(1, 1), padding="valid",
              explicit=None, dilations=(1, 1), bias=True, relu=False,
              quantized=False):
    case = Case(name, "conv2d")
    case.attr("strides", *strides)
    case.attr("padding", padding)
    if padding == "explicit":
        case.attr("explicit_paddings", *explicit)
    case.attr("dilations", *dilations)
    case.attr("activation", "relu" if relu else "linear")
    _, _, h, w = x_shape
    kh, kw = w_shape[2:]
    if padding == "valid":
        pads = (0, 0, 0, 0)
    elif padding == "same":
        pads = (same_pads(h, kh, strides[0], dilations[0]) +
                same_pads(w, kw, strides[1], dilations[1]))
    else:
        pads = tuple(explicit)
    top, bottom, left, right = pads

    if quantized:
        enc = QUANT_IN
        inputs = [("x", case.quantized(x_shape), enc),
                  ("w", case.quantized(w_shape), enc)]
        if bias:
            inputs.append(("b", case.quantized((w_shape[0],)), enc))
    else:
        fan_in = w_shape[1] * kh * kw
        inputs = [("x", case.uniform(x_shape), None),
                  ("w", case.uniform(w_shape, -fan_in ** -0.5, fan_in ** -0.5),
                   None)]
        if bias:
            inputs.append(("b", case.uniform((w_shape[0],), -0.5, 0.5), None))

    def conv(x, w, b=None, relu_applied=True):
        xp = F.pad(x, (left, right, top, bottom))
        z = F.conv2d(xp, w, b, stride=strides, dilation=dilations)
        return F.relu(z) if relu and relu_applied else z

    # Quantized inputs need no margin: their f32 sums are exact.
    if relu and not quantized:
        with torch.no_grad():
            check_relu_margin(case, conv(*[t.double() for _, t, _ in inputs],
                                         relu_applied=False))
    reference(case, conv, inputs, quantized=quantized)
    return case


def conv_cases():
    return [
        conv_case("conv_valid_bias", (2, 3, 7, 8), (4, 3, 3, 3)),
        conv_case("conv_valid_nobias", (2, 3, 7, 8), (4, 3, 3, 3), bias=False),
        conv_case("conv_valid_relu", (2, 3, 7, 8), (4, 3, 3, 3), relu=True),
        conv_case("conv_same_k3", (2, 3, 7, 8), (4, 3, 3, 3), padding="same"),
        # An even kernel: TensorFlow's "same" pads 1 on top/left, 2 at the
        # bottom/right.
        conv_case("conv_same_k4_relu", (2, 2, 7, 8), (3, 2, 4, 4),
                  padding="same", relu=True),
        conv_case("conv_stride2_valid", (2, 3, 9, 10), (4, 3, 3, 3),
                  strides=(2, 2)),
        # 9 -> 5 rows (pads 1 and 1); 10 -> 5 columns (pads 0 and 1).
        conv_case("conv_stride2_same", (2, 3, 9, 10), (4, 3, 3, 3),
                  strides=(2, 2), padding="same", bias=False),
        conv_case("conv_dilation2_valid", (2, 3, 9, 9), (4, 3, 3, 3),
                  dilations=(2, 2)),
        conv_case("conv_dilation2_same_relu", (2, 3, 8, 9), (4, 3, 3, 3),
                  dilations=(2, 2), padding="same", relu=True),
        conv_case("conv_explicit_pads", (2, 3, 6, 7), (4, 3, 3, 2),
                  padding="explicit", explicit=(1, 2, 0, 1)),
        conv_case("conv_rect_stride21", (1, 2, 8, 7), (3, 2, 3, 2),
                  strides=(2, 1), bias=True),
        conv_case("conv_stride2_dilation2_same", (2, 2, 11, 10), (3, 2, 3, 3),
                  strides=(2, 2), dilations=(2, 2), padding="same"),
        # The lecture's two convolutions at batch 2, on quantized values that
        # keep the file small (1 byte per input, 2 per result, all exact).
        # Pre-activations can be exactly 0, where both sides' ReLU gradient
        # is 0.
        conv_case("conv_lecture1", (2, 1, 28, 28), (32, 1, 5, 5), relu=True,
                  quantized=True),
        conv_case("conv_lecture2", (2, 32, 12, 12), (64, 32, 5, 5), relu=True,
                  quantized=True),
    ]


# ---------------------------------------------------------------------------
# Pooling. "same" pads as TensorFlow does; max pooling pads with -inf and
# average pooling divides by the number of input (not padding) pixels.

def pool_case(name, op, x_shape, kernel, strides, padding="valid"):
    case = Case(name, op)
    case.attr("kernel", *kernel)
    case.attr("strides", *strides)
    case.attr("padding", padding)
    _, _, h, w = x_shape
    if padding == "same":
        top, bottom = same_pads(h, kernel[0], strides[0], 1)
        left, right = same_pads(w, kernel[1], strides[1], 1)
    else:
        top = bottom = left = right = 0

    def maxpool(x):
        xp = F.pad(x, (left, right, top, bottom), value=float("-inf"))
        return F.max_pool2d(xp, kernel, strides)

    def avgpool(x):
        pads = (left, right, top, bottom)
        total = F.avg_pool2d(F.pad(x, pads), kernel, strides,
                             divisor_override=1)
        count = F.avg_pool2d(F.pad(torch.ones_like(x), pads), kernel, strides,
                             divisor_override=1)
        return total / count

    fn = maxpool if op == "maxpool" else avgpool
    reference(case, fn, [("x", case.distinct(x_shape), None)])
    return case


def pool_cases():
    return [
        pool_case("maxpool_2x2_s2", "maxpool", (2, 3, 8, 8), (2, 2), (2, 2)),
        # An odd size: the last row and column are in no window.
        pool_case("maxpool_2x2_s2_odd", "maxpool", (2, 2, 9, 7), (2, 2),
                  (2, 2)),
        # 9 -> 5 (pads 1 and 1): what torch's padding=1 does too.
        pool_case("maxpool_3x3_s2_same", "maxpool", (2, 3, 9, 9), (3, 3),
                  (2, 2), "same"),
        # 10 -> 5 (pads 0 and 1): asymmetric, beyond torch's own padding.
        pool_case("maxpool_3x3_s2_same_even", "maxpool", (2, 2, 10, 8), (3, 3),
                  (2, 2), "same"),
        pool_case("maxpool_3x3_s1_valid", "maxpool", (1, 3, 7, 6), (3, 3),
                  (1, 1)),
        pool_case("avgpool_2x2_s2", "avgpool", (2, 3, 8, 8), (2, 2), (2, 2)),
        pool_case("avgpool_3x3_s2_valid", "avgpool", (2, 2, 9, 8), (3, 3),
                  (2, 2)),
        pool_case("avgpool_3x3_s2_same", "avgpool", (2, 3, 9, 9), (3, 3),
                  (2, 2), "same"),
        pool_case("avgpool_3x3_s2_same_even", "avgpool", (2, 2, 10, 8), (3, 3),
                  (2, 2), "same"),
        pool_case("avgpool_3x3_s1_same", "avgpool", (1, 3, 6, 7), (3, 3),
                  (1, 1), "same"),
    ]


# ---------------------------------------------------------------------------
# Dense and MatMul. nabla's Dense weights are [in, out] (Keras); torch's
# Linear weight is their transpose, so the reference is x @ w + b.

def dense_case(name, n, k, m, relu=False):
    case = Case(name, "dense")
    case.attr("activation", "relu" if relu else "linear")
    x = case.uniform((n, k))
    w = case.uniform((k, m), -k ** -0.5, k ** -0.5)
    b = case.uniform((m,), -0.5, 0.5)

    def dense(x, w, b):
        # torch's Linear, whose [out, in] weight is nabla's w transposed.
        z = F.linear(x, w.t(), b)
        return F.relu(z) if relu else z

    if relu:
        with torch.no_grad():
            check_relu_margin(case, x.double() @ w.double() + b.double())
    reference(case, dense, [("x", x, None), ("w", w, None), ("b", b, None)])
    return case


def matmul_case(name, a_shape, b_shape, transpose_a, transpose_b):
    case = Case(name, "matmul")
    case.attr("transpose_a", int(transpose_a))
    case.attr("transpose_b", int(transpose_b))

    def matmul(a, b):
        return (a.t() if transpose_a else a) @ (b.t() if transpose_b else b)

    reference(case, matmul, [("a", case.uniform(a_shape), None),
                             ("b", case.uniform(b_shape), None)])
    return case


def dense_cases():
    return [
        dense_case("dense_linear", 5, 7, 4),
        dense_case("dense_relu", 6, 9, 5, relu=True),
        dense_case("dense_wide_relu", 3, 40, 24, relu=True),
        matmul_case("matmul_nn", (4, 6), (6, 3), False, False),
        matmul_case("matmul_tn", (6, 4), (6, 3), True, False),
        matmul_case("matmul_nt", (4, 6), (3, 6), False, True),
        matmul_case("matmul_tt", (6, 4), (3, 6), True, True),
    ]


# ---------------------------------------------------------------------------
# Activations, softmax and log-softmax.

def activation_case(name, op, shape, lo=-3.0, hi=3.0, **attrs):
    case = Case(name, op)
    for key, value in attrs.items():
        case.attr(key, value)
    x = case.uniform(shape, lo, hi)
    if op in ("relu", "leaky_relu"):
        check_relu_margin(case, x.double())
    fns = {
        "relu": F.relu,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "leaky_relu": lambda x: F.leaky_relu(x, attrs.get("alpha", 0.01)),
        "softmax": lambda x: F.softmax(x, dim=attrs.get("axis", -1)),
        "log_softmax": lambda x: F.log_softmax(x, dim=attrs.get("axis", -1)),
    }
    reference(case, fns[op], [("x", x, None)])
    return case


def activation_cases():
    return [
        activation_case("relu", "relu", (4, 7)),
        activation_case("sigmoid", "sigmoid", (4, 7), -6, 6),
        activation_case("tanh", "tanh", (4, 7)),
        activation_case("leaky_relu_0.2", "leaky_relu", (3, 2, 5), alpha=0.2),
        activation_case("softmax", "softmax", (4, 10), axis=-1),
        activation_case("softmax_axis1", "softmax", (2, 5, 3), axis=1),
        # Logits far beyond exp's f32 range: only a stable softmax is finite.
        activation_case("softmax_large", "softmax", (3, 6), -150, 150,
                        axis=-1),
        activation_case("log_softmax", "log_softmax", (4, 10), axis=-1),
        activation_case("log_softmax_axis0", "log_softmax", (5, 3), axis=0),
        activation_case("log_softmax_large", "log_softmax", (3, 6), -150, 150,
                        axis=-1),
    ]


# ---------------------------------------------------------------------------
# Losses. The upstream gradient is a random scalar.

def reduce(per_example, reduction):
    return per_example.mean() if reduction == "mean" else per_example.sum()


def loss_case(name, op, reduction, make_inputs, fn):
    case = Case(name, op)
    case.attr("reduction", reduction)
    inputs, labels = make_inputs(case)
    reference(case, lambda *a: fn(*a, reduction), inputs, labels,
              dy_range=(0.5, 1.5))
    return case


def one_hot(indices, classes):
    return F.one_hot(indices, classes).float()


def logits_and(label_kind, n=6, c=5, index_dtype=torch.int64, lo=-3, hi=3):
    def make(case):
        logits = case.uniform((n, c), lo, hi)
        idx = torch.randint(0, c, (n,), generator=case.gen)
        if label_kind == "index":
            labels = idx.to(index_dtype)
        elif label_kind == "onehot":
            labels = one_hot(idx, c)
        else:  # soft: rows of probabilities
            raw = case.uniform((n, c), 0.1, 1.0)
            labels = (raw / raw.sum(1, keepdim=True)).float()
        return [("logits", logits, None)], [("labels", labels)]
    return make


def probs_and(label_kind, n=6, c=5, normalize=False):
    def make(case):
        if normalize:
            raw = case.uniform((n, c), 0.1, 1.0)
            probs = (raw / raw.sum(1, keepdim=True)).float()
        else:
            probs = case.uniform((n, c), 0.02, 0.98)
        idx = torch.randint(0, c, (n,), generator=case.gen)
        labels = idx if label_kind == "index" else one_hot(idx, c)
        return [("probs", probs, None)], [("labels", labels)]
    return make


def binary_and(shape, label_kind, logits=False):
    def make(case):
        if logits:
            x = case.uniform(shape, -4, 4)
            x.view(-1)[0] = 30.0   # exp(-x) underflows in the naive form
            x.view(-1)[1] = -30.0
            name = "logits"
        else:
            x = case.uniform(shape, 0.02, 0.98)
            name = "probs"
        if label_kind == "hard":
            z = (case.uniform(shape, 0, 1) < 0.5).float()
        else:
            z = case.uniform(shape, 0, 1)
        return [(name, x, None)], [("labels", z)]
    return make


def softmax_ce(logits, labels, reduction):
    if not labels.is_floating_point():
        labels = labels.long()
    return F.cross_entropy(logits, labels, reduction=reduction)


def categorical_ce(probs, labels, reduction):
    if not labels.is_floating_point():
        labels = one_hot(labels.long(), probs.shape[1]).double()
    return reduce(-(labels * probs.log()).sum(1), reduction)


def binary_ce(probs, labels, reduction):
    return F.binary_cross_entropy(probs, labels, reduction=reduction)


def binary_ce_logits(logits, labels, reduction):
    return F.binary_cross_entropy_with_logits(logits, labels,
                                              reduction=reduction)


def loss_cases():
    return [
        loss_case("sce_index_i64_mean", "softmax_ce", "mean",
                  logits_and("index"), softmax_ce),
        loss_case("sce_index_i32_sum", "softmax_ce", "sum",
                  logits_and("index", index_dtype=torch.int32), softmax_ce),
        loss_case("sce_onehot_mean", "softmax_ce", "mean",
                  logits_and("onehot"), softmax_ce),
        loss_case("sce_onehot_sum", "softmax_ce", "sum",
                  logits_and("onehot"), softmax_ce),
        loss_case("sce_soft_mean", "softmax_ce", "mean",
                  logits_and("soft"), softmax_ce),
        loss_case("sce_large_logits_mean", "softmax_ce", "mean",
                  logits_and("index", n=4, c=10, lo=-200, hi=200), softmax_ce),
        loss_case("cce_onehot_mean", "categorical_ce", "mean",
                  probs_and("onehot", normalize=True), categorical_ce),
        loss_case("cce_onehot_sum", "categorical_ce", "sum",
                  probs_and("onehot"), categorical_ce),
        loss_case("cce_index_mean", "categorical_ce", "mean",
                  probs_and("index"), categorical_ce),
        loss_case("bce_hard_mean", "binary_ce", "mean",
                  binary_and((8,), "hard"), binary_ce),
        loss_case("bce_soft_sum", "binary_ce", "sum",
                  binary_and((4, 3), "soft"), binary_ce),
        loss_case("bce_column_mean", "binary_ce", "mean",
                  binary_and((5, 1), "hard"), binary_ce),
        loss_case("bce_logits_hard_mean", "binary_ce_logits", "mean",
                  binary_and((3, 4), "hard", logits=True), binary_ce_logits),
        loss_case("bce_logits_soft_sum", "binary_ce_logits", "sum",
                  binary_and((10,), "soft", logits=True), binary_ce_logits),
    ]


# ---------------------------------------------------------------------------

FAMILIES = [
    ("conv2d", conv_cases),
    ("pool", pool_cases),
    ("dense", dense_cases),
    ("activations", activation_cases),
    ("losses", loss_cases),
]


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    header = [
        "nabla-golden 1",
        "# Generated by %s; do not edit." % COMMAND,
        "# torch %s; reference computed in float64 by autograd, stored"
        % torch.__version__,
        "# rounded to f32 (exactly, as int16 codes, for quantized cases). The",
        "# inputs of each case come from torch.rand/randint with",
        "# torch.Generator().manual_seed(zlib.crc32(case name)).",
        "# Format: see the docstring of tools/make_torch_goldens.py.",
    ]
    total = 0
    for family, make_cases in FAMILIES:
        cases = make_cases()
        names = [c.name for c in cases]
        assert len(set(names)) == len(names), family
        blob = ("\n".join(header + ["# family %s: %d cases" %
                                    (family, len(cases))]) + "\n").encode()
        for case in cases:
            blob += case.serialize()
        path = os.path.join(OUT_DIR, family + ".golden")
        with open(path, "wb") as f:
            f.write(blob)
        total += len(blob)
        print("%-36s %3d cases %8d bytes" % (os.path.relpath(path), len(cases),
                                             len(blob)))
    print("total %d bytes" % total)


if __name__ == "__main__":
    sys.exit(main())
