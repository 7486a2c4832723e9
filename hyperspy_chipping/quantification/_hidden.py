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
"""Elements whose peak a fitted family took, found and added to the fit.

A peak under a fitted family leaves no residual: the family's free amplitude
takes it (Ti L, 0.40-0.53 keV, takes an unnamed O Kα at 0.525 keV; Cr L too).
:func:`~hyperspy_chipping.quantification._summed_fit.excess_families` finds
such a family by its excess over what its element's other family implies;
here the system element whose main line lies under it is added to the summed
fit when the fit gains significantly from it.
"""

from __future__ import annotations

import numpy as np

from hyperspy_chipping.fitting._calibrate import _wls, design_matrix
from hyperspy_chipping.fitting._element_ranking import SYSTEM_ELEMENTS
from hyperspy_chipping.fitting._families import physics_families
from hyperspy_chipping.fitting._response import scaled_families
from hyperspy_chipping.quantification._summed_fit import excess_families

#: Least drop of the summed fit's chi-squared for an element to be added:
#: 5 sigma for one more amplitude.
MIN_GAIN = 25.0


def summed_refit(total, weights, calibration, channels, args, window=1.0):
    """``refit(families) -> (model, counts)``: the summed spectrum's linear fit.

    With the weights of the model fitted so far (``calibrate``); `args` are
    the design's ``(background, order, beam_energy)``.
    """

    def refit(families):
        a = design_matrix(families, calibration, channels, *args, window=window)
        coef = _wls(a, total, weights)[0]
        return a @ coef, coef[: len(families)]

    return refit


def add_hidden_elements(
    total, weights, families, refit, beam_energy, energy_range, window, calibration
):
    """Add the system elements whose main line a fitted family took.

    For each family of :func:`excess_families`, the first system element
    (``SYSTEM_ELEMENTS``) among the main lines under it is tried: its
    families are added to the summed fit, and kept if the weighted
    chi-squared drops by more than ``MIN_GAIN`` and its own family comes out
    positive. Repeated while an excess is left (at most twice).

    Parameters
    ----------
    total, weights : numpy.ndarray
        Summed counts and ``1 / variance`` in the fit channels.
    families : list of Family
        The model's families.
    refit : callable
        From :func:`summed_refit`.
    beam_energy : float
        keV.
    energy_range : tuple of float
        Fit range (keV).
    window : float or tuple
        The refined detector entrance.
    calibration : Calibration
        Energy axis and resolution.

    Returns
    -------
    families : list of Family
        With the added elements' families appended.
    added : dict
        Element -> ``{"line", "energy"}``: the main line that called for it.
    """
    y = np.asarray(total, dtype=float)
    model, counts = refit(families)
    chi2 = float(np.sum(weights * (y - model) ** 2))
    added = {}
    for _ in range(2):
        best = None
        excess = excess_families(families, counts, beam_energy, window, calibration)
        for _family, _reference, _ratio, lines in excess:
            system = [line for line in lines if line[0] in SYSTEM_ELEMENTS]
            if not system:
                continue
            element, name, energy = system[0]
            more = physics_families([element], beam_energy, energy_range)
            trial = list(families) + scaled_families(more, window)
            model_t, counts_t = refit(trial)
            chi2_t = float(np.sum(weights * (y - model_t) ** 2))
            if chi2 - chi2_t > MIN_GAIN and counts_t[len(families)] > 0:
                best = (trial, model_t, counts_t, chi2_t, element, name, energy)
                break
        if best is None:
            break
        families, model, counts, chi2, element, name, energy = best
        added[element] = {"line": f"{element}_{name}", "energy": float(energy)}
    return families, added
