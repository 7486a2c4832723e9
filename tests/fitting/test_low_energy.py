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
"""Where the fit starts: above the zero peak, the threshold and the noise."""

import numpy as np
import pytest

from hyperspy_chipping.fitting._low_energy import spectrum_start

E = -0.25 + 0.01 * np.arange(500)  # a Velox axis
SIGMA0 = 0.022  # zero-peak sigma (keV): a 52 eV FWHM


def zero_peak(height):
    return height * np.exp(-0.5 * (E / SIGMA0) ** 2)


@pytest.mark.parametrize("height", [30.0, 5000.0, 1e6])
def test_start_above_the_zero_peak_tail(height):
    # A flat spectrum from 0 keV: the start is where the Gaussian tail has
    # fallen below half a count, sigma * sqrt(2 ln(2 height)) (at least 3 sigma).
    y = zero_peak(height) + np.where(E > 0.0, 50.0, 0.0)
    start = spectrum_start(y, E, 130.0)
    k = max(3.0, np.sqrt(2 * np.log(2 * height)))
    assert start == pytest.approx(max(0.1, k * SIGMA0), abs=0.006)
    tail = zero_peak(height)[np.searchsorted(E, start)]
    assert tail < 1.0


def test_start_above_the_detector_threshold():
    # Nothing is recorded between the zero peak and the threshold at 0.205
    # keV but a few stray counts (1 % of the level above).
    y = zero_peak(1e5) + np.where(E > 0.205, 1000.0, 10.0)
    assert spectrum_start(y, E, 130.0) == pytest.approx(0.21, abs=0.006)


def test_start_above_a_noise_bump_of_a_near_empty_map():
    # A Velox map with almost no X-rays: the zero peak and a noise bump at
    # 0.14 keV, nothing above it (fitted from 0.2 keV, it came out as C).
    y = zero_peak(400) + 200 * np.exp(-0.5 * ((E - 0.14) / 0.03) ** 2)
    assert spectrum_start(y, E, 130.0) >= 0.2


def test_a_named_line_inside_the_excluded_range_is_kept():
    y = zero_peak(400) + 200 * np.exp(-0.5 * ((E - 0.14) / 0.03) ** 2)
    # B Ka (0.183 keV) named by the user: the start stays below it.
    assert spectrum_start(y, E, 130.0, keep_lines=[0.183]) < 0.183


def test_an_axis_without_zero_peak_starts_at_0_2_kev():
    e = 0.169 + 0.02 * np.arange(200)  # exspy's FePt axis
    assert spectrum_start(np.full(200, 100.0), e, 130.0) == pytest.approx(0.2)
