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
"""Run the quantification of a chipped signal and keep the results.

Eager signals: the chip spectra are fitted in row blocks and every per-chip
result is stored in ``metadata.Chipping.Quantification`` (for the complete
chip set, so that slicing keeps each result with its chip). Lazy signals: the
same computation is one dask graph — the summed spectrum, the model solved on
it, every chunk quantified with that model — so that each chunk of the source
is read once and nothing runs until the results are computed; the metadata
then holds the request, and :meth:`to_dataframe` computes the results.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor

import dask
import dask.array as da
import numpy as np

from hyperspy_chipping.chipping._table import (
    _chipping,
    chip_table,
    flat_chip_index,
    full_grid_shape,
    is_complete,
    require_chipping,
)
from hyperspy_chipping.chipping._windows import window_source
from hyperspy_chipping.fitting._design import BACKGROUNDS
from hyperspy_chipping.fitting._families import default_line, split_xray_line
from hyperspy_chipping.fitting._linear import single_threaded_blas
from hyperspy_chipping.quantification._block import (
    SINGLE_PRECISION,
    layout,
    quantify_block,
)
from hyperspy_chipping.quantification._calibration_sum import (
    calibration_subset,
    lazy_total,
    overlap,
)
from hyperspy_chipping.quantification._composition import (
    METHODS,
    atomic_masses,
    electron_dose,
)
from hyperspy_chipping.quantification._fit import (
    COMPOSITIONS,
    DEFAULT_LOW_ENERGY,
    INTENSITIES,
    MODELS,
    _choice,
    energy_axis_kev,
    parse_kfactors,
    prepare_model,
    solve_model,
    warn_bulk_specimen,
)
from hyperspy_chipping.quantification._kfactor_window import (
    applied_kfactors,
    window_kfactors_task,
)
from hyperspy_chipping.quantification._stream import (
    stream_window_results,
)
from hyperspy_chipping.quantification._validate import beam_energy, check_options

_UNITS_TO_M = {"m": 1.0, "µm": 1e-6, "um": 1e-6, "nm": 1e-9, "Å": 1e-10, "A": 1e-10}
#: Chips per task on the eager path (quantify_block then works through them
#: a thousand at a time, in cache).
BLOCK_ROWS = 8192
#: Fewest chips per eager task when a map's chips are shared among the cores.
MIN_BLOCK_ROWS = 256


def _pixel_dose(signal, method):
    """Electrons per source pixel (zeta) or per m2 (cross section)."""
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
    if method == "zeta":
        return float(electron_dose(float(current), float(pixel_time)))
    units = list(src.units)
    try:
        factors = [_UNITS_TO_M[u] for u in units]
    except KeyError as err:
        raise ValueError(
            f"method='cross_section' needs the pixel size in m, nm, µm or Å; "
            f"the navigation units are {units}."
        ) from err
    sizes = [s * f for s, f in zip(src.scale, factors)]
    pixel_area = sizes[0] * (sizes[1] if len(sizes) > 1 else sizes[0])
    return float(electron_dose(float(current), float(pixel_time), pixel_area))


def parse_request(signal, kfactors, **options):
    """Validate a quantify_chips request; return the normalised request."""
    method = _choice("method", options["method"], METHODS)
    require_chipping(signal)
    options = check_options(signal, options)
    intensity = options["intensity"]
    if intensity is not None:
        _choice("intensity", intensity, INTENSITIES)
    model = _choice("model", options["model"], MODELS)
    _choice("composition", options["composition"], COMPOSITIONS)
    background = options["background"]
    if background is None:
        background = "polynomial" if model == "exspy" else "bremsstrahlung"
    _choice("background", background, BACKGROUNDS)
    order = options["background_order"]
    if order is None:
        order = 6 if background == "polynomial" else 5
    md = signal.metadata
    elements = list(md.get_item("Sample.elements", []))
    if not elements:
        raise ValueError(
            "No elements to fit: set them with s.add_elements([...]) (they are "
            "in metadata.Sample.elements)."
        )
    beam_kv = beam_energy(signal)
    offset, scale, size = energy_axis_kev(signal)
    energy_range = options["energy_range"]
    low, high = (DEFAULT_LOW_ENERGY, offset + scale * (size - 1))
    if energy_range is not None:
        low, high = energy_range

    def default(element):
        return default_line(element, beam_kv, (low, high))

    lines_k, convention = parse_kfactors(
        kfactors,
        list(md.get_item("Sample.xray_lines", [])),
        elements,
        intensity,
        default,
    )
    toa = None
    if options["absorption_correction"]:
        if method == "CL" and options["thickness"] is None:
            raise ValueError(
                "absorption_correction=True with method='CL' needs the specimen "
                "`thickness` in nm."
            )
        toa = float(signal.get_take_off_angle())
    elements = [split_xray_line(line)[0] for line in lines_k]
    params = {
        "method": method,
        "factors": np.array(list(lines_k.values())),
        "convention": convention,
        "elements": elements,
        # Looked up here: a dask worker then needs no element database.
        "masses": atomic_masses(elements),
        "pixel_dose": None if method == "CL" else _pixel_dose(signal, method),
        "thickness": options["thickness"],
        "take_off_angle": toa,
    }
    prep = prepare_model(
        signal,
        list(lines_k),
        model=model,
        background=background,
        background_order=order,
        energy_range=energy_range,
        auto_elements=options.get("auto_elements", True),
    )
    n_terms = len(prep["families"]) + int(order) + 1
    n_fit = len(prep["channels"][prep.get("inner") or slice(None)])
    if n_fit <= n_terms:
        lo, hi = prep["energy_range"]
        raise ValueError(
            f"The fit range {lo:.3f}-{hi:.3f} keV holds {n_fit} "
            f"channels, not more than the {n_terms} terms of the model "
            f"({len(prep['families'])} line families and a background of order "
            f"{order}): widen `energy_range` or lower `background_order`."
        )
    request = {
        "method": method,
        "intensity": convention,
        "model": model,
        "background": background,
        "background_order": int(order),
        "xray_lines": list(lines_k),
        "elements": params["elements"],
        "kfactors": lines_k,
        # Where the k-factors come from ("theoretical", "calibrated", a file).
        "kfactor_source": str(getattr(kfactors, "source", None) or "user"),
        "energy_range": list(prep["energy_range"]),
        "refine": bool(options["refine"]),
        # What the results were computed on: checked whenever they are read.
        "energy_axis": [float(offset), float(scale), int(size)],
        "fit_channels": [int(prep["channels"][0]), int(prep["channels"][-1]) + 1],
        "auto_start": bool(prep["auto_start"]),
        "auto_elements": bool(prep["auto_elements"]),
    }
    model = getattr(kfactors, "window_model", None)
    if model is not None and method == "CL":
        # Theoretical k-factors: evaluated at the window the fit refines.
        request["kfactor_window_model"] = model
        params.update(window_model=model, lines=list(lines_k))
    if options["thickness"] is not None:
        request["thickness"] = options["thickness"]
    if toa is not None:
        request["take_off_angle"] = toa
    return request, prep, params


def compute_results(
    signal, request, prep, params, data=None, solution=None, packed=False
):
    """Per-chip results as a dict of (n_chips, ...) arrays (dask if lazy).

    `data` replaces ``signal.data`` (e.g. the computed chips of a lazy signal);
    `solution` (lazy data only) is the model solved already, else a task of
    the graph. With `packed` (lazy data only) the one packed dask array,
    (navigation..., n_out), and its :func:`layout` are returned instead of
    the dict of its slices.
    """
    channels = prep["channels"]
    # The fit channels are one contiguous range: slice, do not copy.
    fit = slice(int(channels[0]), int(channels[-1]) + 1)
    data = signal.data if data is None else data
    nav_shape = data.shape[:-1]
    n_pixels = chip_table(signal)["n_pixels"].reshape(nav_shape).astype(float)
    weight_sum = signal.metadata.Chipping.get_item("kernel_weight_sum")
    if weight_sum is not None:  # Gaussian windows: dose-equivalent pixels
        n_pixels = np.full(nav_shape, float(weight_sum))
    link = window_source(signal) if data is signal.data else None
    if link is not None:
        return _stream_results(
            signal, request, prep, params, link, fit, n_pixels, solution, packed
        )
    if isinstance(data, da.Array):
        spectra = data[..., fit]
        if spectra.numblocks[-1] > 1:
            spectra = spectra.rechunk({-1: -1}, method="tasks")
        # quantify_block works through a chunk a thousand chips at a time;
        # only very large chunks are split (so that every core gets work).
        rows = max(1, 8 * BLOCK_ROWS // int(np.prod(spectra.chunksize[1:-1])))
        if spectra.chunksize[0] > rows:
            spectra = spectra.rechunk({0: rows}, method="tasks")
        if solution is None:
            solution = _solve_task(lazy_total(signal, prep), prep, request)
        solution = window_kfactors_task(solution, params)
        npix = da.from_array(n_pixels[..., None], chunks=spectra.chunks[:-1] + (1,))
        solved, lay, n_out = _packed_layout(request, prep, params, solution)
        result = da.map_blocks(
            quantify_block if solved else _quantify_trimmed,
            spectra,
            npix,
            solution,
            params,
            dtype=float,
            chunks=spectra.chunks[:-1] + ((n_out,),),
        )
        if packed:
            return result, lay
        result = flat_rows(result)
        results = {name: result[:, sl] for name, sl in lay.items()}
        results["solution"] = solution
        return results
    flat = np.asarray(data).reshape(-1, data.shape[-1])
    npix = n_pixels.reshape(-1)
    # numpy releases the GIL: blocks run on every core (a few hundred chips
    # at least per block, so that the per-block overhead stays small).
    cores = os.cpu_count() or 1
    step = min(BLOCK_ROWS, max(MIN_BLOCK_ROWS, -(-flat.shape[0] // cores)))
    starts = range(0, flat.shape[0], step)
    subset = np.asarray(data)[calibration_subset(nav_shape) + (fit,)]
    total = subset.sum(axis=tuple(range(len(nav_shape))), dtype=float)
    total /= overlap(signal, nav_shape)
    solution = window_kfactors_task(solve_model(total, prep, request["refine"]), params)
    # One BLAS limit around the pool: toggling OpenBLAS's thread count per
    # block costs more than the blocks (measured 2x on 2 cores).
    with single_threaded_blas(), ThreadPoolExecutor(min(len(starts), cores)) as pool:
        blocks = list(
            pool.map(
                lambda i: quantify_block(
                    flat[i : i + step, fit],
                    npix[i : i + step],
                    solution,
                    params,
                ),
                starts,
            )
        )
    packed = np.concatenate(blocks, axis=0)
    lay = layout(
        len(request["xray_lines"]), _n_components(solution), _zeta(params), _n_bg(prep)
    )
    results = {name: packed[:, sl] for name, sl in lay.items()}
    results["solution"] = solution
    return results


def flat_rows(result):
    """(n_chips, n_out) of a dask (navigation..., n_out) result, chip order.

    The rows of a chunk are contiguous in that order only if it spans every
    axis but the first: the chunks are merged along the others first, by
    plain tasks (on a dask.distributed client the reshape's own rechunk may
    otherwise become a peer-to-peer shuffle).
    """
    merged = {axis: -1 for axis in range(1, result.ndim - 1)}
    if merged:
        result = result.rechunk(merged, method="tasks")
    return result.reshape(-1, result.shape[-1])


def _solve_task(total, prep, request):
    """The model solved on a lazy summed spectrum, as one task of the graph.

    The spectrum is handed over unoptimised: an optimised copy would hold the
    source reads under other keys, and every chunk be read twice.
    """
    # One chunk: a reader may chunk the energy axis (JEOL .pts, lazily).
    (total,) = total.rechunk(-1).to_delayed(optimize_graph=False).ravel()
    return dask.delayed(solve_model)(total, prep, request["refine"])


def _packed_layout(request, prep, params, solution):
    """Whether the model is solved, the packed layout and its width.

    A solved model fixes every column (elements it added included); a model
    still to be solved (a dask Delayed), only those of the named elements.
    """
    solved = isinstance(solution, dict)
    lay = layout(
        len(request["xray_lines"]),
        _n_components(solution if solved else prep),
        _zeta(params),
        _n_bg(prep),
    )
    return solved, lay, max(s.stop for s in lay.values())


def _stream_results(
    signal, request, prep, params, link, fit, n_pixels, solution, packed
):
    """:func:`compute_results` of lazy per-pixel windows, from their map.

    See ``quantification/_stream.py``: the windows are summed a band at a
    time inside each task and never held; the results carry one more
    column, ``all_counts`` (each window's counts over every channel).
    """
    if solution is None:
        solution = _solve_task(lazy_total(signal, prep), prep, request)
    solution = window_kfactors_task(solution, params)
    solved, lay, n_out = _packed_layout(request, prep, params, solution)
    result = stream_window_results(
        link,
        fit,
        quantify_block if solved else _quantify_trimmed,
        float(n_pixels.flat[0]),
        (solution, params),
        n_out,
    )
    lay["all_counts"] = slice(n_out, n_out + 1)
    if packed:
        return result, lay
    result = flat_rows(result)
    results = {name: result[:, sl] for name, sl in lay.items()}
    results["solution"] = solution
    return results


def _quantify_trimmed(
    spectra, n_pixels, solution, params, checked=False, integer=False
):
    """:func:`quantify_block` on the channels the solution kept.

    The layout of a lazy result is fixed before the summed spectrum is
    known: the amplitudes of elements added automatically (appended after
    the named ones) are left out of it.
    """
    out = quantify_block(spectra, n_pixels, solution, params, checked, integer)
    n_auto = solution["n_auto"]
    if n_auto:
        lay = layout(
            len(solution["rows"]),
            _n_components(solution),
            _zeta(params),
            _n_bg(solution),
        )
        n_families = len(solution["families"])
        drop = [
            lay[name].start + n_families - n_auto + i
            for name in ("amplitudes", "amplitudes_std")
            for i in range(n_auto)
        ]
        out = np.delete(out, drop, axis=-1)
    return out


def _zeta(params):
    return params["method"] == "zeta"


def _n_bg(prep):
    """Background amplitudes whose covariance is kept (polynomial only)."""
    polynomial = prep["background"] == "polynomial"
    return int(prep["background_order"]) + 1 if polynomial else 0


def _n_components(prep):
    return len(prep["families"]) + int(prep["chip_background_order"]) + 1


def summary_metadata(request: dict, solution: dict) -> dict:
    """What a quantification stores besides its per-chip results.

    The request, the refined calibration and detector response, the
    families fitted, the summed fit's report and the k-factors applied.
    """
    cal = solution["calibration"]
    q = dict(request)
    fitted = np.asarray(solution["channels"])  # where the data said to start
    q["fit_channels"] = [int(fitted[0]), int(fitted[-1]) + 1]
    q.update(
        {
            "energy_range": list(solution["energy_range"]),
            "Calibration": {
                "offset": float(cal.offset),
                "scale": float(cal.scale),
                "energy_resolution_MnKa": float(cal.fwhm_mnka),
                "fano_factor": float(cal.fano),
                "electronic_noise": float(cal.noise),
                "tail_fraction": float(cal.tail_fraction),
                "tail_slope": float(cal.tail_slope),
            },
            "families": [f.key for f in solution["families"]],
            "auto_elements": list(solution["summed_fit"].get("auto_elements", [])),
            "chip_background_order": int(solution["chip_background_order"]),
            "Detector_response": solution["detector_response"],
            "Summed_fit": solution["summed_fit"],
            "line_weights": solution["line_weights"],
            "beam_energy": solution["beam_energy"],
            **solution["model_definition"],
            "calibration_checked": not solution.get("unchecked", False),
        }
    )
    q.update(applied_kfactors(request, solution))
    return q


def store_results(signal, request, results):
    """Write computed results into metadata.Chipping.Quantification."""
    meta = _chipping(signal)
    n_full = int(np.prod(full_grid_shape(meta)))
    index = flat_chip_index(signal)
    solution = results["solution"]

    every = is_complete(index, n_full)

    def full(values, dtype=float):
        values = np.asarray(values, dtype=dtype)
        if every:  # all chips, in order: no copy of large results
            return values
        arr = np.full((n_full,) + values.shape[1:], np.nan)
        arr[index] = values
        return arr

    counts = np.asarray(results["counts"])[:, 0]
    quantified = np.zeros(n_full, dtype=bool)
    quantified[index] = True
    weak = np.asarray(results["low_counts"])[:, 0] > 0
    low = np.zeros(n_full, dtype=bool)
    low[index] = weak
    if not solution.get("unchecked", False):  # that warning said it already
        warn_weak_chips(int(weak.sum()), weak.size)
    q = summary_metadata(request, solution)
    q.update(
        {
            "chi2_red": full(np.asarray(results["chi2_red"])[:, 0]),
            "counts": full(counts),
            "low_counts": low,
            "quantified": quantified,
        }
    )
    for name in (
        "intensities",
        "intensities_std",
        "atomic_percent",
        "atomic_percent_std",
        "weight_percent",
        "weight_percent_std",
        "amplitudes",
        "amplitudes_std",
        "critical_level",
        "detection_limit",
        "detection_limit_percent",
    ):
        single = name in SINGLE_PRECISION
        q[name] = full(results[name], np.float32 if single else float)
    detected = np.zeros((n_full, len(request["xray_lines"])), dtype=bool)
    detected[index] = np.asarray(results["detected"]) > 0
    q["detected"] = detected
    if "mass_thickness" in results:
        q["mass_thickness"] = full(np.asarray(results["mass_thickness"])[:, 0])
    if "background_covariance" in results:
        q["background_covariance"] = full(results["background_covariance"])
    signal.metadata.set_item("Chipping.Quantification", q)
    return q


def warn_weak_chips(n_weak, n_chips):
    """One warning for the chips too weak to quantify."""
    if n_weak:
        warnings.warn(
            f"{n_weak} of {n_chips} chips are too weak to quantify: no quantified "
            "line is above its detection limit (Currie's L_D at 95 %). Their "
            "composition is NaN and low_counts is True; chip larger regions "
            "(or sum more frames) for more counts per chip.",
            UserWarning,
            stacklevel=5,  # the user's call of quantify_chips (eager)
        )


def quantify_chipped(signal, kfactors, **options):
    """See :meth:`hyperspy_chipping.signals.ChippedEDSSpectrum.quantify_chips`.

    Returns
    -------
    dict
        The results (numpy arrays for eager signals, dask arrays for lazy
        ones), keyed as in :func:`~hyperspy_chipping.quantification._block.layout`.
    """
    request, prep, params = parse_request(signal, kfactors, **options)
    warn_bulk_specimen(signal, request["method"])
    results = compute_results(signal, request, prep, params)
    if signal._lazy:
        signal.metadata.set_item("Chipping.Quantification", dict(request, lazy=True))
    else:
        store_results(signal, request, results)
    return results
