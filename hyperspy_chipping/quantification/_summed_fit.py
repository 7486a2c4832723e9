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
"""How well the model fits the summed spectrum, and what it lacks.

The summed spectrum holds every count of the map: its fit is the strictest
test of the model. :func:`summed_fit_report` measures it (Pearson reduced
chi-squared with the model as the Poisson variance, and the largest residual
features with their significance and cause); :func:`warn_summed_fit` says
in one warning what was added to the model and what is still wrong.
"""

from __future__ import annotations

import warnings

import numpy as np

from hyperspy_chipping.fitting._peak_search import (
    find_peaks,
    identify_peak,
    variance,
)

#: A summed fit with a reduced chi-squared above this is reported as poor
#: (1 for a correct model; model imperfections of a few % of a 10^6-count
#: peak already give 2-3).
CHI2_WARNING = 5.0
#: Residual features kept in the report.
N_FEATURES = 5


def summed_fit_report(
    spectrum,
    model,
    calibration,
    channels,
    families,
    counts,
    added,
    beam_energy,
    energy_range,
    n_parameters,
):
    """Quality of the summed fit: chi2_red and the largest residual features.

    Parameters
    ----------
    spectrum, model : numpy.ndarray
        Summed counts and model in the fit channels.
    calibration : Calibration
        Refined calibration.
    channels : numpy.ndarray
        Fit channels.
    families : list of Family
        The model's families.
    counts : numpy.ndarray
        Fitted counts of every family.
    added : dict
        Elements added automatically: element -> {"line", "energy"}.
    beam_energy : float
        keV.
    energy_range : tuple of float
        Fit range (keV).
    n_parameters : int
        Number of fitted amplitudes.

    Returns
    -------
    dict
        ``chi2_red``; ``feature_energies`` (keV), ``feature_sigma``
        (significance; negative where the model exceeds the data),
        ``feature_counts`` and ``feature_causes``; ``auto_elements`` and
        ``auto_lines`` (the peak that called for each).
    """
    y = np.asarray(spectrum, dtype=float)
    mu = np.asarray(model, dtype=float)
    valid = mu > 0
    dof = max(int(valid.sum()) - n_parameters, 1)
    chi2 = float(np.sum((y[valid] - mu[valid]) ** 2 / mu[valid]) / dof)
    residual = y - np.clip(mu, 0, None)
    weights = 1.0 / variance(mu)
    features = []
    for peak in find_peaks(y, mu, calibration, channels):
        cause = identify_peak(
            peak,
            residual,
            weights,
            calibration,
            channels,
            families,
            beam_energy,
            energy_range,
            counts,
        )
        features.append((peak, _describe(cause)))
    # Where the model exceeds the data (a wrong line shape or background).
    for peak in find_peaks(2 * np.clip(mu, 0, None) - y, mu, calibration, channels):
        peak = dict(peak, sigma=-peak["sigma"], counts=-peak["counts"])
        features.append((peak, "the model exceeds the data"))
    features.sort(key=lambda f: -abs(f[0]["sigma"]))
    features = features[:N_FEATURES]
    elements = sorted(k for k in added if not added[k].get("artefact"))
    return {
        "chi2_red": chi2,
        "feature_energies": [f[0]["energy"] for f in features],
        "feature_sigma": [round(f[0]["sigma"], 1) for f in features],
        "feature_counts": [round(f[0]["counts"], 1) for f in features],
        "feature_causes": [f[1] for f in features],
        "auto_elements": elements,
        "auto_lines": [added[e]["line"] for e in elements],
        "auto_artefacts": sorted(k for k in added if added[k].get("artefact")),
    }


def _describe(cause):
    kind = cause["kind"]
    if kind == "fitted line":
        element = cause["line"].split("_")[0]
        return (
            f"{cause['line']} of the fitted {element}: its tabulated ratio is "
            "off for this detector"
        )
    if kind == "artefact":
        return f"{cause['line']} (detector artefact, not in the model)"
    if kind == "element":
        others = ", ".join(cause["candidates"])
        more = f"; or {others}" if others else ""
        return f"{cause['line']}{more}: add the element with add_elements()"
    others = ", ".join(cause.get("candidates", []))
    if others:
        return f"not a main line of any element; minor lines there: {others}"
    return "no X-ray line of the table lies there"


def warn_summed_fit(report, auto_elements=True):
    """One warning: elements added, residual features left, a poor fit."""
    parts = []
    if report.get("auto_artefacts"):
        found = ", ".join(report["auto_artefacts"])
        parts.append(
            "Detector artefacts in the summed spectrum were added to the fit "
            f"(shapes tied to their parent lines): {found}."
        )
    if report["auto_elements"]:
        added = ", ".join(
            f"{e} ({line})"
            for e, line in zip(report["auto_elements"], report["auto_lines"])
        )
        parts.append(
            f"The summed spectrum has peaks of elements not in "
            f"metadata.Sample.elements: {added}. They were added to the fit as "
            "fit-only elements (fitted, not quantified): name them with "
            "add_elements() to make this explicit, or pass auto_elements=False."
        )
    peaks = [
        f"peak at {e:.2f} keV ({s:.0f} sigma: {c})"
        for e, s, c in zip(
            report["feature_energies"],
            report["feature_sigma"],
            report["feature_causes"],
        )
        if s > 0
    ]
    if peaks:
        hint = "" if auto_elements else " (auto_elements=False)"
        parts.append(
            f"The summed spectrum has peaks the model lacks{hint}: "
            + "; ".join(peaks)
            + ". Intensities of lines under them are biased."
        )
    if report["chi2_red"] > CHI2_WARNING:
        parts.append(
            f"The fit of the summed spectrum is poor: chi2_red = "
            f"{report['chi2_red']:.1f} (1 for a correct model); see "
            "metadata.Chipping.Quantification.Summed_fit and get_fit_model()."
        )
    if parts:
        warnings.warn(
            " ".join(parts),
            UserWarning,
            stacklevel=7,  # the user's call of quantify_chips
        )
