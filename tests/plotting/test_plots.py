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
"""The plots show the numbers of the table, where the chips are."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from hyperspy_chipping.data import sto_lfo_cross_section
from hyperspy_chipping.plotting import (
    plot_chi2,
    plot_chip_fit,
    plot_chip_precision,
    plot_composition,
    plot_difference,
)


@pytest.fixture(scope="module")
def quantified():
    s = sto_lfo_cross_section((40, 30), seed=6)
    s.set_signal_type("EDS_TEM_chipped")
    chips = s.chip(10)
    chips.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())
    return s, chips


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _pixel_value(im, row, col):
    return im.get_array()[row, col]


def test_composition_maps_are_on_the_source_pixels(quantified):
    s, chips = quantified
    df = chips.to_dataframe()
    images = plot_composition(chips, elements=["La", "O"])
    assert [im.axes.get_title() for im in images] == ["La (at %)", "O (at %)"]
    la = images[0].get_array()
    assert la.shape == (30, 40)  # the source map, data order
    for row in df.itertuples():
        # Every pixel of a chip shows that chip's value.
        block = la[row.y0 : row.y1, row.x0 : row.x1]
        np.testing.assert_allclose(block, row.at_La)
    assert images[0].colorbar is not None
    # Outlines: one rectangle per chip.
    assert len(images[0].axes.collections[0].get_paths()) == len(df)


def test_difference_is_this_minus_other(quantified):
    s, chips = quantified
    k = s.metadata.Simulation.kfactors.as_dictionary()
    stock = s.chip(10)
    stock.quantify_chips(k, model="exspy")
    im = plot_difference(chips, stock, "La")
    mine, theirs = chips.to_dataframe(), stock.to_dataframe()
    expected = mine.at_La - theirs.at_La
    values = im.get_array()
    for row, diff in zip(mine.itertuples(), expected):
        assert values[row.y0, row.x0] == pytest.approx(diff)
    low, high = im.get_clim()
    assert low == -high == pytest.approx(-np.abs(expected).max())
    assert im.get_cmap().name == "RdBu_r"


def test_difference_against_a_table_of_another_program(quantified):
    _, chips = quantified
    other = chips.to_dataframe()[["chip_id", "at_O"]].copy()
    other["at_O"] = 60.0  # a program that says O = 60 everywhere
    other = other.iloc[::-1]  # in another order: joined on chip_id
    im = plot_difference(chips, other, "O")
    df = chips.to_dataframe()
    first = df.iloc[0]
    assert _pixel_value(im, first.y0, first.x0) == pytest.approx(first.at_O - 60)


def test_chi2_map(quantified):
    _, chips = quantified
    im = plot_chi2(chips)
    df = chips.to_dataframe()
    last = df.iloc[-1]
    assert _pixel_value(im, last.y0, last.x0) == pytest.approx(last.chi2_red)
    assert im.get_clim()[0] == 0


def test_chip_fit_residual(quantified):
    _, chips = quantified
    lines = plot_chip_fit(chips, 5)
    row = chips.to_dataframe().set_index("chip_id").loc[5]
    data = chips.data[int(row.row), int(row.col)].astype(float)
    np.testing.assert_array_equal(lines["data"].get_ydata(), data)
    model = chips.get_fit_model()
    fit = model.inav[int(row.col) : int(row.col) + 1, int(row.row) : int(row.row) + 1]
    fit = fit.as_signal().data.ravel()
    x = lines["residual"].get_xdata()
    energy = chips.axes_manager.signal_axes[0].axis
    idx = np.searchsorted(energy, x)
    np.testing.assert_allclose(
        lines["residual"].get_ydata(), (data[idx] - fit[idx]) / np.sqrt(fit[idx])
    )
    # Poisson residuals of a correct model: about unit spread.
    assert 0.7 < np.std(lines["residual"].get_ydata()) < 1.4


def test_precision_plot():
    s = sto_lfo_cross_section((40, 40), seed=2)
    s.set_signal_type("EDS_TEM_chipped")
    df = s.estimate_chip_precision(
        s.metadata.Simulation.kfactors.as_dictionary(), [4, 8, 16]
    )
    lines = plot_chip_precision(df, elements=["La", "Sr"], target=1.0)
    np.testing.assert_array_equal(lines[0].get_ydata(), df.at_La_std)
    assert lines[0].axes.get_xscale() == "log"


def test_plot_chips_with_a_chip_map_and_many_windows():
    s = sto_lfo_cross_section((40, 30), seed=1)
    s.set_signal_type("EDS_TEM_chipped")
    chips = s.chip(10)
    maps = chips.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())
    ax = chips.plot_chips(maps[1])  # a chip-resolution map, painted
    assert ax.get_title() == "atomic percent of La"
    assert ax.images[0].get_array().shape == (30, 40)
    windows = s.chip(5, step=1)  # 36 x 26 = 936 windows
    ax = windows.plot_chips()
    n = len(ax.collections[0].get_paths())
    assert 100 < n <= 400  # a sparse subset, not a moire
    assert len(ax.texts) == 0


def test_source_map_of_a_table_column(quantified):
    _, chips = quantified
    df = chips.to_dataframe()
    painted = chips.get_source_map(df["at_La"])
    assert painted.metadata.General.title == "at_La"
    first = df.iloc[0]
    assert painted.data[first.y0, first.x0] == pytest.approx(first.at_La)
    with pytest.raises(ValueError, match=r"one row per chip \(12\), got 3"):
        chips.get_source_map(df["at_La"].iloc[:3])


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda c: plot_composition(c, elements=["Cu"]), ValueError, r"'Cu'"),
        (lambda c: plot_composition(c, composition="molar"), ValueError, r"'molar'"),
        (lambda c: plot_difference(c, np.ones(3), "La"), ValueError, r"one value per"),
        (lambda c: plot_difference(c, c, "Cu"), ValueError, r"`element` 'Cu'"),
        (lambda c: plot_chip_fit(c, 999), ValueError, r"`chip_id` 999 is not"),
        (lambda c: plot_chip_fit(c, "3"), TypeError, r"`chip_id` must be an int"),
        (lambda c: plot_chip_precision(c.to_dataframe()), ValueError, r"estimate_chip"),
    ],
)
def test_bad_plot_arguments(quantified, call, exc, match):
    _, chips = quantified
    with pytest.raises(exc, match=match):
        call(chips)


def test_unquantified_chips_are_refused():
    s = sto_lfo_cross_section((20, 20), seed=1)
    s.set_signal_type("EDS_TEM_chipped")
    with pytest.raises(ValueError, match="not been quantified"):
        plot_chi2(s.chip(10))
