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
"""X-ray line families as the chip model sees them.

A :class:`Family` is one shell family of one element (e.g. La L): every
sub-line at its own energy with its relative weight, weights summing to 1 over
the whole family, so that the fitted amplitude of the family *is* its total
intensity in counts. Two sources:

- :func:`physics_families`: the package's own model — Elam radiative rates
  (via xraydb), subshell vacancies with Coster-Kronig transfer, fluorescence
  yields and the detector efficiency at each line (see
  :mod:`hyperspy_chipping.fitting._xray_families`); Kα1 and Kα2 are separate
  lines.
- :func:`exspy_families`: exactly the lines and weights of exspy's
  ``EDSModel`` (main line plus sub-lines twinned with exspy's weights), to
  reproduce a stock result.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from hyperspy_chipping.fitting import _xray_families as physics

SHELLS = ("K", "L", "M")


def default_line(element: str, beam_energy: float, energy_range) -> str:
    """The main line a microscopist would quantify ``element`` with.

    The K line if it lies inside the energy range and is excited well (edge
    below half the beam energy); otherwise the L line, otherwise the M line —
    e.g. ``Fe_Ka``, ``Sr_Ka``, and ``La_La`` on a 0-20 keV axis.

    Parameters
    ----------
    element : str
        Chemical symbol.
    beam_energy : float
        keV.
    energy_range : tuple of float
        (low, high) keV of the fit.

    Returns
    -------
    str
        The X-ray line, e.g. ``"La_La"``.

    Raises
    ------
    ValueError
        If no main line of the element lies inside the range.

    Examples
    --------
    >>> default_line("La", 300.0, (0.2, 20.0)), default_line("Fe", 300.0, (0.2, 20.0))
    ('La_La', 'Fe_Ka')
    >>> default_line("La", 300.0, (0.2, 40.0))
    'La_Ka'
    """
    from exspy.material import elements as elements_db

    lines = elements_db[element].Atomic_properties.Xray_lines.as_dictionary()
    low, high = energy_range
    for line in ("Ka", "La", "Ma"):
        if line in lines:
            energy = lines[line]["energy (keV)"]
            if low <= energy <= high and energy < beam_energy / 2:
                return f"{element}_{line}"
    raise ValueError(
        f"{element} has no Ka, La or Ma line inside {low:.2f}-{high:.2f} keV at "
        f"{beam_energy} kV."
    )


def split_xray_line(xray_line: str) -> tuple[str, str]:
    """Split ``"La_La"`` into element and line; the one parser of line names.

    Parameters
    ----------
    xray_line : str
        X-ray line as exspy writes it, ``<element>_<line>`` (``"Fe_Ka"``), or
        a shell family, ``<element>_<shell>`` (``"La_L"``).

    Returns
    -------
    tuple of str
        Element and line (or shell).

    Raises
    ------
    ValueError
        If `xray_line` is not of that form.

    Examples
    --------
    >>> split_xray_line("La_La")
    ('La', 'La')
    >>> split_xray_line("Fe_K")
    ('Fe', 'K')
    """
    parts = str(xray_line).split("_")
    if len(parts) != 2 or not parts[0] or not parts[1] or parts[1][0] not in SHELLS:
        raise ValueError(
            f"X-ray line {xray_line!r} is not of the form '<element>_<line>', "
            "e.g. 'Fe_Ka', 'La_La' or the shell 'La_L'."
        )
    return parts[0], parts[1]


@dataclass(frozen=True, eq=False)
class Family:
    """One shell family of one element, as a single model shape.

    Attributes
    ----------
    element : str
        Chemical symbol.
    shell : str
        ``"K"``, ``"L"`` or ``"M"``.
    names : tuple of str
        Line names.
    energies : numpy.ndarray
        Line energies in keV.
    weights : numpy.ndarray
        Relative intensities as detected, summing to 1 over the family.
    main : numpy.ndarray
        True for the lines that make up exspy's main line (Kα, Lα, Mα).
    fwhm : numpy.ndarray or None
        Fixed widths (keV), or None to take them from the detector
        resolution.
    """

    element: str
    shell: str
    names: tuple
    energies: np.ndarray
    weights: np.ndarray
    main: np.ndarray
    fwhm: np.ndarray | None = field(default=None)

    @property
    def key(self) -> str:
        """Shell key, e.g. ``"La_L"``."""
        return f"{self.element}_{self.shell}"

    @property
    def line(self) -> str:
        """exspy's main line of the family, e.g. ``"La_La"``."""
        return f"{self.element}_{self.shell}a"

    @property
    def main_fraction(self) -> float:
        """Fraction of the family intensity in the main line."""
        return float(self.weights[self.main].sum())

    @property
    def main_energy(self) -> float:
        """Intensity-weighted energy of the main line (keV)."""
        w = self.weights[self.main]
        return float((self.energies[self.main] * w).sum() / w.sum())

    def with_weights(self, weights) -> Family:
        """A copy with new relative weights (normalised to sum to 1)."""
        weights = np.asarray(weights, dtype=float)
        return replace(self, weights=weights / weights.sum())


def physics_families(elements, beam_energy: float, energy_range) -> list[Family]:
    """Families of `elements` with a main line inside `energy_range`.

    Parameters
    ----------
    elements : list of str
        Chemical symbols.
    beam_energy : float
        keV; families whose edge is above it are not excited.
    energy_range : tuple of float
        (low, high) in keV.

    Returns
    -------
    list of Family
        Sorted by element, then K, L, M.

    Examples
    --------
    >>> fams = physics_families(["La", "Fe"], 300.0, (0.2, 20.0))
    >>> [f.key for f in fams]
    ['Fe_K', 'Fe_L', 'La_L', 'La_M']
    >>> la = fams[2]
    >>> bool(0.4 < la.main_fraction < 0.6)
    True
    """
    low, high = energy_range
    out = []
    for element in sorted(elements):
        for shell in physics.available_families(element, beam_energy):
            _, lines = physics.family_lines(element, shell, beam_energy)
            energies = np.array([x.energy for x in lines])
            main = np.array([x.main for x in lines])
            main_energy = energies[main].mean() if main.any() else np.nan
            if not low <= main_energy <= high:
                continue
            names = tuple(x.name for x in lines)
            weights = np.array([x.weight for x in lines])
            if shell == "M":
                names, energies, weights, main = _add_exspy_m_lines(
                    element, names, energies, weights, main
                )
            out.append(Family(element, shell, names, energies, weights, main))
    return out


def _add_exspy_m_lines(element, names, energies, weights, main):
    """Add the M lines xraydb lacks (Mζ, M2N4, M3O4,5) from exspy's database.

    Their weights relative to Mα are exspy's, times the detector efficiency
    ratio; the family is renormalised. These weak lines matter for heavy
    elements (Pt, Au, W): without them the fit leaves peaks in the residual.
    """
    from exspy.material import elements as elements_db

    from hyperspy_chipping.fitting._design import tabulated_efficiency

    lines_db = elements_db[element].Atomic_properties.Xray_lines.as_dictionary()
    if "Ma" not in lines_db or not main.any():
        return names, energies, weights, main
    ma_weight = weights[main].sum()
    ma_energy = float(energies[main].mean())
    eff_ma = tabulated_efficiency(ma_energy)
    extra = [
        (name, line["energy (keV)"], line["weight"])
        for name, line in lines_db.items()
        if name[0] == "M"
        and name not in ("Ma", "Mb", "Mg")
        and np.min(np.abs(energies - line["energy (keV)"])) > 0.02
    ]
    if not extra or eff_ma <= 0:
        return names, energies, weights, main
    e_new = np.array([e for _, e, _ in extra])
    w_new = np.array([w for _, _, w in extra]) * ma_weight
    w_new = w_new * tabulated_efficiency(e_new) / eff_ma
    order = np.argsort(np.concatenate([energies, e_new]), kind="stable")
    names = tuple(np.array(names + tuple(n for n, _, _ in extra), dtype=object)[order])
    energies = np.concatenate([energies, e_new])[order]
    weights = np.concatenate([weights, w_new])[order]
    main = np.concatenate([main, np.zeros(len(extra), bool)])[order]
    return names, energies, weights / weights.sum(), main


def exspy_families(signal) -> list[Family]:
    """The lines of exspy's stock ``EDSModel`` of `signal`, as families.

    The model is built by exspy itself (``create_model`` on the summed
    spectrum), so the lines, energies, widths and twin weights are exactly
    exspy's.

    Parameters
    ----------
    signal : exspy.signals.EDSTEMSpectrum
        The (chipped) signal, with elements set.

    Returns
    -------
    list of Family
        One family per exspy main line, with per-line widths, in keV
        whatever the units of the energy axis.
    """
    import warnings

    # exspy builds the line set from the metadata and the energy axis only: a
    # blank spectrum with both (no data read, lazy or not).
    from exspy.signals import EDSTEMSpectrum

    axis = signal.axes_manager.signal_axes[0]
    summed = EDSTEMSpectrum(np.zeros(axis.size))
    summed.axes_manager.signal_axes[0].update_from(
        axis, ("offset", "scale", "units", "name", "is_binned")
    )
    md = signal.metadata.as_dictionary()
    md.pop("Chipping", None)
    md["Signal"]["signal_type"] = "EDS_TEM"
    summed.metadata.add_dictionary(md)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = summed.create_model(auto_background=False)
    from hyperspy_chipping.fitting._design import kev_per_unit

    kev = kev_per_unit(axis)  # exspy's model is in the axis units
    families = []
    for main in model.xray_lines:
        subs = [c for c in model.family_lines if c.A.twin is main.A]
        comps = [main] + subs
        # exspy twins A_sub = weight * A_main: read the weights at A_main = 1.
        main.A.value = 1.0
        ratios = np.array([1.0] + [c.A.value for c in subs])
        element, line = split_xray_line(main.name)
        families.append(
            Family(
                element,
                line[0],
                tuple(split_xray_line(c.name)[1] for c in comps),
                np.array([c.centre.value for c in comps]) * kev,
                ratios / ratios.sum(),
                np.arange(len(comps)) == 0,
                np.array([c.fwhm for c in comps]) * kev,
            )
        )
    return families
