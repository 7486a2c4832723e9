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
"""Properties of chipping that hold for every map, size, step and slice."""

import exspy
import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True)


@st.composite
def maps(draw):
    rows = draw(st.integers(1, 13))
    cols = draw(st.integers(1, 13))
    channels = draw(st.integers(2, 5))
    dtype = draw(st.sampled_from(["uint8", "uint16", "int32", "float32"]))
    seed = draw(st.integers(0, 2**16))
    data = np.random.default_rng(seed).poisson(3, (rows, cols, channels))
    if dtype == "uint8":
        data[0, 0, 0] = 255  # sums of saturated counts must not overflow
    s = exspy.signals.EDSTEMSpectrum(data.astype(dtype))
    s.set_signal_type("EDS_TEM_chipped")
    return s


@st.composite
def map_and_chipping(draw):
    s = draw(maps())
    rows, cols = s.data.shape[:2]
    size = (draw(st.integers(1, cols)), draw(st.integers(1, rows)))
    step = (draw(st.integers(1, size[0] + 2)), draw(st.integers(1, size[1] + 2)))
    remainder = draw(st.sampled_from(["crop", "keep"]))
    return s, size, step, remainder


@SETTINGS
@given(map_and_chipping())
def test_every_chip_is_the_sum_of_its_pixels(case):
    s, size, step, remainder = case
    chips = s.chip(size, step=step, remainder=remainder)
    df = chips.to_dataframe(spectra=True)
    data = s.data.astype(np.float64)
    for row in df.itertuples():
        expected = data[row.y0 : row.y1, row.x0 : row.x1].sum(axis=(0, 1))
        np.testing.assert_array_equal(row.spectrum, expected)
        assert row.n_pixels == (row.y1 - row.y0) * (row.x1 - row.x0)
    assert df.chip_id.is_unique


@SETTINGS
@given(map_and_chipping())
def test_grid_bounds_partition_the_covered_map(case):
    s, size, _, remainder = case
    rows, cols = s.data.shape[:2]
    df = s.chip(size, remainder=remainder).to_dataframe()
    cover = np.zeros((rows, cols), int)
    for row in df.itertuples():
        cover[row.y0 : row.y1, row.x0 : row.x1] += 1
    # Adjacent chips never overlap; "keep" covers every pixel, "crop" the
    # whole chips: floor(n / size) * size pixels along each axis.
    if remainder == "keep":
        assert (cover == 1).all()
        assert df.counts.sum() == pytest.approx(float(s.data.sum(dtype=float)))
    else:
        ny, nx = rows // size[1] * size[1], cols // size[0] * size[0]
        assert (cover[:ny, :nx] == 1).all()
        assert cover.sum() == ny * nx


@SETTINGS
@given(map_and_chipping(), st.integers(1, 6), st.integers(1, 6))
def test_lazy_equals_eager_bit_for_bit(case, chunk_y, chunk_x):
    s, size, step, remainder = case
    eager = s.chip(size, step=step, remainder=remainder)
    lazy = s.as_lazy()
    lazy.data = lazy.data.rechunk((chunk_y, chunk_x, -1))
    lazy_chips = lazy.chip(size, step=step, remainder=remainder)
    computed = lazy_chips.data.compute()
    assert computed.dtype == eager.data.dtype
    np.testing.assert_array_equal(computed, eager.data)


@SETTINGS
@given(maps(), st.integers(1, 4), st.data())
def test_labels_sum_like_bincount(s, n_labels, data):
    rows, cols = s.data.shape[:2]
    seed = data.draw(st.integers(0, 2**16))
    labels = np.random.default_rng(seed).integers(0, n_labels + 1, (rows, cols))
    if labels.max() == 0:
        labels[0, 0] = 1
    df = s.chip(labels=labels).to_dataframe(spectra=True)
    present = np.unique(labels[labels > 0])
    assert list(df.label) == list(present)
    for row in df.itertuples():
        mask = labels == row.label
        np.testing.assert_array_equal(
            row.spectrum, s.data[mask].astype(np.float64).sum(axis=0)
        )
        assert row.n_pixels == mask.sum()


@st.composite
def nav_slice(draw, n):
    kind = draw(st.sampled_from(["int", "slice", "all"]))
    if kind == "int":
        return draw(st.integers(0, n - 1))
    if kind == "all":
        return slice(None)
    start = draw(st.integers(0, n - 1))
    stop = draw(st.integers(start + 1, n))
    return slice(start, stop, draw(st.integers(1, 3)))


@SETTINGS
@given(map_and_chipping(), st.data())
def test_inav_keeps_every_chip_true(case, data):
    s, size, step, remainder = case
    chips = s.chip(size, step=step, remainder=remainder)
    nx, ny = chips.axes_manager.navigation_shape
    ix = data.draw(nav_slice(nx))
    iy = data.draw(nav_slice(ny))
    sliced = chips.inav[ix, iy]
    full = chips.to_dataframe().set_index("chip_id")
    df = sliced.to_dataframe()
    # The chips kept are exactly those the same numpy slice keeps.
    ids = np.arange(nx * ny).reshape(ny, nx)[iy, ix]
    assert sorted(df.chip_id) == sorted(np.atleast_1d(ids).ravel())
    cols = ["row", "col", "y0", "y1", "x0", "x1", "n_pixels", "counts"]
    np.testing.assert_array_equal(
        df.set_index("chip_id")[cols].to_numpy(), full.loc[df.chip_id, cols]
    )


@settings(deadline=None, max_examples=60)
@given(
    st.integers(2, 14),
    st.integers(2, 14),
    st.data(),
)
def test_split_windows_equal_hand_window_sums(ny, nx, data):
    """Windows from one chunk a task plus boundary strips = the hand sums,
    for any chunking and window size (box and Gaussian weights)."""
    import dask.array as da

    from hyperspy_chipping.chipping._split_windows import map_windows_split
    from hyperspy_chipping.chipping._windows import (
        _dense_windows_block,
        gaussian_weights,
    )

    sy = data.draw(st.integers(1, ny))
    sx = data.draw(st.integers(1, nx))
    cy, cx = data.draw(st.integers(1, ny)), data.draw(st.integers(1, nx))
    values = np.random.default_rng(ny * 31 + nx).integers(0, 5, (ny, nx, 2))
    gaussian = data.draw(st.booleans())
    weights = (gaussian_weights(sy), gaussian_weights(sx)) if gaussian else None

    def sums(block):
        return _dense_windows_block(block, (sy, sx), np.float64, weights)

    chunked = da.from_array(values, chunks=(cy, cx, 2))
    out = map_windows_split(chunked, (sy, sx), sums, 2, np.float64).compute()
    wy = weights[0] if gaussian else np.ones(sy)
    wx = weights[1] if gaussian else np.ones(sx)
    hand = np.array(
        [
            [
                np.einsum("i,j,ijc->c", wy, wx, values[i : i + sy, j : j + sx])
                for j in range(nx - sx + 1)
            ]
            for i in range(ny - sy + 1)
        ]
    )
    np.testing.assert_allclose(out, hand, rtol=1e-12)
