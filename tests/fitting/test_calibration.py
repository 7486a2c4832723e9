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
"""Calibration on the summed spectrum: recovery of a known axis, derivatives."""

import numpy as np
import pytest

from hyperspy_chipping.data import sto_lfo_cross_section
from hyperspy_chipping.data._simulate import ENERGY_RESOLUTION_MNKA
from hyperspy_chipping.fitting._calibrate import calibrate
from hyperspy_chipping.fitting._design import (
    Calibration,
    peak_columns,
    peak_model_derivatives,
)
from hyperspy_chipping.fitting._families import physics_families

ELEMENTS = ["La", "Fe", "Sr", "Ti", "O"]


@pytest.fixture(scope="module")
def summed():
    """Summed spectrum of a simulated map whose true axis is known."""
    s = sto_lfo_cross_section((60, 60), 50.0, seed=5, energy_offset=-0.1)
    axis = s.axes_manager.signal_axes[0]
    return s.data.sum(axis=(0, 1)).astype(float), axis.offset, axis.scale


@pytest.mark.parametrize(
    "d_offset, gain, d_fwhm",
    [(0.0, 0.0, 0.0), (0.015, 0.003, 20.0), (-0.02, -0.004, -6.0)],
)
def test_recovers_the_true_axis_and_resolution(summed, d_offset, gain, d_fwhm):
    # The metadata are wrong by up to 2 channels, 0.4 % gain and 20 eV; the
    # fit must find the simulation's axis (to 0.5 eV at 0 and 20 keV) and
    # resolution (to 1 eV), which its 180 000 counts determine.
    spectrum, offset, scale = summed
    start = Calibration(
        offset + d_offset, scale * (1 + gain), ENERGY_RESOLUTION_MNKA + d_fwhm
    )
    channels = np.arange(40, 2000)
    families = physics_families(ELEMENTS, 300.0, (0.3, 19.9))
    cal, weights, model = calibrate(
        spectrum[channels], channels, start, families, "bremsstrahlung", 3, 300.0
    )
    assert abs(cal.offset - offset) < 5e-4
    assert abs(cal.centres(2000) - (offset + 2000 * scale)) < 5e-4
    assert abs(cal.fwhm_mnka - ENERGY_RESOLUTION_MNKA) < 1.0
    # Poisson weights from the model, and a model that fits: chi2/dof ~ 1.
    np.testing.assert_allclose(weights, 1 / np.clip(model, model.max() * 1e-3, None))
    chi2 = ((spectrum[channels] - model) ** 2 * weights).sum() / channels.size
    assert chi2 < 1.3


def test_refine_false_keeps_the_metadata(summed):
    spectrum, offset, scale = summed
    start = Calibration(offset + 0.01, scale, 140.0)
    channels = np.arange(40, 2000)
    families = physics_families(ELEMENTS, 300.0, (0.3, 19.9))
    cal, _, _ = calibrate(
        spectrum[channels],
        channels,
        start,
        families,
        "bremsstrahlung",
        3,
        300.0,
        refine=False,
    )
    assert cal == start


@pytest.mark.parametrize("column, step", [(0, 1e-7), (1, 1e-9), (2, 1e-4), (3, 1e-6)])
def test_peak_derivatives_match_finite_differences(column, step):
    families = physics_families(["La", "Pt", "O", "Fe"], 300.0, (0.2, 20.0))
    cal = Calibration(-0.05, 0.01, 130.0, fano=0.11)
    channels = np.r_[20:900, 950:2000]  # a gap, as an excluded region makes
    amplitudes = np.random.default_rng(0).uniform(1e3, 1e4, len(families))

    def model(h):
        q = np.array([cal.offset, cal.scale, cal.fwhm_mnka, cal.fano])
        q[column] += h
        return peak_columns(families, Calibration(*q), channels) @ amplitudes

    numeric = (model(step) - model(-step)) / (2 * step)
    analytic = peak_model_derivatives(families, cal, channels, amplitudes)[:, column]
    np.testing.assert_allclose(analytic, numeric, atol=1e-6 * np.abs(numeric).max())


def test_resolution_below_the_fano_limit_starts_at_the_limit(summed):
    # 118 eV at Mn Ka is below the Fano limit of exspy's width (121.4 eV):
    # with its Fano factor the noise would be imaginary. The fit starts
    # with the Fano factor lowered to keep the noise >= 0 and still finds
    # the simulation's 130 eV.
    spectrum, offset, scale = summed
    channels = np.arange(40, 2000)
    families = physics_families(ELEMENTS, 300.0, (0.3, 19.9))
    cal, _, _ = calibrate(
        spectrum[channels],
        channels,
        Calibration(offset, scale, 118.0),
        families,
        "bremsstrahlung",
        3,
        300.0,
    )
    assert abs(cal.fwhm_mnka - ENERGY_RESOLUTION_MNKA) < 1.0
