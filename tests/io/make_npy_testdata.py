#!/usr/bin/python3
"""Writes the .npy files tests/io/npy_test.cc reads, with NumPy itself.

Run from the repository root: /usr/bin/python3 tests/io/make_npy_testdata.py
Each file's values are a formula the test recomputes, so the test checks
nabla's reader against NumPy's writer, not against itself.
"""
import os

import numpy as np
from numpy.lib import format as npy_format

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata", "npy")


def save(name, array, version=None):
    path = os.path.join(OUT, name)
    if version is None:
        np.save(path, array)
    else:
        with open(path, "wb") as f:
            npy_format.write_array(f, array, version=version)


def main():
    os.makedirs(OUT, exist_ok=True)
    # arange(n) * scale, so the test knows every value.
    save("f32_2x3.npy", (np.arange(6, dtype=np.float32) * 0.5 - 1).reshape(2, 3))
    save("f64_4.npy", np.arange(4, dtype=np.float64) / 3)
    save("i32_3x2.npy", (np.arange(6, dtype=np.int32) - 3).reshape(3, 2))
    save("i64_5.npy", np.arange(5, dtype=np.int64) * (1 << 40))
    save("u8_2x2x2.npy", (np.arange(8, dtype=np.uint8) * 30).reshape(2, 2, 2))
    save("bool_4.npy", np.array([True, False, False, True]))
    save("f32_scalar.npy", np.float32(2.5).reshape(()))
    save("f32_0x3.npy", np.zeros((0, 3), dtype=np.float32))
    save("f32_v2.npy", np.arange(3, dtype=np.float32), version=(2, 0))
    save("f32_v3.npy", np.arange(3, dtype=np.float32), version=(3, 0))
    # What nabla refuses.
    save("fortran.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
    save("big_endian.npy", np.arange(3, dtype=">f4"))
    save("object.npy", np.array([1, "a"], dtype=object))
    save("complex.npy", np.arange(3, dtype=np.complex64))


if __name__ == "__main__":
    main()
