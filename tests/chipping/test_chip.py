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
"""chip(): sums against hand computations, conservation, metadata, errors."""

import dask.array as da
import exspy
import hyperspy.api as hs
import numpy as np
import pytest

from hyperspy_chipping.chipping import chip, chip_table
from hyperspy_chipping.chipping._aggregate import accumulator_dtype
from hyperspy_chipping.chipping._geometry import axis_intervals, parse_pair
from hyperspy_chipping.signals import ChippedEDSSpectrum, LazyChippedEDSSpectrum


def _data(s):
    return np.asarray(s.data.compute() if s._lazy else s.data)


def _hand_grid(data, size_x, size_y, step_x, step_y, keep=False):
    """Chip sums with explicit loops over chip origins (reference)."""
    ny, nx = data.shape[:2]
    ys = range(0, ny if keep else ny - size_y + 1, step_y)
    xs = range(0, nx if keep else nx - size_x + 1, step_x)
    out = np.array(
        [
            [data[y : y + size_y, x : x + size_x].sum(axis=(0, 1)) for x in xs]
            for y in ys
        ]
    )
    return out


def test_grid_equals_hand_sum(lazy, make_map):
    s = make_map(lazy=lazy)
    chips = s.chip((4, 5))
    assert type(chips) is (LazyChippedEDSSpectrum if lazy else ChippedEDSSpectrum)
    if lazy:
        assert isinstance(chips.data, da.Array)  # no hidden compute
    data = _data(s)
    np.testing.assert_array_equal(_data(chips), _hand_grid(data, 4, 5, 4, 5))
    assert chips.axes_manager.navigation_shape == (17 // 4, 23 // 5)


def test_keep_conserves_counts_and_matches_hand(lazy, make_map):
    s = make_map(lazy=lazy)
    chips = s.chip((4, 5), remainder="keep")
    assert chips.axes_manager.navigation_shape == (5, 5)
    data = _data(s)
    assert _data(chips).sum() == data.sum()
    # The last column of chips holds the single remaining pixel column x=16.
    np.testing.assert_array_equal(_data(chips)[0, 4], data[0:5, 16:17].sum(axis=(0, 1)))


def test_windows_equal_hand_sum(lazy, make_map):
    s = make_map(lazy=lazy)
    chips = s.chip(6, step=(2, 3))
    data = _data(s)
    np.testing.assert_array_equal(_data(chips), _hand_grid(data, 6, 6, 2, 3))
    assert chips.metadata.Chipping.scheme == "window"


@pytest.mark.parametrize("step", [1, (1, 2), (2, 1)])
def test_dense_windows_equal_hand_sum(lazy, make_map, step):
    # Windows much larger than their step: a running window (step 1) or
    # running sums (step 2) on each axis; saturated counts must stay exact.
    s = make_map(shape=(40, 30), n_channels=16, lazy=lazy)
    if not lazy:
        s.data[5:9, 3:12] = np.iinfo(np.uint16).max
    chips = s.chip(11, step=step)
    data = _data(s).astype(np.int64)
    step_x, step_y = (step, step) if isinstance(step, int) else step
    np.testing.assert_array_equal(
        _data(chips).astype(np.int64), _hand_grid(data, 11, 11, step_x, step_y)
    )


def test_labels_match_hand_computation(lazy, make_map):
    s = make_map(lazy=lazy)
    labels = np.zeros((23, 17), dtype=np.int32)
    labels[2:5, 3:9] = 7
    labels[10:, :] = 3
    labels[0, 0] = 3  # a non-contiguous region is one chip
    chips = s.chip(labels=labels)
    data = _data(s)
    expected = np.stack([data[labels == 3].sum(axis=0), data[labels == 7].sum(axis=0)])
    np.testing.assert_array_equal(_data(chips), expected)
    table = chip_table(chips)
    assert table["label"].tolist() == [3, 7]
    assert table["n_pixels"].tolist() == [13 * 17 + 1, 18]
    assert [table[k][1] for k in ("y0", "y1", "x0", "x1")] == [2, 5, 3, 9]


def test_labels_from_signal2d(make_map):
    s = make_map()
    labels = hs.signals.Signal2D(np.ones((23, 17), dtype=np.uint8))
    chips = s.chip(labels=labels)
    np.testing.assert_array_equal(chips.data[0], s.data.sum(axis=(0, 1)))


def test_lazy_equals_eager_for_unaligned_chunks(make_map):
    s = make_map()
    lazy = s.as_lazy()
    lazy.data = lazy.data.rechunk((7, 5, 100))  # chunks not aligned to chips
    np.testing.assert_array_equal(
        lazy.chip(3, remainder="keep").data.compute(),
        s.chip(3, remainder="keep").data,
    )


def test_integer_sums_do_not_overflow(make_map):
    s = make_map(shape=(30, 30), n_channels=4)
    s.data[:] = np.iinfo(np.uint16).max
    chips = s.chip(15)
    assert chips.data.dtype == np.uint32
    assert int(chips.data[0, 0, 0]) == 65535 * 225
    assert accumulator_dtype(np.uint32, 225) == np.uint64
    assert accumulator_dtype(np.int16, 4) == np.int32


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint32", ">u2"])
def test_sums_exact_when_narrow_adds_must_flush(lazy, make_map, dtype):
    # Counts added in the data's own dtype must be flushed before they could
    # wrap: rows of small counts, rows just under and over the bound that
    # allows narrow adds, and saturated rows, against an int64 hand sum.
    s = make_map(shape=(24, 20), n_channels=8, dtype=dtype)
    top = int(np.iinfo(dtype).max)
    rng = np.random.default_rng(1)
    data = rng.integers(0, 3, size=s.data.shape).astype(np.int64)
    data[3] = top // 5  # 5 px per chip row: exactly at the narrow bound
    data[4] = top // 5 + 1  # just over: added wide
    data[9:12] = top  # saturated
    data[17, 2:7] = top // 2  # a bound that forces a flush mid-band
    s.data[:] = data.astype(dtype)
    if lazy:
        s = s.as_lazy()
        s.data = s.data.rechunk((12, 10, 8))
    chips = s.chip((5, 6))
    expected = data[:24, :20].reshape(4, 6, 4, 5, 8).sum(axis=(1, 3))
    assert chips.data.dtype == accumulator_dtype(dtype, 30)
    np.testing.assert_array_equal(_data(chips).astype(np.int64), expected)


def test_float_data_summed_in_float64(make_map):
    s = make_map(dtype="float32")
    chips = s.chip(5)
    assert chips.data.dtype == np.float64
    np.testing.assert_allclose(
        chips.data[0, 0], s.data[:5, :5].astype(float).sum(axis=(0, 1))
    )


def test_axes_calibration(eds_map):
    chips = eds_map.chip((4, 5), step=(2, 5))
    x, y = chips.axes_manager.navigation_axes
    # scale = step x pixel scale; offset = centre of the first chip.
    assert x.scale == pytest.approx(2 * 0.5) and y.scale == pytest.approx(5 * 0.25)
    assert x.offset == pytest.approx(-3.0 + 1.5 * 0.5)
    assert y.offset == pytest.approx(10.0 + 2.0 * 0.25)
    assert (x.name, x.units, y.name, y.units) == ("x", "nm", "y", "nm")
    assert chips.axes_manager.signal_axes[0].scale == 0.02


def test_times_scale_with_pixels_and_source_is_unchanged(eds_map):
    before = eds_map.data.copy()
    md_before = eds_map.metadata.deepcopy().as_dictionary()
    chips = eds_map.chip((4, 5))
    eds = chips.metadata.Acquisition_instrument.TEM.Detector.EDS
    assert eds.live_time == pytest.approx(0.01 * 20)
    assert eds.real_time == pytest.approx(0.02 * 20)
    np.testing.assert_array_equal(eds_map.data, before)
    assert eds_map.metadata.as_dictionary() == md_before
    assert "Chipping" not in eds_map.metadata


def test_chipping_metadata(eds_map):
    meta = eds_map.chip(4, remainder="keep").metadata.Chipping
    assert (meta.scheme, meta.size, meta.step, meta.remainder) == (
        "grid",
        [4, 4],
        [4, 4],
        "keep",
    )
    assert meta.Source.navigation_shape == [17, 23]
    assert meta.Source.scale == [0.5, 0.25]
    assert meta.Source.offset == [-3.0, 10.0]
    assert meta.x_bounds[-1].tolist() == [16, 17]
    assert meta.Source.pixel_live_time == 0.01


def test_slicing_keeps_geometry(eds_map):
    chips = eds_map.chip(3)
    full = chip_table(chips)
    part = chip_table(chips.inav[2:4, 1:3])
    # Rows 1-2, columns 2-3 of the 5-column grid.
    flat = [r * 5 + c for r in (1, 2) for c in (2, 3)]
    for key in ("row", "col", "y0", "y1", "x0", "x1", "x", "y"):
        np.testing.assert_array_equal(part[key], full[key][flat])
    np.testing.assert_array_equal(
        chips.inav[2:4, 1:3].data[0, 0], eds_map.data[3:6, 6:9].sum(axis=(0, 1))
    )


def test_line_scan():
    s = exspy.signals.EDSTEMSpectrum(np.arange(50 * 8).reshape(50, 8))
    s.set_signal_type("EDS_TEM_chipped")
    chips = s.chip(10)
    assert chips.axes_manager.navigation_shape == (5,)
    np.testing.assert_array_equal(chips.data[1], s.data[10:20].sum(axis=0))
    table = chip_table(chips)
    assert table["x0"].tolist() == [0, 10, 20, 30, 40]


def test_chip_function_accepts_eds_sem():
    s = exspy.signals.EDSSEMSpectrum(np.ones((4, 4, 8), dtype="uint8"))
    s.set_microscope_parameters(beam_energy=10.0, live_time=1.0)
    chips = chip(s, 2)
    assert type(chips) is ChippedEDSSpectrum
    assert chips.metadata.Acquisition_instrument.TEM.beam_energy == 10.0
    assert chips.metadata.Acquisition_instrument.TEM.Detector.EDS.live_time == 4.0
    assert type(s) is exspy.signals.EDSSEMSpectrum  # the source is unchanged


def test_axis_intervals_step_one_gives_one_window_per_position():
    b = axis_intervals(20, 5, 1, "crop")
    assert b.shape == (16, 2)
    assert (b[:, 1] - b[:, 0] == 5).all()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"size": 0}, ValueError, r"`size` must be at least 1 pixel, got 0"),
        ({"size": (3, -1)}, ValueError, r"`size` must be at least 1 pixel"),
        ({"size": 2.5}, TypeError, r"`size` must be an int or a sequence"),
        ({"size": (1, 2, 3)}, TypeError, r"`size` must be .* got \(1, 2, 3\)"),
        ({"size": "15"}, TypeError, r"`size` must be"),
        ({"size": 30}, ValueError, r"`size`=\(30, 30\) is larger than"),
        ({"size": 4, "step": 0}, ValueError, r"`step` must be at least 1"),
        ({"size": 4, "remainder": "pad"}, ValueError, r"`remainder` must be one"),
        ({}, ValueError, r"Give the chip `size`"),
        (
            {"labels": np.ones((17, 23), int)},
            ValueError,
            r"`labels` must have the navigation shape \(23, 17\)",
        ),
        (
            {"labels": np.ones((23, 17), float)},
            TypeError,
            r"`labels` must be an integer image .* float64",
        ),
        ({"labels": np.zeros((23, 17), int)}, ValueError, r"selects no pixel"),
        ({"labels": -np.ones((23, 17), int)}, ValueError, r"must be >= 0"),
        (
            {"labels": np.ones((23, 17), int), "size": 3},
            ValueError,
            r"either `labels` or `size`",
        ),
    ],
)
def test_bad_arguments(eds_map, kwargs, error, match):
    before = eds_map.data.copy()
    with pytest.raises(error, match=match):
        eds_map.chip(**kwargs)
    np.testing.assert_array_equal(eds_map.data, before)
    assert "Chipping" not in eds_map.metadata


def test_no_navigation_axes():
    s = exspy.signals.EDSTEMSpectrum(np.ones(16))
    s.set_signal_type("EDS_TEM_chipped")
    with pytest.raises(ValueError, match="has no navigation axes"):
        s.chip(2)


def test_three_navigation_axes():
    s = exspy.signals.EDSTEMSpectrum(np.ones((2, 3, 4, 16)))
    s.set_signal_type("EDS_TEM_chipped")
    with pytest.raises(ValueError, match="has 3 navigation axes"):
        s.chip(2)


def test_not_eds():
    with pytest.raises(TypeError, match="`signal` must be an EDS spectrum.*Signal1D"):
        chip(hs.signals.Signal1D(np.ones((4, 4, 8))), 2)


def test_non_uniform_energy_axis(eds_map):
    eds_map.axes_manager.signal_axes[0].convert_to_non_uniform_axis()
    with pytest.raises(NotImplementedError, match="'Energy' axis .* not uniform"):
        eds_map.chip(2)


def test_already_chipped(eds_map):
    with pytest.raises(ValueError, match="already chipped"):
        eds_map.chip(2).chip(2)


def test_complex_data_rejected():
    with pytest.raises(TypeError, match="dtype complex128"):
        accumulator_dtype(np.complex128, 4)


def test_parse_pair_line_scan():
    assert parse_pair(4, "size", 1) == (4,)
    with pytest.raises(TypeError, match="`step` must be an int, got"):
        parse_pair((1, 2), "step", 1)


@pytest.mark.parametrize("chunks", [(10, 7, 512), (3, 2, 512), (23, 17, 100)])
@pytest.mark.parametrize("size", [(5, 5), (3, 7)])
def test_lazy_windows_at_every_pixel_chunk_by_chunk(make_map, chunks, size):
    """Step-1 windows of a lazy map are summed per chunk with a halo: equal
    to the eager windows bit for bit, whatever the chunks (smaller than a
    window too)."""
    s = make_map(shape=(23, 17), n_channels=512)
    eager = s.chip(size, step=1)
    lazy = s.as_lazy()
    lazy.data = lazy.data.rechunk(chunks)
    windows = lazy.chip(size, step=1)
    np.testing.assert_array_equal(windows.data.compute(), eager.data)
    # Hand check of one window: x 2..2+size_x, y 4..4+size_y.
    sx, sy = size
    expected = s.data[4 : 4 + sy, 2 : 2 + sx].sum(axis=(0, 1))
    np.testing.assert_array_equal(windows.data[4, 2].compute(), expected)
