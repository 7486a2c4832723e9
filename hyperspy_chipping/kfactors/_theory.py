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
"""Theoretical (standardless) family k-factors of thin films.

For a thin film, the detected intensity of the whole shell family of element
A per atom is ``P_A = sum_s Q_s n_s omega_s sum_lines R_l eps(E_l)``, so that
Cliff-Lorimer's weight-based k-factor relative to a reference line B is

    k_AB = (M_A / M_B) * P_B / P_A

(``M``: atomic mass). The pieces:

- ``Q_s``: ionisation cross section of subshell ``s`` by the beam electrons.
  Bote and Salvat's analytic fits (2009) are the reference, but they need
  per-element coefficient tables (11 numbers per subshell and element) that
  no dependency of the package ships. The package uses Bethe's
  relativistic asymptotic form, as Zaluzec and Williams & Carter do for TEM
  k-factors, with the two corrections that Bote and Salvat's formulas carry
  and a plane-wave Bethe form lacks:
  ``Q_s ∝ n_s b_s / (E_s T) [ln(c_s T / E_s) - ln(1 - beta**2) - beta**2]
  * U / (U + d_s) * exp(e_s z**2 + f_s z)`` with ``T = m v**2 / 2``,
  overvoltage ``U = E0 / E_s`` and ``z = Z / 100``. ``U / (U + d_s)`` is the
  threshold factor of Bote and Salvat's high-energy formula (it matters for
  the lowest overvoltages: Sr K at 200 kV, heavy K shells); the ``Z`` factor
  stands for the distorted-wave (Coulomb and relativistic) corrections that
  raise the cross sections of heavy atoms (Pt, Au L shells by ~10 %). The
  five constants per kind of subshell (:data:`CROSS_SECTION_CONSTANTS`) were
  fitted once to Bote and Salvat's cross sections, evaluated with their
  published parameters (as NIST's public-domain BoteSalvatICX.jl transcribes
  them; the package holds no copy), for K (Z 6-92), L (Z 20-92) and M4,5 (Z
  50-92) shells at 80-300 keV (overvoltage above 2): relative to Fe K at 200
  and 300 kV the ratios agree within 2 % for K shells from Si to Pb (3.5 % for
  C, O, Na; 5 % for U at 200 kV), within 2.5 % for L2,3 shells from Sr to U
  (5 % from Ca to Ga), within 3.5 % for L1 from Ca to U and 3 % for M4,5 from Sn
  to U (M1-M3 take the M4,5 constants, not checked). The plain Bethe form
  (``d = e = f = 0``) was 6-16 % low for the K shells of La to Pt and 10 % low for
  Pt and Au L3 at 200 kV.
- K vacancies that decay radiatively leave L vacancies (Ka1: L3, Ka2: L2;
  a few per cent of the L family of La, Sr or Ga at 300 kV; the Auger share,
  which leaves two, is not counted). Vacancies are then moved from inner to
  outer subshells by Coster-Kronig transitions (xraydb), then multiplied
  by the fluorescence yield: K shells by default from the semi-empirical
  fit of Hubbell et al. (1994), the most recent critical review
  (``(w / (1 - w))**0.25 = 0.0370 + 0.03112 Z + 5.44e-5 Z**2 -
  1.25e-6 Z**3``; xraydb's K yields, Bambynek's older fit, are lower by up
  to 17 % for light elements: O 0.0058 against 0.0069);
  L and M shells from xraydb (Elam et al.; a zero yield of a subshell with
  lines takes its shell's largest, as the package's line families do).
- ``R_l``: radiative rates of each line of the subshell (xraydb, Elam et
  al.), each times the detector efficiency at its energy: the same
  efficiency as the fit (``fitting._design.tabulated_efficiency``).

Accuracy (family yields per atom relative to Fe K, same detector efficiency,
200 and 300 kV): against Bote and Salvat's cross sections with xraylib 4.3's
yields, Coster-Kronig and radiative rates (another table set), within 3.5 %
for the K families of O, Si, Ti, Cu, Ga, Sr and Mo and within 4.5 % for the
L families of Ga, Mo, Sr, La, Pt and Au. The X-ray production tables shipped
with espm 1.1.3 are another independent source but carry a defect above
overvoltage 16 (their high-energy term uses ``(1 - beta**2)**(-1/4)`` where
Bote and Salvat's formula has ``**(1/4)``: the two branches of the fit then
no longer meet at ``U = 16``, Sr K by 17 %): against them the same families
agree within 8 % at 200 kV; at 300 kV Sr K is 15 % above theirs (theirs is
14 % below Bote and Salvat's), Pt and Au L 10 % above (theirs 11-12 %
below), Ga L 10 % below. M families are uncertain to
25 % and more (the tables lack the La M5 yield altogether). The detector
matters more than the tables below 1 keV: the ``window`` argument takes the
fit's refined window thickness, and ``quantify_chips("theoretical")`` applies
it (``window_model``, ``quantification/_kfactor_window.py``).
:data:`RELATIVE_UNCERTAINTY` states what is claimed.
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
import xraydb

from hyperspy_chipping.fitting._design import (
    as_window,
    nominal_window,
    tabulated_efficiency,
    window_factor,
)
from hyperspy_chipping.fitting._families import SHELLS, split_xray_line
from hyperspy_chipping.fitting._xray_families import (
    _SUBSHELLS,
    LOW_ENERGY_CUTOFF,
    _fluorescence_yields,
    subshell_lines,
)
from hyperspy_chipping.kfactors._tables import KFactors

#: Electron rest energy (keV).
MC2 = 510.998950
#: Constants ``(b, c, d, e, f)`` of the cross-section form of
#: :func:`ionization_cross_section` per kind of subshell (``"L"``: L2 and L3;
#: ``"M"``: M1-M5), fitted to Bote and Salvat's (2009) cross sections at
#: 80-300 keV (see the module notes; only ratios enter the k-factors).
CROSS_SECTION_CONSTANTS = {
    "K": (1.0000, 1.422, 0.7947, 0.0592, 0.0758),
    "L1": (0.6511, 2.874, 1.0186, -0.1935, 0.2245),
    "L": (1.2382, 1.378, 0.0000, 0.3819, -0.5411),
    "M": (2.5910, 0.9898, 0.0000, 0.7947, -1.4405),
}
#: Estimated relative standard uncertainty of a family yield, by kind of
#: family (edge energy in keV): see the module notes.
RELATIVE_UNCERTAINTY = {
    "K, edge >= 2 keV": 0.10,
    "K, edge 1-2 keV": 0.15,
    "K, edge < 1 keV": 0.25,
    "L, main line >= 2 keV": 0.10,
    "L, main line < 2 keV": 0.15,
    "M": 0.25,
}
DETECTOR = (
    "package model: 300 nm polyimide + 40 nm Al window, 30 nm Si dead layer, "
    "0.45 mm Si crystal"
)


FLUORESCENCE_YIELDS = ("hubbell", "xraydb")


def hubbell_k_yield(element: str) -> float:
    """K-shell fluorescence yield, semi-empirical fit of Hubbell et al. (1994).

    ``(w / (1 - w))**(1/4) = 0.0370 + 0.03112 Z + 5.44e-5 Z**2 - 1.25e-6 Z**3``.

    Examples
    --------
    >>> round(hubbell_k_yield("O"), 5), round(hubbell_k_yield("Fe"), 4)
    (0.00691, 0.3546)
    """
    z = xraydb.atomic_number(element)
    x = (0.0370 + 0.03112 * z + 5.44e-5 * z**2 - 1.25e-6 * z**3) ** 4
    return x / (1.0 + x)


def ionization_cross_section(element: str, subshell: str, beam_energy: float) -> float:
    """Relative ionisation cross section of one subshell by beam electrons.

    Parameters
    ----------
    element : str
        Chemical symbol.
    subshell : str
        ``"K"``, ``"L1"``-``"L3"``, ``"M1"``-``"M5"``.
    beam_energy : float
        Electron energy in keV.

    Returns
    -------
    float
        ``n_s b / (E_s T) [ln(c T / E_s) - ln(1 - beta**2) - beta**2]
        * U / (U + d) * exp(e z**2 + f z)`` in keV⁻² (proportional to the
        cross section; 0 if the edge is above the beam energy or below
        0.1 keV), with ``T = m v**2 / 2``, ``U = E0 / E_s``, ``z = Z / 100``
        and the constants of :data:`CROSS_SECTION_CONSTANTS`.

    Notes
    -----
    Relative to Fe K at 200-300 kV the values follow Bote and Salvat's
    analytic fits [1]_ within 2 % for K shells from Si to Pb (3.5 % for C,
    O, Na), 2.5 % (Sr to U) to 5 % (Ca to Ga) for L2,3 shells: see the
    module notes.

    References
    ----------
    .. [1] D. Bote, F. Salvat, A. Jablonski and C. J. Powell, At. Data Nucl.
       Data Tables 95 (2009) 871-909.

    Examples
    --------
    >>> q_fe = ionization_cross_section("Fe", "K", 300.0)
    >>> q_sr = ionization_cross_section("Sr", "K", 300.0)
    >>> round(q_sr / q_fe, 3)   # Bote and Salvat's: 0.345
    0.342
    """
    occupancy = dict(sum(_SUBSHELLS.values(), ()))[subshell]
    edge = xraydb.xray_edge(element, subshell)
    e_edge = 0.0 if edge is None else edge.energy / 1000.0
    if e_edge < LOW_ENERGY_CUTOFF or e_edge >= beam_energy:
        return 0.0
    gamma = 1.0 + beam_energy / MC2
    beta2 = 1.0 - 1.0 / gamma**2
    t = 0.5 * MC2 * beta2
    kind = subshell if subshell in ("K", "L1") else subshell[0]
    b, c, d, e, f = CROSS_SECTION_CONSTANTS[kind]
    u = beam_energy / e_edge
    z = xraydb.atomic_number(element) / 100.0
    bracket = math.log(c * t / e_edge) - math.log(1.0 - beta2) - beta2
    bethe = occupancy * b / (e_edge * t) * max(bracket, 0.0)
    return bethe * u / (u + d) * math.exp(e * z**2 + f * z)


def family_yield(
    element: str,
    shell: str,
    beam_energy: float,
    fluorescence_yields: str = "hubbell",
    window: float | tuple = 1.0,
) -> float:
    """Detected photons of a whole shell family per atom (relative units).

    Parameters
    ----------
    element : str
        Chemical symbol.
    shell : {"K", "L", "M"}
        The shell family.
    beam_energy : float
        keV.
    fluorescence_yields : {"hubbell", "xraydb"}, default "hubbell"
        Source of the K-shell fluorescence yield (:func:`hubbell_k_yield` or
        xraydb's); L and M yields are xraydb's.
    window : float or tuple of float, default 1.0
        The detector's entrance as the fit refines it: the polymer window's
        thickness relative to the nominal one (the fit's ``window_scale``),
        or ``(polymer scale, Si3N4 nm, Si dead layer nm)``.

    Returns
    -------
    float
        ``sum_s vacancies_s omega_s sum_l R_l eps(E_l)`` in the units of
        :func:`ionization_cross_section`; 0 if the family has no line above
        0.1 keV or is not excited.

    Examples
    --------
    >>> round(family_yield("Sr", "K", 300.0) / family_yield("Fe", "K", 300.0), 2)
    0.47
    """
    weights, energies = _family_terms(element, shell, beam_energy, fluorescence_yields)
    return _window_sum(weights, energies, window)


@functools.lru_cache(maxsize=512)
def _family_terms(
    element: str, shell: str, beam_energy: float, fluorescence_yields: str
) -> tuple[np.ndarray, np.ndarray]:
    """Detected yield of each line of a family at the nominal window, and
    its energy (empty arrays if the family has no line above 0.1 keV).

    Kept per family and beam energy (read-only arrays): the tables' queries
    take ~10 ms a family, and every quantification asks for them again (the
    summed fit's check of each element's families, theoretical k-factors).
    """
    weights, energies = _family_terms_uncached(
        element, shell, beam_energy, fluorescence_yields
    )
    weights.flags.writeable = False
    energies.flags.writeable = False
    return weights, energies


def _family_terms_uncached(
    element: str, shell: str, beam_energy: float, fluorescence_yields: str
) -> tuple[np.ndarray, np.ndarray]:
    subshells = _SUBSHELLS[shell]
    levels = [level for level, _ in subshells]
    vac = {lv: ionization_cross_section(element, lv, beam_energy) for lv in levels}
    if shell == "L":
        _add_k_cascade(element, beam_energy, vac, fluorescence_yields)
    for j, final in enumerate(levels):
        for initial in levels[:j]:
            if vac[initial] > 0:
                p = xraydb.ck_probability(element, initial, final, total=False)
                vac[final] += p * vac[initial]
    lines = {}
    for level in levels:
        found = subshell_lines(element, level)
        if found:
            lines[level] = found
    if not lines:
        return np.zeros(0), np.zeros(0)
    omega = _fluorescence_yields(element, subshells, set(lines))
    if shell == "K" and fluorescence_yields == "hubbell":
        omega["K"] = hubbell_k_yield(element)
    weights, line_energies = [], []
    for level, found in lines.items():
        energies, rates = np.array(list(found.values())).T
        eff = tabulated_efficiency(energies)
        weights.append(vac[level] * omega[level] * rates * eff / rates.sum())
        line_energies.append(energies)
    return np.concatenate(weights), np.concatenate(line_energies)


def _window_sum(weights, energies, window) -> float:
    """A family's detected yield at the detector entrance `window`
    (``sum_l weights_l T(E_l)``, ``T`` relative to the nominal entrance)."""
    if as_window(window) == nominal_window():
        return float(np.sum(weights))
    return float(np.sum(weights * window_factor(energies, window)))


def _uncertainty(element: str, shell: str) -> float:
    if shell == "M":
        return RELATIVE_UNCERTAINTY["M"]
    if shell == "K":
        edge = xraydb.xray_edge(element, "K").energy / 1000.0
        if edge >= 2.0:
            return RELATIVE_UNCERTAINTY["K, edge >= 2 keV"]
        if edge >= 1.0:
            return RELATIVE_UNCERTAINTY["K, edge 1-2 keV"]
        return RELATIVE_UNCERTAINTY["K, edge < 1 keV"]
    la = (xraydb.xray_lines(element, "L3") or {}).get("La1")
    if la is not None and la.energy >= 2000.0:
        return RELATIVE_UNCERTAINTY["L, main line >= 2 keV"]
    return RELATIVE_UNCERTAINTY["L, main line < 2 keV"]


def _parse_line(line: str) -> tuple[str, str]:
    element, name = split_xray_line(line)
    shell = name[0]
    if name not in (shell, f"{shell}a") or shell not in SHELLS:
        raise ValueError(
            f"`lines` has {line!r}: give a main line (Ka, La, Ma) or a shell "
            "(K, L, M); theoretical k-factors are per shell family."
        )
    try:
        xraydb.atomic_number(element)
    except ValueError as err:
        raise ValueError(f"`lines` has {line!r}: unknown element {element!r}.") from err
    return element, shell


def _add_k_cascade(
    element: str, beam_energy: float, vac: dict, fluorescence_yields: str
) -> None:
    """L vacancies that the radiative decay of K vacancies leaves (Ka1: L3,
    Ka2: L2, Ka3: L1), in place; the Auger share is left out."""
    q_k = ionization_cross_section(element, "K", beam_energy)
    if q_k <= 0:
        return
    if fluorescence_yields == "hubbell":
        omega = hubbell_k_yield(element)
    else:
        omega = float(xraydb.xray_edge(element, "K").fyield)
    k_lines = (xraydb.xray_lines(element, "K") or {}).values()
    total = sum(x.intensity for x in k_lines)
    for x in k_lines:
        if x.final_level in vac and total > 0:
            vac[x.final_level] += q_k * omega * x.intensity / total


def theoretical_kfactors(
    lines,
    beam_energy: float = 300.0,
    *,
    reference: str | None = None,
    fluorescence_yields: str = "hubbell",
    window: float | tuple | None = None,
) -> KFactors:
    """Standardless family k-factors of a thin film, from physics tables.

    Parameters
    ----------
    lines : list of str
        Main lines or shells, e.g. ``["Fe_Ka", "La_La", "O_Ka"]`` or
        ``["La_L"]``; the keys of the result are main lines.
    beam_energy : float, default 300.0
        Electron energy in keV.
    reference : str, optional
        The line whose k-factor is 1; default ``"Fe_Ka"`` if present, else
        the first line. Only ratios matter to Cliff-Lorimer.
    fluorescence_yields : {"hubbell", "xraydb"}, default "hubbell"
        K-shell fluorescence yields from Hubbell et al.'s 1994 fit
        (:func:`hubbell_k_yield`) or from xraydb (Elam et al.); L and M
        yields are xraydb's either way.
    window : float or tuple of float, optional
        The detector's entrance relative to the package's nominal detector:
        the polymer window's thickness scale, or ``(polymer scale, Si3N4 nm,
        Si dead layer nm)`` as ``quantify_chips`` refines it on the summed
        spectrum (``window_scale``, ``nitride_nm`` and ``dead_layer_nm`` in
        ``metadata.Chipping.Quantification.Detector_response``): the
        k-factors of that detector, fixed. Default: the nominal window, and
        k-factors that follow the detector's window: ``quantify_chips``
        evaluates them at the window its fit refines (the low-energy lines,
        O K above all, depend on it; see Notes).

    Returns
    -------
    KFactors
        Weight-based family k-factors (``source="theoretical"``) with
        ``relative_uncertainty`` per line: the estimated uncertainty of its
        ratio to the reference (the two lines' estimates in quadrature; 0 for
        the reference). Without `window`, its ``window_model`` attribute
        holds what ``quantify_chips`` needs to evaluate them at another
        window: ``{"reference": line, "terms": {line: [[yield, depth,
        energy], ...]}}``, each family's detected yield per line at the
        nominal window (normalised to sum 1), the nominal polymer window's
        optical depth and the line's energy (keV), so that the family's
        yield at an entrance ``w`` is ``sum yield * T_w(energy)``
        (``exp(-(w - 1) * depth)`` for a polymer scale ``w``).

    Raises
    ------
    ValueError
        For an empty list, a line that is not a main line or shell, an
        unknown element, a reference not among the lines, a bad beam energy,
        a bad window scale, or a family that is not excited at the beam
        energy.

    See Also
    --------
    hyperspy_chipping.signals.ChippedEDSSpectrum.calibrate_kfactors

    Notes
    -----
    ``k_A = (M_A / M_ref) P_ref / P_A`` with ``P`` the detected family yield
    per atom (:func:`family_yield`): cross sections of Bethe's relativistic
    form with Bote and Salvat's threshold factor and a Z factor, constants
    fitted to Bote and Salvat's analytic formulas [2]_, Coster-Kronig transfer and
    radiative rates from xraydb (Elam et al. [1]_), K fluorescence yields from
    Hubbell et al. [3]_ (L and M from xraydb), the detector efficiency of the
    fit. No absorption or fluorescence in the specimen (thin film).
    Standardless k-factors are typically good to 15-25 % relative on real
    instruments (detector window, geometry, tables); calibrate on a region of
    known composition when there is one.

    The detector's window matters most: on simulated pure SrTiO3 and LaFeO3
    chips from a detector without the polymer window, the nominal window
    put O 18 % high and the cations 26-28 % low; at the window scale the fit
    refines (0.00) every element came within 5 %. ``quantify_chips`` uses
    the refined entrance (polymer, Si3N4 and dead layer) when it fits the
    continuum significantly better than the nominal one
    (``Detector_response.significant``), else the nominal one (see
    ``docs/user_guide/kfactors.rst``).

    References
    ----------
    .. [1] W. T. Elam, B. D. Ravel and J. R. Sieber, Radiat. Phys. Chem. 63
       (2002) 121-128.
    .. [2] D. Bote, F. Salvat, A. Jablonski and C. J. Powell, At. Data Nucl.
       Data Tables 95 (2009) 871-909.
    .. [3] J. H. Hubbell et al., J. Phys. Chem. Ref. Data 23 (1994) 339-364.
    .. [4] N. J. Zaluzec, in Introduction to Analytical Electron Microscopy,
       Plenum (1979) 121-167.

    Examples
    --------
    >>> k = theoretical_kfactors(["Fe_Ka", "La_La", "O_Ka", "Sr_Ka", "Ti_Ka"])
    >>> {line: round(v, 2) for line, v in k.items()}
    {'Fe_Ka': 1.0, 'La_La': 1.59, 'O_Ka': 1.13, 'Sr_Ka': 3.31, 'Ti_Ka': 0.86}
    >>> k.source, round(k.relative_uncertainty["O_Ka"], 2)  # O and Fe in quadrature
    ('theoretical', 0.27)

    The efficiency of a detector whose window is thinner than the nominal
    one (here none at all) detects more O K, and O's k-factor drops:

    >>> bare = theoretical_kfactors(["Fe_Ka", "O_Ka"], window=0.0)
    >>> round(bare["O_Ka"], 2), bare.detector.endswith("window thickness x 0")
    (0.75, True)

    The same, from the nominal k-factors' window model (what
    ``quantify_chips`` does with the window its fit refines):

    >>> from hyperspy_chipping.kfactors import window_kfactors
    >>> nominal = theoretical_kfactors(["Fe_Ka", "O_Ka"])
    >>> round(window_kfactors(nominal, nominal.window_model, 0.0)["O_Ka"], 2)
    0.75
    """
    if isinstance(lines, str):
        lines = [lines]
    lines = list(lines)
    if not lines:
        raise ValueError("`lines` is empty: give at least one X-ray line.")
    if (
        isinstance(beam_energy, bool)
        or not isinstance(beam_energy, (int, float))
        or not math.isfinite(beam_energy)
        or beam_energy <= 0
    ):
        raise ValueError(
            f"`beam_energy` must be a positive number of keV, got {beam_energy!r}."
        )
    from hyperspy_chipping.quantification._composition import atomic_masses

    if fluorescence_yields not in FLUORESCENCE_YIELDS:
        raise ValueError(
            f"`fluorescence_yields` must be one of {FLUORESCENCE_YIELDS}, got "
            f"{fluorescence_yields!r}."
        )
    follow = window is None
    window = as_window(1.0 if follow else window)
    parsed = {}
    for line in lines:
        element, shell = _parse_line(line)
        parsed[f"{element}_{shell}a"] = (element, shell)
    if reference is None:
        reference = "Fe_Ka" if "Fe_Ka" in parsed else next(iter(parsed))
    else:
        ref_el, ref_shell = _parse_line(reference)
        reference = f"{ref_el}_{ref_shell}a"
        if reference not in parsed:
            raise ValueError(
                f"`reference` {reference!r} is not among `lines` {sorted(parsed)}."
            )
    per_atom, terms = {}, {}
    for key, (element, shell) in parsed.items():
        weights, energies = _family_terms(
            element, shell, float(beam_energy), fluorescence_yields
        )
        p = _window_sum(weights, energies, window)
        if p <= 0:
            raise ValueError(
                f"`lines` has {key!r}: the {element} {shell} family is not excited "
                f"(or has no line above {LOW_ENERGY_CUTOFF} keV) at {beam_energy} kV."
            )
        mass = float(atomic_masses([element])[0])
        per_atom[key] = mass / p
        # The polymer's depth (exp(-(w - 1) depth), the form of earlier
        # versions) and the energy, for any entrance (window_factor).
        depths = -np.log(window_factor(energies, 2.0))
        terms[key] = [
            [float(y / p), float(t), float(e)]
            for y, t, e in zip(weights, depths, energies)
        ]
    ref_value = per_atom[reference]
    ref_unc = _uncertainty(*parsed[reference])
    values = {key: v / ref_value for key, v in sorted(per_atom.items())}
    unc = {
        key: 0.0
        if key == reference
        else math.hypot(_uncertainty(*parsed[key]), ref_unc)
        for key in values
    }
    table = KFactors(
        values,
        convention="family",
        relative_uncertainty=unc,
        reference=reference,
        beam_energy=float(beam_energy),
        detector=DETECTOR
        if follow or window == nominal_window()
        else f"{DETECTOR}; {_describe(window)}",
        source="theoretical",
        notes=(
            "standardless thin-film family k-factors: Bethe-form cross "
            "sections fitted to Bote-Salvat 2009 (within 2-5 % for K, L2,3), "
            f"{fluorescence_yields} K fluorescence yields, xraydb (Elam) L and M "
            "yields, Coster-Kronig and radiative rates, the fit's detector "
            "efficiency; typically 15-25 % relative on real instruments"
        ),
    )
    if follow:
        table.window_model = {"reference": reference, "terms": terms}
    return table


def _describe(window) -> str:
    """The detector entrance `window` in words."""
    polymer, nitride, dead = as_window(window)
    text = f"window thickness x {polymer:g}"
    if (nitride, dead) != nominal_window()[1:]:
        text += f", {nitride:.0f} nm Si3N4, {dead:.0f} nm Si dead layer"
    return text


def warn_standardless() -> None:
    """The one warning of a quantification with theoretical k-factors."""
    warnings.warn(
        "quantify_chips('theoretical'): standardless k-factors from physics "
        "tables (typically good to 15-25 % relative on a real instrument); the "
        "results are marked kfactor_source='theoretical' in "
        "metadata.Chipping.Quantification. Calibrate on a region of known "
        "composition (calibrate_kfactors) when there is one.",
        UserWarning,
        stacklevel=5,
    )
