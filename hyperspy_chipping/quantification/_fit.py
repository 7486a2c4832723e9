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
"""``quantify_chips``: fit every chip, quantify it, keep the results.

The steps: check the input; choose the line families (the package's
physics-based families, or exspy's stock line set); refine the energy
calibration and resolution on the summed spectrum; fit all chips with one
weighted linear projector; turn family amplitudes into intensities in the
convention of the k-factors; quantify with propagated uncertainties; store
everything in ``metadata.Chipping.Quantification``.
"""

from __future__ import annotations

import logging
import numbers
import warnings

import numpy as np

from hyperspy_chipping.fitting._background import (
    CHIP_BACKGROUND_ORDER,
    nonnegative_continuum,
)
from hyperspy_chipping.fitting._calibrate import calibrate, design_matrix
from hyperspy_chipping.fitting._design import Calibration, kev_per_unit
from hyperspy_chipping.fitting._families import (
    SHELLS,
    exspy_families,
    physics_families,
    split_xray_line,
)
from hyperspy_chipping.fitting._linear import Projector, single_threaded_blas
from hyperspy_chipping.fitting._low_energy import spectrum_start
from hyperspy_chipping.fitting._model import model_definition
from hyperspy_chipping.fitting._peak_search import search_unnamed_elements
from hyperspy_chipping.fitting._refine import refine_line_weights
from hyperspy_chipping.fitting._response import (
    refine_window,
    response_metadata,
    scaled_families,
)
from hyperspy_chipping.quantification._beyond_range import (
    merged_reports,
    refine_ratios_beyond,
    widened_range,
)
from hyperspy_chipping.quantification._hidden import add_hidden_elements, summed_refit
from hyperspy_chipping.quantification._summed_fit import (
    summed_fit_report,
    warn_summed_fit,
)

_logger = logging.getLogger(__name__)

INTENSITIES = ("family", "line")
MODELS = ("family", "exspy")
COMPOSITIONS = ("atomic", "weight")
#: Lowest energy (keV) of the main line of a default line choice.
DEFAULT_LOW_ENERGY = 0.2
#: Fewest counts in the fit range of the summed spectrum for refining (and
#: so checking) the energy calibration and resolution, hence for reporting
#: compositions (unless the user vouches for the metadata, refine=False):
#: with n counts in a peak its width is known to 1 / sqrt(2 n); ~500 of
#: these 1000 counts in the peaks give the resolution to ~3 % (measured on
#: the demo data: 1.8 eV scatter at 1000 counts, 6.8 eV at 300, the Fano
#: bound reached at 100).
REFINE_MIN_COUNTS = 1000
#: Lowest energy (keV) of a fitted main line; the fit itself starts where the
#: summed spectrum says (see ``fitting._low_energy.spectrum_start``).
LOWEST_ENERGY = 0.1
#: Chips with fewer counts than this in the fit range are flagged.
MIN_COUNTS = 100


def _choice(name, value, options):
    if value not in options:
        raise ValueError(f"`{name}` must be one of {options}, got {value!r}.")
    return value


#: Beam energies (kV) below this are an SEM's: TEMs run at 60-300 kV.
SEM_MAX_BEAM_ENERGY = 40.0


def is_sem(signal) -> bool:
    """Whether the map comes from an SEM (a bulk specimen).

    exspy moves an ``EDS_SEM`` signal's ``Acquisition_instrument.SEM`` to
    ``TEM`` when its type changes to a TEM type, so the beam energy tells.
    """
    md = signal.metadata
    for node in ("SEM", "TEM"):
        energy = md.get_item(f"Acquisition_instrument.{node}.beam_energy")
        if energy is not None:
            return node == "SEM" or float(energy) < SEM_MAX_BEAM_ENERGY
    return False


def warn_bulk_specimen(signal, method):
    """Warn once that Cliff-Lorimer, a thin-film method, is applied to SEM data."""
    if method == "CL" and is_sem(signal):
        warnings.warn(
            "This map is EDS_SEM data (a bulk specimen), quantified with the "
            "Cliff-Lorimer method, a thin-film method: without matrix (ZAF or "
            "phi-rho-z) corrections for absorption and fluorescence in the bulk, "
            "the compositions are biased, most for light elements and low-energy "
            "lines. Use them as relative maps, or k-factors measured on "
            "standards of a similar matrix at the same beam energy.",
            UserWarning,
            stacklevel=4,  # the user's call of quantify_chips
        )


def energy_axis_kev(signal):
    """Offset, scale (keV) and size of the energy axis; eV axes converted.

    Raises
    ------
    ValueError
        If the units are neither keV nor eV (nor undefined, taken as keV).
    """
    axis = signal.axes_manager.signal_axes[0]
    factor = kev_per_unit(axis)
    return axis.offset * factor, axis.scale * factor, axis.size


def parse_kfactors(kfactors, xray_lines, elements, intensity, default=None):
    """Validate k-factors; return {line: k}, the intensity convention.

    Parameters
    ----------
    kfactors : dict or sequence of float
        ``{"La_La": 2.5, ...}`` (lines) or ``{"La_L": 2.5, ...}`` (shells:
        family k-factors by definition), or a list in the alphabetical order
        of ``metadata.Sample.xray_lines``, as exspy takes them.
    xray_lines : list of str
        ``metadata.Sample.xray_lines`` (may be empty).
    elements : list of str
        ``metadata.Sample.elements``.
    intensity : {"family", "line"} or None
        Requested convention; None: ``"family"``.

    Returns
    -------
    dict, str
        Main line -> k-factor, and the convention.
    """
    if isinstance(kfactors, dict):
        items = dict(kfactors)
    elif isinstance(kfactors, (list, tuple, np.ndarray)):
        lines = sorted(xray_lines)
        if len(kfactors) != len(lines) or not lines:
            raise ValueError(
                f"`kfactors` given as a list needs one value per line of "
                f"metadata.Sample.xray_lines {lines} (alphabetical), got "
                f"{len(kfactors)} values."
            )
        items = dict(zip(lines, kfactors))
    else:
        raise TypeError(
            "`kfactors` must be a dict {line: k} or a list in the alphabetical "
            f"order of metadata.Sample.xray_lines, got {type(kfactors).__name__}."
        )
    if not items:
        raise ValueError("`kfactors` is empty: give one k-factor per quantified line.")
    # Keys that are elements ("La") get the element's line of
    # metadata.Sample.xray_lines, or the line a microscopist would choose.
    by_element = {split_xray_line(line)[0]: line for line in xray_lines}
    resolved = {}
    for key, value in items.items():
        if "_" not in str(key) and str(key) in elements:
            key = by_element.get(key) or (default(key) if default else key)
        resolved[key] = value
    items = resolved
    shells = {key for key in items if split_xray_line(key)[1] in SHELLS}
    if shells and len(shells) != len(items):
        raise ValueError(
            f"`kfactors` mixes shell keys {sorted(shells)} (family k-factors) "
            "with line keys: use one convention."
        )
    if shells and intensity == "line":
        raise ValueError(
            "`kfactors` are keyed by shell (family k-factors, e.g. 'La_L') but "
            "`intensity='line'` asks for main-line intensities: these do not "
            "pair. Use intensity='family' or main-line k-factors."
        )
    convention = intensity or "family"
    out = {}
    for key, value in items.items():
        element, line = split_xray_line(key)
        if element not in elements:
            raise ValueError(
                f"`kfactors` has {key!r}, but {element} is not in "
                f"metadata.Sample.elements {list(elements)}: add it with "
                "add_elements."
            )
        if line in SHELLS:
            line = f"{line}a"
        if line[1:] != "a":
            raise ValueError(
                f"`kfactors` key {key!r}: quantify a main line (Ka, La, Ma) or "
                "a shell (K, L, M)."
            )
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(
                f"`kfactors[{key!r}]` must be a positive number, got {value!r}."
            )
        if not np.isfinite(value) or value <= 0:
            raise ValueError(
                f"`kfactors[{key!r}]` must be a positive number, got {value!r}."
            )
        out[f"{element}_{line}"] = float(value)
    # Lines of metadata.Sample.xray_lines without a k-factor (a Bruker file
    # lists its own, with C): fitted, not quantified.
    return dict(sorted(out.items())), convention


def prepare_model(
    signal,
    lines,
    *,
    model,
    background,
    background_order,
    energy_range,
    auto_elements=True,
):
    """Families, fit channels and starting calibration; reads no data.

    Raises the errors of an impossible request (elements or lines outside
    the fit range) before any data is read.
    """
    md = signal.metadata
    elements = list(md.Sample.elements)
    beam_energy = float(md.get_item("Acquisition_instrument.TEM.beam_energy", 300.0))
    offset, scale, size = energy_axis_kev(signal)
    axis_lo, axis_hi = offset, offset + scale * (size - 1)
    if model == "exspy":
        lo, hi = energy_range if energy_range is not None else (axis_lo, axis_hi)
        # exspy's lines on the whole axis; a family whose main line lies
        # outside the fit range has no channel to fit (a singular system).
        families = [f for f in exspy_families(signal) if lo <= f.main_energy <= hi]
    else:
        lo, hi = (LOWEST_ENERGY, beam_energy) if energy_range is None else energy_range
        lo, hi = max(lo, axis_lo), min(hi, axis_hi, beam_energy)
        families = physics_families(elements, beam_energy, (lo, hi))
        if energy_range is None:
            # The fit starts where the summed spectrum says (above the zero
            # peak, threshold and noise): its channels from the axis start.
            lo = axis_lo
    if hi <= lo:
        raise ValueError(
            f"`energy_range` ({lo:.3f}, {hi:.3f}) keV holds no channel of the "
            f"energy axis ({axis_lo:.3f} to {axis_hi:.3f} keV)."
        )
    fitted = {f.element for f in families}
    quantified = {split_xray_line(line)[0] for line in lines}
    for element in elements:
        if element not in fitted and element not in quantified:
            # A fit-only element (e.g. C of a file's metadata) with no line
            # in a narrow fit range adds nothing to the model.
            _logger.info("%s has no line in the fit range: not fitted", element)
        elif element not in fitted:
            raise ValueError(
                f"{element} (metadata.Sample.elements) has no X-ray line inside "
                f"the fit range {lo:.2f}-{hi:.2f} keV at {beam_energy} kV: remove "
                "it or widen `energy_range`."
            )
    by_line = {f.line: i for i, f in enumerate(families)}
    for line in lines:
        if line not in by_line:
            raise ValueError(
                f"The quantified line {line} is not in the model: it lies "
                f"outside the fit range {lo:.2f}-{hi:.2f} keV or is not excited "
                f"at {beam_energy} kV."
            )
    fwhm0 = float(
        md.get_item(
            "Acquisition_instrument.TEM.Detector.EDS.energy_resolution_MnKa", 130.0
        )
    )
    wide = (lo, hi)
    if energy_range is not None and model != "exspy":
        # Lines of the families outside the user's range: their ratios are
        # refined on the summed spectrum over a widened range (_beyond_range).
        bounds = (max(LOWEST_ENERGY, axis_lo), min(axis_hi, beam_energy))
        wide = widened_range(
            families, lo, hi, bounds, Calibration(offset, scale, fwhm0)
        )
    channels = np.arange(size)
    energies = offset + scale * channels
    channels = channels[(energies >= min(lo, wide[0])) & (energies <= max(hi, wide[1]))]
    inside = (energies[channels] >= lo) & (energies[channels] <= hi)
    first, count = int(np.argmax(inside)), int(inside.sum())
    return {
        # The user's range within the channels summed (None: all of them).
        "inner": None if count == channels.size else slice(first, first + count),
        "families": families,
        "calibration": Calibration(offset, scale, fwhm0),
        "channels": channels,
        "rows": [by_line[line] for line in lines],
        "energy_range": (float(lo), float(hi)),
        "beam_energy": beam_energy,
        "elements": elements,
        "exspy_like": model == "exspy",
        # A bulk specimen: its soft lines are absorbed (residual peaks).
        "bulk": is_sem(signal),
        "background": background,
        "background_order": background_order,
        "auto_start": energy_range is None and model != "exspy",
        "auto_elements": bool(auto_elements),
        "chip_background_order": (
            CHIP_BACKGROUND_ORDER
            if background == "bremsstrahlung" and model != "exspy"
            else background_order
        ),
    }


def solve_model(total, prep, refine=True):
    """Calibrate on the summed spectrum and build the chips' projector.

    See :func:`_solve_model`; BLAS runs single-threaded here: the matrices
    are small, and numpy's and scipy's separate OpenBLAS thread pools
    otherwise contend for the cores (a 10x slow-down measured on 2 cores).
    """
    with single_threaded_blas():
        return _solve_model(total, prep, refine)


def _solve_model(total, prep, refine=True):
    """Calibrate on the summed spectrum and build the chips' projector.

    Parameters
    ----------
    total : numpy.ndarray
        Sum of all chip spectra, in the fit channels.
    prep : dict
        From :func:`prepare_model`.
    refine : bool
        Refine calibration and sub-line weights (family model).

    Returns
    -------
    dict
        ``prep`` updated with the refined ``calibration`` and ``families``,
        and ``projector``, ``covariance_tensor`` (of the quantified lines),
        ``line_weights``, ``model_definition``.
    """
    total = np.asarray(total, dtype=float)
    if not np.isfinite(total).all() or (total.size and total.min() < 0):
        raise ValueError(
            "The chip spectra contain NaN, infinite or negative counts; EDS "
            "counts must be finite and >= 0."
        )
    families, cal, channels = prep["families"], prep["calibration"], prep["channels"]
    args = (prep["background"], prep["background_order"], prep["beam_energy"])
    report = {}
    trim = slice(None)
    wide = None
    if prep.get("inner") is not None:  # the fit's channels within those summed
        wide, trim = (total, channels), prep["inner"]
        channels, total = channels[trim], total[trim]
    if prep.get("auto_start"):
        start = spectrum_start(
            total,
            cal.centres(channels),
            cal.fwhm_mnka,
            [f.main_energy for f in families],
            floor=LOWEST_ENERGY,
        )
        first = int(np.searchsorted(cal.centres(channels), start - 1e-9))
        first = min(first, channels.size - 1)
        trim = slice(first, None)
        channels, total = channels[trim], total[trim]
    added, summary, window, window_fit = {}, {}, 1.0, None
    # Too few counts to check the model's peak positions and widths: the
    # metadata's are used, and no composition is reported (see _block).
    unchecked = refine and not prep["exspy_like"] and total.sum() < REFINE_MIN_COUNTS
    if unchecked:
        warnings.warn(
            f"The summed spectrum holds {total.sum():.0f} counts in the fit "
            f"range; refining the energy calibration and resolution needs at "
            f"least {REFINE_MIN_COUNTS}: the calibration of the metadata "
            f"(offset {cal.offset:.4f} keV, gain {1000 * cal.scale:.3f} "
            f"eV/channel, resolution {cal.fwhm_mnka:.1f} eV at Mn Ka) is used. "
            "With a calibration the data cannot check, a misplaced peak or a "
            "detector artefact (e.g. the zero-peak tail at C K) would be "
            "quantified as an element: the compositions are NaN (low_counts). "
            "Pass refine=False to quantify with the metadata calibration.",
            UserWarning,
            stacklevel=6,  # the user's call of quantify_chips
        )
        refine = False
    if prep["exspy_like"]:
        # Stock exspy: metadata calibration, unweighted least squares.
        weights = np.ones(channels.size)
    else:
        search = prep.get("auto_elements", True)
        # While unnamed peaks are searched for, the Fano factor is held: a
        # free slope of the width would chase the peaks the model lacks. It
        # is refined once the model is complete (below).
        cal, weights, model_sum = calibrate(
            total, channels, cal, families, *args, refine=refine, refine_fano=not search
        )
        fit_range = (float(cal.centres(channels[0])), prep["energy_range"][1])
        if search:
            families, added = _add_unnamed_elements(
                total,
                model_sum,
                weights,
                cal,
                channels,
                families,
                args,
                fit_range,
                defer_near_fitted=refine,
                bulk=prep.get("bulk", False),
            )
            if added:  # calibrate again, with the peaks modelled
                cal, weights, model_sum = calibrate(
                    total,
                    channels,
                    cal,
                    families,
                    *args,
                    refine=refine,
                    refine_fano=False,
                )
        if refine and prep["background"] == "bremsstrahlung":
            # The detector window, from the data (fitting/_response.py).
            # The entrance is fitted with the families' sub-line ratios
            # refined at the nominal one: a table's misfit of the low-energy
            # L lines (exspy's Ti Ll is 12x another table's) would otherwise
            # be taken for absorption (a Si3N4 detector drawn with exspy's
            # tables came out as 228 nm of Si3N4 and no dead layer, the
            # metals 2.2 % low; with the ratios refined first 120 nm and
            # 73 nm, 1.6 %). The chips' ratios are refined again below, at
            # the entrance found.
            shaped, _ = refine_line_weights(
                total, channels, cal, families, *args, weights
            )
            window, window_fit = refine_window(
                total, weights, shaped, cal, channels, *args
            )
            families = scaled_families(families, window)
        if refine:
            if wide is not None:
                families, beyond = refine_ratios_beyond(
                    *wide, cal, families, args, window
                )
            families, report = refine_line_weights(
                total, channels, cal, families, *args, weights, window=window
            )
            if wide is not None:
                report = merged_reports(beyond, report)
            # Weights and model of the summed spectrum with the refined shapes.
            cal, weights, model_sum = calibrate(
                total, channels, cal, families, *args, refine=False, window=window
            )
        if search:
            # Peaks that the refined shapes uncover (e.g. O Ka under an L
            # family whose ratios were off).
            n_before = len(families)
            families, more = _add_unnamed_elements(
                total,
                model_sum,
                weights,
                cal,
                channels,
                families,
                args,
                fit_range,
                window=window,
                bulk=prep.get("bulk", False),
            )
            if more:
                added.update(more)
                families = families[:n_before] + scaled_families(
                    families[n_before:], window
                )
            # Peaks that a fitted family took whole (quantification/_hidden).
            refit = summed_refit(total, weights, cal, channels, args, window)
            families, hidden = add_hidden_elements(
                total, weights, families, refit, args[2], fit_range, window, cal
            )
            added.update(hidden)
            if refine:  # the model complete: the width's Fano slope too
                cal, weights, model_sum = calibrate(
                    total, channels, cal, families, *args, window=window
                )
            elif more or hidden:  # weights and model with the added peaks
                cal, weights, model_sum = calibrate(
                    total, channels, cal, families, *args, refine=False, window=window
                )
    shape, chip_order = None, prep["chip_background_order"]
    if prep["background"] == "bremsstrahlung" and not prep["exspy_like"]:
        # The map's continuum, never negative; each chip a low-order
        # correction of it (fitting/_background.py).
        shape = nonnegative_continuum(
            total, weights, families, cal, channels, args[2], args[1], window
        )
    design = design_matrix(
        families,
        cal,
        channels,
        args[0],
        chip_order,
        args[2],
        exspy_like=prep["exspy_like"],
        shape=shape,
        window=window,
    )
    projector = Projector.from_design(design, weights)
    if not prep["exspy_like"]:
        amplitudes = projector.fit(total[None])[0]
        counts = amplitudes[: len(families)]
        summary = summed_fit_report(
            total,
            design @ amplitudes,
            cal,
            channels,
            families,
            counts,
            added,
            prep["beam_energy"],
            fit_range,
            n_parameters=design.shape[1],
            window=window,
            bulk=prep.get("bulk", False),
        )
        warn_summed_fit(summary, prep.get("auto_elements", True))
    out = dict(prep)
    out.update(
        channels=channels,
        trim=trim,
        # The lower edge of the first fit channel (of the metadata axis).
        energy_range=(
            float(prep["calibration"].centres(channels[0] - 0.5)),
            prep["energy_range"][1],
        )
        if prep.get("auto_start")
        else prep["energy_range"],
        families=families,
        n_auto=len(families) - len(prep["families"]),
        summed_fit=summary,
        calibration=cal,
        projector=projector,
        covariance_tensor=projector.covariance_tensor(prep["rows"]),
        **projector.variance_terms(prep["rows"], total, len(families)),
        line_weights=report,
        model_definition=model_definition(
            families, cal, channels, args[0], args[2], shape, window
        ),
        unchecked=unchecked,
        detector_response=response_metadata(window, window_fit),
    )
    return out


def _add_unnamed_elements(
    total,
    model,
    weights,
    cal,
    channels,
    families,
    args,
    fit_range,
    window=1.0,
    **kwargs,
):
    """Elements that explain significant residual peaks, appended as fit-only."""
    return search_unnamed_elements(
        total,
        model,
        cal,
        channels,
        families,
        summed_refit(total, weights, cal, channels, args, window),
        args[2],
        fit_range,
        window=window,
        **kwargs,
    )
