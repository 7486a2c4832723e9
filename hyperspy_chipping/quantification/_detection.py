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
"""Detection limits of fitted line intensities (Currie, 1968).

A fitted intensity ``I`` of a line has, at zero true signal, the standard
deviation ``sigma_0`` (the Poisson noise of the background and of the other
lines under it, through the fit). Its variance grows with the signal itself,
``Var(I) = sigma_0^2 + g I``, where ``g`` (counts per count) is the
variance the line's own counts add: ``g = 1`` for a lone peak on no
background (Poisson), ~1.2 for a Gaussian under a dominating fitted
background (``2 / sqrt(3)`` were the background known), more where lines
overlap and the fit has to separate them. With ``k = 1.645`` (one-sided
95 %), Currie's

- decision threshold ``L_C = k sigma_0``: a line measured above it is
  *detected*, and an absent line is wrongly detected in 5 % of the chips;
- detection limit ``L_D``, the true intensity measured above ``L_C`` in 95 %
  of the chips: ``L_D = L_C + k sqrt(sigma_0^2 + g L_D)``, whose root is
  ``L_D = k^2 g + 2 k sigma_0 = 2.71 g + 3.29 sigma_0``.

With ``g = 1`` and ``sigma_0 = sqrt(B)`` (a well-known background of ``B``
counts) this is Currie's ``2.71 + 3.29 sqrt(B)``; for a background measured
once beside the peak (paired blank, ``sigma_0 = sqrt(2 B)``) it is the
textbook ``2.71 + 4.65 sqrt(B)``. The fit gives ``sigma_0`` and ``g`` directly
from its Poisson covariance, whatever the background and the overlaps.
"""

from __future__ import annotations

import numpy as np

#: One-sided 95 % quantile of the normal distribution (Currie's k).
CURRIE_K = 1.6448536269514722


def currie_limits(sigma0, gain=1.0):
    """Decision threshold and detection limit of an intensity (counts).

    Parameters
    ----------
    sigma0 : numpy.ndarray
        Standard deviation of the intensity at zero true signal.
    gain : numpy.ndarray or float, default 1.0
        Variance added per count of signal (1 for a lone Poisson peak).

    Returns
    -------
    critical : numpy.ndarray
        ``L_C = k sigma0``: decide "detected" above it (5 % false positives).
    limit : numpy.ndarray
        ``L_D = k^2 gain + 2 k sigma0``: detected in 95 % of the chips.

    Examples
    --------
    Currie's well-known-blank formula, ``2.71 + 3.29 sqrt(B)``, for B = 100
    background counts:

    >>> lc, ld = currie_limits(np.sqrt(100.0))
    >>> round(float(lc), 2), round(float(ld), 2)
    (16.45, 35.6)
    """
    sigma0 = np.asarray(sigma0, dtype=float)
    return CURRIE_K * sigma0, CURRIE_K**2 * np.asarray(gain) + 2 * CURRIE_K * sigma0


def zero_signal_variance(variance, intensities, gain, floor):
    """Variance of the intensities at zero true signal.

    The fitted variance less what the line's own (positive) counts add:
    ``variance - g max(I, 0)``, kept at least `floor` (the variance the fit
    has without any counts of its own, see ``prior_covariance``).

    Examples
    --------
    >>> zero_signal_variance(np.array([[150.0, 40.0]]), np.array([[100.0, -3.0]]),
    ...                      np.array([1.0, 1.0]), np.array([0.5, 0.5]))
    array([[50., 40.]])
    """
    var0 = variance - gain * np.clip(intensities, 0, None)
    return np.maximum(var0, floor)


def limit_fractions(limits, intensities, factors, absorption=1.0):
    """Atomic (or weight) fraction of each element at its detection limit.

    The fraction element A would have in this chip if its intensity were
    its detection limit and the other elements kept theirs (negative ones
    counted as 0, as in the composition):
    ``c_A L_A / (c_A L_A + sum_{B != A} c_B I_B)``.

    Parameters
    ----------
    limits : numpy.ndarray
        (n_chips, n_lines) detection limits (counts).
    intensities : numpy.ndarray
        (n_chips, n_lines) measured intensities.
    factors : numpy.ndarray
        (n_lines,) composition factors ``c`` of the method.
    absorption : numpy.ndarray or float, default 1.0
        Absorption correction factors of the intensities.

    Returns
    -------
    numpy.ndarray
        (n_chips, n_lines) fractions in [0, 1].

    Examples
    --------
    Two elements with equal factors, measured at 30 and 90 counts, with
    limits of 10 and 5 counts: the first at its limit beside 90 counts of
    the second would make up 10 %, the second at its limit beside 30 counts
    of the first 5 / 35.

    >>> limit_fractions(np.array([[10.0, 5.0]]), np.array([[30.0, 90.0]]),
    ...                 np.ones(2)).round(3)
    array([[0.1  , 0.143]])
    """
    u = np.clip(intensities, 0, None) * absorption * factors
    lim = limits * absorption * factors
    others = u.sum(axis=1, keepdims=True) - u
    with np.errstate(invalid="ignore", divide="ignore"):
        return lim / (lim + others)
