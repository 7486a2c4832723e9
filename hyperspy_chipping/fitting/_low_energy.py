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
"""Where the X-ray spectrum starts: above the zero peak and the noise.

A spectrum recorded by a silicon drift detector starts with three things
that are no X-rays: the zero (strobe) peak at 0 keV, which Velox, Bruker and
JEOL files keep (their axes start at -0.25 to -0.96 keV); the discriminator
threshold, below which the detector records nothing; and, on some detectors,
a bump of electronic noise just above the threshold. A model of lines and
bremsstrahlung fitted over any of them fits them as light elements (a Velox
map fitted from a fixed 0.2 keV came out 84 at % C). :func:`spectrum_start`
finds, on the summed spectrum, the lowest energy above all three.
"""

from __future__ import annotations

import numpy as np

from hyperspy_chipping.fitting import _xray_families as physics

#: Zero peaks are searched within this distance of 0 keV (keV).
ZERO_PEAK_WINDOW = 0.1
#: Channels counting less than this fraction of the median count per channel
#: between 0.3 and 1 keV, below 0.35 keV, lie below the detector threshold.
DEAD_FRACTION = 0.05
#: A noise bump is a maximum below this energy (keV) that falls by half
#: or more before ``NOISE_VALLEY_MAX``.
NOISE_PEAK_MAX = 0.2
NOISE_VALLEY_MAX = 0.26
#: Start (keV) on an axis that begins above 0 keV, where the zero peak's
#: tail cannot be measured.
NO_ZERO_PEAK_START = 0.2


def spectrum_start(
    spectrum, energies, fwhm_mnka: float, keep_lines=(), floor: float = 0.1
) -> float:
    """Lowest energy (keV) of the fit: above the zero peak, threshold and noise.

    Parameters
    ----------
    spectrum : numpy.ndarray
        Summed counts per channel, from the start of the energy axis.
    energies : numpy.ndarray
        Channel centres (keV), increasing.
    fwhm_mnka : float
        Detector resolution (eV): the noise width of the zero peak when it
        cannot be measured.
    keep_lines : sequence of float
        Line energies (keV) of the elements the user named: the start stays
        two peak widths below each of them, even where the data look like
        noise (boron Kα at 0.183 keV is a peak, not noise).
    floor : float, default 0.1
        Lowest start (keV): the model's efficiency tables end there.

    Returns
    -------
    float
        The start energy (keV), at least `floor`.

    Examples
    --------
    A Velox-like axis from -0.25 keV, a zero peak of 5000 counts and a flat
    spectrum of 100 counts per channel from the threshold at 0.13 keV:

    >>> e = -0.25 + 0.01 * np.arange(400)
    >>> zero = 5000 * np.exp(-0.5 * (e / 0.022) ** 2)
    >>> y = zero + np.where(e > 0.125, 100.0, 0.0)
    >>> round(spectrum_start(y, e, 130.0), 2)
    0.13
    """
    y = np.asarray(spectrum, dtype=float)
    e = np.asarray(energies, dtype=float)
    start = floor
    near_zero = np.abs(e) <= ZERO_PEAK_WINDOW
    if near_zero.any() and e[0] < 0:
        start = max(start, _zero_peak_end(y, e, near_zero, fwhm_mnka))
    elif e.size and e[0] >= 0:
        # No zero peak on the axis: where its tail ends cannot be seen.
        start = max(start, NO_ZERO_PEAK_START)
    reference = y[(e >= 0.3) & (e <= 1.0)]
    level = float(np.median(reference)) if reference.size else 0.0
    low = (e >= start) & (e <= 0.35)
    dead = np.flatnonzero(low & (y < DEAD_FRACTION * level))
    if dead.size:
        start = max(start, float(e[min(dead[-1] + 1, e.size - 1)]))
    start = max(start, _noise_bump_end(y, e, start))
    for line in keep_lines:
        width = float(physics.fwhm_at_energy(max(line, 0.0), fwhm_mnka))
        if floor < line < start:
            start = max(floor, min(start, line - 2 * width))
    return float(start)


def _zero_peak_end(y, e, near_zero, fwhm_mnka):
    """Energy where the zero peak's Gaussian falls below half a count."""
    idx = np.flatnonzero(near_zero)
    peak = idx[np.argmax(y[idx])]
    height = y[peak]
    if height <= 0:
        return e[0]
    # Width from the low-energy side, which holds nothing but the zero peak.
    left = (e <= e[peak]) & (e >= e[peak] - 4 * ZERO_PEAK_WINDOW)
    # Second moment of the half peak; the peak channel is shared by both
    # halves, so it counts half.
    w = np.where(np.arange(e.size) == peak, 0.5, 1.0)[left] * y[left]
    sigma = np.sqrt(np.sum(w * (e[left] - e[peak]) ** 2) / max(w.sum(), 1))
    noise = float(physics.fwhm_at_energy(0.0, fwhm_mnka)) * physics.SIGMA_PER_FWHM
    if left.sum() < 3 or not np.isfinite(sigma) or sigma <= 0:
        sigma = noise
    sigma = max(sigma, noise)  # never narrower than the detector's noise
    k = max(3.0, np.sqrt(2 * np.log(2 * height)))
    return float(e[peak] + k * sigma)


def _noise_bump_end(y, e, start):
    """End of a noise bump just above `start`, or `start` if there is none."""
    window = (e >= start) & (e <= NOISE_VALLEY_MAX)
    if window.sum() < 5:
        return start
    idx = np.flatnonzero(window)
    smooth = np.convolve(y, np.ones(3) / 3, mode="same")[idx]
    top = int(np.argmax(smooth))
    if e[idx[top]] > NOISE_PEAK_MAX or smooth[top] <= 0:
        return start
    valley = top + int(np.argmin(smooth[top:]))
    if valley == top or smooth[valley] > 0.5 * smooth[top]:
        return start
    # (The detected continuum rises from 0.1 keV to about 1 keV: a maximum
    # below 0.2 keV that falls by half is no continuum; B Kα is kept by the
    # caller's `keep_lines`.)
    return float(e[idx[valley]])
