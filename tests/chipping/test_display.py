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
"""Seeing the chips: get_source_map and plot_chips."""

import hyperspy.api as hs
import numpy as np
import pytest


def test_source_map_grid_crop(eds_map):
    chips = eds_map.chip(5)  # 17 x 23 px -> 3 x 4 chips, remainder cropped
    values = np.arange(12).reshape(4, 3)
    m = chips.get_source_map(values)
    assert isinstance(m, hs.signals.Signal2D)
    assert m.data.shape == (23, 17)
    assert m.data[7, 12] == values[1, 2]  # pixel (y 7, x 12) lies in chip (1, 2)
    assert np.isnan(m.data[20:, :]).all() and np.isnan(m.data[:, 15:]).all()
    x, y = m.axes_manager.signal_axes
    assert (x.scale, x.offset, y.scale, y.offset) == (0.5, -3.0, 0.25, 10.0)


def test_source_map_round_trips_pixel_values(make_map):
    # Chips of 1 pixel paint back the original image exactly.
    s = make_map(shape=(6, 4), n_channels=8)
    image = s.data.sum(-1)
    chips = s.chip(1)
    np.testing.assert_array_equal(chips.get_source_map(chips.data.sum(-1)).data, image)


def test_source_map_windows_nearest_centre(eds_map):
    chips = eds_map.chip(4, step=2)
    cols = chips.axes_manager.navigation_shape[0]
    values = np.arange(chips.axes_manager.navigation_size).reshape(-1, cols)
    m = chips.get_source_map(values).data
    # Chip (row 0, col 1) covers x 2-5 with centre 3.5; pixels x=3,4 are
    # nearest to it (chip 0 centre 1.5, chip 2 centre 5.5).
    assert m[0, 3] == values[0, 1] and m[0, 4] == values[0, 1]
    assert m[0, 5] == values[0, 2]


def test_source_map_labels_and_sliced(eds_map):
    labels = np.zeros((23, 17), int)
    labels[:10], labels[15:] = 4, 9
    chips = eds_map.chip(labels=labels)
    m = chips.get_source_map(np.array([1.5, 2.5])).data
    assert (m[:10] == 1.5).all() and (m[15:] == 2.5).all()
    assert np.isnan(m[10:15]).all()
    only_second = chips.inav[1:].get_source_map(np.array([7.0])).data
    assert np.isnan(only_second[:10]).all() and (only_second[15:] == 7).all()


def test_source_map_accepts_signal(eds_map):
    chips = eds_map.chip(5)
    counts = chips.sum(-1)
    counts.metadata.General.title = "counts"
    m = chips.get_source_map(counts)
    assert m.metadata.General.title == "counts"
    assert m.data[0, 0] == chips.data[0, 0].sum()


def test_source_map_bad_shape(eds_map):
    with pytest.raises(ValueError, match=r"`values` must have the chip navigation"):
        eds_map.chip(5).get_source_map(np.ones(3))


def test_not_chipped(eds_map):
    with pytest.raises(ValueError, match="Call s.chip"):
        eds_map.get_source_map(np.ones(3))
    with pytest.raises(ValueError, match="Call s.chip"):
        eds_map.plot_chips()


def test_plot_chips_draws_every_chip(eds_map):
    chips = eds_map.chip(5)
    ax = chips.plot_chips(eds_map.sum(-1).T)
    assert len(ax.texts) == 12
    (collection,) = ax.collections
    assert len(collection.get_paths()) == 12
    # First chip outline: pixels 0-4 in x, calibrated edges at -3.25 .. -0.75.
    verts = collection.get_paths()[0].vertices
    assert verts[:, 0].min() == pytest.approx(-3.25)
    assert verts[:, 0].max() == pytest.approx(-0.75)


def test_plot_chips_labels_and_default_image(eds_map):
    labels = np.zeros((23, 17), int)
    labels[:10], labels[15:] = 4, 9
    ax = eds_map.chip(labels=labels).plot_chips()
    assert [t.get_text() for t in ax.texts] == ["4", "9"]


def test_plot_chips_bad_image(eds_map):
    with pytest.raises(ValueError, match=r"`image` must have the source navigation"):
        eds_map.chip(5).plot_chips(np.ones((3, 3)))
