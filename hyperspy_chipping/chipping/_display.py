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
"""Seeing the chips: outlines over an image, per-chip values as an image."""

from __future__ import annotations

import numpy as np

from hyperspy_chipping.chipping._table import (
    _chipping,
    chip_table,
    source_index_image,
)


def _source_axes(meta: dict) -> list[dict]:
    src = meta["Source"]
    axes = []
    for i in reversed(range(len(src["navigation_shape"]))):
        axes.append(
            {
                "name": src["names"][i],
                "units": src["units"][i],
                "scale": src["scale"][i],
                "offset": src["offset"][i],
                "size": src["navigation_shape"][i],
            }
        )
    return axes


def source_map(signal, values):
    """Paint per-chip values back onto the source pixels.

    See :meth:`hyperspy_chipping.signals.ChippedEDSSpectrum.get_source_map`.
    """
    import hyperspy.api as hs

    meta = _chipping(signal)
    nav_shape = tuple(signal.axes_manager.navigation_shape[::-1])
    title = ""
    if isinstance(values, hs.signals.BaseSignal):
        title = values.metadata.General.title
        values = values.data
    if hasattr(values, "compute"):
        values = values.compute()
    values = np.asarray(values)
    if values.shape != nav_shape:
        raise ValueError(
            f"`values` must have the chip navigation shape {nav_shape} (data "
            f"order), got shape {values.shape}."
        )
    index = source_index_image(signal)
    painted = np.full(index.shape, np.nan)
    inside = index >= 0
    painted[inside] = values.reshape(-1)[index[inside]]
    cls = hs.signals.Signal2D if index.ndim == 2 else hs.signals.Signal1D
    out = cls(painted, axes=_source_axes(meta))
    out.metadata.General.title = title
    return out


def plot_chip_outlines(signal, image=None, *, ids=True, ax=None, color="w"):
    """Draw chip outlines (and ids) over an image of the source map.

    See :meth:`hyperspy_chipping.signals.ChippedEDSSpectrum.plot_chips`.
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle
    from matplotlib.patheffects import withStroke

    meta = _chipping(signal)
    src = meta["Source"]
    if len(src["navigation_shape"]) != 2:
        raise ValueError("plot_chips needs chips of a 2-D map, not of a line scan.")
    table = chip_table(signal)
    shape = tuple(src["navigation_shape"][::-1])
    if image is None:
        image = source_map(signal, summed_counts(signal))
    data = np.asarray(getattr(image, "data", image), dtype=float)
    if data.shape != shape:
        raise ValueError(
            f"`image` must have the source navigation shape {shape} (data "
            f"order), got shape {data.shape}."
        )
    sx, sy = src["scale"]
    ox, oy = src["offset"]
    extent = (
        ox - sx / 2,
        ox + sx * (shape[1] - 0.5),
        oy + sy * (shape[0] - 0.5),
        oy - sy / 2,
    )
    if ax is None:
        _, ax = plt.subplots()
    ax.imshow(data, extent=extent, cmap="gray", interpolation="nearest")
    if meta["scheme"] == "labels":
        label_image = np.asarray(meta["label_image"])
        xs = ox + sx * np.arange(shape[1])
        ys = oy + sy * np.arange(shape[0])
        levels = np.unique(label_image)[:-1] + 0.5
        if levels.size:
            ax.contour(xs, ys, label_image, levels=levels, colors=color, linewidths=0.8)
    else:
        rects = [
            Rectangle(
                (ox + sx * (x0 - 0.5), oy + sy * (y0 - 0.5)),
                sx * (x1 - x0),
                sy * (y1 - y0),
            )
            for y0, y1, x0, x1 in zip(
                table["y0"], table["y1"], table["x0"], table["x1"]
            )
        ]
        ax.add_collection(
            PatchCollection(rects, facecolor="none", edgecolor=color, linewidth=0.6)
        )
    if ids:
        key = "label" if meta["scheme"] == "labels" else None
        names = table[key] if key else np.arange(table["x"].size)
        for name, x, y in zip(names, table["x"], table["y"]):
            ax.text(
                x,
                y,
                str(name),
                color=color,
                ha="center",
                va="center",
                fontsize=6,
                path_effects=[withStroke(linewidth=1.5, foreground="k")],
            )
    ax.set_xlabel(f"{src['names'][0]} ({src['units'][0]})")
    ax.set_ylabel(f"{src['names'][1]} ({src['units'][1]})")
    return ax


def summed_counts(signal) -> np.ndarray:
    """Counts of every navigation position (data order), computed if lazy.

    Examples
    --------
    >>> summed_counts(type("S", (), {"data": np.ones((2, 3, 4))})()).tolist()
    [[4.0, 4.0, 4.0], [4.0, 4.0, 4.0]]
    """
    data = signal.data.sum(axis=-1)
    return np.asarray(data.compute() if hasattr(data, "compute") else data)
