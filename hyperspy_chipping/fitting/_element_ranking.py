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
"""Candidate elements of a residual peak: the line table, each element's
expected signature and their ranking (see :mod:`._peak_search`).
"""

from __future__ import annotations

import functools

import numpy as np

from hyperspy_chipping.fitting import _xray_families as physics
from hyperspy_chipping.fitting._design import (
    as_window,
    nominal_window,
    peak_columns,
    window_factor,
)

#: Elements found in most spectra whatever the specimen (carbon film and
#: contamination, oxide, detector and specimen Si, grid, holder, FIB
#: preparation): preferred when the data cannot tell.
COMMON_ELEMENTS = ("C", "O", "Si", "Cu", "Cr", "Fe", "Ga", "Mo", "Pt", "Au", "Al", "N")
#: Elements that are fitted automatically when a peak calls for them: the
#: system and contamination elements of (S)TEM-EDS (film, oxide, nitride,
#: detector and specimen Si, grids, holders, apertures, FIB and ion-milling
#: residues). Any other element is named in the warning, not fitted: an
#: unexpected heavy element's L or M family overlaps the lines of the
#: specimen, and fitting a wrong one steals from them.
SYSTEM_ELEMENTS = (
    *COMMON_ELEMENTS,
    "Ar",
    "Ca",
    "Cl",
    "Co",
    "Mn",
    "Ni",
    "Zn",
    "W",
    "Ta",
)
#: Preference factors of the ranking (on the chi-squared improvement).
COMMON_PRIOR = 3.0
OFF_MAIN_PRIOR = 0.3
#: Lines lighter than this fraction of their family are not looked at.
MIN_LINE_WEIGHT = 0.01
#: Elements considered for unknown peaks: Be to Bi and Th, U (H, He and Li
#: emit nothing an EDS detector sees), less those no specimen holds: the
#: noble gases but Ar (implanted by ion milling), Tc, Pm and the short-lived
#: Po to Ac.
_ELEMENTS_Z = tuple(z for z in (*range(4, 84), 90, 92) if z not in (10, 36, 43, 54, 61))
#: In a bulk specimen (SEM) lines below this energy (keV) are absorbed in
#: the specimen far more than in a thin film (Mn L at 0.64 keV in a
#: silicate at 20 kV: tens of times): an element found by a line of another
#: shell is checked on its families above it only.
BULK_SIGNATURE_MIN_ENERGY = 1.0
#: The identifying line of an added element is one of its main lines.
MAIN_LINES = ("Ka", "La", "Ma")


def energy_tolerance(energy, calibration) -> float:
    """How far (keV) a peak found in the residual may lie from its line.

    Half a peak width (the matched filter locates a peak to a fraction of
    its width) and at least one channel.

    Examples
    --------
    >>> from hyperspy_chipping.fitting._design import Calibration
    >>> round(energy_tolerance(6.4, Calibration(0.0, 0.01, 130.0)), 4)
    0.0674
    """
    fwhm = float(calibration.fwhm(max(energy, 0.05)))
    return max(calibration.scale, 0.5 * fwhm)


@functools.lru_cache(maxsize=1)
def _line_table():
    """(element, family, line, energy keV, weight in family) of every line."""
    from exspy.material import elements as elements_db

    rows = []
    for z in _ELEMENTS_Z:
        element = physics.xraydb.atomic_symbol(z)
        lines = elements_db.get_item(f"{element}.Atomic_properties.Xray_lines")
        if lines is None:
            continue
        lines = lines.as_dictionary()
        for name, line in lines.items():
            rows.append((element, name[0], name, line["energy (keV)"], line["weight"]))
    return rows


def element_signature(
    element,
    beam_energy,
    energy_range,
    calibration,
    channels,
    window=1.0,
    shell=None,
    min_energy=0.0,
):
    """Expected detected spectrum of one atom of `element` (per channel).

    Every family excited at `beam_energy`, each line at its detected weight,
    the families scaled by their detected yields (thin film), all through
    the detector entrance `window` (the fit's, see
    :func:`~hyperspy_chipping.fitting._design.as_window`). Families of other
    shells than `shell` whose main line lies below `min_energy` (keV) are
    left out (a bulk specimen absorbs them).
    """
    from hyperspy_chipping.fitting._families import physics_families

    families = [
        f
        for f in physics_families([element], beam_energy, energy_range)
        if f.shell == shell or f.main_energy >= min_energy
    ]
    if not families:
        return None, families
    yields = np.array(
        [physics.family_lines(element, f.shell, beam_energy)[0] for f in families]
    )
    if as_window(window) != nominal_window():
        # A family's yield and line weights through the refined entrance.
        factors = [window_factor(f.energies, window) for f in families]
        yields = yields * np.array(
            [float(np.sum(f.weights * t)) for f, t in zip(families, factors)]
        )
        families = [f.with_weights(f.weights * t) for f, t in zip(families, factors)]
    column = peak_columns(families, calibration, channels) @ yields
    return column, families


def rank_elements(
    peak,
    residual,
    weights,
    calibration,
    channels,
    beam_energy,
    energy_range,
    exclude,
    window=1.0,
    bulk=False,
):
    energy = peak["energy"]
    tol = energy_tolerance(energy, calibration)
    lo, hi = energy_range
    near = {}
    for element, shell, name, e, w in _line_table():
        if element in exclude or abs(e - energy) > tol or not lo <= e <= hi:
            continue
        if w < MIN_LINE_WEIGHT:
            continue
        d = abs(e - energy)
        main = name in MAIN_LINES
        if element not in near or (main, -d) > (near[element][1], -near[element][2]):
            near[element] = (f"{element}_{name}", main, d)
    ranked = []
    for element, (line, main, _) in near.items():
        if not main:
            # Only an element whose main line lies here can be named (see
            # identify_peak); the others are listed, not evaluated.
            ranked.append({"element": element, "line": line, "score": 0.0, "gain": 0.0})
            continue
        try:
            column, fams = element_signature(
                element,
                beam_energy,
                energy_range,
                calibration,
                channels,
                window,
                shell=line.split("_")[1][0],
                min_energy=BULK_SIGNATURE_MIN_ENERGY if bulk else 0.0,
            )
        except ValueError:
            continue
        if column is None:
            continue
        # Only where the element puts counts (its lines above 5 % of its
        # strongest channel): residual features elsewhere say nothing of it.
        local = column > 0.05 * column.max()
        wc = np.where(local, weights * column, 0.0)
        den = float(column @ wc)
        num = float(residual @ wc)
        if den <= 0 or num <= 0:
            continue
        gain = num * num / den  # chi-squared improvement of one amplitude
        prior = (COMMON_PRIOR if element in COMMON_ELEMENTS else 1.0) * (
            1.0 if main else OFF_MAIN_PRIOR
        )
        ranked.append(
            {"element": element, "line": line, "score": gain * prior, "gain": gain}
        )
    ranked.sort(key=lambda r: -r["score"])
    return ranked
