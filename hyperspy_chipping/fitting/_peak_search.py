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
"""Peaks nobody named: find them in the summed residual and identify them.

A real spectrum holds more than the elements a user names: the carbon film,
oxygen, the Si of the detector or the specimen, the Cu grid, Cr/Fe/Mo/Ga of
the holder and the preparation. An unmodelled peak biases every line under
it and pulls the background. On the summed spectrum, where counts are
plentiful:

1. :func:`find_peaks`: the residual (data less model) is tested, at every
   channel, against a Gaussian of the detector's width there, weighted by
   the Poisson variance of the summed spectrum (the model): a matched filter,
   the most sensitive linear test for a peak of known shape. Peaks above
   ``threshold`` standard deviations are kept; a channel range without
   counts can hold none (the model is clipped at zero).
2. :func:`identify_peak`: a peak at a line of an element already fitted is
   that line (its tabulated ratio is off); else a detector artefact of a
   fitted line (Si escape, pile-up) if it sits there and is small enough;
   else the elements with a line there are ranked by how well their whole
   signature — every line of every family excited, at its physics weight
   and detected yield (:mod:`._xray_families`) — explains the residual (a
   weighted least-squares fit of one amplitude: companion lines that the
   data lack count against it), with common system and contamination
   elements and main lines preferred.
"""

from __future__ import annotations

import numpy as np

from hyperspy_chipping.fitting._artefacts import (
    PILE_UP_FRACTION,
    artefact_for,
    pile_up_consistent,
    pile_up_in_reach,
)
from hyperspy_chipping.fitting._element_ranking import (
    COMMON_ELEMENTS,
    MAIN_LINES,
    MIN_LINE_WEIGHT,
    SYSTEM_ELEMENTS,
    energy_tolerance,
    rank_elements,
)
from hyperspy_chipping.fitting._residual_peaks import (  # noqa: F401 (re-exported)
    THRESHOLD,
    _stands_out_locally,
    find_peaks,
    peak_at,
    variance,
)

#: A residual within this many FWHM of a fitted line this many times larger
#: is that line's shape or ratio, not another element.
NEIGHBOUR_FWHM = 1.5
NEIGHBOUR_RATIO = 10.0
#: A residual at a fitted line is that line's ratio only if the line, at
#: this many times its fitted counts (the widest sub-line bound, 3d-metal
#: L lines ending on M1), would hold it: a peak of 10^4 counts is not a
#: minor line of a family fitted at ~0 counts (Nd Lb6 of absent Nd for a
#: Mn Ka peak at 5.90 keV).
LINE_RATIO_SLACK = 20.0
#: The element's whole signature must explain at least this fraction of the
#: peak's chi-squared (lines the physics predicts but the data lack lower
#: it); common elements, whose low-energy lines sit where the detector's
#: response is least known, half of it.
CONSISTENCY = 0.5
COMMON_CONSISTENCY = 0.5
#: Pile-up (sum) peaks of two lines are looked for among the main lines of
#: this many strongest families.
PILE_UP_FAMILIES = 4
#: A residual peak beside a fitted line, with a deficit of at least this
#: many standard deviations on the line's other side, is that line's
#: position or width (a misfit's residual has both lobes), not another
#: element: see :func:`shifted_line_at`.
LOBE_SIGMA = 3.0


def fitted_line_at(energy, families, calibration, counts=None, peak_counts=None):
    """The line of a fitted family that explains a peak at `energy`, or None.

    A line within :func:`energy_tolerance`, e.g. ``"Pt_Mz"``; with `counts`
    (fitted counts per family) and `peak_counts`, also a line within
    ``NEIGHBOUR_FWHM`` peak widths that is ``NEIGHBOUR_RATIO`` times larger
    than the peak (the residual is its shape).

    Examples
    --------
    >>> from hyperspy_chipping.fitting._design import Calibration
    >>> from hyperspy_chipping.fitting._families import physics_families
    >>> pt = physics_families(["Pt"], 200.0, (0.2, 20.0))
    >>> cal = Calibration(0.0, 0.01, 130.0)
    >>> fitted_line_at(1.60, pt, cal)
    'Pt_Mz'
    >>> fitted_line_at(1.74, pt, cal) is None
    True

    A 5000-count peak at Pt Mz is not Pt's if Pt's M family is fitted at 10
    counts:

    >>> fitted_line_at(1.60, pt, cal, np.array([0.0, 10.0]), 5000.0) is None
    True
    """
    tol = energy_tolerance(energy, calibration)
    fwhm = float(calibration.fwhm(max(energy, 0.05)))
    best = None
    for j, fam in enumerate(families):
        for name, e, w in zip(fam.names, fam.energies, fam.weights):
            d = abs(float(e) - energy)
            near = w >= MIN_LINE_WEIGHT * 0.1 and d <= tol
            if near and counts is not None and peak_counts is not None:
                line_counts = w * max(float(counts[j]), 0.0)
                near = LINE_RATIO_SLACK * line_counts >= peak_counts
            if not near and counts is not None and peak_counts is not None:
                big = w * max(float(counts[j]), 0.0) > NEIGHBOUR_RATIO * peak_counts
                near = big and d <= NEIGHBOUR_FWHM * fwhm
            if near and (best is None or d < best[0]):
                best = (d, f"{fam.element}_{name}")
    return None if best is None else best[1]


def shifted_line_at(
    peak, families, counts, residual, weights, calibration, channels
) -> str | None:
    """The fitted line whose misfit makes `peak`, if the residual says so.

    A line misplaced or of the wrong width (a calibration that drifts from
    the one refined, a peak broader than the model's) leaves a residual of
    two lobes, one on each side of it: a peak on one side and a deficit on
    the other. A line within ``NEIGHBOUR_FWHM`` peak widths of `peak` that
    holds at least the peak's counts, with a deficit of more than
    ``LOBE_SIGMA`` standard deviations at the mirror image of `peak` across
    it (the matched filter of :func:`find_peaks`, :func:`peak_at`), explains
    the peak; an element's line
    there (e.g. Co Ka, 6.93 keV, beside Fe Kb, 7.06 keV) would leave no
    deficit. A calibration that drifts moves every line of a family alike,
    and a minor line's lobes then come with larger ones at its family's
    main line: a minor line is blamed only if the main line's residual,
    offset as the peak is from the line, is at least as significant as the
    peak (on exspy's FePt spectrum the 6.93 keV peak beside Fe Kb has none
    at Fe Ka: Co Ka, as the Fe-Co pole pieces of TEM objective lenses give).

    Parameters
    ----------
    peak : dict
        ``energy`` and ``counts`` of the residual peak.
    families : list of Family
        The model's families.
    counts : numpy.ndarray
        Fitted counts of every family.
    residual, weights : numpy.ndarray
        Summed spectrum less the model, and ``1 / variance``, per fit channel.
    calibration : Calibration
        Energy axis and resolution.
    channels : numpy.ndarray
        Fit channel indices.

    Returns
    -------
    str or None
        The line, e.g. ``"Fe_Kb1"``.

    Examples
    --------
    Fe K fitted at 6.40 and 7.06 keV, the data's lines 30 eV lower: the
    residual's peak below Fe Kb is Fe Kb's, not Co Ka (6.93 keV).

    >>> from hyperspy_chipping.fitting._design import Calibration, peak_columns
    >>> from hyperspy_chipping.fitting._families import physics_families
    >>> cal, ch = Calibration(0.0, 0.01, 130.0), np.arange(2000)
    >>> fe = physics_families(["Fe"], 200.0, (0.2, 20.0))[:1]
    >>> model = peak_columns(fe, cal, ch)[:, 0] * 1e5 + 100
    >>> drift = Calibration(0.03, 0.01, 130.0)  # the data: lines 30 eV lower
    >>> data = peak_columns(fe, drift, ch)[:, 0] * 1e5 + 100
    >>> r, w = data - model, 1 / model
    >>> e = cal.centres(ch)
    >>> at = int(np.argmax(np.where(np.abs(e - 6.96) < 0.08, r, -np.inf)))
    >>> peak = {"energy": float(e[at]), "counts": float(r[at - 7 : at + 8].sum())}
    >>> shifted_line_at(peak, fe, np.array([1e5]), r, w, cal, ch)
    'Fe_Kb3'

    Without the deficit (an element's peak there), no line is blamed:

    >>> shifted_line_at(peak, fe, np.array([1e5]), np.clip(r, 0, None), w, cal, ch)
    """
    energy = float(peak["energy"])
    fwhm = float(calibration.fwhm(max(energy, 0.05)))
    e = calibration.centres(channels)

    def lobe(centre):  # the residual's peak there, in standard deviations
        if not e[0] <= centre <= e[-1]:
            return 0.0
        area, std = peak_at(residual, weights, calibration, channels, centre)
        return area / std

    best = None
    for fam, n in zip(families, np.asarray(counts, dtype=float)):
        for name, e_line, w in zip(fam.names, fam.energies, fam.weights):
            d = float(e_line) - energy
            if not 0 < abs(d) <= NEIGHBOUR_FWHM * fwhm:
                continue
            if w * max(n, 0.0) < peak["counts"]:
                continue
            deficit = lobe(float(e_line) + max(abs(d), 0.5 * fwhm) * np.sign(d))
            if not deficit < -LOBE_SIGMA or (best is not None and deficit >= best[0]):
                continue
            main = float(fam.main_energy)
            if abs(main - float(e_line)) > 0.5 * fwhm:  # a minor line
                if lobe(main - d) < peak.get("sigma", LOBE_SIGMA):
                    continue
            best = (deficit, f"{fam.element}_{name}")
    return None if best is None else best[1]


def sum_peaks_at(energy, families, counts, peak_counts, tol):
    """Pile-up (sum) peaks of two different strong lines at `energy`.

    Two photons of lines i and j absorbed within the pulse-pair resolution
    are counted as one at ``E_i + E_j``; the main lines of the
    ``PILE_UP_FAMILIES`` strongest families are paired. With `counts`, a
    pair is a candidate only if the peak is at most ``PILE_UP_FRACTION`` of
    the geometric mean of the two lines' counts.

    Examples
    --------
    >>> from hyperspy_chipping.fitting._families import physics_families
    >>> fams = physics_families(["Cu", "Pt"], 200.0, (0.2, 20.0))
    >>> [f.key for f in fams]
    ['Cu_K', 'Cu_L', 'Pt_L', 'Pt_M']
    >>> sum_peaks_at(9.44 + 2.05, fams, None, None, 0.05)
    ['pile-up peak of Pt_La + Pt_Ma']
    >>> sum_peaks_at(9.44 + 2.05 + 0.04, fams, None, None, 0.05)  # above the sum
    []
    """
    if counts is None:
        order = range(len(families))
    else:
        order = np.argsort(-np.asarray(counts, float))[:PILE_UP_FAMILIES]
    found = []
    order = list(order)
    for a, i in enumerate(order):
        for j in order[a + 1 :]:
            fi, fj = families[i], families[j]
            where = fi.main_energy + fj.main_energy
            # Two pulses add up to at most the sum of their energies (less
            # when the second comes during the first's rise): a peak above
            # it by more than half the tolerance is not their sum (2.613 keV
            # on a JEOL map is Cl Ka, 2.622, not C Ka + S Ka, 2.585).
            if abs(where - energy) > tol or energy - where > tol / 2:
                continue
            if counts is not None and peak_counts is not None:
                mean = np.sqrt(max(counts[i], 0.0) * max(counts[j], 0.0))
                if peak_counts > PILE_UP_FRACTION * mean:
                    continue
            first, second = sorted((fi.line, fj.line))
            found.append((abs(where - energy), f"pile-up peak of {first} + {second}"))
    return [name for _, name in sorted(found)]


#: Artefacts added to the fit when found: Si escape peaks, whose shape and
#: size follow from their parent line. Pile-up peaks are named, not fitted:
#: their rate depends on the count rate and dead time, and a sum peak inside
#: a family's range (Pt La + Pt Ma at 11.5 keV, among the Pt Lb lines) would
#: trade counts with that family's refined ratios.
AUTO_ARTEFACTS = ("Si escape peak of ", "pile-up peak of ")
#: Artefacts are added only above this energy (keV): below, a sum peak of
#: light lines (C Ka + C Ka at 0.55 keV) cannot be told from O Ka.
MIN_ARTEFACT_ENERGY = 1.0


def _resolved(peak, families, calibration):
    """Whether an artefact at `peak` is apart from every fitted line."""
    return peak["energy"] >= MIN_ARTEFACT_ENERGY and not _near_a_line(
        peak["energy"], families, calibration
    )


def _near_a_line(energy, families, calibration):
    fwhm = float(calibration.fwhm(max(energy, 0.05)))
    return any(
        abs(float(e) - energy) <= NEIGHBOUR_FWHM * fwhm
        for fam in families
        for e, w in zip(fam.energies, fam.weights)
        if w >= MIN_LINE_WEIGHT
    )


def identify_peak(
    peak,
    residual,
    weights,
    calibration,
    channels,
    families,
    beam_energy,
    energy_range,
    counts=None,
    window=1.0,
    bulk=False,
):
    """Name the cause of one residual peak.

    Parameters
    ----------
    peak : dict
        From :func:`find_peaks`.
    residual, weights : numpy.ndarray
        Summed spectrum less the model, and ``1 / variance``, per fit channel.
    calibration : Calibration
        Energy axis and resolution.
    channels : numpy.ndarray
        Fit channel indices.
    families : list of Family
        The families already in the model.
    beam_energy : float
        keV.
    energy_range : tuple of float
        Fit range (keV).
    counts : numpy.ndarray, optional
        Fitted counts of every family: an artefact of a line is a candidate
        only if the line is strong enough to make the peak.
    window : float or tuple of float, default 1.0
        The detector entrance of the fit: a candidate element's companion
        lines are expected as that detector sees them.
    bulk : bool, default False
        A bulk specimen (SEM): a candidate's families of other shells below
        ``BULK_SIGNATURE_MIN_ENERGY`` are not expected (absorbed).

    Returns
    -------
    dict
        ``kind``: ``"fitted line"`` (``line`` names it; ``"shape"``: True
        when the peak is on the line's flank, beyond the energy tolerance,
        or at its family's main line, which the family's amplitude follows:
        the peak shape or the calibration, not a ratio), ``"artefact"``
        (``line`` says which), ``"element"`` (``element`` and ``line``, the
        line nearest the peak; ``candidates``: the runners-up) or
        ``"unknown"``.
    """
    from hyperspy_chipping.fitting._refine import artefact_candidates

    energy = peak["energy"]
    tol = energy_tolerance(energy, calibration)
    line = fitted_line_at(energy, families, calibration, counts, peak["counts"])
    if line is not None:
        e_line, e_main = next(
            (float(e), float(fam.main_energy))
            for fam in families
            for name, e in zip(fam.names, fam.energies)
            if f"{fam.element}_{name}" == line
        )
        shape = abs(e_line - energy) > tol or abs(e_main - energy) <= tol
        cause = {"kind": "fitted line", "line": line}
        return {**cause, "shape": True} if shape else cause
    if counts is not None:
        line = shifted_line_at(
            peak, families, counts, residual, weights, calibration, channels
        )
        if line is not None:
            return {"kind": "fitted line", "line": line, "shape": True}
    excess = None if counts is None else peak["counts"]
    artefacts = artefact_candidates(energy, families, counts, excess, width=tol)
    artefacts += sum_peaks_at(energy, families, counts, excess, tol)
    if counts is not None:
        # A sum peak whose companion self pile-up is missing is not one.
        artefacts = [
            a
            for a in artefacts
            if not a.startswith("pile-up")
            or (art := artefact_for(a, families)) is None
            or pile_up_consistent(
                art, peak, families, counts, residual, weights, calibration, channels
            )
        ]
    if artefacts:
        return {"kind": "artefact", "line": artefacts[0]}
    ranked = rank_elements(
        peak,
        residual,
        weights,
        calibration,
        channels,
        beam_energy,
        energy_range,
        {f.element for f in families},
        window,
        bulk,
    )
    if not ranked:
        return {"kind": "unknown"}
    best = ranked[0]
    consistent = CONSISTENCY * (
        COMMON_CONSISTENCY if best["element"] in COMMON_ELEMENTS else 1.0
    )
    if best["gain"] < consistent * peak["sigma"] ** 2:
        # Its other lines are not in the residual as its physics says.
        return {"kind": "unknown", "candidates": [r["line"] for r in ranked[:3]]}
    if best["line"].split("_")[1] not in MAIN_LINES:
        # An element shows first through its main line: a peak at one of
        # its minor lines alone is not enough to name it.
        return {"kind": "unknown", "candidates": [r["line"] for r in ranked[:3]]}
    return {
        "kind": "element",
        "element": best["element"],
        "line": best["line"],
        "candidates": [r["line"] for r in ranked[1:4]],
    }


def search_unnamed_elements(
    spectrum,
    model,
    calibration,
    channels,
    families,
    refit,
    beam_energy,
    energy_range,
    rounds=3,
    defer_near_fitted=False,
    window=1.0,
    bulk=False,
):
    """Add the elements that explain significant residual peaks.

    Parameters
    ----------
    spectrum, model : numpy.ndarray
        The summed spectrum and its fitted model, in the fit channels.
    calibration : Calibration
        Energy axis and resolution.
    channels : numpy.ndarray
        Fit channel indices.
    families : list of Family
        Families of the model.
    refit : callable
        ``refit(families) -> (model, counts)``: the linear fit of the summed
        spectrum with these families (counts: fitted counts per family).
    beam_energy : float
        keV.
    energy_range : tuple of float
        Fit range (keV).
    rounds : int, default 3
        Search, add, refit at most this many times.
    defer_near_fitted : bool, default False
        Leave alone peaks within ``NEIGHBOUR_FWHM`` peak widths of a line of
        a fitted family (before its sub-line ratios are refined, such a peak
        may be that family's shape; the search after the refinement decides).
    window : float or tuple of float, default 1.0
        The detector entrance of the fit (:func:`identify_peak`).
    bulk : bool, default False
        A bulk specimen (:func:`identify_peak`).

    Returns
    -------
    families : list of Family
        `families` with the families of the added elements appended.
    added : dict
        Added element (or artefact key, e.g. ``"Ti_Ka_escape"``, with
        ``artefact=True``) -> the peak (line and energy) that called for it.
    """
    from hyperspy_chipping.fitting._artefacts import (
        internal_fluorescence_family,
        si_is_internal,
    )
    from hyperspy_chipping.fitting._families import physics_families

    y = np.asarray(spectrum, dtype=float)
    added = {}
    # The families' counts: an artefact must be small enough for its lines.
    _, counts = refit(families)
    for _ in range(rounds):
        peaks = find_peaks(y, model, calibration, channels)
        residual = y - np.clip(model, 0.0, None)
        weights = 1.0 / variance(model)
        new, pending = {}, []
        for peak in peaks:
            # A line of an element added in this round explains it already.
            if fitted_line_at(peak["energy"], pending, calibration) is not None:
                continue
            if defer_near_fitted and _near_a_line(
                peak["energy"], families, calibration
            ):
                continue
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
                window=window,
                bulk=bulk,
            )
            keys = {f.key for f in list(families) + pending}
            if (
                cause["kind"] == "artefact"
                and cause["line"].startswith(AUTO_ARTEFACTS)
                and _resolved(peak, families, calibration)
            ):
                art = artefact_for(cause["line"], families)
                if (
                    art is not None
                    and art.key not in keys
                    and pile_up_in_reach(
                        art, families, counts, model, calibration, channels
                    )
                    and pile_up_consistent(
                        art,
                        peak,
                        families,
                        counts,
                        residual,
                        weights,
                        calibration,
                        channels,
                    )
                ):
                    new[art.key] = {
                        "line": cause["line"],
                        "energy": peak["energy"],
                        "artefact": True,
                    }
                    pending.append(art)
            if (
                cause["kind"] == "element"
                and cause["line"] == "Si_Ka"
                and si_is_internal(peak["counts"], y, calibration.centres(channels))
            ):
                # No larger than the detector's own Si K peak can be: the
                # detector's (see _artefacts.si_is_internal).
                art = internal_fluorescence_family()
                if art.key not in keys:
                    new[art.key] = {
                        "line": "Si internal fluorescence (detector)",
                        "energy": peak["energy"],
                        "artefact": True,
                    }
                    pending.append(art)
            elif cause["kind"] == "element" and cause["element"] in SYSTEM_ELEMENTS:
                element = cause["element"]
                new[element] = {"line": cause["line"], "energy": peak["energy"]}
                pending += physics_families([element], beam_energy, energy_range)
        if not new:
            break
        families = list(families) + pending
        added.update(new)
        model, counts = refit(families)
    return families, added
