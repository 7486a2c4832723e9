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
"""The detector's resolution: peak width against energy (pure functions).

A Si detector's peak width has two independent parts that add in
quadrature: the electronic noise ``N`` (the width of the zero peak, the
same at every energy) and the statistics of the electron-hole pairs an X-ray
of energy ``E`` makes, ``E / eps`` pairs with a variance ``F`` times their
number (the Fano factor ``F``; ``eps`` = 3.85 eV per pair in Si) [1]_::

    FWHM(E)**2 = N**2 + (2 sqrt(2 ln 2))**2 * eps * F * E

Written with the FWHM at Mn Ka (what a detector's data sheet and a file's
metadata give) instead of ``N``, this is
``FWHM(E)**2 = FWHM_MnKa**2 + 8 ln 2 * eps * F * (E - E_MnKa)``: the
Fiori-Newbury formula [2]_ that exspy uses is the case ``8 ln 2 * eps * F =
2.5 eV``, i.e. ``F = 0.1171`` (:data:`FIORI_NEWBURY_FANO`).

Energies are in keV and widths in eV unless a name says otherwise; the
widths the design matrices use are in keV.

References
----------
.. [1] U. Fano, Phys. Rev. 72 (1947) 26; for Si detectors e.g. D. E. Newbury
   and N. W. M. Ritchie, Scanning 35 (2013) 141.
.. [2] C. E. Fiori and D. E. Newbury, SEM/1978/I, SEM Inc., AMF O'Hare
   (1978) 401.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

#: Energy of Mn Ka (keV), the reference of ``energy_resolution_MnKa`` (exspy's value).
MNKA_ENERGY = 5.8987
#: Mean energy per electron-hole pair in Si (eV).
SI_PAIR_ENERGY = 3.85
#: ``(FWHM / sigma)**2 * eps`` (eV): the Fano term of ``FWHM**2`` per unit of
#: ``F`` and of energy (eV).
FANO_SLOPE = 8.0 * math.log(2.0) * SI_PAIR_ENERGY
#: The Fano factor of exspy's Fiori-Newbury width (slope 2.5 eV).
FIORI_NEWBURY_FANO = 2.5 / FANO_SLOPE
#: Physical range of the Fano factor of Si detectors refined from data
#: (measured values 0.10-0.13; the range leaves room for the detector's
#: other broadening that grows with energy).
FANO_RANGE = (0.08, 0.20)


def _check_fano(fano: float) -> float:
    fano = float(fano)
    if not math.isfinite(fano) or fano <= 0:
        raise ValueError(f"The Fano factor must be finite and > 0, got fano={fano!r}.")
    return fano


def fwhm_at_energy(
    energy: ArrayLike,
    energy_resolution_MnKa: float,
    fano: float = FIORI_NEWBURY_FANO,
) -> np.ndarray:
    """Return the peak FWHM (keV) at `energy` (keV).

    Parameters
    ----------
    energy : array_like
        Peak energies in keV (0 gives the electronic-noise width).
    energy_resolution_MnKa : float
        FWHM at Mn Ka in eV.
    fano : float, default FIORI_NEWBURY_FANO
        Fano factor; the default (0.1171) is exspy's Fiori-Newbury width.

    Returns
    -------
    numpy.ndarray
        FWHM in keV.

    Raises
    ------
    ValueError
        If `fano` is not > 0, or if the resolution is too small for the model
        (no real width at every requested energy).

    Notes
    -----
    ``FWHM(E)**2 = FWHM_MnKa**2 + 8 ln 2 * eps * F * (E - E_MnKa)`` (energies
    in eV, ``eps`` = 3.85 eV); with the default ``F`` the slope is 2.5 eV, as
    exspy computes it (see the module's notes).

    Examples
    --------
    >>> from hyperspy_chipping.fitting._resolution import fwhm_at_energy
    >>> (fwhm_at_energy([0.0, 0.525, 5.8987], 130.0) * 1000).round(1)
    array([ 46.4,  58.9, 130. ])
    >>> (fwhm_at_energy([0.0, 0.525, 5.8987], 130.0, fano=0.09) * 1000).round(1)
    array([ 74.6,  81.1, 130. ])
    """
    fano = _check_fano(fano)
    e_ev = np.asarray(energy, dtype=float) * 1000.0
    square = energy_resolution_MnKa**2 + FANO_SLOPE * fano * (
        e_ev - MNKA_ENERGY * 1000.0
    )
    if np.any(square <= 0):
        raise ValueError(
            "energy_resolution_MnKa = "
            f"{energy_resolution_MnKa!r} eV is too small: the width with Fano "
            f"factor {fano:.4f} is not positive at every requested energy"
        )
    return np.sqrt(square) / 1000.0


def electronic_noise(energy_resolution_MnKa: float, fano: float) -> float:
    """The electronic-noise width ``N`` (FWHM at 0 keV, eV) of a detector.

    Parameters
    ----------
    energy_resolution_MnKa : float
        FWHM at Mn Ka in eV.
    fano : float
        Fano factor.

    Returns
    -------
    float
        ``N = sqrt(FWHM_MnKa**2 - 8 ln 2 * eps * F * E_MnKa)`` in eV; 0 where
        the Fano term alone exceeds the resolution (no real ``N``).

    Raises
    ------
    ValueError
        If `fano` is not > 0.

    Examples
    --------
    >>> round(electronic_noise(130.0, FIORI_NEWBURY_FANO), 1)  # exspy's width
    46.4
    >>> electronic_noise(130.0, 0.0)
    Traceback (most recent call last):
    ...
    ValueError: The Fano factor must be finite and > 0, got fano=0.0.
    """
    fano = _check_fano(fano)
    square = energy_resolution_MnKa**2 - FANO_SLOPE * fano * MNKA_ENERGY * 1000.0
    return math.sqrt(max(square, 0.0))


def resolution_mnka(noise: float, fano: float) -> float:
    """The FWHM at Mn Ka (eV) of a detector of noise `noise` and Fano factor `fano`.

    The inverse of :func:`electronic_noise`.

    Parameters
    ----------
    noise : float
        Electronic-noise FWHM (eV), >= 0.
    fano : float
        Fano factor.

    Returns
    -------
    float
        ``sqrt(N**2 + 8 ln 2 * eps * F * E_MnKa)`` in eV.

    Raises
    ------
    ValueError
        If `noise` is negative or `fano` is not > 0.

    Examples
    --------
    >>> round(resolution_mnka(0.0, 0.115), 1)  # the Fano limit of Si
    120.3
    >>> round(electronic_noise(resolution_mnka(60.0, 0.12), 0.12), 6)
    60.0
    """
    fano = _check_fano(fano)
    if not noise >= 0:
        raise ValueError(f"The electronic noise must be >= 0 eV, got noise={noise!r}.")
    return math.sqrt(noise**2 + FANO_SLOPE * fano * MNKA_ENERGY * 1000.0)


def fwhm_derivatives(
    energy: ArrayLike, energy_resolution_MnKa: float, fano: float
) -> tuple[np.ndarray, np.ndarray]:
    """Derivatives of :func:`fwhm_at_energy` (keV) by the resolution and ``F``.

    Parameters
    ----------
    energy : array_like
        Peak energies in keV.
    energy_resolution_MnKa : float
        FWHM at Mn Ka in eV.
    fano : float
        Fano factor.

    Returns
    -------
    d_resolution : numpy.ndarray
        d FWHM(E) / d FWHM_MnKa (keV per eV): ``FWHM_MnKa / FWHM(E)`` / 1000.
    d_fano : numpy.ndarray
        d FWHM(E) / d F (keV): ``8 ln 2 eps (E - E_MnKa) / (2 FWHM(E))`` / 1000.

    Examples
    --------
    >>> e, h = np.array([0.5, 6.4]), 1e-6
    >>> d_r, d_f = fwhm_derivatives(e, 130.0, 0.12)
    >>> numeric = (fwhm_at_energy(e, 130.0, 0.12 + h)
    ...            - fwhm_at_energy(e, 130.0, 0.12 - h)) / (2 * h)
    >>> bool(np.allclose(d_f, numeric, rtol=1e-6))
    True
    """
    width_ev = fwhm_at_energy(energy, energy_resolution_MnKa, fano) * 1000.0
    e_ev = np.asarray(energy, dtype=float) * 1000.0
    d_resolution = energy_resolution_MnKa / width_ev * 1e-3
    d_fano = FANO_SLOPE * (e_ev - MNKA_ENERGY * 1000.0) / (2.0 * width_ev) * 1e-3
    return d_resolution, d_fano
