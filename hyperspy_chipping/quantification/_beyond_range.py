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
"""Sub-line ratios of lines outside a user's ``energy_range``.

A family intensity is the whole family's counts: a fit over a narrow
``energy_range`` measures the lines inside it and takes the share of the
others from the tables (Pt Lβ and Lγ, 11-13 keV, for a 5.5-10 keV fit). On a
real detector the tabulated ratios are off by a few % (exspy's FePt
spectrum puts Pt Lβ at 0.95 times the table), so the narrow and the full
fit would disagree by that much. The summed spectrum shows those lines:
their ratios are refined there, over the range widened just enough to hold
them, and the chips are still fitted over ``energy_range`` only.
"""

from __future__ import annotations

import numpy as np

from hyperspy_chipping.fitting._calibrate import calibrate
from hyperspy_chipping.fitting._refine import refine_line_weights

#: The widened range reaches this many FWHM past the outermost line.
MARGIN_FWHM = 2.0


def widened_range(families, lo, hi, bounds, calibration) -> tuple[float, float]:
    """The range `lo`-`hi` widened to hold every line of `families`.

    The range stays within `bounds` (the axis, the beam energy, the lowest
    energy of the model).

    Examples
    --------
    >>> from hyperspy_chipping.fitting._design import Calibration
    >>> from hyperspy_chipping.fitting._families import physics_families
    >>> pt = physics_families(["Pt"], 200.0, (5.5, 10.0))
    >>> lo, hi = widened_range(pt, 5.5, 10.0, (0.1, 20.0),
    ...                        Calibration(0.0, 0.01, 130.0))
    >>> lo, round(hi, 1)  # Pt L gamma, 13.4 keV, and its width
    (5.5, 13.7)
    """
    new_lo, new_hi = lo, hi
    for fam in families:
        energies = np.asarray(fam.energies, float)
        strong = np.asarray(fam.weights, float) > 0
        margin = MARGIN_FWHM * np.asarray(calibration.fwhm(energies), float)
        below = strong & (energies < lo)
        above = strong & (energies > hi)
        if below.any():
            new_lo = min(new_lo, float((energies - margin)[below].min()))
        if above.any():
            new_hi = max(new_hi, float((energies + margin)[above].max()))
    return max(new_lo, bounds[0]), min(new_hi, bounds[1])


def refine_ratios_beyond(total, channels, calibration, families, args, window):
    """`families` with the ratios of their lines outside the fit refined.

    Parameters
    ----------
    total, channels : numpy.ndarray
        The summed spectrum over the widened range, and its channels.
    calibration : Calibration
        The calibration refined on the fit range.
    families : list of Family
        The model's families (detected at the refined entrance).
    args : tuple
        Background kind, order and beam energy.
    window : float or tuple
        The refined detector entrance.

    Returns
    -------
    families : list of Family
        The refinement over the widened range (its bounds and warnings
        those of :func:`~hyperspy_chipping.fitting._refine.refine_line_weights`);
        the fit over the user's range refines the groups inside it again.
    report : dict
        Its factors, per family and group.
    """
    _, weights, _ = calibrate(
        total, channels, calibration, families, *args, refine=False, window=window
    )
    return refine_line_weights(
        total, channels, calibration, families, *args, weights, window=window
    )


def merged_reports(beyond: dict, inside: dict) -> dict:
    """Factors of both refinements, as factors of the table.

    The refinement over the user's range starts from the widened one's
    weights: a group's factor is the product of the two.

    Examples
    --------
    >>> merged_reports({"Pt_L": {"Lb": 0.95, "Ll": 2.0}}, {"Pt_L": {"Ll": 0.5}})
    {'Pt_L': {'Lb': 0.95, 'Ll': 1.0}}
    """
    out = {}
    for key in set(beyond) | set(inside):
        a, b = beyond.get(key, {}), inside.get(key, {})
        out[key] = {g: a.get(g, 1.0) * b.get(g, 1.0) for g in sorted({*a, *b})}
    return dict(sorted(out.items()))
