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

from hyperspy_chipping.fitting import _resolution as resolution
from hyperspy_chipping.fitting import _xray_families as physics
from hyperspy_chipping.fitting._peak_shape import (  # noqa: F401 (re-exported)
    TAIL_SLOPE_START,
    peak_columns,
    peak_model_derivatives,
)

BACKGROUNDS = ("bremsstrahlung", "polynomial")
#: Grid (keV) on which the detector efficiency is tabulated once: xraydb's
#: attenuation look-up is slow, and the fits evaluate it many times. 10 eV
#: steps resolve the window's absorption edges to a channel.
_EFFICIENCY_STEPS = ((0.1, 30.0, 0.01), (30.0, 400.0, 1.0))


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
    fano : float, default FIORI_NEWBURY_FANO
        Fano factor of the width model (see :mod:`._resolution`); the default,
        0.1171, is exspy's Fiori-Newbury width.
    tail_fraction : float, default 0
        Fraction of every line's counts in its low-energy tail (see
        :mod:`._peak_shape`); 0 for Gaussian peaks.
    tail_slope : float, default 0.7
        Decay length of the tail, in units of the line's Gaussian sigma.

    Examples
    --------
    >>> cal = Calibration(0.0, 0.01, 130.0, fano=0.10)
    >>> (cal.fwhm([0.0, 5.8987]) * 1000).round(1), round(cal.noise, 1)
    (array([ 65.6, 130. ]), 65.6)
    """

    offset: float
    scale: float
    fwhm_mnka: float
    fano: float = resolution.FIORI_NEWBURY_FANO
    tail_fraction: float = 0.0
    tail_slope: float = TAIL_SLOPE_START

    def centres(self, channels) -> np.ndarray:
        """Channel centres (keV) of the channel indices `channels`."""
        return self.offset + self.scale * np.asarray(channels, dtype=float)

    def fwhm(self, energy) -> np.ndarray:
        """Peak FWHM (keV) at `energy` (keV) of this detector."""
        return resolution.fwhm_at_energy(energy, self.fwhm_mnka, self.fano)

    @property
    def noise(self) -> float:
        """Electronic-noise FWHM (eV): the width at 0 keV."""
        return resolution.electronic_noise(self.fwhm_mnka, self.fano)


def kev_per_unit(axis) -> float:
    """keV per unit of an energy axis: 1e-3 for eV, 1 for keV (or no units).

    Raises
    ------
    ValueError
        If the units are neither keV nor eV.

    Examples
    --------
    >>> kev_per_unit(type("Axis", (), {"units": "eV"})())
    0.001
    """
    units = str(axis.units)
    if units == "eV":
        return 1e-3
    if units in ("keV", "<undefined>", "None", ""):
        return 1.0
    raise ValueError(f"The energy axis must be in keV or eV, got units {units!r}.")


@functools.lru_cache(maxsize=1)
def _efficiency_table():
    grid = np.concatenate([np.arange(*step) for step in _EFFICIENCY_STEPS])
    return grid, physics.detector_efficiency(grid)


def tabulated_efficiency(energy) -> np.ndarray:
    """:func:`~._xray_families.detector_efficiency`, interpolated in a table.

    xraydb's attenuation look-up is slow and the fits evaluate the
    efficiency many times; energies outside the table take its end values.

    Examples
    --------
    >>> e = np.array([1.0, 5.0])
    >>> from hyperspy_chipping.fitting._xray_families import detector_efficiency
    >>> bool(np.allclose(tabulated_efficiency(e), detector_efficiency(e), rtol=1e-3))
    True
    """
    grid, table = _efficiency_table()
    return np.interp(energy, grid, table)


def detected_continuum(energy, beam_energy: float, window: float = 1.0) -> np.ndarray:
    """Kramers' continuum ``(E0 - E) / E`` times the detector efficiency.

    Energies below the efficiency table's 0.1 keV take its value there;
    `window` scales the thickness of the detector's polymer window (see
    :func:`window_factor`).

    Examples
    --------
    >>> k = detected_continuum(np.array([1.0, 10.0]), 300.0)
    >>> bool(k[0] > k[1] > 0)
    True
    """
    safe = np.clip(np.asarray(energy, dtype=float), physics.LOW_ENERGY_CUTOFF, None)
    kramers = physics.kramers_continuum(safe, beam_energy, 1.0)
    out = kramers * tabulated_efficiency(safe)
    if as_window(window) != nominal_window():
        out = out * window_factor(safe, window)
    return out


#: The layers of the detector's entrance that the refined response changes:
#: the polymer window (a thickness scale of the nominal one), a Si3N4 window
#: and the Si dead layer (thicknesses in nm). A polymer (C, N, O edges), a
#: nitride (N edge, no C or O) and Si (its K edge) absorb differently below
#: ~2 keV: together they follow polymer, Si3N4 and windowless detectors.
WINDOW_LAYERS = ("polymer scale", "Si3N4 nm", "Si dead layer nm")
#: Largest Si3N4 window and Si dead layer (nm) a fit may reach: windows of
#: real detectors are 40-300 nm thick, dead layers 10-100 nm.
WINDOW_BOUNDS = ((0.0, 3.0), (0.0, 400.0), (0.0, 100.0))


def nominal_window() -> tuple[float, float, float]:
    """The model's nominal detector entrance, as :func:`as_window` gives it.

    Examples
    --------
    >>> nominal_window()
    (1.0, 0.0, 30.0)
    """
    dead = sum(
        t for f, _, t, r in physics.DETECTOR_LAYERS if f == "Si" and r != "crystal"
    )
    return (1.0, 0.0, float(dead))


def as_window(window, name: str = "window") -> tuple[float, float, float]:
    """A detector entrance as ``(polymer scale, Si3N4 nm, Si dead layer nm)``.

    A number is the polymer window's thickness relative to the nominal one,
    the rest nominal (the form the package used before the nitride and the
    dead layer were refined).

    Raises
    ------
    ValueError
        If `window` is not a non-negative number or three of them.

    Examples
    --------
    >>> as_window(0.5)
    (0.5, 0.0, 30.0)
    >>> as_window([0.0, 120.0, 50.0])
    (0.0, 120.0, 50.0)
    """
    if isinstance(window, (int, float, np.integer, np.floating)) and not isinstance(
        window, (bool, np.bool_)
    ):
        values = (float(window),) + nominal_window()[1:]
    elif isinstance(window, (tuple, list, np.ndarray)) and len(window) == 3:
        values = tuple(float(v) for v in window)
    else:
        values = None
    if values is None or not all(np.isfinite(v) and v >= 0 for v in values):
        raise ValueError(
            f"`{name}` must be a non-negative number (polymer window thickness "
            f"/ nominal) or three of them ({', '.join(WINDOW_LAYERS)}), got "
            f"{window!r}."
        )
    return values


@functools.lru_cache(maxsize=1)
def _window_table():
    """Optical depth per unit of each layer of :data:`WINDOW_LAYERS`."""
    grid = np.concatenate([np.arange(*step) for step in _EFFICIENCY_STEPS])
    formula, density, thickness_nm, _ = physics.DETECTOR_LAYERS[0]
    polymer = physics.xraydb.material_mu(formula, grid * 1000.0, density)
    nitride = physics.xraydb.material_mu("Si3N4", grid * 1000.0, 3.44)
    silicon = physics.xraydb.material_mu("Si", grid * 1000.0, 2.33)
    return grid, np.stack([polymer * thickness_nm, nitride, silicon]) * 1e-7


def layer_depths(energy) -> np.ndarray:
    """(3, n) optical depth per unit of each layer of :data:`WINDOW_LAYERS`
    at `energy`: :func:`window_depth` is ``change @ layer_depths(energy)``
    with ``change`` the entrance less the nominal one.

    Examples
    --------
    >>> e = np.array([0.3, 6.4])
    >>> window = (1.0, 100.0, 30.0)
    >>> change = np.subtract(window, nominal_window())
    >>> bool(np.allclose(change @ layer_depths(e), window_depth(e, window)))
    True
    """
    grid, mu = _window_table()
    e = np.asarray(energy, dtype=float)
    return np.stack([np.interp(e, grid, m) for m in mu])


def window_depth(energy, window) -> np.ndarray:
    """Optical depth of `window` relative to the nominal entrance.

    ``(s - 1) d_polymer(E) + t_N mu_Si3N4(E) + (t_Si - t_Si,0) mu_Si(E)``
    (:func:`as_window`); 0 for the nominal one.

    Examples
    --------
    >>> e = np.array([0.3, 6.4])
    >>> window_depth(e, nominal_window()).tolist()
    [0.0, 0.0]
    >>> d = window_depth(e, (1.0, 100.0, 30.0))  # 100 nm Si3N4 more
    >>> bool(d[0] > 10 * d[1] > 0)
    True
    """
    grid, mu = _window_table()
    change = np.subtract(as_window(window), nominal_window())
    e = np.asarray(energy, dtype=float)
    depth = np.zeros(e.shape)
    for k in np.flatnonzero(change):
        depth = depth + change[k] * np.interp(e, grid, mu[k])
    return depth


def window_factor(energy, window) -> np.ndarray:
    """Transmission of the detector entrance `window`, relative to the
    nominal one (:func:`as_window`: a number scales the polymer window).

    The low-energy efficiency of a real detector (window, dead layer, grid,
    ice) is the least known part of its response: on the summed spectrum it
    is refined as three physical, bounded thicknesses (see
    :func:`~hyperspy_chipping.fitting._response.refine_window`).

    Examples
    --------
    >>> f = window_factor(np.array([0.3, 1.0, 6.4]), 2.0)  # thicker: less at low E
    >>> bool(f[0] < f[1] < f[2]), round(float(f[2]), 3)
    (True, 0.999)
    """
    return np.exp(-window_depth(energy, window))


def background_columns(
    kind, calibration, channels, beam_energy, order, shape=None, window=1.0
):
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
    domain = (e.min(), e.max())
    return background_basis(
        kind, e, domain, e, beam_energy, order, shape=shape, window=window
    )


def background_basis(
    kind, x, domain, energy, beam_energy, order, norm=None, shape=None, window=1.0
):
    """Chebyshev polynomials of `x` over `domain`, times the continuum.

    The one formula of the background, for the design matrix and for the
    :class:`~hyperspy_chipping.fitting.Bremsstrahlung` component.

    Parameters
    ----------
    kind : {"bremsstrahlung", "polynomial"}
        Background shape.
    x : numpy.ndarray
        Coordinate of the polynomials.
    domain : tuple of float
        Values of `x` mapped onto [-1, 1].
    energy : numpy.ndarray
        Photon energies (keV) at `x`, where the continuum is evaluated.
    beam_energy : float
        keV.
    order : int
        Polynomial degree.
    norm : float, optional
        Divides the continuum; default its maximum over `energy`.
    shape : sequence of float, optional
        Bernstein coefficients (>= 0) of a fixed, non-negative correction of
        the continuum (the one fitted to the summed spectrum, see
        :func:`nonnegative_continuum`); the columns are then the corrected
        continuum times the Bernstein polynomials of degree `order`, all
        >= 0, instead of Chebyshev polynomials.
    window : float, default 1
        Scale of the detector window's thickness (:func:`window_factor`).

    Returns
    -------
    numpy.ndarray
        (..., order + 1).

    Examples
    --------
    >>> e = np.linspace(1.0, 10.0, 4)
    >>> background_basis("polynomial", e, (1.0, 10.0), e, 300.0, 1)[:, 1]
    array([-1.        , -0.33333333,  0.33333333,  1.        ])
    """
    lo, hi = domain
    u = (2 * np.asarray(x, dtype=float) - (lo + hi)) / max(hi - lo, 1e-12)
    if kind == "polynomial":
        return np.polynomial.chebyshev.chebvander(u, order)
    continuum = detected_continuum(energy, beam_energy, window)
    continuum = continuum / (continuum.max() if norm is None else norm)
    if shape is None:
        poly = np.polynomial.chebyshev.chebvander(u, order)
        return poly * continuum[..., None]
    t = np.clip((u + 1) / 2, 0.0, 1.0)
    corrected = continuum * (bernstein(t, len(shape) - 1) @ np.asarray(shape))
    return bernstein(t, order) * corrected[..., None]


def bernstein(t, degree: int) -> np.ndarray:
    """Bernstein basis polynomials of `degree` at `t` in [0, 1].

    ``C(n, k) t^k (1 - t)^(n - k)``: non-negative and summing to 1, so that
    a combination with non-negative coefficients is non-negative.

    Examples
    --------
    >>> b = bernstein(np.array([0.0, 0.5, 1.0]), 2)
    >>> b.tolist()
    [[1.0, 0.0, 0.0], [0.25, 0.5, 0.25], [0.0, 0.0, 1.0]]
    """
    from scipy.special import comb

    t = np.asarray(t, dtype=float)[..., None]
    k = np.arange(degree + 1)
    return comb(degree, k) * t**k * (1 - t) ** (degree - k)
