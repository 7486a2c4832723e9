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
"""Export chips to a :class:`pandas.DataFrame`, one row per chip."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pandas as pd
from hyperspy.misc.utils import DictionaryTreeBrowser

from hyperspy_chipping.chipping._table import (
    _chipping,
    chip_table,
    flat_chip_index,
    is_complete,
)

SPECTRUM_FORMATS = ("array", "wide")

#: What the quantification columns hold (kept in ``df.attrs``).
COLUMN_NOTES = {
    "I_<line>": "fitted line intensity (counts), signed: negative values are "
    "kept as measured",
    "I_<line>_std": "its Poisson standard deviation from the fit covariance "
    "(model variances clipped at 0, plus one count), never 0",
    "at_<El>, wt_<El>": "atomic and weight percent; negative intensities count "
    "as 0 (stock exspy model: signed); NaN where low_counts",
    "at_<El>_std, wt_<El>_std": "standard deviations propagated from the same "
    "intensity covariance",
    "mdl_<El>": "minimum detection limit in at %: the at % of the element in "
    "this chip were its intensity Currie's detection limit L_D = 2.71 g + "
    "3.29 sigma_0 (95 % detection probability at 5 % false positives; "
    "sigma_0: intensity std at zero signal, g: variance per count of signal, "
    "1 for a lone peak)",
    "detected_<El>": "intensity above Currie's decision threshold L_C = 1.645 "
    "sigma_0 (5 % false positives in the Gaussian limit, up to ~10 % under "
    "a background below one count)",
    "negative_<El>": "intensity below 0 (counted as 0 in the composition)",
    "chi2_red": "Pearson chi-squared per degree of freedom with model "
    "variances (unbiased at low counts); NaN for a chip without counts in "
    "the fit range",
    "low_counts": "too weak to quantify: no quantified line above its "
    "detection limit L_D; the composition is NaN",
}


def _to_builtin(value):
    """Make `value` JSON-serialisable (Parquet keeps ``df.attrs`` as JSON)."""
    if isinstance(value, dict):
        return {str(k): _to_builtin(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_to_builtin(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _plain(value):
    """A metadata value as plain Python (a subtree as a dict)."""
    return value.as_dictionary() if hasattr(value, "as_dictionary") else value


def dataframe_attrs(signal, quantification=None) -> dict:
    """What the table alone cannot say: energy axis, elements, chipping.

    Parameters
    ----------
    signal : hyperspy_chipping.signals.ChippedEDSSpectrum
        A chipped signal.
    quantification : dict, optional
        The quantification to describe, if not the one stored in the
        signal's metadata (a large lazy chip set's, computed for its table).

    Returns
    -------
    dict
        JSON-serialisable description, stored as ``DataFrame.attrs``.
    """
    from hyperspy_chipping import __version__

    energy = signal.axes_manager.signal_axes[0]
    md = signal.metadata
    chipping = _chipping(signal)
    # Per-chip arrays are in the table; the label image is not tabular.
    for key in ("x_bounds", "y_bounds", "bounds", "labels", "n_pixels"):
        chipping.pop(key, None)
    chipping.pop("label_image", None)
    quant = md.get_item("Chipping.Quantification")
    if quantification is not None:
        quant = DictionaryTreeBrowser(quantification)
    attrs = {
        "hyperspy_chipping_version": __version__,
        "title": md.General.get_item("title", ""),
        "signal_type": md.Signal.signal_type,
        "energy_axis": {
            "name": str(energy.name),
            "units": str(energy.units),
            "offset": float(energy.offset),
            "scale": float(energy.scale),
            "size": int(energy.size),
        },
        "elements": list(md.get_item("Sample.elements", [])),
        "xray_lines": list(md.get_item("Sample.xray_lines", [])),
        "beam_energy": md.get_item("Acquisition_instrument.TEM.beam_energy"),
        "chipping": chipping,
    }
    if quant is not None:
        attrs["quantification"] = {
            key: _plain(quant.get_item(key))
            for key in (
                "method",
                "intensity",
                "model",
                "background",
                "background_order",
                "xray_lines",
                "elements",
                "kfactors",
                "energy_range",
                "Calibration",
                "calibration_checked",
                "families",
                "auto_elements",
                "Summed_fit",
                "thickness",
                "take_off_angle",
                "kfactor_source",
                # Theoretical k-factors: the window scale they were evaluated
                # at, and their values at the nominal window.
                "kfactor_window",
                "kfactors_nominal",
            )
            if quant.has_item(key)
        }
        attrs["quantification"]["columns"] = dict(COLUMN_NOTES)
    return _to_builtin(attrs)


def quantification_columns(signal, data=None) -> dict[str, np.ndarray]:
    """Per-chip results of ``quantify_chips`` as named columns (may be empty).

    ``at_<El>``, ``wt_<El>`` and their ``_std``, ``I_<line>`` and
    ``I_<line>_std``, ``mdl_<El>``, ``detected_<El>``, ``negative_<El>``,
    ``chi2_red`` and ``low_counts``, for the chips of `signal`
    (slicing-safe: looked up by chip index). See :data:`COLUMN_NOTES`.
    """
    from hyperspy_chipping.quantification._stored import ensure_results

    q = ensure_results(signal, data)
    if q is None:
        return {}
    index = flat_chip_index(signal)
    every = is_complete(index, np.asarray(q.chi2_red).shape[0])

    def take(name):
        # All chips in order (an unsliced signal): no copy of large results.
        values = np.asarray(q.get_item(name))
        return values if every else values[index]

    cols = {}
    for prefix, key in (("at", "atomic_percent"), ("wt", "weight_percent")):
        values = take(key)
        std = take(f"{key}_std")
        for i, element in enumerate(q.elements):
            cols[f"{prefix}_{element}"] = values[:, i]
            cols[f"{prefix}_{element}_std"] = std[:, i]
    inten = take("intensities")
    inten_std = take("intensities_std")
    for i, line in enumerate(q.xray_lines):
        cols[f"I_{line}"] = inten[:, i]
        cols[f"I_{line}_std"] = inten_std[:, i]
    # (Results stored before detection limits existed have none.)
    if "detection_limit_percent" in q:
        limit = take("detection_limit_percent")
        detected = take("detected").astype(bool)
        for i, element in enumerate(q.elements):
            cols[f"mdl_{element}"] = limit[:, i]
            cols[f"detected_{element}"] = detected[:, i]
    for i, element in enumerate(q.elements):
        cols[f"negative_{element}"] = inten[:, i] < 0
    cols["chi2_red"] = take("chi2_red")
    cols["low_counts"] = take("low_counts").astype(bool)
    if "mass_thickness" in q:
        cols["mass_thickness"] = take("mass_thickness")
    return cols


def _table_select(lay: dict) -> dict:
    """The packed result columns a table needs, for ``lazy_table_results``.

    The float64 composition and intensity columns come as one array, in the
    table's column order, so that the table holds them as one block (not a
    copy: see :func:`_computed_columns`).
    """

    def columns(name):
        return list(range(lay[name].start, lay[name].stop))

    floats = []
    for value in ("atomic_percent", "weight_percent", "intensities"):
        for pair in zip(columns(value), columns(f"{value}_std")):
            floats.extend(pair)
    out = {
        "table": (floats, np.float64),
        "detection_limit_percent": (lay["detection_limit_percent"], np.float32),
        "detected": (lay["detected"], bool),
        "chi2_red": (lay["chi2_red"], np.float64),
        "low_counts": (lay["low_counts"], bool),
    }
    if "mass_thickness" in lay:
        out["mass_thickness"] = (lay["mass_thickness"], np.float64)
    return out


def _computed_columns(computed: dict) -> pd.DataFrame:
    """The quantification columns of a table from :func:`_table_select`'s.

    The columns, names and order of :func:`quantification_columns`. The
    composition and intensity block becomes the table's without a copy: it
    was computed for the table alone.
    """
    q = computed["quantification"]
    elements, lines = list(q["elements"]), list(q["xray_lines"])
    names = []
    for prefix, labels in (("at", elements), ("wt", elements), ("I", lines)):
        for label in labels:
            names.extend([f"{prefix}_{label}", f"{prefix}_{label}_std"])
    block = computed["table"]
    floats = pd.DataFrame(block, columns=names, copy=False)
    rest = {}
    limit, detected = computed["detection_limit_percent"], computed["detected"]
    for i, element in enumerate(elements):
        rest[f"mdl_{element}"] = limit[:, i]
        rest[f"detected_{element}"] = detected[:, i]
    first = 4 * len(elements)  # the first intensity column
    for i, element in enumerate(elements):
        rest[f"negative_{element}"] = block[:, first + 2 * i] < 0
    rest["chi2_red"] = computed["chi2_red"][:, 0]
    rest["low_counts"] = computed["low_counts"][:, 0]
    if "mass_thickness" in computed:
        rest["mass_thickness"] = computed["mass_thickness"][:, 0]
    return pd.concat([floats, pd.DataFrame(rest)], axis=1)


def _image_columns(signal, images) -> tuple[dict, dict]:
    """``image_<name>`` columns of tiles, and their description for attrs."""
    from hyperspy_chipping.export._tiles import chip_tiles, tile_cells

    if not isinstance(images, dict):
        raise TypeError(
            "`images` must be a dict {name: image}, e.g. {'HAADF': haadf}, got "
            f"{type(images).__name__}."
        )
    columns, described = {}, {}
    for name, image in images.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(
                f"`images` names become column names image_<name>: use a "
                f"Python identifier such as 'HAADF', got {name!r}."
            )
        tiles, factor = chip_tiles(signal, image)
        columns[f"image_{name}"] = tile_cells(tiles)
        described[name] = {
            "column": f"image_{name}",
            "tile_shape": list(tiles.shape[1:]),
            "pixels_per_map_pixel": list(factor),
        }
    return columns, described


def chips_to_dataframe(
    signal,
    *,
    spectra=False,
    spectrum_format="array",
    images=None,
    show_progressbar=None,
):
    """One row per chip: geometry, counts and, on request, the spectrum.

    See :meth:`hyperspy_chipping.signals.ChippedEDSSpectrum.to_dataframe`.
    """
    if not isinstance(spectra, (bool, np.bool_)):
        raise TypeError(f"`spectra` must be True or False, got {spectra!r}.")
    if spectrum_format not in SPECTRUM_FORMATS:
        raise ValueError(
            f"`spectrum_format` must be one of {SPECTRUM_FORMATS}, got "
            f"{spectrum_format!r}."
        )
    table = chip_table(signal)
    image_columns, image_attrs = (
        _image_columns(signal, images) if images is not None else ({}, {})
    )
    n_channels = signal.axes_manager.signal_axes[0].size
    data = signal.data
    counts = computed = None
    if isinstance(data, da.Array):
        import contextlib

        import hyperspy.api as hs
        from dask.diagnostics import ProgressBar

        from hyperspy_chipping.quantification._stored import lazy_table_results

        if show_progressbar is None:
            show_progressbar = hs.preferences.General.show_progressbar
        with ProgressBar() if show_progressbar else contextlib.nullcontext():
            if spectra:
                data = data.compute()
            else:  # never hold every chip spectrum: counts and results only
                counts, computed = lazy_table_results(signal, _table_select)
                data = None
    # The chip's index in the complete chip set: its identity after slicing.
    columns = {"chip_id": flat_chip_index(signal)}
    columns.update(table)
    if data is not None:
        flat = np.asarray(data).reshape(-1, n_channels)
        counts = flat.sum(axis=1)
    columns["counts"] = counts
    if computed is None:
        columns.update(
            quantification_columns(signal, None if data is None else np.asarray(data))
        )
        # Copied (not ``copy=False``): some columns are views of the results
        # stored in the signal, which an edit of the table must not reach.
        df = pd.DataFrame(columns)
    else:  # every column was computed for this table alone: held, not copied
        columns = {name: np.ascontiguousarray(v) for name, v in columns.items()}
        df = pd.concat(
            [pd.DataFrame(columns, copy=False), _computed_columns(computed)], axis=1
        )
    if spectra:
        if spectrum_format == "array":
            df["spectrum"] = list(flat)
        else:
            width = max(4, len(str(n_channels - 1)))
            names = [f"ch_{i:0{width}d}" for i in range(n_channels)]
            df = pd.concat([df, pd.DataFrame(flat, columns=names)], axis=1)
    for name, cells in image_columns.items():
        df[name] = cells
    df.attrs = dataframe_attrs(
        signal, None if computed is None else computed["quantification"]
    )
    if image_attrs:
        df.attrs["images"] = image_attrs
    return df
