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
    flat_chip_index,
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
    if hasattr(values, "to_numpy") and values.ndim == 1:  # a DataFrame column
        title = str(getattr(values, "name", "") or "")
        n_chips = int(np.prod(nav_shape))
        if len(values) != n_chips:
            raise ValueError(
                f"`values` as a table column must have one row per chip "
                f"({n_chips}), got {len(values)}."
            )
        values = values.to_numpy(dtype=float).reshape(nav_shape)
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


#: Most outlines drawn: beyond, windows overlap into a moire, and only an
#: evenly spread subset is outlined (and no ids are written).
MAX_OUTLINES = 400


def _subset(n_chips: int, nav_shape: tuple[int, ...]) -> np.ndarray:
    """Flat indices of an evenly strided subset of at most ~MAX_OUTLINES."""
    stride = max(1, int(np.ceil(np.sqrt(n_chips / MAX_OUTLINES))))
    index = np.arange(n_chips).reshape(nav_shape)
    return index[tuple(slice(None, None, stride) for _ in nav_shape)].ravel()


def draw_outlines(signal, ax, *, ids=True, color="w"):
    """Draw the chip outlines (and ids) of `signal` in `ax`, source units.

    Grid and window chips are rectangles, label chips contours; with more
    than ``MAX_OUTLINES`` chips (per-pixel windows) only an evenly spread
    subset is outlined and no id is written.

    Returns
    -------
    list
        The matplotlib artists added.
    """
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle
    from matplotlib.patheffects import withStroke

    meta = _chipping(signal)
    src = meta["Source"]
    table = chip_table(signal)
    (sx, sy), (ox, oy) = src["scale"], src["offset"]
    shape = tuple(src["navigation_shape"][::-1])
    artists = []
    if meta["scheme"] == "labels":
        label_image = np.asarray(meta["label_image"])
        xs = ox + sx * np.arange(shape[1])
        ys = oy + sy * np.arange(shape[0])
        levels = np.unique(label_image)[:-1] + 0.5
        if levels.size:
            artists.append(
                ax.contour(
                    xs, ys, label_image, levels=levels, colors=color, linewidths=0.8
                )
            )
        shown = np.arange(table["x"].size)
    else:
        nav_shape = tuple(signal.axes_manager.navigation_shape[::-1]) or (1,)
        shown = _subset(table["x"].size, nav_shape)
        rects = [
            Rectangle(
                (ox + sx * (table["x0"][i] - 0.5), oy + sy * (table["y0"][i] - 0.5)),
                sx * (table["x1"][i] - table["x0"][i]),
                sy * (table["y1"][i] - table["y0"][i]),
            )
            for i in shown
        ]
        collection = PatchCollection(
            rects, facecolor="none", edgecolor=color, linewidth=0.6
        )
        ax.add_collection(collection)
        artists.append(collection)
    if ids and shown.size == table["x"].size and shown.size <= MAX_OUTLINES:
        names = (
            table["label"] if meta["scheme"] == "labels" else flat_chip_index(signal)
        )
        for name, x, y in zip(names, table["x"], table["y"]):
            artists.append(
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
            )
    return artists


def plot_chip_outlines(
    signal, image=None, *, ids=True, ax=None, color="w", cmap="gray", title=None
):
    """Draw chip outlines (and ids) over an image of the source map.

    See :meth:`hyperspy_chipping.signals.ChippedEDSSpectrum.plot_chips`.
    """
    import matplotlib.pyplot as plt

    meta = _chipping(signal)
    src = meta["Source"]
    if len(src["navigation_shape"]) != 2:
        raise ValueError("plot_chips needs chips of a 2-D map, not of a line scan.")
    shape = tuple(src["navigation_shape"][::-1])
    nav_shape = tuple(signal.axes_manager.navigation_shape[::-1])
    label = "counts"
    if image is None:
        image = source_map(signal, summed_counts(signal))
        title = "chip counts" if title is None else title
    elif hasattr(image, "metadata"):
        label = image.metadata.get_item("Signal.quantity", "") or ""
        if title is None:
            title = image.metadata.General.title
    data = np.asarray(getattr(image, "data", image), dtype=float)
    if data.shape == nav_shape and data.shape != shape:
        # One value per chip (e.g. a composition map): paint it on the pixels.
        data = source_map(signal, data).data
    if data.shape != shape:
        raise ValueError(
            f"`image` must have the source navigation shape {shape} (data "
            f"order) or the chips' navigation shape {nav_shape}, got shape "
            f"{data.shape}."
        )
    (sx, sy), (ox, oy) = src["scale"], src["offset"]
    extent = (
        ox - sx / 2,
        ox + sx * (shape[1] - 0.5),
        oy + sy * (shape[0] - 0.5),
        oy - sy / 2,
    )
    if ax is None:
        _, ax = plt.subplots(layout="constrained")
    im = ax.imshow(data, extent=extent, cmap=cmap, interpolation="nearest")
    colorbar = plt.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    colorbar.set_label(label)
    draw_outlines(signal, ax, ids=ids, color=color)
    if title:
        ax.set_title(title)
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
