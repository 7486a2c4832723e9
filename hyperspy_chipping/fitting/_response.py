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
"""The detector's low-energy response, refined on the summed spectrum.

Below ~1 keV the detected spectrum is shaped by the detector's window (its
polymer, its coating, ice, the support grid): the nominal window of the
model (:data:`~._xray_families.DETECTOR_LAYERS`) is rarely the detector's.
A wrong window skews the continuum under O Kα and the detected shapes of
the low-energy families (Ti L, Fe L, La M), and the composition with them.
The window's thickness is refined here as one bounded, physical parameter:
the polymer's thickness, from none to three times nominal, as the value
that best fits the summed spectrum (every line weight and the continuum
multiplied by the window's relative transmission).
"""

from __future__ import annotations

import numpy as np

from hyperspy_chipping.fitting._calibrate import _wls, design_matrix
from hyperspy_chipping.fitting._design import window_factor

#: Window thickness scales tried (0: no polymer, 1: nominal).
WINDOW_SCALES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)


def scaled_families(families, scale: float):
    """`families` with every line weight times the window's relative
    transmission at `scale` (each family renormalised).

    Examples
    --------
    >>> from hyperspy_chipping.fitting._families import physics_families
    >>> ti = physics_families(["Ti"], 300.0, (0.2, 20.0))
    >>> [round(float(f.weights.sum()), 6) for f in scaled_families(ti, 0.0)]
    [1.0, 1.0]
    """
    from hyperspy_chipping.fitting._artefacts import ArtefactFamily

    if scale == 1.0:
        return list(families)
    # (An artefact's photons crossed the window at their parent's energy.)
    return [
        f
        if isinstance(f, ArtefactFamily)
        else f.with_weights(f.weights * window_factor(f.energies, scale))
        for f in families
    ]


def refine_window(
    spectrum, weights, families, calibration, channels, background, order, beam_energy
):
    """The window thickness scale that best fits `spectrum`, and its chi2 curve.

    Parameters
    ----------
    spectrum : numpy.ndarray
        Counts in the fit channels (the summed spectrum).
    weights : numpy.ndarray
        Channel weights ``1 / model``.
    families : list of Family
        Families at the nominal window.
    calibration : Calibration
        Refined calibration.
    channels : numpy.ndarray
        Fit channels.
    background, order, beam_energy
        Background model.

    Returns
    -------
    float
        The scale (a parabola through the best grid point and its
        neighbours, within the grid's range).
    dict
        ``{scale: weighted chi-squared}`` of the grid.
    """
    y = np.asarray(spectrum, dtype=float)
    costs = {}
    for scale in WINDOW_SCALES:
        fams = scaled_families(families, scale)
        a = design_matrix(
            fams, calibration, channels, background, order, beam_energy, window=scale
        )
        r = y - a @ _wls(a, y, weights)[0]
        costs[scale] = float(r @ (weights * r))
    scales = np.array(WINDOW_SCALES)
    chi = np.array([costs[s] for s in WINDOW_SCALES])
    best = int(np.argmin(chi))
    if 0 < best < len(scales) - 1:
        x, c = scales[best - 1 : best + 2], chi[best - 1 : best + 2]
        coef = np.polyfit(x, c, 2)
        if coef[0] > 0:
            vertex = -coef[1] / (2 * coef[0])
            return float(np.clip(vertex, x[0], x[-1])), costs
    return float(scales[best]), costs


def window_uncertainty(costs: dict, n_channels: int, n_parameters: int = 0) -> float:
    """Standard deviation of the refined window scale, from its chi2 curve.

    The curvature of the parabola through the grid point of least chi2 and
    its neighbours (``chi2 = a (s - s0)**2 + ...``, so ``sigma = 1 /
    sqrt(a)`` for a Poisson-weighted chi2), inflated by ``sqrt(chi2_red)``
    when the model fits the summed spectrum worse than its noise (what the
    window then absorbs is not counting noise).

    Parameters
    ----------
    costs : dict
        ``{scale: weighted chi-squared}`` from :func:`refine_window`.
    n_channels : int
        Channels of the fit.
    n_parameters : int, default 0
        Free parameters of the fit (for the reduced chi-squared).

    Returns
    -------
    float
        The standard deviation (``inf`` if the curve has no minimum inside
        the grid: the scale is then at a bound).

    Examples
    --------
    >>> costs = {s: 100.0 + 400.0 * (s - 0.5) ** 2 for s in WINDOW_SCALES}
    >>> round(window_uncertainty(costs, 101, 1), 3)  # 1 / sqrt(400)
    0.05
    """
    scales = np.array(sorted(costs))
    chi = np.array([costs[s] for s in scales])
    best = int(np.argmin(chi))
    best = min(max(best, 1), scales.size - 2)
    x, c = scales[best - 1 : best + 2], chi[best - 1 : best + 2]
    curvature = np.polyfit(x, c, 2)[0]
    if not curvature > 0:
        return float("inf")
    chi2_red = float(chi.min()) / max(1, int(n_channels) - int(n_parameters))
    return float(np.sqrt(max(chi2_red, 1.0) / curvature))
