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
"""The low-energy tail of a detector's peaks.

Charge created near the entrance of the crystal, or trapped on its way to
the anode, is partly lost: a fraction of the photons of a line is counted
below its energy. A line of energy ``E0`` and Gaussian width ``sigma`` is
then ``(1 - f) G + f T``, where ``T`` is the Gaussian convolved with an
exponential of decay length ``beta = r sigma`` on the low-energy side (the
"short tail" of the Hypermet shape that XRF and EDS fitting programs use).
Both ``f`` (``tail_fraction``) and ``r`` (``tail_slope``) are refined on the
summed spectrum, where counts are plentiful.

With ``z = (E - E0) / sigma``, the cumulative distribution of ``T`` is
``Phi(z) + X(z)`` with the *tail excess*
``X(z) = exp(z / r + 1 / (2 r**2)) Phi(-z - 1 / r)``, so a line's area in a
channel is the Gaussian's plus ``f`` times the change of ``X`` across it, and
its density ``(1 - f) g + f X / (r sigma)``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr

#: Bounds of the refined tail: fraction of a line's counts in the tail and
#: decay length in units of the Gaussian sigma. Measured on real detectors
#: (rosettasciio's Bruker and JEOL maps): 0.08-0.2 at 4-6 keV, 0.5-0.7 sigma.
TAIL_FRACTION_RANGE = (0.0, 0.5)
TAIL_SLOPE_RANGE = (0.25, 2.0)
#: Where the refinement of the tail's slope starts.
TAIL_SLOPE_START = 0.7
#: The tail's excess is below this fraction of the line beyond the window of
#: :func:`tail_extent` on the low-energy side.
_TAIL_PRECISION = 1e-7


def tail_excess(z, slope) -> np.ndarray:
    """``X(z)``: the tail's cumulative distribution less the Gaussian's.

    Parameters
    ----------
    z : array_like
        ``(E - E0) / sigma``.
    slope : float
        Decay length of the tail in units of sigma.

    Examples
    --------
    >>> from hyperspy_chipping.fitting._peak_shape import tail_excess
    >>> tail_excess(np.array([-50.0, 0.0, 50.0]), 0.7).round(4)  # 0 far away
    array([0.    , 0.2124, 0.    ])
    """
    z = np.asarray(z, dtype=float)
    return np.exp(z / slope + 0.5 / slope**2 + log_ndtr(-z - 1.0 / slope))


def tail_excess_slopes(z, slope) -> tuple[np.ndarray, np.ndarray]:
    """``sigma dX/dE`` and ``dX/dr`` (the derivatives the calibration needs).

    Examples
    --------
    >>> from hyperspy_chipping.fitting._peak_shape import (
    ...     tail_excess, tail_excess_slopes)
    >>> z, h = np.linspace(-5, 3, 9), 1e-6
    >>> dz, dr = tail_excess_slopes(z, 0.7)
    >>> bool(np.allclose(dz, (tail_excess(z + h, 0.7) - tail_excess(z - h, 0.7))
    ...                  / (2 * h), atol=1e-6))
    True
    >>> bool(np.allclose(dr, (tail_excess(z, 0.7 + h) - tail_excess(z, 0.7 - h))
    ...                  / (2 * h), atol=1e-6))
    True
    """
    z = np.asarray(z, dtype=float)
    x = tail_excess(z, slope)
    phi = np.exp(-0.5 * z**2) / np.sqrt(2.0 * np.pi)
    return x / slope - phi, (phi - x * (z + 1.0 / slope)) / slope**2


def tail_extent(slope) -> float:
    """How far below a line, in sigma, its tail reaches (to 1e-7 of its area)."""
    return -np.log(_TAIL_PRECISION) * slope + 0.5 / slope
