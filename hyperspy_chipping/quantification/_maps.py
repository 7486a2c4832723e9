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
"""Composition maps of quantified chips, as HyperSpy signals."""

from __future__ import annotations

import dask.array as da
import numpy as np


def composition_maps(signal, results, composition="atomic"):
    """Composition of the chips as one signal per element.

    Parameters
    ----------
    signal : ChippedEDSSpectrum
        The quantified chipped signal.
    results : dict
        From :func:`quantify_chipped` (numpy or dask arrays).
    composition : {"atomic", "weight"}
        Atomic or weight percent.

    Returns
    -------
    list of hyperspy.signal.BaseSignal
        One map per quantified element: ``Signal2D`` for a chip grid,
        ``Signal1D`` for label chips or chips of a line scan; lazy for a lazy
        signal.
    """
    import hyperspy.api as hs

    q = signal.metadata.Chipping.Quantification
    key = "atomic_percent" if composition == "atomic" else "weight_percent"
    values = results[key]
    nav = signal.axes_manager.navigation_axes
    shape = tuple(a.size for a in nav)[::-1]
    axes = [a.get_axis_dictionary() for a in nav[::-1]]
    for ax in axes:
        ax["navigate"] = False
    cls = hs.signals.Signal2D if len(shape) == 2 else hs.signals.Signal1D
    label = "atomic percent" if composition == "atomic" else "weight percent"
    maps = []
    for i, (element, line) in enumerate(zip(q.elements, q.xray_lines)):
        column = values[:, i].reshape(shape)
        if isinstance(column, np.ndarray):  # not a view of the stored results
            column = column.copy()
        m = cls(column, axes=[dict(a) for a in axes])
        if isinstance(values, da.Array):
            m = m.as_lazy()
        m.metadata.General.title = f"{label} of {element}"
        m.metadata.set_item("Sample.elements", [element])
        m.metadata.set_item("Sample.xray_lines", [line])
        m.metadata.Signal.quantity = f"{label.capitalize()} (%)"
        maps.append(m)
    return maps
