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

from hyperspy_chipping.chipping._table import chip_table

SPECTRUM_FORMATS = ("array", "wide")


def _to_builtin(value):
    """Make `value` JSON-serialisable (Parquet keeps ``df.attrs`` as JSON)."""
    if isinstance(value, dict):
        return {str(k): _to_builtin(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_to_builtin(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def dataframe_attrs(signal) -> dict:
    """What the table alone cannot say: energy axis, elements, chipping.

    Parameters
    ----------
    signal : hyperspy_chipping.signals.ChippedEDSSpectrum
        A chipped signal.

    Returns
    -------
    dict
        JSON-serialisable description, stored as ``DataFrame.attrs``.
    """
    from hyperspy_chipping import __version__

    energy = signal.axes_manager.signal_axes[0]
    md = signal.metadata
    chipping = md.Chipping.as_dictionary()
    # Per-chip arrays are in the table; the label image is not tabular.
    for key in ("x_bounds", "y_bounds", "bounds", "labels", "n_pixels"):
        chipping.pop(key, None)
    chipping.pop("label_image", None)
    quant = chipping.pop("Quantification", None)
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
            key: quant[key]
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
                "families",
                "auto_elements",
                "Summed_fit",
                "thickness",
                "take_off_angle",
            )
            if key in quant
        }
    return _to_builtin(attrs)


def quantification_columns(signal, data=None) -> dict[str, np.ndarray]:
    """Per-chip results of ``quantify_chips`` as named columns (may be empty).

    ``at_<El>``, ``wt_<El>`` and their ``_std``, ``I_<line>`` and
    ``I_<line>_std``, ``chi2_red`` and ``low_counts``, for the chips of
    `signal` (slicing-safe: looked up by chip index).
    """
    from hyperspy_chipping.quantification._run import ensure_results

    q = ensure_results(signal, data)
    if q is None:
        return {}
    from hyperspy_chipping.chipping._table import flat_chip_index

    index = flat_chip_index(signal)
    cols = {}
    for prefix, key in (("at", "atomic_percent"), ("wt", "weight_percent")):
        values = np.asarray(q[key])[index]
        std = np.asarray(q[f"{key}_std"])[index]
        for i, element in enumerate(q.elements):
            cols[f"{prefix}_{element}"] = values[:, i]
            cols[f"{prefix}_{element}_std"] = std[:, i]
    inten = np.asarray(q.intensities)[index]
    inten_std = np.asarray(q.intensities_std)[index]
    for i, line in enumerate(q.xray_lines):
        cols[f"I_{line}"] = inten[:, i]
        cols[f"I_{line}_std"] = inten_std[:, i]
    cols["chi2_red"] = np.asarray(q.chi2_red)[index]
    cols["low_counts"] = np.asarray(q.low_counts)[index].astype(bool)
    if "mass_thickness" in q:
        cols["mass_thickness"] = np.asarray(q.mass_thickness)[index]
    return cols


def chips_to_dataframe(
    signal, *, spectra=False, spectrum_format="array", show_progressbar=None
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
    n_channels = signal.axes_manager.signal_axes[0].size
    data = signal.data
    if isinstance(data, da.Array):
        import contextlib

        import hyperspy.api as hs
        from dask.diagnostics import ProgressBar

        from hyperspy_chipping.quantification._run import check_source_file

        check_source_file(signal)
        if show_progressbar is None:
            show_progressbar = hs.preferences.General.show_progressbar
        with ProgressBar() if show_progressbar else contextlib.nullcontext():
            data = data.compute()
    flat = np.asarray(data).reshape(-1, n_channels)
    columns = {"chip_id": np.arange(flat.shape[0])}
    columns.update(table)
    columns["counts"] = flat.sum(axis=1)
    columns.update(quantification_columns(signal, np.asarray(data)))
    df = pd.DataFrame(columns)
    if spectra:
        if spectrum_format == "array":
            df["spectrum"] = list(flat)
        else:
            width = max(4, len(str(n_channels - 1)))
            names = [f"ch_{i:0{width}d}" for i in range(n_channels)]
            df = pd.concat([df, pd.DataFrame(flat, columns=names)], axis=1)
    df.attrs = dataframe_attrs(signal)
    return df
