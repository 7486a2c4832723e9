# Copyright 2026 The hyperspy_chipping developers
#
# This file is part of hyperspy_chipping.
#
# hyperspy_chipping is free software: you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation, either version 3 of the License, or
# (at your option) any later version.
#
# hyperspy_chipping is distributed in the hope that it will be useful,
# but WITHOUT ANY WARRANTY; without even the implied warranty of
# MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE. See the
# GNU General Public License for more details.
#
# You should have received a copy of the GNU General Public License
# along with hyperspy_chipping. If not, see <https://www.gnu.org/licenses/#GPL>.
"""The one-pass box sums of integer counts (per-pixel windows)."""

import numpy as np
import pytest

from hyperspy_chipping.chipping._box_kernel import box_sums

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    rows=st.integers(1, 9),
    cols=st.integers(1, 9),
    sy=st.integers(1, 4),
    sx=st.integers(1, 4),
    dtype=st.sampled_from(["uint8", "uint16", "uint32", "int16", "int64"]),
    seed=st.integers(0, 2**16),
    layout=st.sampled_from(["contiguous", "columns", "row step", "channel step"]),
)
def test_box_sums_are_the_window_sums(rows, cols, sy, sx, dtype, seed, layout):
    # The definition: every window's sum, added up pixel by pixel in int64;
    # also for views of a larger map (a task's block), read in place or
    # copied.
    sy, sx = min(sy, rows), min(sx, cols)
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    low, high = max(info.min, -1000), min(info.max, 70000)
    big = rng.integers(low, high, (2 * rows + 1, cols + 5, 6)).astype(dtype)
    block = {
        "contiguous": big[:rows, :cols, :3].copy(),
        "columns": big[1 : rows + 1, 2 : cols + 2, :3],
        "row step": big[1 : 2 * rows + 1 : 2, 3 : cols + 3, 3:],
        "channel step": big[:rows, :cols, ::2],
    }[layout]
    if dtype == "uint16":
        block[0, 0] = info.max  # a saturated count: no overflow in the sums
    out = box_sums(block, (sy, sx), np.float64)
    assert out.shape == (rows - sy + 1, cols - sx + 1, 3)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            window = block[i : i + sy, j : j + sx].astype(np.int64)
            np.testing.assert_array_equal(out[i, j], window.sum(axis=(0, 1)))


def test_float32_output_is_exact_for_a_map_of_saturated_counts():
    # 15 x 15 windows of 65535 counts: 14 745 375 < 2**24, exact in float32.
    block = np.full((16, 17, 2), 65535, dtype=np.uint16)
    out = box_sums(block, (15, 15))
    assert out.dtype == np.float32
    assert (out == 225 * 65535).all()


def test_box_sums_refuse_float_counts():
    with pytest.raises(TypeError, match="integer counts, not float32"):
        box_sums(np.zeros((3, 3, 2), dtype=np.float32), (2, 2))


@pytest.mark.parametrize(
    "size, dtype, symmetric",
    [
        (3, np.uint16, True),
        (4, np.uint16, True),
        (5, np.uint16, True),
        (9, np.uint16, True),
        (5, np.uint8, True),
        (5, np.uint32, True),  # summed in float32, as any weights
        (5, np.uint16, False),
    ],
)
def test_gaussian_sums_are_the_weighted_window_sums(size, dtype, symmetric):
    # The definition in float64: every window's pixels times the outer
    # product of the two axis weights (symmetric Gaussian weights, whose
    # pixel pairs the kernel adds first, or any others).
    from hyperspy_chipping.chipping._box_kernel import weighted_sums
    from hyperspy_chipping.chipping._windows import gaussian_weights

    w = gaussian_weights(size)
    wx = w if symmetric else w * np.linspace(0.5, 1.5, size)
    big = np.random.default_rng(size).poisson(20, (size + 3, size + 9, 5))
    block = big.astype(dtype)[:, 2 : size + 6]  # a view, read in place
    out = weighted_sums(block, (w, wx))
    assert out.dtype == np.float32
    kernel = np.outer(w, wx)
    for i in range(4):
        for j in range(5):
            window = block[i : i + size, j : j + size].astype(float)
            expected = np.einsum("ij,ijc->c", kernel, window)
            np.testing.assert_allclose(out[i, j], expected, rtol=1e-6)


def test_symmetric_weights_sum_large_counts_exactly_paired():
    # Two 65535-count pixels add in int32 before the weight: no wrap-around.
    from hyperspy_chipping.chipping._box_kernel import weighted_sums

    block = np.full((3, 3, 4), 65535, dtype=np.uint16)
    w = np.array([0.25, 0.5, 0.25])
    np.testing.assert_allclose(weighted_sums(block, (w, w)), 65535.0, rtol=1e-7)
