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
"""Line shapes: Gaussian peaks with the detector's low-energy tail.

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

:func:`peak_columns` integrates every line of the model over the channels
(the design matrix's peak columns); :func:`peak_model_derivatives` gives
their analytic derivatives with respect to the calibration.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erf, log_ndtr

from hyperspy_chipping.fitting import _resolution as resolution
from hyperspy_chipping.fitting._xray_families import SIGMA_PER_FWHM

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


def peak_columns(families, calibration, channels, exspy_like=False):
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
    >>> from hyperspy_chipping.fitting._design import Calibration
    >>> from hyperspy_chipping.fitting._families import Family
    >>> fam = Family("Fe", "K", ("Ka",), np.array([6.4]), np.array([1.0]),
    ...              np.array([True]))
    >>> col = peak_columns([fam], Calibration(0.0, 0.01, 130.0), np.arange(2000))
    >>> round(float(col.sum()), 6)
    1.0
    """
    out = np.zeros((np.size(channels), len(families)))
    lines = _line_windows(families, calibration, channels)
    if lines is None:
        return out
    c, e, s, half = lines["centres"], lines["energy"], lines["sigma"], lines["half"]
    f, r = calibration.tail_fraction, calibration.tail_slope
    if exspy_like:
        shape = np.exp(-0.5 * ((c - e) / s) ** 2) / (s * np.sqrt(2 * np.pi))
        shape *= calibration.scale
    else:
        upper, lower = (c + half - e) / s, (c - half - e) / s  # channel edges
        shape = 0.5 * (erf(upper / np.sqrt(2)) - erf(lower / np.sqrt(2)))
        if f > 0:  # the low-energy tail
            shape += f * (tail_excess(upper, r) - tail_excess(lower, r))
    inside = lines["inside"]
    flat = (lines["index"] * len(families) + lines["column"])[inside]
    out += np.bincount(
        flat, weights=(lines["weight"] * shape)[inside], minlength=out.size
    ).reshape(out.shape)
    return out


def _line_windows(families, calibration, channels, tail=None):
    """Every line of `families` over the channels within 7 sigma of it.

    (Beyond 7 sigma a line's channel area is below 1e-11.) With a low-energy
    tail (`tail`, by default where the calibration has one), the window
    reaches as far below the line as the tail does. Returns (n_lines,
    window) arrays, so that all lines are evaluated at once, or None if there
    is no line or no channel.
    """
    if tail is None:
        tail = calibration.tail_fraction > 0
    below = max(7.0, tail_extent(calibration.tail_slope)) if tail else 7.0
    centres = calibration.centres(channels)
    if not families or not centres.size:
        return None
    energies, fwhms, dfwhm, weights, column = [], [], [], [], []
    for j, fam in enumerate(families):
        used = np.asarray(fam.weights) != 0  # lines of weight 0 add nothing
        e = np.asarray(fam.energies, float)[used]
        if fam.fwhm is None:
            fwhm = calibration.fwhm(e)
            # d FWHM(E) / d FWHM(Mn Ka) (keV / eV) and d FWHM(E) / d F (keV)
            dfwhm.append(
                np.stack(
                    resolution.fwhm_derivatives(
                        e, calibration.fwhm_mnka, calibration.fano
                    ),
                    axis=1,
                )
            )
        else:
            fwhm = np.broadcast_to(np.asarray(fam.fwhm, float), used.shape)[used]
            dfwhm.append(np.zeros((e.size, 2)))
        energies.append(e)
        fwhms.append(fwhm)
        weights.append(np.asarray(fam.weights, float)[used])
        column.append(np.full(e.shape, j))
    if not sum(e.size for e in energies):
        return None
    e = np.concatenate(energies)[:, None]
    s = np.concatenate(fwhms)[:, None] * SIGMA_PER_FWHM
    half = calibration.scale / 2
    lo = np.searchsorted(centres, e[:, 0] - below * s[:, 0] - half)
    hi = np.searchsorted(centres, e[:, 0] + 7 * s[:, 0] + half)
    index = lo[:, None] + np.arange(max(int((hi - lo).max()), 1))
    inside = index < hi[:, None]
    index = np.minimum(index, centres.size - 1)
    return {
        "centres": centres[index],
        "channel": np.asarray(channels, dtype=float)[index],
        "index": index,
        "inside": inside,
        "energy": e,
        "sigma": s,
        # (n_lines, 1, 2): d sigma / d fwhm_mnka, d sigma / d fano
        "dsigma": np.concatenate(dfwhm)[:, None, :] * SIGMA_PER_FWHM,
        "weight": np.concatenate(weights)[:, None],
        "column": np.concatenate(column)[:, None],
        "half": half,
    }


def peak_model_derivatives(families, calibration, channels, amplitudes):
    """Derivatives of the summed peaks with respect to the calibration.

    The peak part of a model, ``peak_columns(...) @ amplitudes``, depends on
    the energy offset and channel width through the channel edges and on the
    resolution through every line's width; this gives its analytic
    derivatives, with the amplitudes held fixed.

    Parameters
    ----------
    families : list of Family
        The families.
    calibration : Calibration
        Energy axis and resolution.
    channels : numpy.ndarray
        Indices of the channels in the fit.
    amplitudes : numpy.ndarray
        One amplitude per family.

    Returns
    -------
    numpy.ndarray
        (n_channels, 6): d/d offset (per keV), d/d scale (per keV),
        d/d ``fwhm_mnka`` (per eV), d/d ``fano``, d/d ``tail_fraction`` and
        d/d ``tail_slope``.

    Examples
    --------
    >>> from hyperspy_chipping.fitting._design import Calibration
    >>> from hyperspy_chipping.fitting._families import Family
    >>> fam = Family("Fe", "K", ("Ka",), np.array([6.4]), np.array([1.0]),
    ...              np.array([True]))
    >>> cal, ch = Calibration(0.0, 0.01, 130.0), np.arange(2000)
    >>> d = peak_model_derivatives([fam], cal, ch, np.array([1.0]))
    >>> shifted = Calibration(1e-6, 0.01, 130.0)
    >>> numeric = (peak_columns([fam], shifted, ch) - peak_columns([fam], cal, ch))
    >>> bool(np.allclose(d[:, 0], numeric[:, 0] / 1e-6, atol=1e-3))
    True
    >>> cal = Calibration(0.0, 0.01, 130.0, tail_fraction=0.2, tail_slope=0.7)
    >>> d = peak_model_derivatives([fam], cal, ch, np.array([1.0]))
    >>> steeper = Calibration(0.0, 0.01, 130.0, tail_fraction=0.2, tail_slope=0.7001)
    >>> numeric = peak_columns([fam], steeper, ch) - peak_columns([fam], cal, ch)
    >>> bool(np.allclose(d[:, 5], numeric[:, 0] / 1e-4, atol=1e-3))
    True
    """
    out = np.zeros((np.size(channels), 6))
    lines = _line_windows(families, calibration, channels, tail=True)
    if lines is None:
        return out
    c, e, s, half = lines["centres"], lines["energy"], lines["sigma"], lines["half"]
    f, r = calibration.tail_fraction, calibration.tail_slope
    k = lines["channel"]
    upper, lower = c + half - e, c - half - e
    # d/dE of the cumulative line shape at both channel edges: the
    # Gaussian's density plus f times the tail excess's slope.
    tail_up, dr_up = tail_excess_slopes(upper / s, r)
    tail_lo, dr_lo = tail_excess_slopes(lower / s, r)
    norm = 1.0 / (s * np.sqrt(2 * np.pi))
    pdf_up = norm * np.exp(-0.5 * (upper / s) ** 2) + f * tail_up / s
    pdf_lo = norm * np.exp(-0.5 * (lower / s) ** 2) + f * tail_lo / s
    scale = lines["weight"] * np.asarray(amplitudes, float)[lines["column"]]
    width = -(upper * pdf_up - lower * pdf_lo) / s
    parts = (
        pdf_up - pdf_lo,
        pdf_up * (k + 0.5) - pdf_lo * (k - 0.5),
        width * lines["dsigma"][..., 0],
        width * lines["dsigma"][..., 1],
        tail_excess(upper / s, r) - tail_excess(lower / s, r),
        f * (dr_up - dr_lo),
    )
    inside = lines["inside"]
    index = lines["index"][inside]
    for j, part in enumerate(parts):
        out[:, j] = np.bincount(
            index, weights=(scale * part)[inside], minlength=out.shape[0]
        )
    return out
