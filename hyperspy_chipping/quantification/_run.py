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
"""Run the quantification of a chipped signal and store the results."""

from __future__ import annotations

import numpy as np
from scipy import constants

from hyperspy_chipping.chipping._table import (
    chip_table,
    flat_chip_index,
    full_grid_shape,
)
from hyperspy_chipping.fitting._design import BACKGROUNDS
from hyperspy_chipping.fitting._families import default_line
from hyperspy_chipping.quantification._composition import METHODS, quantify
from hyperspy_chipping.quantification._fit import (
    COMPOSITIONS,
    DEFAULT_LOW_ENERGY,
    INTENSITIES,
    MIN_COUNTS,
    MODELS,
    _choice,
    energy_axis_kev,
    fit_chips,
    parse_kfactors,
)

_UNITS_TO_M = {"m": 1.0, "µm": 1e-6, "um": 1e-6, "nm": 1e-9, "Å": 1e-10, "A": 1e-10}


def _dose(signal, method, n_pixels):
    """Electron dose of every chip (zeta) or per m2 (cross section)."""
    md = signal.metadata
    current = md.get_item("Acquisition_instrument.TEM.beam_current")
    src = md.Chipping.Source
    pixel_time = src.get_item("pixel_live_time")
    if current is None or pixel_time is None:
        raise ValueError(
            f"method={method!r} needs the beam current and the live time of the "
            "source map: set them with set_microscope_parameters(beam_current=..., "
            "live_time=...) before chipping."
        )
    charge = float(current) * 1e-9 * float(pixel_time) * n_pixels
    dose = charge / constants.e
    if method == "zeta":
        return dose
    units = src.units
    try:
        factors = [_UNITS_TO_M[u] for u in units[:2]]
    except KeyError as err:
        raise ValueError(
            f"method='cross_section' needs the pixel size in m, nm, µm or Å; "
            f"the navigation units are {list(units)}."
        ) from err
    pixel_area = np.prod([s * f for s, f in zip(src.scale[:2], factors)])
    if len(units) == 1:
        pixel_area = src.scale[0] * factors[0] ** 2  # line scan: square pixels
    return dose / (n_pixels * pixel_area)


def quantify_chipped(
    signal,
    kfactors,
    *,
    method="CL",
    intensity=None,
    model="family",
    composition="atomic",
    background=None,
    background_order=None,
    energy_range=None,
    thickness=None,
    absorption_correction=False,
    refine=True,
):
    """See :meth:`hyperspy_chipping.signals.ChippedEDSSpectrum.quantify_chips`."""
    _choice("method", method, METHODS)
    if intensity is not None:
        _choice("intensity", intensity, INTENSITIES)
    _choice("model", model, MODELS)
    _choice("composition", composition, COMPOSITIONS)
    if background is None:
        background = "polynomial" if model == "exspy" else "bremsstrahlung"
    _choice("background", background, BACKGROUNDS)
    if background_order is None:
        background_order = 6 if background == "polynomial" else 5
    md = signal.metadata
    if "Chipping" not in md:
        raise ValueError(
            "This signal has no metadata.Chipping: it is not the output of "
            "chip(). Call s.chip(...) first."
        )
    elements = list(md.get_item("Sample.elements", []))
    if not elements:
        raise ValueError(
            "No elements to fit: set them with s.add_elements([...]) (they are "
            "in metadata.Sample.elements)."
        )
    xray_lines = list(md.get_item("Sample.xray_lines", []))
    beam_energy = float(md.get_item("Acquisition_instrument.TEM.beam_energy", 300.0))
    offset, scale, size = energy_axis_kev(signal)
    high = offset + scale * (size - 1) if energy_range is None else energy_range[1]
    low = DEFAULT_LOW_ENERGY if energy_range is None else energy_range[0]

    def default(element):
        return default_line(element, beam_energy, (low, high))

    lines_k, convention = parse_kfactors(
        kfactors, xray_lines, elements, intensity, default
    )
    lines = list(lines_k)
    fit = fit_chips(
        signal,
        lines,
        model=model,
        background=background,
        background_order=background_order,
        energy_range=energy_range,
        refine=refine,
    )
    families = fit["families"]
    rows = fit["rows"]
    projector = fit["projector"]
    amplitudes = fit["amplitudes"]
    # Family amplitudes are family intensities; a main line is a fixed part.
    scale = np.array(
        [1.0 if convention == "family" else families[r].main_fraction for r in rows]
    )
    inten = amplitudes[:, rows] * scale
    cov = projector.covariance(amplitudes, rows) * scale[:, None] * scale[None, :]
    counts = fit["spectra"].sum(axis=1)
    chi2 = projector.reduced_chi2(fit["spectra"], amplitudes)
    line_elements = [line.split("_")[0] for line in lines]
    factors = np.array([lines_k[line] for line in lines])
    table = chip_table(signal)
    n_pixels = table["n_pixels"].astype(float)
    dose = None if method == "CL" else _dose(signal, method, n_pixels)
    toa = None
    if absorption_correction:
        if method == "CL" and thickness is None:
            raise ValueError(
                "absorption_correction=True with method='CL' needs the specimen "
                "`thickness` in nm."
            )
        toa = signal.get_take_off_angle()
    energies = np.array([families[r].main_energy for r in rows])
    with np.errstate(invalid="ignore", divide="ignore"):
        out = quantify(
            inten,
            cov,
            method,
            factors,
            line_elements,
            dose=dose,
            thickness=thickness,
            energies=energies,
            take_off_angle=toa,
        )
    empty = counts <= 0
    for key in ("weight", "atomic"):
        out[key][empty] = np.nan
    store = _store(
        signal,
        fit,
        lines,
        line_elements,
        lines_k,
        convention,
        method,
        model,
        background,
        background_order,
        thickness,
        toa,
        inten,
        cov,
        out,
        chi2,
        counts,
    )
    return store


def _std(cov):
    return np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0, None))


def _store(
    signal,
    fit,
    lines,
    elements,
    lines_k,
    convention,
    method,
    model,
    background,
    background_order,
    thickness,
    toa,
    inten,
    cov,
    out,
    chi2,
    counts,
):
    """Write the results into metadata.Chipping.Quantification (full grid)."""
    meta = signal.metadata.Chipping.as_dictionary()
    n_full = int(np.prod(full_grid_shape(meta)))
    index = flat_chip_index(signal)

    def full(values, fill=np.nan):
        values = np.asarray(values)
        arr = np.full(
            (n_full,) + values.shape[1:],
            fill,
            dtype=values.dtype if values.dtype == bool else float,
        )
        arr[index] = values
        return arr

    cal = fit["calibration"]
    q = {
        "method": method,
        "intensity": convention,
        "model": model,
        "background": background,
        "background_order": int(background_order),
        "xray_lines": lines,
        "elements": elements,
        "kfactors": lines_k,
        "energy_range": list(fit["energy_range"]),
        "Calibration": {
            "offset": cal.offset,
            "scale": cal.scale,
            "energy_resolution_MnKa": cal.fwhm_mnka,
        },
        "intensities": full(inten),
        "intensities_std": full(_std(cov)),
        "atomic_percent": full(out["atomic"] * 100),
        "atomic_percent_std": full(_std(out["atomic_cov"]) * 100),
        "weight_percent": full(out["weight"] * 100),
        "weight_percent_std": full(_std(out["weight_cov"]) * 100),
        "chi2_red": full(chi2),
        "counts": full(counts),
        "low_counts": full(counts < MIN_COUNTS, fill=False),
        "quantified": full(np.ones(counts.shape, bool), fill=False),
        "amplitudes": full(fit["amplitudes"]),
        "families": [f.key for f in fit["families"]],
        "line_weights": fit["line_weights"],
        "beam_energy": fit["beam_energy"],
        **fit["model_definition"],
    }
    if thickness is not None:
        q["thickness"] = thickness
    if toa is not None:
        q["take_off_angle"] = float(toa)
    if "mass_thickness" in out and method != "CL":
        q["mass_thickness"] = full(out["mass_thickness"])
    signal.metadata.set_item("Chipping.Quantification", q)
    return q


def composition_maps(signal, composition="atomic"):
    """The stored composition of the chips as one signal per element.

    Parameters
    ----------
    signal : ChippedEDSSpectrum
        A quantified chipped signal.
    composition : {"atomic", "weight"}
        Atomic or weight percent.

    Returns
    -------
    list of hyperspy.signal.BaseSignal
        One map per quantified element: ``Signal2D`` for a chip grid,
        ``Signal1D`` for label chips or chips of a line scan.
    """
    import hyperspy.api as hs

    q = signal.metadata.Chipping.Quantification
    key = "atomic_percent" if composition == "atomic" else "weight_percent"
    values = np.asarray(q[key])[flat_chip_index(signal)]
    nav = signal.axes_manager.navigation_axes
    shape = tuple(a.size for a in nav)[::-1]
    axes = [a.get_axis_dictionary() for a in nav[::-1]]
    for ax in axes:
        ax["navigate"] = False
    cls = hs.signals.Signal2D if len(shape) == 2 else hs.signals.Signal1D
    label = "atomic percent" if composition == "atomic" else "weight percent"
    maps = []
    for i, (element, line) in enumerate(zip(q.elements, q.xray_lines)):
        m = cls(values[:, i].reshape(shape), axes=[dict(a) for a in axes])
        m.metadata.General.title = f"{label} of {element}"
        m.metadata.set_item("Sample.elements", [element])
        m.metadata.set_item("Sample.xray_lines", [line])
        m.metadata.Signal.quantity = f"{label.capitalize()} (%)"
        maps.append(m)
    return maps
