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
"""Composition math: propagation against finite differences, physics limits."""

import numpy as np
import pytest

from hyperspy_chipping.quantification._composition import (
    absorption_factors,
    quantify,
    ratio_fractions,
)


def test_ratio_fraction_covariance_is_the_delta_method():
    rng = np.random.default_rng(0)
    intensities = np.array([[300.0, 1200.0, 50.0]])
    cov = np.diag([300.0, 1200.0, 50.0])[None]
    factors = np.array([1.5, 1.0, 2.0])
    _, got = ratio_fractions(intensities, cov, factors)
    # Independent check: numerical Jacobian of f_A = c_A I_A / sum c I.
    eps = 1e-4
    jac = np.empty((3, 3))
    for b in range(3):
        d = np.zeros(3)
        d[b] = eps
        hi = ratio_fractions(intensities + d, cov, factors)[0][0]
        lo = ratio_fractions(intensities - d, cov, factors)[0][0]
        jac[:, b] = (hi - lo) / (2 * eps)
    np.testing.assert_allclose(got[0], jac @ cov[0] @ jac.T, rtol=1e-6)
    # And against Monte Carlo Poisson draws.
    draws = rng.poisson(intensities[0], size=(200_000, 3)).astype(float)
    sums = (draws * factors).sum(axis=1, keepdims=True)
    spread = np.cov((draws * factors / sums).T)
    np.testing.assert_allclose(got[0], spread, rtol=0.05, atol=1e-7)


def test_negative_intensity_counts_as_zero_unless_signed():
    intensities = np.array([[100.0, -5.0]])
    cov = np.diag([100.0, 25.0])[None]
    clipped, _ = ratio_fractions(intensities, cov, np.ones(2))
    signed, _ = ratio_fractions(intensities, cov, np.ones(2), clip_negative=False)
    np.testing.assert_allclose(clipped, [[1.0, 0.0]])
    np.testing.assert_allclose(signed, [[100 / 95, -5 / 95]])


def test_absorption_vanishes_for_thin_films_and_grows_with_thickness():
    w = np.array([[0.5, 0.5]])
    energies = np.array([0.525, 6.4])
    thin = absorption_factors(w, np.array([1e-9]), ["O", "Fe"], energies, 20.0)
    np.testing.assert_allclose(thin, 1.0, atol=1e-6)
    thick = absorption_factors(w, np.array([1e-3]), ["O", "Fe"], energies, 20.0)
    # chi rho t / (1 - exp(-chi rho t)) ~ 1 + x / 2 for small x.
    assert thick[0, 0] > thick[0, 1] > 1.0


def test_unknown_method():
    with pytest.raises(ValueError, match=r"`method` must be one of .* 'ZAF'"):
        quantify(np.ones((1, 2)), np.ones((1, 2, 2)), "ZAF", np.ones(2), ["O", "Fe"])
