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
"""Simulated STEM-EDS spectrum image of a LaFeO3 film on SrTiO3 (cross-section).

Demo data and test ground truth: every pixel is pure LaFeO3 (LFO, top rows from
``y = 0``) or pure SrTiO3 (STO), with a sharp interface. The forward model (sources
in :func:`sto_lfo_cross_section` and the *Demo data* user-guide page):

1. **Cliff-Lorimer by construction.** The detected intensity of the *whole* main
   family of element A in a phase of density ``rho`` is ``S rho wt_A / k_A``, so
   ``C_A / C_B = k_A / k_B * I_A / I_B`` holds exactly with the chosen k-factors.
2. **Lines** from xraydb (Elam et al.): K lines each at its own energy; L and M
   subshells weighted by occupancy x Bethe factor ``ln(U) / (U E_edge**2)``,
   Coster-Kronig transfers and fluorescence yields (a tabulated yield of 0 for a
   subshell with lines, La M5, takes the largest yield of its shell); every line
   times the detector efficiency; lines under 0.1 % of the family dropped.
3. **Secondary families** (Ti L, Fe L, Sr L, La M, La K) scale with the main family
   of their element by the ratio of detected yields per atom (same Bethe rule,
   constants b = c = 1: good to about a factor of 2).
4. **Efficiency**: 300 nm polyimide + 40 nm Al window, 30 nm Si dead layer, 0.45 mm
   Si crystal (``xraydb.material_mu``).
5. **Continuum**: Kramers ``rho Zbar (E0 - E) / E`` x efficiency, 0 below 0.1 keV,
   no self-absorption; 30 % of the 0.1-20 keV counts of a 50/50 phase mixture.
6. **Response**: Fiori-Newbury Gaussians (130 eV at Mn Ka) integrated over each
   channel; a zero peak of the noise width (the formula at 0 keV); system peaks
   added uniformly, main family at 3 % of ``counts_per_pixel``.
7. **Noise**: Poisson total per pixel, spread multinomially over the channels.

No absorption or fluorescence in the specimen (the thin-film limit in which
Cliff-Lorimer is exact).
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import xraydb
from exspy.signals import EDSTEMSpectrum

from hyperspy_chipping.data._checks import check_inputs
from hyperspy_chipping.fitting._families import split_xray_line
from hyperspy_chipping.fitting._xray_families import (
    LOW_ENERGY_CUTOFF,
    MAIN_LINES,
    XrayLine,
    available_families,
    detector_efficiency,
    family_lines,
    fwhm_at_energy,
    gaussian_channel_areas,
    kramers_continuum,
    mass_fractions,
    mean_atomic_number,
    poisson_counts,
)

BEAM_ENERGY = 300.0  # keV
ENERGY_RESOLUTION_MNKA = 130.0  # eV
PIXEL_SIZE = 0.2  # nm
COUNT_RATE = 5.0e4  # counts per second of live time (sets live_time)
DEAD_TIME_FRACTION = 0.05
BEAM_CURRENT = 0.1  # nA
CONTINUUM_FRACTION = 0.30  # of the 0.1-20 keV counts of a 50/50 phase mixture
SYSTEM_PEAK_FRACTION = 0.03  # main family of a system peak / counts_per_pixel
MIN_LINE_WEIGHT = 1e-3
PHASE_LABELS = MappingProxyType({"LFO": 1, "STO": 2})
COMPOSITION_AT = MappingProxyType(
    {
        "LFO": MappingProxyType({"La": 0.2, "Fe": 0.2, "O": 0.6}),
        "STO": MappingProxyType({"Sr": 0.2, "Ti": 0.2, "O": 0.6}),
    }
)
#: g/cm3 from the lattices: LaFeO3 Pbnm a=5.557, b=5.565, c=7.854 A, Z=4;
#: SrTiO3 cubic a=3.905 A.
DENSITY = MappingProxyType({"LFO": 6.64, "STO": 5.12})
#: Chosen (not measured) weight-based family k-factors relative to Fe_Ka, in the
#: range of published and Velox-like 300 kV values.
KFACTORS = MappingProxyType(
    {"Fe_Ka": 1.0, "La_La": 2.5, "O_Ka": 2.0, "Sr_Ka": 1.8, "Ti_Ka": 1.1}
)
#: Families emitted per sample element (if their edge is below the beam energy).
FAMILIES = MappingProxyType(
    {
        "O": ("K",),
        "Ti": ("K", "L"),
        "Fe": ("K", "L"),
        "Sr": ("K", "L"),
        "La": ("K", "L", "M"),
    }
)


@dataclass(frozen=True)
class ExpectedSpectra:
    """Noise-free counts per pixel and channel, and their parts.

    ``lines``: family key (``"La_L"``) -> lines; ``line_spectra``: phase -> line key
    (``"La_La1"``) -> spectrum; ``family_counts``: phase -> family key -> family
    area per pixel over all its lines (also those outside the axis);
    ``continuum``: phase -> spectrum; ``zero_peak`` and ``system``: the same in
    every pixel; ``total``: phase -> sum of all of these. ``energy``: channel
    centres in keV.
    """

    energy: np.ndarray
    lines: dict[str, tuple[XrayLine, ...]]
    line_spectra: dict[str, dict[str, np.ndarray]]
    family_counts: dict[str, dict[str, float]]
    continuum: dict[str, np.ndarray]
    zero_peak: np.ndarray
    system: np.ndarray
    total: dict[str, np.ndarray]


def _channel_edges(n_channels: int, scale: float, offset: float) -> np.ndarray:
    """Channel edges of a HyperSpy axis (``offset`` is the first channel centre)."""
    return offset + (np.arange(n_channels + 1) - 0.5) * scale


@functools.lru_cache(maxsize=16)
def _axis_efficiency(n_channels: int, scale: float, offset: float) -> np.ndarray:
    """Detector efficiency at the channel centres (cached: xraydb is slow)."""
    edges = _channel_edges(n_channels, scale, offset)
    efficiency = detector_efficiency(0.5 * (edges[:-1] + edges[1:]))
    efficiency.flags.writeable = False
    return efficiency


def _families(
    element: str, main_family: str, families: Sequence[str]
) -> dict[str, tuple[float, tuple[XrayLine, ...]]]:
    """Family -> (intensity relative to the main family, lines)."""
    out = {f: family_lines(element, f, BEAM_ENERGY, MIN_LINE_WEIGHT) for f in families}
    main_yield = out[main_family][0]
    return {f: (y / main_yield, lines) for f, (y, lines) in out.items()}


@functools.lru_cache(maxsize=1)
def _sample_families() -> tuple[dict, dict, float]:
    """Lines, family areas (units of S) per phase, and the continuum scale ``b``.

    Everything here depends on the constants only; callers must not mutate it.
    """
    lines: dict[str, tuple[XrayLine, ...]] = {}
    area: dict[str, dict[str, float]] = {}
    for phase, comp_at in COMPOSITION_AT.items():
        wt = mass_fractions(dict(comp_at))
        area[phase] = {}
        for xray_line, k in KFACTORS.items():
            element, line = split_xray_line(xray_line)
            if element in wt:
                main = DENSITY[phase] * wt[element] / k
                fams = _families(element, line[0], FAMILIES[element])
                for family, (ratio, fam_lines) in fams.items():
                    lines[f"{element}_{family}"] = fam_lines
                    area[phase][f"{element}_{family}"] = main * ratio
    # b: CONTINUUM_FRACTION of the 0.1-20 keV counts in a 50/50 mixture (10 eV grid).
    grid = np.arange(LOW_ENERGY_CUTOFF, 20.0, 0.01) + 0.005
    shape = detector_efficiency(grid) * 0.01
    continuum = np.mean(
        [
            DENSITY[p] * (kramers_continuum(grid, BEAM_ENERGY, _zbar(p)) * shape).sum()
            for p in COMPOSITION_AT
        ]
    )
    characteristic = np.mean([sum(a.values()) for a in area.values()])
    b = CONTINUUM_FRACTION / (1 - CONTINUUM_FRACTION) * characteristic / continuum
    return lines, area, float(b)


def _zbar(phase: str) -> float:
    return mean_atomic_number(mass_fractions(dict(COMPOSITION_AT[phase])))


def _render(lines: Sequence[XrayLine], area: float, edges: np.ndarray) -> dict:
    """Channel-integrated spectrum of each line of a family of total ``area``."""
    fwhm = fwhm_at_energy([line.energy for line in lines], ENERGY_RESOLUTION_MNKA)
    return {
        line.key: gaussian_channel_areas(line.energy, w, edges, area * line.weight)
        for line, w in zip(lines, fwhm)
    }


def _system_spectrum(element: str, area: float, edges: np.ndarray) -> np.ndarray:
    """System peak: the main family is the first (K, L, M) whose main line lies
    inside the axis and holds ``area``; the others follow by their yield ratio."""
    families = available_families(element, BEAM_ENERGY)
    for family in families:
        _, lines = family_lines(element, family, BEAM_ENERGY, MIN_LINE_WEIGHT)
        main = [line.energy for line in lines if line.main]
        if main and edges[0] <= min(main) and max(main) <= edges[-1]:
            spectra = [
                s
                for ratio, fam_lines in _families(element, family, families).values()
                for s in _render(fam_lines, area * ratio, edges).values()
            ]
            return np.sum(spectra, axis=0)
    raise ValueError(
        f"system_peaks element {element!r} has no Ka, La or Ma line inside the "
        f"energy axis ({edges[0]:.3f}-{edges[-1]:.3f} keV)"
    )


def expected_spectra(
    n_channels: int,
    energy_scale: float,
    energy_offset: float,
    phase_weights: Mapping[str, float],
    counts_per_pixel: float,
    zero_peak_counts: float = 0.0,
    system_peaks: Sequence[str] = (),
) -> ExpectedSpectra:
    """Build the noise-free spectrum of each phase and its parts.

    ``phase_weights`` is the fraction of pixels in each phase; characteristic plus
    continuum counts are scaled so that their map mean inside the axis is
    ``counts_per_pixel``. Zero and system peaks come on top.
    """
    edges = _channel_edges(n_channels, energy_scale, energy_offset)
    centres = 0.5 * (edges[:-1] + edges[1:])
    lines, area, b = _sample_families()
    efficiency = _axis_efficiency(n_channels, energy_scale, energy_offset)
    line_spectra, continuum, in_axis = {}, {}, {}
    for phase in COMPOSITION_AT:
        line_spectra[phase] = {}
        for key, family_area in area[phase].items():
            line_spectra[phase].update(_render(lines[key], family_area, edges))
        kramers = kramers_continuum(centres, BEAM_ENERGY, _zbar(phase))
        continuum[phase] = b * DENSITY[phase] * kramers * efficiency * energy_scale
        in_axis[phase] = continuum[phase].sum() + sum(
            s.sum() for s in line_spectra[phase].values()
        )
    mean_in_axis = sum(phase_weights[p] * in_axis[p] for p in COMPOSITION_AT)
    if not mean_in_axis > 0:
        raise ValueError(
            f"the energy axis ({edges[0]:.3f}-{edges[-1]:.3f} keV) holds no X-ray "
            "signal: check energy_offset, energy_scale and n_channels"
        )
    g = counts_per_pixel / mean_in_axis
    zero_peak = np.zeros(n_channels)
    if zero_peak_counts > 0:
        zero_fwhm = float(fwhm_at_energy(0.0, ENERGY_RESOLUTION_MNKA))
        zero_peak = gaussian_channel_areas(0.0, zero_fwhm, edges, zero_peak_counts)
    system = np.zeros(n_channels)
    for element in system_peaks:
        area_main = SYSTEM_PEAK_FRACTION * counts_per_pixel
        system = system + _system_spectrum(element, area_main, edges)
    line_spectra = {
        p: {k: v * g for k, v in spectra.items()} for p, spectra in line_spectra.items()
    }
    continuum = {p: v * g for p, v in continuum.items()}
    return ExpectedSpectra(
        energy=centres,
        lines=dict(lines),
        line_spectra=line_spectra,
        family_counts={p: {k: v * g for k, v in a.items()} for p, a in area.items()},
        continuum=continuum,
        zero_peak=zero_peak,
        system=system,
        total={
            p: continuum[p] + sum(line_spectra[p].values()) + zero_peak + system
            for p in COMPOSITION_AT
        },
    )


def sto_lfo_cross_section(
    navigation_shape: tuple[int, int] = (100, 100),
    counts_per_pixel: float = 50.0,
    *,
    seed: int | np.random.Generator = 0,
    film_fraction: float = 0.4,
    n_channels: int = 2000,
    energy_scale: float = 0.01,
    energy_offset: float = 0.0,
    zero_peak_counts: float = 0.0,
    system_peaks: Sequence[str] = (),
    poisson: bool = True,
    dtype: str | np.dtype = "uint16",
) -> EDSTEMSpectrum:
    """Simulate a STEM-EDS map of a LaFeO3 film on SrTiO3, in cross-section.

    A 300 kV spectrum image with Poisson noise whose composition, k-factors and
    line fractions are known exactly: the package's demo data and test ground
    truth. The top ``film_fraction`` of the rows (from ``y`` index 0) are LaFeO3
    (LFO), the rest SrTiO3 (STO); the interface is sharp and every pixel is one
    pure phase.

    Parameters
    ----------
    navigation_shape : tuple of int, default (100, 100)
        ``(x, y)`` in HyperSpy navigation order, like
        ``axes_manager.navigation_shape``; the data shape is ``(y, x, n_channels)``.
    counts_per_pixel : float, default 50.0
        Mean X-ray counts per pixel over the map (characteristic plus continuum,
        inside the energy axis). Zero and system peaks come on top.
    seed : int or numpy.random.Generator, default 0
        Seed of the noise.
    film_fraction : float, default 0.4
        Fraction of the rows that are LFO, rounded to whole rows.
    n_channels : int, default 2000
        Number of energy channels, at least 16.
    energy_scale : float, default 0.01
        Channel width in keV.
    energy_offset : float, default 0.0
        Energy of the first channel centre in keV, e.g. -0.25 as Velox writes it.
    zero_peak_counts : float, default 0.0
        Mean counts per pixel in the detector zero (strobe) peak at 0 keV; only
        the part inside the axis is recorded (half of it if the axis starts at 0).
    system_peaks : sequence of str, default ()
        Elements, e.g. ``("Cu",)``, added uniformly to every pixel (grid, holder);
        the main family of each holds 3 % of ``counts_per_pixel``. They are not
        added to ``metadata.Sample``.
    poisson : bool, default True
        If False, return the noise-free expectation instead of counts.
    dtype : str or numpy.dtype, default "uint16"
        Data type of the counts. With ``poisson=False`` the data are float64, or
        ``dtype`` if that is a float type.

    Returns
    -------
    exspy.signals.EDSTEMSpectrum
        Navigation axes ``x`` and ``y`` in nm (0.2 nm pixels), signal axis
        ``Energy`` in keV. Ground truth in ``metadata.Simulation``: ``phase_map``
        (uint8, data order ``(y, x)``, 1 = LFO, 2 = STO), ``phase_labels``,
        ``composition_at`` and ``composition_wt`` (phase -> element -> fraction),
        ``density`` (g/cm3), ``kfactors`` (family convention), ``kfactors_line``
        (main-line convention), ``line_fractions``, ``main_lines``,
        ``family_ratios``, ``expected_counts`` and ``continuum_fraction`` (per
        phase), ``model``, ``seed``, ``counts_per_pixel``, ``zero_peak_counts``,
        ``system_peaks``.

    Raises
    ------
    TypeError
        If an argument has the wrong type (e.g. ``navigation_shape=100``).
    ValueError
        If a value is out of range: a non-positive shape or ``counts_per_pixel``,
        ``film_fraction`` outside [0, 1], ``n_channels < 16``,
        ``energy_scale <= 0``, ``zero_peak_counts < 0``, an unknown or
        out-of-axis system-peak element, a dtype that is not integer or float, or
        counts that overflow an integer ``dtype``.

    Notes
    -----
    - The detected intensity of the whole main family of element A in a phase of
      density ``rho`` is proportional to ``rho wt_A / k_A``, so that Cliff-Lorimer
      [1]_ with ``kfactors`` and family intensities returns the true weight
      fractions; ``kfactors_line = kfactors / line_fractions`` does the same with
      main-line intensities (Ka = Ka1 + Ka2, La = La1 + La2, Ma). The k-factors
      are chosen, not measured.
    - Line energies, relative intensities, fluorescence yields and Coster-Kronig
      probabilities come from the Elam et al. tables in xraydb [2]_; L and M
      subshells are weighted by Bethe ionisation [3]_; every weight includes the
      detector efficiency (polyimide/Al window, 0.45 mm Si).
    - Secondary families (Ti L, Fe L, Sr L, La M) follow their element's main
      family by the ratio of detected yields per atom (``family_ratios``).
    - A Kramers continuum [4]_ (~30 % of the counts), Gaussian peaks of
      Fiori-Newbury width [5]_ (130 eV at Mn Ka) integrated over the channels, and
      no absorption or fluorescence in the foil.
    - Each pixel's total is Poisson and its counts are drawn from the phase's
      spectrum: exactly independent Poisson counts per channel, at a cost that
      scales with the counts (500 x 500 x 2000 at 50 counts/px in a few seconds).

    Metadata that the simulation does not use (take-off angle, beam current) are
    plausible Super-X-like values; ``live_time`` assumes 50 000 counts/s.

    References
    ----------
    .. [1] G. Cliff and G. W. Lorimer, J. Microsc. 103 (1975) 203-207.
    .. [2] W. T. Elam, B. D. Ravel and J. R. Sieber, Radiat. Phys. Chem. 63
       (2002) 121-128.
    .. [3] H. Bethe, Ann. Phys. 397 (1930) 325-400.
    .. [4] H. A. Kramers, Phil. Mag. 46 (1923) 836-871.
    .. [5] C. E. Fiori and D. E. Newbury, SEM/1978/I (1978) 401.

    Examples
    --------
    >>> from hyperspy_chipping.data import sto_lfo_cross_section
    >>> s = sto_lfo_cross_section((20, 10))
    >>> s
    <EDSTEMSpectrum, title: LaFeO3 on SrTiO3 (simulated), dimensions: (20, 10|2000)>
    >>> s.data.dtype, s.metadata.Sample.xray_lines
    (dtype('uint16'), ['Fe_Ka', 'La_La', 'O_Ka', 'Sr_Ka', 'Ti_Ka'])
    >>> truth = s.metadata.Simulation
    >>> truth.phase_map[:, 0]
    array([1, 1, 1, 1, 2, 2, 2, 2, 2, 2], dtype=uint8)
    >>> truth.kfactors["La_La"], round(truth.line_fractions["La_La"], 3)
    (2.5, 0.5)
    >>> mean = sto_lfo_cross_section((20, 10), poisson=False).data.sum(-1).mean()
    >>> round(float(mean), 6)
    50.0
    """
    args = check_inputs(**locals())
    nx, ny = args["nx"], args["ny"]
    film_rows = math.floor(args["film_fraction"] * ny + 0.5)
    phase_map = np.full((ny, nx), PHASE_LABELS["STO"], dtype=np.uint8)
    phase_map[:film_rows] = PHASE_LABELS["LFO"]
    expected = expected_spectra(
        args["n_channels"],
        args["energy_scale"],
        args["energy_offset"],
        {"LFO": film_rows / ny, "STO": 1.0 - film_rows / ny},
        args["counts_per_pixel"],
        args["zero_peak_counts"],
        args["system_peaks"],
    )
    by_label = {PHASE_LABELS[p]: expected.total[p] for p in PHASE_LABELS}
    if poisson:
        rng = np.random.default_rng(seed)
        data = poisson_counts(rng, phase_map, by_label, args["dtype"])
    else:
        out_dtype = args["dtype"] if args["dtype"].kind == "f" else np.float64
        lookup = np.zeros((max(by_label) + 1, args["n_channels"]), dtype=out_dtype)
        for label, spectrum in by_label.items():
            lookup[label] = spectrum
        data = lookup[phase_map]
    axes = [
        {"name": "y", "size": ny, "scale": PIXEL_SIZE, "offset": 0.0, "units": "nm"},
        {"name": "x", "size": nx, "scale": PIXEL_SIZE, "offset": 0.0, "units": "nm"},
        {
            "name": "Energy",
            "size": args["n_channels"],
            "scale": args["energy_scale"],
            "offset": args["energy_offset"],
            "units": "keV",
        },
    ]
    s = EDSTEMSpectrum(data, axes=axes)
    _set_metadata(s, args, expected, phase_map, seed)
    return s


def _set_metadata(
    s: EDSTEMSpectrum,
    args: dict,
    expected: ExpectedSpectra,
    phase_map: np.ndarray,
    seed: int | np.random.Generator,
) -> None:
    """Acquisition metadata, the sample and the ground truth."""
    live_time = args["counts_per_pixel"] / COUNT_RATE
    md = s.metadata
    md.General.title = "LaFeO3 on SrTiO3 (simulated)"
    md.set_item("Signal.quantity", "X-rays (Counts)")
    tem = "Acquisition_instrument.TEM"
    md.set_item(f"{tem}.beam_energy", BEAM_ENERGY)
    md.set_item(f"{tem}.beam_current", BEAM_CURRENT)
    md.set_item(f"{tem}.acquisition_mode", "STEM")
    md.set_item(f"{tem}.microscope", "simulated (hyperspy_chipping)")
    md.set_item(f"{tem}.Stage.tilt_alpha", 0.0)
    eds = f"{tem}.Detector.EDS"
    md.set_item(f"{eds}.energy_resolution_MnKa", ENERGY_RESOLUTION_MNKA)
    md.set_item(f"{eds}.elevation_angle", 18.0)
    md.set_item(f"{eds}.azimuth_angle", 45.0)
    md.set_item(f"{eds}.live_time", live_time)
    md.set_item(f"{eds}.real_time", live_time / (1.0 - DEAD_TIME_FRACTION))
    md.set_item("Sample.description", "LaFeO3 film on SrTiO3, cross-section")
    md.set_item("Sample.elements", sorted({split_xray_line(x)[0] for x in KFACTORS}))
    md.set_item("Sample.xray_lines", sorted(KFACTORS))

    fractions, ratios = {}, {}
    for xray_line in KFACTORS:
        element, line = split_xray_line(xray_line)
        key = f"{element}_{line[0]}"
        fractions[xray_line] = float(
            sum(x.weight for x in expected.lines[key] if x.main)
        )
        phase = next(p for p, c in COMPOSITION_AT.items() if element in c)
        counts = expected.family_counts[phase]
        for family in FAMILIES[element]:
            if f"{element}_{family}" != key:
                ratios[f"{element}_{family}"] = float(
                    counts[f"{element}_{family}"] / counts[key]
                )
    totals = {p: float(expected.total[p].sum()) for p in COMPOSITION_AT}
    truth = {
        "model": (
            f"Cliff-Lorimer thin film; xraydb {xraydb.__version__} (Elam) lines, "
            "fluorescence and Coster-Kronig yields, Bethe subshell weights, "
            "detector efficiency; Kramers continuum; Fiori-Newbury Gaussians; "
            "Poisson counts"
        ),
        "seed": int(seed) if isinstance(seed, numbers.Integral) else "Generator",
        "counts_per_pixel": args["counts_per_pixel"],
        "phase_map": phase_map,
        "phase_labels": dict(PHASE_LABELS),
        "composition_at": {p: dict(c) for p, c in COMPOSITION_AT.items()},
        "composition_wt": {
            p: mass_fractions(dict(c)) for p, c in COMPOSITION_AT.items()
        },
        "density": dict(DENSITY),
        "kfactors": dict(KFACTORS),
        "kfactors_line": {x: k / fractions[x] for x, k in KFACTORS.items()},
        "line_fractions": fractions,
        "main_lines": {f"{f}_family": "+".join(v) for f, v in MAIN_LINES.items()},
        "family_ratios": ratios,
        "expected_counts": totals,
        "continuum_fraction": {
            p: float(expected.continuum[p].sum()) / totals[p] for p in totals
        },
        "zero_peak_counts": args["zero_peak_counts"],
        "system_peaks": list(args["system_peaks"]),
    }
    md.set_item("Simulation", truth)
