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
fitted there once, then held fixed for the chip fits. The fit is a variable
projection: for each trial the amplitudes are a weighted linear solve, and
Levenberg-Marquardt steps use Kaufman's Jacobian built from the analytic
derivatives of the peaks.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import replace

import numpy as np

from hyperspy_chipping.fitting import _resolution as resolution
from hyperspy_chipping.fitting._design import (
    Calibration,
    background_columns,
    detected_continuum,
    peak_columns,
    peak_model_derivatives,
)
from hyperspy_chipping.fitting._linear import normalised_normal_equations
from hyperspy_chipping.fitting._peak_shape import (
    TAIL_FRACTION_RANGE,
    TAIL_SLOPE_RANGE,
    TAIL_SLOPE_START,
)

_logger = logging.getLogger(__name__)


def design_matrix(
    families,
    calibration,
    channels,
    background,
    order,
    beam_energy,
    exspy_like=False,
    shape=None,
    window=1.0,
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
    bg = background_columns(
        background, calibration, channels, beam_energy, order, shape, window
    )
    return np.hstack([peaks, bg])


def _wls(design, y, w):
    """Weighted least squares: amplitudes minimising sum w (y - A x)^2.

    Normal equations on the column-normalised design (LAPACK's SVD least
    squares is ~1000x slower here, and these systems are small and well
    conditioned), by Cholesky; a singular system (e.g. a family without a
    channel in the fit) falls back to the pseudo-inverse.

    Returns
    -------
    coef : numpy.ndarray
        The amplitudes.
    solve : callable
        ``solve(B)`` returns ``(A^T W A)^-1 B``.
    """
    _, norms, normal = normalised_normal_equations(design, w)
    try:
        factor = np.linalg.cholesky(normal)

        def solve(b):
            b = np.asarray(b, dtype=float)
            scaled = b / (norms if b.ndim == 1 else norms[:, None])
            x = np.linalg.solve(factor.T, np.linalg.solve(factor, scaled))
            return x / (norms if b.ndim == 1 else norms[:, None])

    except np.linalg.LinAlgError:
        inverse = np.linalg.pinv(normal, hermitian=True) / np.outer(norms, norms)

        def solve(b):
            return inverse @ b

    return solve(design.T @ (w * y)), solve


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
    a, norms, normal = normalised_normal_equations(design, w)
    rhs = a.T @ (w * y)
    inverse = np.linalg.pinv(normal, hermitian=True)
    coef = inverse @ rhs
    return coef / norms, inverse / np.outer(norms, norms)


def channel_weights(model, floor_fraction=1e-3):
    """Poisson weights ``1 / mu`` from a model spectrum, floored."""
    mu = np.asarray(model, dtype=float)
    floor = max(mu.max() * floor_fraction, 1e-12)
    return 1.0 / np.clip(mu, floor, None)


#: Bounds of the refinement: offset within 3 channels of the metadata, gain
#: within 1 %, resolution (FWHM at Mn Ka) between these (eV), Fano factor
#: within :data:`~._resolution.FANO_RANGE` and electronic noise (FWHM at
#: 0 keV) at least NOISE_FLOOR (eV; > 0 so that every width is > 0).
OFFSET_RANGE_CHANNELS = 3
GAIN_RANGE = 0.01
FWHM_RANGE = (40.0, 400.0)
FANO_RANGE = resolution.FANO_RANGE
NOISE_FLOOR = 1.0
#: A low-energy tail is kept only if it lowers the summed spectrum's
#: chi-squared by this much times its reduced chi-squared (a misfit
#: elsewhere in the model does not make it significant). On simulations
#: with Gaussian peaks, a model still missing its refined detector entrance
#: gained up to 76 x; the tails of rosettasciio's Bruker and JEOL maps
#: 113-994 x.
TAIL_MIN_GAIN = 100.0
#: The tail is fitted only if a first Gauss-Newton step into it gains this
#: fraction of TAIL_MIN_GAIN (it spares most fits of Gaussian peaks a
#: second refinement).
TAIL_SCREEN = 0.25
#: The Fano term of FWHM_MnKa**2 per unit of F (eV**2).
_FANO_TERM_MNKA = resolution.FANO_SLOPE * resolution.MNKA_ENERGY * 1000.0


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
    refine_fano=True,
    window=1.0,
):
    """Fit offset, gain and the detector's width model on a high-count spectrum.

    The width model has two parameters (see :mod:`._resolution`): the FWHM
    at Mn Ka and the Fano factor, with the electronic noise (the width at
    0 keV) kept >= :data:`NOISE_FLOOR` and the Fano factor within
    :data:`FANO_RANGE`. The fit starts from `calibration` (the metadata's
    FWHM at Mn Ka and exspy's Fano factor). Both are refined from every
    channel of the fit: the lines below ~1 keV set the noise, the lines
    above set the Fano factor.

    The fit is weighted by the data (on a summed spectrum of many counts the
    data and the model agree); the weights returned, for the chip fits, come
    from the model, refitted with model weights.

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
    refine_fano : bool, default True
        Refine the Fano factor too; if False it is held at `calibration`'s
        (a model that may still lack peaks, before the summed residual is
        searched for them: a free slope of the width would chase them).
    window : float, default 1
        Scale of the detector window's thickness (continuum).

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
    cal, a = calibration, None
    if refine:
        fit = (families, channels, background, order, beam_energy)
        try:
            start, lo, hi = _bounds(calibration)
            if not refine_fano:
                lo[3] = hi[3] = start.fano
            cal = _refine_with_tail(y, w, start, lo, hi, fit, window)
        except np.linalg.LinAlgError as err:  # pragma: no cover
            warnings.warn(
                f"The calibration refinement failed ({err}); the energy "
                "calibration and resolution of the metadata are used.",
                UserWarning,
                stacklevel=7,  # the user's call of quantify_chips
            )
        else:
            a = design_matrix(
                families, cal, channels, background, order, beam_energy, window=window
            )
            w = channel_weights(a @ _wls(a, y, w)[0])  # model weights
    if a is None:
        a = design_matrix(
            families, cal, channels, background, order, beam_energy, window=window
        )
    model = a @ _wls(a, y, w)[0]
    w = channel_weights(model)
    _logger.info("calibration: %s", cal)
    return cal, w, model


def _refine_with_tail(y, w, start, lo, hi, fit, window):
    """The calibration, with a low-energy tail where the data show one.

    Fitted with Gaussian peaks, then, if a first Gauss-Newton step into a
    tail promises :data:`TAIL_SCREEN` of the gain asked for, with the tail
    free; the tail is kept if it lowers chi-squared by
    :data:`TAIL_MIN_GAIN` times the reduced chi-squared of the fit with it.
    """
    gauss_lo, gauss_hi = lo.copy(), hi.copy()
    gauss_lo[4] = gauss_hi[4] = 0.0
    gauss_lo[5] = gauss_hi[5] = TAIL_SLOPE_START
    gaussian = _levenberg_marquardt(
        y,
        w,
        replace(start, tail_fraction=0.0, tail_slope=TAIL_SLOPE_START),
        gauss_lo,
        gauss_hi,
        *fit,
        window=window,
    )
    dof = max(y.size - 6, 1)
    threshold = TAIL_MIN_GAIN * max(gaussian[-1] / dof, 1.0)
    free = (np.asarray(lo) < np.asarray(hi))[:5]  # r: no slope at no tail
    if _tail_gain(gaussian, w, fit, window, free) < TAIL_SCREEN * threshold:
        return gaussian[0]  # a Gauss-Newton step into a tail gains too little
    begin = start if start.tail_fraction > 0 else gaussian[0]
    tailed = _levenberg_marquardt(y, w, begin, lo, hi, *fit, window=window)
    cal, cost = tailed[0], tailed[-1]
    if cal.tail_fraction <= 0 or gaussian[-1] - cost < TAIL_MIN_GAIN * max(
        cost / dof, 1.0
    ):
        return gaussian[0]
    return cal


def _tail_gain(state, w, fit, window, free):
    """Chi-squared a first Gauss-Newton step into a tail would gain.

    At the end `state` of a fit with Gaussian peaks (see
    :func:`_levenberg_marquardt`), with the amplitudes projected out and the
    other `free` parameters (offset, gain, width) following, as in the fit.
    """
    calibration, a, coef, solve, residual, _ = state
    jac = _projected_jacobian(calibration, a, coef, solve, w, fit, window)
    jac = jac[:, np.flatnonzero(free)]
    gradient = jac.T @ residual
    return float(gradient @ np.linalg.pinv(jac.T @ jac) @ gradient)


def _projected_jacobian(cal, a, coef, solve, w, fit, window):
    """Derivatives of the weighted residual with respect to the calibration.

    Kaufman's variable projection: the model's change, less what the
    linear amplitudes absorb.
    """
    families, channels, background, _, beam_energy = fit
    n_peaks = len(families)
    slope = peak_model_derivatives(families, cal, channels, coef[:n_peaks])
    slope[:, :2] += _background_derivatives(
        a[:, n_peaks:] @ coef[n_peaks:], cal, channels, background, beam_energy, window
    )
    return -np.sqrt(w)[:, None] * (slope - a @ solve(a.T @ (w[:, None] * slope)))


def _bounds(calibration):
    """Starting point and bounds of the fit (the parameters of Calibration).

    The Fano factor starts at the calibration's (exspy's Fiori-Newbury
    value unless the results say otherwise), within :data:`FANO_RANGE`,
    lowered if the metadata's resolution is below its Fano limit; the
    resolution is then raised to the limit of the lowest Fano factor if
    needed. ``noise >= 0`` is kept by :func:`_project`.
    """
    d_off = OFFSET_RANGE_CHANNELS * calibration.scale
    fano_lo, fano_hi = FANO_RANGE
    fano = float(np.clip(calibration.fano, fano_lo, fano_hi))
    fwhm = float(np.clip(calibration.fwhm_mnka, *FWHM_RANGE))
    room = fwhm**2 - NOISE_FLOOR**2
    fano = float(np.clip(min(fano, room / _FANO_TERM_MNKA), fano_lo, fano_hi))
    lo = np.array(
        [
            calibration.offset - d_off,
            calibration.scale * (1 - GAIN_RANGE),
            FWHM_RANGE[0],
            fano_lo,
            TAIL_FRACTION_RANGE[0],
            TAIL_SLOPE_RANGE[0],
        ]
    )
    hi = np.array(
        [
            calibration.offset + d_off,
            calibration.scale * (1 + GAIN_RANGE),
            FWHM_RANGE[1],
            fano_hi,
            TAIL_FRACTION_RANGE[1],
            TAIL_SLOPE_RANGE[1],
        ]
    )
    tail = np.clip([calibration.tail_fraction, calibration.tail_slope], lo[4:], hi[4:])
    q = _project(np.array([calibration.offset, calibration.scale, fwhm, fano, *tail]))
    return Calibration(*q), lo, hi


def _project(q):
    """`q` with the resolution raised so that the noise is >= NOISE_FLOOR."""
    q = np.array(q, dtype=float)
    q[2] = max(q[2], resolution.resolution_mnka(NOISE_FLOOR, q[3]) + 1e-6)
    return q


#: Convergence of the calibration: steps below these (offset and channel
#: width in units of the channel width, resolution in eV, Fano factor, tail
#: fraction and slope) end the fit.
_TOLERANCE = (1e-4, 1e-7, 1e-3, 1e-5, 1e-4, 1e-3)


def _levenberg_marquardt(
    y,
    w,
    start,
    lo,
    hi,
    families,
    channels,
    background,
    order,
    beam_energy,
    max_iterations=50,
    window=1.0,
):
    """Fit the calibration within [lo, hi] by variable projection.

    Returns the final state: the calibration, its design matrix, amplitudes,
    normal-equation solver, weighted residual and cost (sum of squares).
    """
    sqrt_w = np.sqrt(w)
    tolerance = np.array(_TOLERANCE) * [start.scale, start.scale, 1, 1, 1, 1]

    def evaluate(q):
        """(calibration, design, amplitudes, solve, residual, cost) at `q`."""
        cal = Calibration(*q)
        a = design_matrix(
            families, cal, channels, background, order, beam_energy, window=window
        )
        coef, solve = _wls(a, y, w)
        residual = sqrt_w * (y - a @ coef)
        return cal, a, coef, solve, residual, residual @ residual

    q = np.array(
        [
            start.offset,
            start.scale,
            start.fwhm_mnka,
            start.fano,
            start.tail_fraction,
            start.tail_slope,
        ]
    )
    fixed = np.asarray(lo) >= np.asarray(hi)
    state, damping = evaluate(q), 1e-3
    for _ in range(max_iterations):
        cal, a, coef, solve, residual, cost = state
        fit = (families, channels, background, order, beam_energy)
        jac = _projected_jacobian(cal, a, coef, solve, w, fit, window)
        jac[:, fixed] = 0.0  # a parameter whose bounds meet is held
        normal, gradient = jac.T @ jac, jac.T @ residual
        diagonal = np.diag(normal).copy()
        diagonal[diagonal == 0] = 1.0
        while True:
            step = np.linalg.solve(normal + damping * np.diag(diagonal), -gradient)
            trial = _project(np.clip(q + step, lo, hi))
            candidate = evaluate(trial)
            if candidate[-1] <= cost or damping > 1e8:
                break
            damping *= 10.0
        if candidate[-1] > cost:
            break  # no step lowers the cost: at the minimum (within bounds)
        done = np.all(np.abs(trial - q) < tolerance)
        q, state = trial, candidate
        damping = max(damping / 10.0, 1e-9)
        if done:
            break
    return state


def _background_derivatives(
    model, calibration, channels, kind, beam_energy, window=1.0
):
    """d/d offset and d/d scale of a fitted background, amplitudes fixed.

    The polynomial of :func:`background_columns` is in a coordinate that
    maps the fit range to [-1, 1] whatever the calibration, so only the
    continuum factor ``c(E)`` moves: ``model * c'(E) / c(E)`` times
    ``dE/d offset = 1`` or ``dE/d scale = channel``.
    """
    if kind != "bremsstrahlung":
        return np.zeros((np.size(channels), 2))
    energy = calibration.centres(channels)
    step = 1e-3 * calibration.scale
    continuum = detected_continuum(energy, beam_energy, window)
    slope = (
        detected_continuum(energy + step, beam_energy, window)
        - detected_continuum(energy - step, beam_energy, window)
    ) / (2 * step)
    log_slope = np.divide(
        slope, continuum, out=np.zeros_like(slope), where=continuum > 0
    )
    change = model * log_slope
    return np.stack([change, change * np.asarray(channels, float)], axis=1)
