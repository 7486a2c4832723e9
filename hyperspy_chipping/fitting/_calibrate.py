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
"""Refine the energy calibration and resolution on the summed spectrum.

The sum of all chips holds every count of the map, so the few non-linear
parameters of the model — energy offset, gain and detector resolution — are
fitted there once (variable projection: for each trial the amplitudes are a
weighted linear solve), then held fixed for the chip fits.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
from scipy.optimize import least_squares

from hyperspy_chipping.fitting._design import (
    Calibration,
    background_columns,
    peak_columns,
)

_logger = logging.getLogger(__name__)


def design_matrix(
    families, calibration, channels, background, order, beam_energy, exspy_like=False
):
    """Peaks then background columns, for the channels of the fit.

    Examples
    --------
    >>> from hyperspy_chipping.fitting._families import physics_families
    >>> fams = physics_families(["Fe"], 300.0, (0.2, 20.0))
    >>> cal = Calibration(0.0, 0.01, 130.0)
    >>> design_matrix(fams, cal, np.arange(20, 2000), "bremsstrahlung", 3,
    ...               300.0).shape
    (1980, 6)
    """
    peaks = peak_columns(families, calibration, channels, exspy_like=exspy_like)
    bg = background_columns(background, calibration, channels, beam_energy, order)
    return np.hstack([peaks, bg])


def _wls(design, y, w):
    """Weighted least squares: amplitudes minimising sum w (y - A x)^2.

    Normal equations on column-normalised design (LAPACK's SVD least squares
    is ~1000x slower here, and these systems are small and well conditioned).
    """
    coef, _ = solve_normal(design, y, w)
    return coef


def solve_normal(design, y, w):
    """Weighted least squares and the inverse normal matrix (covariance).

    Returns
    -------
    coef : numpy.ndarray
        The amplitudes.
    inverse : numpy.ndarray
        ``(A^T W A)^-1``: the covariance of `coef` when ``w = 1 / variance``.

    Examples
    --------
    >>> A = np.vander(np.linspace(0, 1, 20), 2)
    >>> coef, _ = solve_normal(A, A @ np.array([2.0, 1.0]), np.ones(20))
    >>> coef.round(6)
    array([2., 1.])
    """
    norms = np.sqrt((design**2 * w[:, None]).sum(axis=0))
    norms[norms == 0] = 1.0
    a = design / norms
    normal = a.T @ (a * w[:, None])
    rhs = a.T @ (w * y)
    inverse = np.linalg.pinv(normal, hermitian=True)
    coef = inverse @ rhs
    return coef / norms, inverse / np.outer(norms, norms)


def channel_weights(model, floor_fraction=1e-3):
    """Poisson weights ``1 / mu`` from a model spectrum, floored."""
    mu = np.asarray(model, dtype=float)
    floor = max(mu.max() * floor_fraction, 1e-12)
    return 1.0 / np.clip(mu, floor, None)


def calibrate(
    spectrum,
    channels,
    calibration,
    families,
    background,
    order,
    beam_energy,
    *,
    refine=True,
    offset_range=None,
    gain_range=0.01,
    fwhm_range=(40.0, 400.0),
    rounds=1,
):
    """Fit offset, gain and resolution on a high-count spectrum.

    Parameters
    ----------
    spectrum : numpy.ndarray
        Counts in the channels of the fit (e.g. the sum of all chips).
    channels : numpy.ndarray
        Their channel indices.
    calibration : Calibration
        Starting calibration (from the metadata).
    families : list of Family
        Line families of the model.
    background : str
        Background kind.
    order : int
        Background polynomial degree.
    beam_energy : float
        keV.
    refine : bool, default True
        Refine; if False only the weights are computed.
    offset_range : float, optional
        Largest offset change (keV); default 3 channels.
    gain_range : float, default 0.01
        Largest relative gain change.
    fwhm_range : tuple of float
        Bounds of the resolution (eV).
    rounds : int, default 1
        Fits, each weighted by the model of the previous one (the first by
        the data: on a summed spectrum of many counts the two agree).

    Returns
    -------
    calibration : Calibration
        The refined calibration.
    weights : numpy.ndarray
        Channel weights ``1 / model`` for the chip fits.
    model : numpy.ndarray
        The fitted model of `spectrum`.
    """
    y = np.asarray(spectrum, dtype=float)
    w = channel_weights(np.clip(y, 1.0, None))

    def build(p):
        cal = Calibration(
            calibration.offset + p[0], calibration.scale * (1 + p[1]), p[2]
        )
        return cal, design_matrix(
            families, cal, channels, background, order, beam_energy
        )

    def residual(p, w):
        _, a = build(p)
        coef = _wls(a, y, w)
        return np.sqrt(w) * (y - a @ coef)

    p = np.array([0.0, 0.0, float(calibration.fwhm_mnka)])
    if refine:
        d_off = 3 * calibration.scale if offset_range is None else offset_range
        lo = [-d_off, -gain_range, fwhm_range[0]]
        hi = [d_off, gain_range, fwhm_range[1]]
        p[2] = np.clip(p[2], lo[2] + 1e-6, hi[2] - 1e-6)
        for _ in range(rounds):  # later rounds: weights from the previous model
            try:
                res = least_squares(
                    residual,
                    p,
                    args=(w,),
                    bounds=(lo, hi),
                    x_scale=[calibration.scale, 1e-3, 10.0],
                    diff_step=1e-4,
                )
                p = res.x
            except (ValueError, np.linalg.LinAlgError) as err:  # pragma: no cover
                warnings.warn(
                    f"The calibration refinement failed ({err}); the energy "
                    "calibration and resolution of the metadata are used.",
                    UserWarning,
                    stacklevel=7,  # the user's call of quantify_chips
                )
                p = np.array([0.0, 0.0, float(calibration.fwhm_mnka)])
                break
            cal, a = build(p)
            w = channel_weights(a @ _wls(a, y, w))
    cal, a = build(p)
    model = a @ _wls(a, y, w)
    w = channel_weights(model)
    _logger.info("calibration: %s", cal)
    return cal, w, model
