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

from hyperspy_chipping.fitting._artefacts import ArtefactFamily
from hyperspy_chipping.fitting._element_ranking import (
    COMMON_ELEMENTS,
    MAIN_LINES,
    _line_table,
    energy_tolerance,
)
from hyperspy_chipping.fitting._peak_search import find_peaks, identify_peak, variance

#: A summed fit with a reduced chi-squared above this is reported as poor
#: (1 for a correct model; model imperfections of a few % of a 10^6-count
#: peak already give 2-3).
CHI2_WARNING = 5.0
#: Residual features kept in the report.
N_FEATURES = 5
#: A family fitted with this many times the counts that its element's
#: highest-energy family implies holds another element's peak. (Absorption
#: in the sample and the detector only lowers the low-energy families: on
#: real maps Cu L came out at 0.01-0.03 and Fe L at 0.3-0.5 of the
#: thin-film theory, Ti L at 1.8 with a window the data barely constrain;
#: an unnamed O Ka under Cr L made it 15.)
SHELL_EXCESS = 4.0


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
    window=1.0,
    bulk=False,
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
    window : float or tuple, default 1.0
        The refined detector entrance (see :func:`shell_excess`).
    bulk : bool, default False
        A bulk specimen (SEM), for naming residual peaks (see
        :func:`~hyperspy_chipping.fitting._peak_search.identify_peak`).

    Returns
    -------
    dict
        ``chi2_red``; ``feature_energies`` (keV), ``feature_sigma``
        (significance; negative where the model exceeds the data),
        ``feature_counts`` and ``feature_causes``; ``auto_elements`` and
        ``auto_lines`` (the peak that called for each); ``shell_excess``
        (:func:`shell_excess`).
    """
    y = np.asarray(spectrum, dtype=float)
    mu = np.asarray(model, dtype=float)
    valid = mu > 0
    dof = max(int(valid.sum()) - n_parameters, 1)
    # Pearson's statistic, the Poisson variance floored at one count: where
    # the model is ~0 (the continuum at the beam energy) one count would
    # otherwise weigh like millions.
    var = np.maximum(mu[valid], 1.0)
    chi2 = float(np.sum((y[valid] - mu[valid]) ** 2 / var) / dof)
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
            bulk=bulk,
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
        "shell_excess": shell_excess(
            families, counts, beam_energy, window, calibration
        ),
    }


def shell_excess(families, counts, beam_energy, window, calibration) -> list[str]:
    """Families fitted far above what their element's other family implies.

    Each element's families are compared with its highest-energy family
    (its K family beside L, L beside M), by the ratio of their detected
    photons per atom in a thin film at the refined detector window (the
    theory of :func:`~hyperspy_chipping.kfactors.theoretical_kfactors`). A
    family with more than ``SHELL_EXCESS`` times its expected counts,
    significantly, carries another element's peak: its free amplitude took
    it (Cr L, 0.50-0.65 keV, takes an unnamed O Ka at 0.525 keV).

    Parameters
    ----------
    families : list of Family
        The model's families.
    counts : numpy.ndarray
        Fitted counts of every family.
    beam_energy : float
        keV.
    window : float or tuple
        The refined detector entrance (``as_window``).
    calibration : Calibration
        For the energy tolerance of the lines named.

    Returns
    -------
    list of str
        One description a family.

    Examples
    --------
    >>> from hyperspy_chipping.fitting._design import Calibration
    >>> from hyperspy_chipping.fitting._families import physics_families
    >>> fams = physics_families(["Cr"], 200.0, (0.2, 20.0))
    >>> [f.key for f in fams]
    ['Cr_K', 'Cr_L']
    >>> cal = Calibration(0.0, 0.01, 130.0)
    >>> (found,) = shell_excess(fams, [1000.0, 11000.0], 200.0, 1.0, cal)
    >>> found.split("; ")
    ['Cr_L at 22 x the counts Cr_K implies',
     'main lines there: O_Ka (0.525 keV), V_La (0.513 keV)']
    >>> shell_excess(fams, [1000.0, 700.0], 200.0, 1.0, cal)
    []
    """
    found = []
    for family, reference, excess, lines in excess_families(
        families, counts, beam_energy, window, calibration
    ):
        named = [f"{e}_{name} ({energy:.3f} keV)" for e, name, energy in lines]
        there = f"; main lines there: {', '.join(named)}" if named else ""
        found.append(
            f"{family.key} at {excess:.0f} x the counts {reference.key} implies{there}"
        )
    return found


def excess_families(families, counts, beam_energy, window, calibration):
    """(family, reference family, excess, lines under it) of :func:`shell_excess`.

    The lines under it: (element, line, energy) of the main lines of
    unfitted elements within its lines, common elements first.
    """
    # (Here, not at the top: the kfactors package imports this one's.)
    from hyperspy_chipping.kfactors._theory import family_yield

    by_element = {}
    for family, n in zip(families, np.asarray(counts, dtype=float)):
        if not isinstance(family, ArtefactFamily):
            by_element.setdefault(family.element, []).append((family, n))
    fitted = set(by_element)
    found = []
    for items in by_element.values():
        if len(items) < 2:
            continue
        reference, n_ref = max(items, key=lambda item: item[0].main_energy)
        if n_ref <= 0:  # nothing to scale from
            continue
        try:  # detected photons per atom of each family (same atoms)
            y = {
                f.key: family_yield(f.element, f.shell, beam_energy, window=window)
                for f, _ in items
            }
        except (KeyError, ValueError):  # a shell the tables lack
            continue
        if y[reference.key] <= 0:
            continue
        for family, n in items:
            expected = n_ref * y[family.key] / y[reference.key]
            if family is reference or n <= SHELL_EXCESS * expected:
                continue
            if n - expected < 5 * np.sqrt(n):  # not significant
                continue
            lines = _lines_under(family, fitted, calibration)
            found.append((family, reference, n / expected, lines))
    return found


def _lines_under(family, fitted, calibration, n=3):
    """Main lines of other elements within `family`'s lines, common first."""
    strong = family.energies[family.weights >= 0.05]
    lo, hi = strong.min(), strong.max()
    rows = []
    for element, _, name, energy, _ in _line_table():
        tol = energy_tolerance(energy, calibration)
        if element in fitted or name not in MAIN_LINES:
            continue
        if lo - tol <= energy <= hi + tol:
            centre = abs(energy - (lo + hi) / 2)
            rows.append((element not in COMMON_ELEMENTS, centre, element, name, energy))
    rows.sort()
    return [(e, name, energy) for *_, e, name, energy in rows[:n]]


def _describe(cause):
    kind = cause["kind"]
    if kind == "fitted line" and cause.get("shape"):
        return (
            f"at the fitted {cause['line']}: its peak shape (a low-energy "
            "tail, the width) or the energy calibration is off there"
        )
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
        return f"unidentified (no element's lines fit; nearest lines: {others})"
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
    if report.get("shell_excess"):
        parts.append(
            "Families fitted far above what their element's other family "
            "implies (theoretical k-factors) hold another element's peak: "
            + "; ".join(report["shell_excess"])
            + ". Name that element with add_elements()."
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
