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
"""Design matrices of the chip model: peaks and background, per channel.

Once the energy calibration, the peak widths and the sub-line weights are
fixed, the model of a spectrum is linear in its amplitudes: ``y = A @ x``,
with one column of ``A`` per line family (amplitude = family intensity in
counts) and a few background columns. Every chip shares ``A``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.special import erf

from hyperspy_chipping.fitting import _xray_families as physics

BACKGROUNDS = ("bremsstrahlung", "polynomial")
#: Grid (keV) on which the detector efficiency is tabulated once: xraydb's
#: attenuation look-up is slow, and the fits evaluate it many times. 10 eV
#: steps resolve the window's absorption edges to a channel.
_EFFICIENCY_STEPS = ((0.1, 30.0, 0.01), (30.0, 400.0, 1.0))
_SIGMA_PER_FWHM = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


@dataclass(frozen=True)
class Calibration:
    """Energy calibration and detector resolution of a spectrum.

    Attributes
    ----------
    offset : float
        Energy of the first channel's centre, keV.
    scale : float
        Channel width, keV.
    fwhm_mnka : float
        Detector resolution (FWHM at Mn Kα), eV.
    """

    offset: float
    scale: float
    fwhm_mnka: float

    def centres(self, channels) -> np.ndarray:
        """Channel centres (keV) of the channel indices `channels`."""
        return self.offset + self.scale * np.asarray(channels, dtype=float)


def peak_columns(families, calibration: Calibration, channels, exspy_like=False):
    """One column per family: its expected counts per channel, unit area.

    Parameters
    ----------
    families : list of Family
        The families.
    calibration : Calibration
        Energy axis and resolution.
    channels : numpy.ndarray
        Indices of the channels in the fit.
    exspy_like : bool, default False
        Evaluate each Gaussian at the channel centre times the channel width,
        as HyperSpy's ``Gaussian`` on a binned axis does, instead of
        integrating it over the channel.

    Returns
    -------
    numpy.ndarray
        (n_channels, n_families).

    Examples
    --------
    >>> from hyperspy_chipping.fitting._families import Family
    >>> fam = Family("Fe", "K", ("Ka",), np.array([6.4]), np.array([1.0]),
    ...              np.array([True]))
    >>> col = peak_columns([fam], Calibration(0.0, 0.01, 130.0), np.arange(2000))
    >>> round(float(col.sum()), 6)
    1.0
    """
    centres = calibration.centres(channels)
    half = calibration.scale / 2
    out = np.zeros((centres.size, len(families)))
    for j, fam in enumerate(families):
        fwhm = fam.fwhm
        if fwhm is None:
            fwhm = physics.fwhm_at_energy(fam.energies, calibration.fwhm_mnka)
        sigma = np.broadcast_to(np.asarray(fwhm) * _SIGMA_PER_FWHM, fam.energies.shape)
        for e, s, w in zip(fam.energies, sigma, fam.weights):
            # Only the channels within 7 sigma: the rest is below 1e-11.
            lo, hi = np.searchsorted(centres, (e - 7 * s - half, e + 7 * s + half))
            if hi <= lo:
                continue
            c = centres[lo:hi]
            if exspy_like:
                shape = np.exp(-0.5 * ((c - e) / s) ** 2) / (s * np.sqrt(2 * np.pi))
                shape *= calibration.scale
            else:
                root = s * np.sqrt(2)
                shape = 0.5 * (erf((c + half - e) / root) - erf((c - half - e) / root))
            out[lo:hi, j] += w * shape
    return out


@functools.lru_cache(maxsize=1)
def _efficiency_table():
    grid = np.concatenate([np.arange(*step) for step in _EFFICIENCY_STEPS])
    return grid, physics.detector_efficiency(grid)


def detected_continuum(energy, beam_energy: float) -> np.ndarray:
    """Kramers' continuum ``(E0 - E) / E`` times the detector efficiency.

    Energies below the efficiency table's 0.1 keV take its value there.

    Examples
    --------
    >>> k = detected_continuum(np.array([1.0, 10.0]), 300.0)
    >>> bool(k[0] > k[1] > 0)
    True
    """
    safe = np.clip(np.asarray(energy, dtype=float), physics.LOW_ENERGY_CUTOFF, None)
    grid, table = _efficiency_table()
    return np.clip(beam_energy - safe, 0, None) / safe * np.interp(safe, grid, table)


def background_columns(kind, calibration, channels, beam_energy, order):
    """Background basis: a bremsstrahlung shape or a polynomial.

    ``"bremsstrahlung"``: Kramers' continuum ``(E0 - E) / E`` times the
    detector efficiency, times a polynomial of degree `order` in energy (which
    absorbs specimen absorption and the detector's departure from the
    nominal efficiency) — smooth enough that it cannot fit a peak.
    ``"polynomial"``: a polynomial of degree `order` (exspy's default is 6).

    Parameters
    ----------
    kind : {"bremsstrahlung", "polynomial"}
        Background shape.
    calibration : Calibration
        Energy axis.
    channels : numpy.ndarray
        Channel indices in the fit.
    beam_energy : float
        keV.
    order : int
        Polynomial degree.

    Returns
    -------
    numpy.ndarray
        (n_channels, order + 1), Chebyshev polynomials for conditioning (the
        same column space as powers of E).

    Examples
    --------
    >>> cal = Calibration(0.0, 0.01, 130.0)
    >>> background_columns("polynomial", cal, np.arange(100, 2000), 300.0, 6).shape
    (1900, 7)
    """
    e = calibration.centres(channels)
    lo, hi = e.min(), e.max()
    x = (2 * e - (lo + hi)) / max(hi - lo, 1e-12)
    poly = np.polynomial.chebyshev.chebvander(x, order)
    if kind == "polynomial":
        return poly
    shape = detected_continuum(e, beam_energy)
    return poly * (shape / shape.max())[:, None]
