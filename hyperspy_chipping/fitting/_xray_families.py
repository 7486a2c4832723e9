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
"""Physics of the simulated STEM-EDS spectra (pure functions, no state).

The pieces of the forward model of
:func:`~hyperspy_chipping.data.sto_lfo_cross_section`:

- :func:`detector_efficiency`: transmission through a polymer window with an Al
  coating and a Si dead layer, times absorption in the Si crystal, with mass
  attenuation coefficients from the Elam tables in ``xraydb``.
- :func:`~._resolution.fwhm_at_energy` (from :mod:`._resolution`): the peak
  width against energy, electronic noise and Fano statistics.
- :func:`family_lines`: the lines of one shell family (K, L or M) of an element with
  their *detected* relative weights, and the family's detected yield per atom used to
  scale families of the same element against each other.
- :func:`kramers_continuum`: the Kramers bremsstrahlung shape.
- :func:`gaussian_channel_areas`: Gaussian peaks integrated over channels.
- :func:`poisson_counts`: fast Poisson noise for a labelled map.

Energies are in keV unless a name says otherwise (``xraydb`` itself works in eV).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import xraydb
from numpy.typing import ArrayLike
from scipy.special import erf

from hyperspy_chipping.fitting._resolution import (  # noqa: F401 (re-exported)
    MNKA_ENERGY,
    fwhm_at_energy,
)

#: Detector stack, front to back: (formula, density g/cm3, thickness nm, role).
#: A polyimide window with an Al light-blocking coating, a Si dead layer and a
#: 0.45 mm Si drift detector crystal. The Si support grid of the window is a
#: constant open-area factor and is left out.
DETECTOR_LAYERS: tuple[tuple[str, float, float, str], ...] = (
    ("C22H10N2O5", 1.42, 300.0, "window"),
    ("Al", 2.70, 40.0, "window"),
    ("Si", 2.33, 30.0, "window"),
    ("Si", 2.33, 450_000.0, "crystal"),
)

#: Below this energy (keV) the Elam tables are unreliable, the detector sees
#: nothing and the model has neither lines nor continuum.
LOW_ENERGY_CUTOFF = 0.1
#: Standard deviation of a Gaussian per unit of its FWHM.
SIGMA_PER_FWHM = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))


#: Lines (xraydb names) that form the exspy/Siegbahn main line of each family:
#: Ka = Ka1 + Ka2, La = La1 + La2 (L3-M4,5), Ma = M5-N6,7.
MAIN_LINES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"K": ("Ka1", "Ka2"), "L": ("La1", "La2"), "M": ("Ma",)}
)

#: Valence-band L emission that xraydb (Elam et al.) lacks: for Ca and Sc the
#: L3-M4,5 (Lα1,2) and L2-M4 (Lβ1) lines end on the 3d level, empty in the
#: free atom the tables describe, yet in a solid they are the strongest L
#: lines (a Ca L peak at 0.34 keV, where xraydb has no line). Energies (keV)
#: from the X-ray Data Booklet (LBNL, Table 1-2, after Bearden 1967).
VALENCE_L_LINES: Mapping[str, Mapping[str, tuple[str, float]]] = MappingProxyType(
    {
        "Ca": MappingProxyType({"L3": ("La1", 0.3413), "L2": ("Lb1", 0.3449)}),
        "Sc": MappingProxyType({"L3": ("La1", 0.3954), "L2": ("Lb1", 0.3996)}),
    }
)
#: Share of a subshell's radiative decays that end on the valence band,
#: taken from Ti, the lightest element xraydb gives these lines for (L3:
#: Lα1,2 0.901 against Lℓ 0.099; L2: Lβ1 0.919 against Lη 0.081). The
#: sub-line ratios are refined on the summed spectrum within wide bounds.
VALENCE_L_SHARE: Mapping[str, float] = MappingProxyType({"L3": 0.901, "L2": 0.919})

#: Subshells of each family with their occupancies.
_SUBSHELLS: Mapping[str, tuple[tuple[str, int], ...]] = MappingProxyType(
    {
        "K": (("K", 2),),
        "L": (("L1", 2), ("L2", 2), ("L3", 4)),
        "M": (("M1", 2), ("M2", 2), ("M3", 4), ("M4", 4), ("M5", 6)),
    }
)


@dataclass(frozen=True)
class XrayLine:
    """One X-ray line of a shell family, with its detected weight.

    ``element`` (e.g. ``"Sr"``), ``family`` (``"K"``, ``"L"``, ``"M"``), ``name``
    (xraydb's Siegbahn name, e.g. ``"Ka2"``, ``"Lb2,15"``), ``energy`` (keV),
    ``weight`` (detected fraction of the family: generated weight times detector
    efficiency, summing to 1 over the kept lines) and ``main`` (part of the exspy
    main line Ka, La or Ma).
    """

    element: str
    family: str
    name: str
    energy: float
    weight: float
    main: bool

    @property
    def key(self) -> str:
        """``"<element>_<name>"``, e.g. ``"Sr_Ka2"``; unique within a spectrum."""
        return f"{self.element}_{self.name}"


def detector_efficiency(energy: ArrayLike) -> np.ndarray:
    """Return the detection efficiency of the simulated EDS detector.

    Parameters
    ----------
    energy : array_like
        Photon energies in keV.

    Returns
    -------
    numpy.ndarray
        Efficiency between 0 and 1, same shape as ``energy``; 0 below
        :data:`LOW_ENERGY_CUTOFF`.

    Notes
    -----
    ``T_window * (1 - exp(-mu_Si t_Si))`` with the layers of
    :data:`DETECTOR_LAYERS` and linear attenuation coefficients from
    ``xraydb.material_mu`` (Elam tables).

    Examples
    --------
    >>> from hyperspy_chipping.fitting._xray_families import detector_efficiency
    >>> detector_efficiency([0.3, 0.525, 6.4, 20.0]).round(2)
    array([0.18, 0.59, 1.  , 0.37])
    """
    e = np.asarray(energy, dtype=float)
    inside = e >= LOW_ENERGY_CUTOFF
    e_ev = np.where(inside, e, LOW_ENERGY_CUTOFF) * 1000.0
    transmission = np.ones_like(e_ev)
    absorbed = np.ones_like(e_ev)
    for formula, density, thickness_nm, role in DETECTOR_LAYERS:
        mu_t = xraydb.material_mu(formula, e_ev, density) * thickness_nm * 1e-7
        if role == "window":
            transmission = transmission * np.exp(-mu_t)
        else:
            absorbed = absorbed * -np.expm1(-mu_t)
    return np.where(inside, transmission * absorbed, 0.0)


def gaussian_channel_areas(
    centre: float, fwhm: float, edges: np.ndarray, area: float = 1.0
) -> np.ndarray:
    """Integrate a Gaussian of given ``area`` over channels with ``edges``.

    Parameters
    ----------
    centre : float
        Peak position (keV).
    fwhm : float
        Full width at half maximum (keV), > 0.
    edges : numpy.ndarray
        Channel edges (keV), ``n_channels + 1`` increasing values.
    area : float, default 1.0
        Total area of the peak over the whole real line.

    Returns
    -------
    numpy.ndarray
        Area in each channel (``n_channels`` values): the exact integral (erf
        difference at the edges), so the areas add up to ``area`` when the peak is
        inside the axis, however narrow it is.

    Examples
    --------
    >>> import numpy as np
    >>> from hyperspy_chipping.fitting._xray_families import gaussian_channel_areas
    >>> a = gaussian_channel_areas(0.0, 0.01, np.linspace(-0.1, 0.1, 21), 2.0)
    >>> round(float(a.sum()), 6), int(a.argmax())
    (2.0, 9)
    """
    sigma = fwhm * SIGMA_PER_FWHM
    cumulative = 0.5 * erf((np.asarray(edges, dtype=float) - centre) / (sigma * 2**0.5))
    return area * np.diff(cumulative)


def kramers_continuum(
    energy: ArrayLike, beam_energy: float, mean_z: float
) -> np.ndarray:
    """Return the generated Kramers continuum ``Z (E0 - E) / E`` per keV.

    Parameters
    ----------
    energy : array_like
        Photon energies in keV.
    beam_energy : float
        Incident electron energy ``E0`` in keV.
    mean_z : float
        Mean atomic number of the phase (mass-fraction weighted).

    Returns
    -------
    numpy.ndarray
        Unnormalised intensity per keV; 0 below :data:`LOW_ENERGY_CUTOFF` and above
        ``E0``. Multiply by :func:`detector_efficiency` for the detected shape.

    Notes
    -----
    Kramers' law [1]_; no self-absorption in the foil (thin-film limit).

    References
    ----------
    .. [1] H. A. Kramers, Phil. Mag. 46 (1923) 836-871.

    Examples
    --------
    >>> from hyperspy_chipping.fitting._xray_families import kramers_continuum
    >>> kramers_continuum([0.05, 10.0, 400.0], 300.0, 20.0).round(1)
    array([  0., 580.,   0.])
    """
    e = np.asarray(energy, dtype=float)
    safe = np.where(e >= LOW_ENERGY_CUTOFF, e, LOW_ENERGY_CUTOFF)
    shape = mean_z * np.clip(beam_energy - safe, 0.0, None) / safe
    return np.where(e >= LOW_ENERGY_CUTOFF, shape, 0.0)


def mass_fractions(composition_at: dict[str, float]) -> dict[str, float]:
    """Convert atomic fractions to weight fractions with xraydb atomic masses.

    Parameters
    ----------
    composition_at : dict
        Element -> atomic fraction.

    Returns
    -------
    dict
        Element -> weight fraction (sums to 1).

    Examples
    --------
    >>> from hyperspy_chipping.fitting._xray_families import mass_fractions
    >>> {k: round(v, 4) for k, v in mass_fractions({"Sr": 1, "Ti": 1, "O": 3}).items()}
    {'Sr': 0.4775, 'Ti': 0.2609, 'O': 0.2616}
    """
    masses = {el: c * xraydb.atomic_mass(el) for el, c in composition_at.items()}
    total = sum(masses.values())
    return {el: m / total for el, m in masses.items()}


def mean_atomic_number(composition_wt: dict[str, float]) -> float:
    """Return the mass-fraction weighted mean atomic number (Kramers' ``Z``).

    Parameters
    ----------
    composition_wt : dict
        Element -> weight fraction.

    Returns
    -------
    float
        ``sum(w_i Z_i) / sum(w_i)``.

    Examples
    --------
    >>> from hyperspy_chipping.fitting._xray_families import mean_atomic_number
    >>> round(mean_atomic_number({"Fe": 0.5, "O": 0.5}), 1)
    17.0
    """
    total = sum(composition_wt.values())
    return sum(w * xraydb.atomic_number(el) for el, w in composition_wt.items()) / total


@functools.lru_cache(maxsize=256)
def available_families(element: str, beam_energy: float) -> tuple[str, ...]:
    """Return the shell families of ``element`` that the model can emit.

    Parameters
    ----------
    element : str
        Chemical symbol.
    beam_energy : float
        Incident electron energy in keV.

    Returns
    -------
    tuple of str
        Among ``"K"``, ``"L"``, ``"M"``: families with at least one xraydb line at
        or above :data:`LOW_ENERGY_CUTOFF` whose subshell edge lies below the beam
        energy.

    Raises
    ------
    ValueError
        If xraydb does not know ``element``.

    Examples
    --------
    >>> from hyperspy_chipping.fitting._xray_families import available_families
    >>> available_families("La", 300.0), available_families("O", 300.0)
    (('K', 'L', 'M'), ('K',))
    """
    xraydb.atomic_number(element)  # raises ValueError for an unknown symbol
    families = []
    for family, subshells in _SUBSHELLS.items():
        if _generated_lines(element, family, subshells, beam_energy)[1]:
            families.append(family)
    return tuple(families)


def _vacancies(
    element: str, subshells: tuple[tuple[str, int], ...], beam_energy: float
) -> dict[str, float]:
    """Relative vacancies per subshell after Coster-Kronig transfers.

    Primary ionisations follow the high-overvoltage Bethe form
    ``n_s ln(U_s) / (U_s E_s**2)`` (occupancy ``n_s``, edge ``E_s``,
    ``U_s = E0 / E_s``); Coster-Kronig transitions (xraydb, direct probabilities)
    then move vacancies from inner to outer subshells, in order.
    """
    vac: dict[str, float] = {}
    for level, occupancy in subshells:
        edge = xraydb.xray_edge(element, level)
        e_edge = 0.0 if edge is None else edge.energy / 1000.0
        if e_edge < LOW_ENERGY_CUTOFF or e_edge >= beam_energy:
            vac[level] = 0.0
            continue
        u = beam_energy / e_edge
        vac[level] = occupancy * math.log(u) / (u * e_edge**2)
    levels = [level for level, _ in subshells]
    for j, final in enumerate(levels):
        for initial in levels[:j]:
            if vac[initial] > 0:
                p = xraydb.ck_probability(element, initial, final, total=False)
                vac[final] += p * vac[initial]
    return vac


def _fluorescence_yields(
    element: str, subshells: tuple[tuple[str, int], ...], with_lines: set[str]
) -> dict[str, float]:
    """xraydb fluorescence yields, with a documented fix for table gaps.

    A subshell that has radiative lines but a tabulated yield of 0 (e.g. La M5)
    takes the largest yield of the other subshells of its shell that have lines.
    """
    yields = {}
    for level, _ in subshells:
        edge = xraydb.xray_edge(element, level)
        yields[level] = 0.0 if edge is None else float(edge.fyield)
    fallback = max((yields[lv] for lv in with_lines), default=0.0)
    for level in with_lines:
        if yields[level] <= 0.0:
            yields[level] = fallback
    return yields


def subshell_lines(element: str, level: str) -> dict[str, tuple[float, float]]:
    """Radiative lines of one subshell: ``{name: (energy keV, relative rate)}``.

    xraydb's lines at or above :data:`LOW_ENERGY_CUTOFF`, with the valence-band
    lines of :data:`VALENCE_L_LINES` added where xraydb lacks them.

    Examples
    --------
    >>> from hyperspy_chipping.fitting._xray_families import subshell_lines
    >>> {n: round(e, 4) for n, (e, _) in subshell_lines("Ca", "L3").items()}
    {'Ll': 0.3019, 'La1': 0.3413}
    """
    lines = {
        name: (line.energy / 1000.0, line.intensity)
        for name, line in (xraydb.xray_lines(element, level) or {}).items()
        if line.energy / 1000.0 >= LOW_ENERGY_CUTOFF
    }
    valence = VALENCE_L_LINES.get(element, {}).get(level)
    if valence is not None and lines:
        share = VALENCE_L_SHARE[level]
        total = sum(rate for _, rate in lines.values())
        lines = {n: (e, r / total * (1 - share)) for n, (e, r) in lines.items()}
        lines[valence[0]] = (valence[1], share)
    return lines


def _generated_lines(
    element: str,
    family: str,
    subshells: tuple[tuple[str, int], ...],
    beam_energy: float,
) -> tuple[float, list[tuple[str, float, float]]]:
    """Generated yield per atom and (name, energy keV, yield) of each line."""
    per_level = {}
    for level, _ in subshells:
        lines = subshell_lines(element, level)
        if lines:
            per_level[level] = lines
    if not per_level:
        return 0.0, []
    vac = _vacancies(element, subshells, beam_energy)
    omega = _fluorescence_yields(element, subshells, set(per_level))
    out = []
    for level, lines in per_level.items():
        total = sum(intensity for _, intensity in lines.values())
        emitted = vac[level] * omega[level]
        for name, (energy, intensity) in lines.items():
            if emitted > 0:
                out.append((name, energy, emitted * intensity / total))
    return sum(y for _, _, y in out), out


@functools.lru_cache(maxsize=256)
def family_lines(
    element: str,
    family: str,
    beam_energy: float,
    min_weight: float = 1e-3,
) -> tuple[float, tuple[XrayLine, ...]]:
    """Return the detected yield and the lines of one shell family.

    Parameters
    ----------
    element : str
        Chemical symbol.
    family : str
        ``"K"``, ``"L"`` or ``"M"``.
    beam_energy : float
        Incident electron energy in keV.
    min_weight : float, default 1e-3
        Lines whose detected weight is below this fraction of the family are
        dropped (the others are renormalised).

    Returns
    -------
    yield : float
        Detected photons per atom of the family, in arbitrary but common units for
        every family and element (Bethe cross-section x fluorescence yield x
        detector efficiency); only ratios between families are meaningful.
        Results are cached (the tables do not change).
    lines : tuple of XrayLine
        The kept lines, weights summing to 1, sorted by energy.

    Raises
    ------
    ValueError
        If ``family`` is not K, L or M, or the element has no such family.

    Notes
    -----
    K: the lines of the K level (Ka1, Ka2, Kb1, Kb3, ... each at its own energy),
    xraydb intensities (Elam et al.). L and M: the lines of each subshell, weighted
    by the vacancies of that subshell (occupancy times the Bethe energy factor,
    redistributed by Coster-Kronig transitions) times its fluorescence yield. Each
    line is then multiplied by :func:`detector_efficiency` at its energy.

    Examples
    --------
    >>> from hyperspy_chipping.fitting._xray_families import family_lines
    >>> _, lines = family_lines("Sr", "K", 300.0)
    >>> [(x.name, round(x.energy, 3)) for x in lines if x.main]
    [('Ka2', 14.098), ('Ka1', 14.165)]
    """
    if family not in _SUBSHELLS:
        raise ValueError(f"family must be 'K', 'L' or 'M', got {family!r}")
    generated_yield, generated = _generated_lines(
        element, family, _SUBSHELLS[family], beam_energy
    )
    if generated_yield <= 0:
        raise ValueError(
            f"{element} has no {family} lines at {beam_energy} keV in xraydb"
        )
    energies = np.array([e for _, e, _ in generated])
    detected = np.array([y for _, _, y in generated]) * detector_efficiency(energies)
    keep = detected >= min_weight * detected.sum()
    kept_total = float(detected[keep].sum())
    lines = tuple(
        sorted(
            (
                XrayLine(
                    element=element,
                    family=family,
                    name=name,
                    energy=float(energy),
                    weight=float(w / kept_total),
                    main=name in MAIN_LINES[family],
                )
                for (name, energy, _), w, k in zip(generated, detected, keep)
                if k
            ),
            key=lambda line: line.energy,
        )
    )
    return kept_total, lines


def poisson_counts(
    rng: np.random.Generator,
    phase_map: np.ndarray,
    spectra: dict[int, np.ndarray],
    dtype: np.dtype,
    block_elements: int = 1 << 20,
) -> np.ndarray:
    """Draw Poisson counts for every pixel, in bounded-memory row blocks.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    phase_map : numpy.ndarray
        Integer label of each pixel, shape ``(ny, nx)``.
    spectra : dict
        Label -> expected counts per channel (non-negative).
    dtype : numpy.dtype
        Output type (integer or float).
    block_elements : int, default 1048576
        Output elements per block (bounds the temporary memory).

    Returns
    -------
    numpy.ndarray
        Counts of shape ``(ny, nx, n_channels)``.

    Raises
    ------
    ValueError
        If a count does not fit an integer ``dtype``.

    Notes
    -----
    Each pixel's total is drawn from Poisson(sum of its spectrum) and that many
    channels from the normalised spectrum (inverse CDF), then bincounted. A Poisson
    total split multinomially is exactly independent Poisson counts per channel,
    at the cost of the counts rather than of the channels.

    Examples
    --------
    >>> import numpy as np
    >>> from hyperspy_chipping.fitting._xray_families import poisson_counts
    >>> rng = np.random.default_rng(0)
    >>> labels = np.array([[1, 2]])
    >>> spectra = {1: np.array([0.0, 1e3, 0.0]), 2: np.array([0.0, 0.0, 0.0])}
    >>> c = poisson_counts(rng, labels, spectra, np.dtype("uint16"))
    >>> c.shape, int(c[0, 0, 0]), int(c[0, 0, 2]), int(c[0, 1].sum())
    ((1, 2, 3), 0, 0, 0)
    """
    ny, nx = phase_map.shape
    n_channels = next(iter(spectra.values())).size
    out = np.zeros((ny, nx, n_channels), dtype=dtype)
    top = np.iinfo(dtype).max if dtype.kind in "iu" else math.inf
    rows = max(1, block_elements // (nx * n_channels))
    cdfs = {}
    for label, spectrum in spectra.items():
        total = float(spectrum.sum())
        if total > 0:
            cdf = np.cumsum(spectrum) / total
            cdf[-1] = 1.0
            cdfs[label] = (total, cdf)
    for y0 in range(0, ny, rows):
        block = phase_map[y0 : y0 + rows].ravel()
        parts = []
        for label, (total, cdf) in cdfs.items():
            pixels = np.flatnonzero(block == label)
            n = rng.poisson(total, size=pixels.size)
            channels = np.searchsorted(cdf, rng.random(int(n.sum())), "right")
            np.minimum(channels, n_channels - 1, out=channels)
            parts.append(np.repeat(pixels, n) * n_channels + channels)
        if not parts:
            continue
        flat = np.concatenate(parts)
        counts = np.bincount(flat, minlength=block.size * n_channels)
        if flat.size > top and counts.max() > top:
            raise ValueError(
                f"dtype={dtype.name!r} overflows: a channel holds {counts.max()} "
                f"counts (maximum {top}); pass a wider dtype such as 'uint32'"
            )
        out[y0 : y0 + rows] = counts.reshape(-1, nx, n_channels)
    return out
