#!/usr/bin/python3
"""Writes tests/int8/golden/*.npy: PyTorch's int8 convolution and linear
(torch 1.13, its oneDNN quantized engine) for nabla's QuantizedConv2D and
QuantizedDense. Run from the repository root with Debian's Python:

    /usr/bin/python3 tests/int8/make_int8_goldens.py

Each case stores the u8 input, the f32 weights and bias as nabla receives
them, and PyTorch's u8 output: weights quantized per output channel with
nabla's rule (scale = max|w| / 127, zero point 0), activations per tensor
with zero point 0, the bias added in f32, the result requantized to u8 (the
saturation at 0 is the ReLU). tests/int8/torch_golden_test.cc reads them.
"""

import os

import numpy as np
import torch

torch.backends.quantized.engine = "onednn"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")


def per_channel(w):
    """Quantizes w [O, ...] per output channel as ops/quantized.h does."""
    scales = (w.abs().reshape(w.shape[0], -1).amax(1) / 127).double()
    zeros = torch.zeros(w.shape[0], dtype=torch.long)
    return torch.quantize_per_channel(w, scales, zeros, 0, torch.qint8)


def save(case, **arrays):
    for name, value in arrays.items():
        np.save(os.path.join(OUT, f"{case}_{name}.npy"), value)


def conv_case(case, padding, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (2, 3, 9, 8), generator=g, dtype=torch.uint8)
    w = torch.rand(5, 3, 3, 3, generator=g) - 0.5
    b = (torch.rand(5, generator=g) - 0.5) * 0.6
    qx = torch._make_per_tensor_quantized_tensor(x, 1 / 255, 0)
    y = torch.ao.nn.quantized.functional.conv2d(
        qx, per_channel(w), b, stride=1, padding=padding, scale=0.01,
        zero_point=0, dtype=torch.quint8)
    save(case, x=x.numpy(), w=w.numpy(), b=b.numpy(), y=y.int_repr().numpy())


def dense_case(case, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (6, 24), generator=g, dtype=torch.uint8)
    w = torch.rand(7, 24, generator=g) * 0.4 - 0.2  # torch's [out, in]
    b = (torch.rand(7, generator=g) - 0.5) * 2
    qx = torch._make_per_tensor_quantized_tensor(x, 0.004, 0)
    y = torch.ao.nn.quantized.functional.linear(
        qx, per_channel(w), b, scale=0.008, zero_point=0)
    # nabla's Dense weights are [in, out].
    save(case, x=x.numpy(), w=np.ascontiguousarray(w.numpy().T), b=b.numpy(),
         y=y.int_repr().numpy())


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    conv_case("conv_valid", 0, 1)
    conv_case("conv_same", 1, 2)
    dense_case("dense", 3)
