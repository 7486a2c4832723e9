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
"""Chip-size advice: the predicted spread is the spread of real chips."""

import warnings

import numpy as np
import pytest

from hyperspy_chipping.data import sto_lfo_cross_section

ELEMENTS = ("Fe", "La", "O", "Sr", "Ti")


@pytest.fixture(scope="module")
def uniform():
    # Film only: every pixel LaFeO3, so chips differ by Poisson noise alone.
    s = sto_lfo_cross_section((120, 120), 30.0, seed=11, film_fraction=1.0)
    s.set_signal_type("EDS_TEM_chipped")
    return s


@pytest.mark.parametrize("size", [4, 8])
def test_predicted_spread_matches_observed(uniform, size):
    k = uniform.metadata.Simulation.kfactors.as_dictionary()
    predicted = uniform.estimate_chip_precision(k, [size]).iloc[0]
    chips = uniform.chip(size)
    chips.quantify_chips(k)
    df = chips.to_dataframe()
    for element in ("Fe", "La", "O"):
        observed = df[f"at_{element}"].std()
        ratio = predicted[f"at_{element}_std"] / observed
        # 225 or 900 chips: the sample std is good to ~5-10 %.
        assert 0.8 < ratio < 1.25, (element, ratio)


def test_precision_scales_with_counts(uniform):
    k = uniform.metadata.Simulation.kfactors.as_dictionary()
    df = uniform.estimate_chip_precision(k, [3, 6, 12, (6, 24)])
    assert list(df.n_pixels) == [9, 36, 144, 144]
    # Poisson: four times the pixels, half the standard deviation.
    np.testing.assert_allclose(df.at_La_std[1] / df.at_La_std[2], 2, rtol=1e-6)
    np.testing.assert_allclose(df.at_La_std[2], df.at_La_std[3], rtol=1e-9)
    np.testing.assert_allclose(df.counts[2] / df.counts[1], 4, rtol=1e-9)
    assert df["size"].tolist() == [3, 6, 12, (6, 24)]


def test_where_selects_the_phase(lazy):
    s = sto_lfo_cross_section((40, 40), seed=2)
    s.set_signal_type("EDS_TEM_chipped")
    s = s.as_lazy() if lazy else s
    k = s.metadata.Simulation.kfactors.as_dictionary()
    sto = s.metadata.Simulation.phase_map == 2
    df = s.estimate_chip_precision(k, [10], where=sto)
    # SrTiO3: no La, no Fe; Sr and Ti at 20 at % within the region's noise.
    assert df.at_Sr[0] == pytest.approx(20, abs=1.5)
    assert df.at_La[0] < 1.5


def test_theoretical_kfactors_as_quantify_chips_takes_them():
    # "theoretical" (and a table's path) are accepted as quantify_chips
    # accepts them: the same prediction as the k-factors they stand for.
    from hyperspy_chipping.kfactors import theoretical_kfactors

    s = sto_lfo_cross_section((40, 40), seed=2)
    s.set_signal_type("EDS_TEM_chipped")
    sto = s.metadata.Simulation.phase_map == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        named = s.estimate_chip_precision("theoretical", [10], where=sto)
    lines = sorted(s.metadata.Sample.xray_lines)
    table = dict(theoretical_kfactors(lines, 300.0))
    explicit = s.estimate_chip_precision(table, [10], where=sto)
    np.testing.assert_allclose(named.at_Sr, explicit.at_Sr, rtol=1e-6)
    # The demo was drawn with k-factors of its own (Sr 1.8), not the
    # theory's (3.3): the prediction follows the k-factors it is given, as
    # quantify_chips("theoretical") of the SrTiO3 chips does.
    chips = s.chip(10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        chips.quantify_chips("theoretical")
    df = chips.to_dataframe()
    pure = [sto[r.y0 : r.y1, r.x0 : r.x1].all() for r in df.itertuples()]
    assert named.at_Sr[0] == pytest.approx(df[np.array(pure)].at_Sr.mean(), rel=0.01)
    with pytest.raises(TypeError, match=r"`kfactors` must be .* got str 'theory'"):
        s.estimate_chip_precision("theory", [10])


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(sizes=5), TypeError, r"`sizes` must be a list .* got 5"),
        (dict(sizes=[]), ValueError, r"`sizes` is empty"),
        (dict(sizes=[0]), ValueError, r"`sizes` must be at least 1 pixel, got 0"),
        (dict(sizes=[2.5]), TypeError, r"`sizes` must be an int .* 2\.5"),
        (
            dict(sizes=[4], where=np.ones((3, 3), bool)),
            ValueError,
            r"`where` must be a boolean image .* \(40, 40\)",
        ),
        (dict(sizes=[4], where=np.zeros((40, 40), bool)), ValueError, r"selects no"),
        (dict(sizes=[4], method="XYZ"), ValueError, r"`method` must be one of"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    s = sto_lfo_cross_section((40, 40), seed=2)
    s.set_signal_type("EDS_TEM_chipped")
    k = s.metadata.Simulation.kfactors.as_dictionary()
    before = s.data.copy()
    with pytest.raises(exc, match=match):
        s.estimate_chip_precision(k, **kwargs)
    np.testing.assert_array_equal(s.data, before)
    assert "Chipping" not in s.metadata


def test_chipped_signal_is_refused():
    s = sto_lfo_cross_section((40, 40), seed=2)
    s.set_signal_type("EDS_TEM_chipped")
    chips = s.chip(10)
    with pytest.raises(ValueError, match="already chipped"):
        chips.estimate_chip_precision({"La_La": 1.0}, [2])
