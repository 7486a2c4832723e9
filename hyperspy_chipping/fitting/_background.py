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
"""A physical background that is never negative.

The bremsstrahlung model is Kramers' continuum times the detector
efficiency, times a smooth correction (specimen absorption, the detector's
departure from its nominal window). A free polynomial correction of degree 5
over 0.2-20 keV can go below zero where the continuum is small — near the
beam energy of an SEM map, where a 20 kV fit went to -29 counts per channel
above 18.4 keV — and it couples the two ends of the spectrum.

Here the correction is fitted once, on the summed spectrum, as a
combination of Bernstein polynomials with non-negative coefficients (so it
is >= 0 everywhere), with the peaks free; every chip is then fitted with
that non-negative continuum times a low-order Bernstein correction of its
own (``CHIP_BACKGROUND_ORDER``): columns that are all >= 0, whose
coefficients stay positive for any chip whose background resembles the
map's, and whose sum reproduces the summed background.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import lsq_linear

from hyperspy_chipping.fitting._design import background_basis, peak_columns

#: Degree of each chip's own correction of the map's continuum.
CHIP_BACKGROUND_ORDER = 2


def nonnegative_continuum(
    spectrum, weights, families, calibration, channels, beam_energy, order, window=1.0
) -> np.ndarray:
    """Bernstein coefficients (>= 0) of the continuum correction of a spectrum.

    A weighted least-squares fit of the peaks (free) and of the continuum
    times Bernstein polynomials of degree `order` with non-negative
    coefficients (bounded-variable least squares).

    Parameters
    ----------
    spectrum : numpy.ndarray
        Counts in the fit channels (the summed spectrum).
    weights : numpy.ndarray
        Channel weights ``1 / variance``.
    families : list of Family
        Line families of the model.
    calibration : Calibration
        Energy axis and resolution.
    channels : numpy.ndarray
        Fit channels.
    beam_energy : float
        keV.
    order : int
        Degree of the correction.
    window : float, default 1
        Scale of the detector window's thickness.

    Returns
    -------
    numpy.ndarray
        ``order + 1`` coefficients >= 0, largest 1 (all 1 for a spectrum
        without counts).

    Examples
    --------
    A continuum that falls to zero at the beam energy, as an SEM's does,
    with Poisson noise: the fitted background is never below zero.

    >>> from hyperspy_chipping.fitting._design import Calibration
    >>> cal, ch = Calibration(0.0, 0.01, 130.0), np.arange(20, 2000)
    >>> e = cal.centres(ch)
    >>> truth = 400 * (20 - e) / e * np.exp(-0.3 / e**3)
    >>> y = np.random.default_rng(0).poisson(truth).astype(float)
    >>> shape = nonnegative_continuum(y, 1 / np.maximum(truth, 1), [], cal, ch,
    ...                               20.0, 5)
    >>> bool((shape >= 0).all())
    True
    """
    y = np.asarray(spectrum, dtype=float)
    if not y.any():
        return np.ones(order + 1)
    e = calibration.centres(channels)
    peaks = peak_columns(families, calibration, channels)
    domain = (e.min(), e.max())
    bg = background_basis(
        "bremsstrahlung", e, domain, e, beam_energy, order, shape=[1.0], window=window
    )
    design = np.hstack([peaks, bg]) * np.sqrt(weights)[:, None]
    norms = np.linalg.norm(design, axis=0)
    norms[norms == 0] = 1.0
    lower = np.r_[np.full(peaks.shape[1], -np.inf), np.zeros(bg.shape[1])]
    fit = lsq_linear(
        design / norms,
        y * np.sqrt(weights),
        bounds=(lower, np.inf),
        method="bvls",
    )
    shape = fit.x[peaks.shape[1] :] / norms[peaks.shape[1] :]
    if shape.max() <= 0:
        return np.ones(order + 1)
    return shape / shape.max()
