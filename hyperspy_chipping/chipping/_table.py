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
"""Per-chip geometry of a chipped signal, recovered from its axes.

The chipped signal's navigation axes carry the chip positions; together with
``metadata.Chipping`` they give every chip's row/column (or label), pixel
bounds and pixel count. Nothing per chip is cached elsewhere, so slicing
(``inav``), copying and save/load keep the geometry right.
"""

from __future__ import annotations

import numpy as np

from hyperspy_chipping.chipping._geometry import chip_axis


def require_chipping(signal) -> None:
    """Raise ValueError if `signal` is not the output of ``chip()``."""
    if "Chipping" not in signal.metadata:
        raise ValueError(
            "This signal has no metadata.Chipping: it is not the output of "
            "chip(). Call s.chip(...) first."
        )


def _chipping(signal) -> dict:
    require_chipping(signal)
    return signal.metadata.Chipping.as_dictionary()


def _axis_indices(axis, offset0: float, scale0: float, n: int) -> np.ndarray:
    index = np.rint((np.asarray(axis.axis) - offset0) / scale0).astype(np.int64)
    if index.min() < 0 or index.max() >= n:
        raise ValueError(
            f"The navigation axis {axis.name!r} no longer matches "
            "metadata.Chipping (was it rebinned or re-calibrated?)."
        )
    return index


def chip_indices(signal) -> list[np.ndarray]:
    """Index of every chip along each navigation axis, in navigation order.

    For grid and window chips the indices are the chip columns (x) and rows
    (y) in the full chip grid; for labels they index ``Chipping.labels``.

    Parameters
    ----------
    signal : hyperspy.signal.BaseSignal
        A chipped signal (the output of ``chip()``, possibly sliced).

    Returns
    -------
    list of numpy.ndarray
        One integer array per navigation axis.
    """
    meta = _chipping(signal)
    axes = signal.axes_manager.navigation_axes
    if meta["scheme"] == "labels":
        return [_axis_indices(axes[0], 0.0, 1.0, len(meta["labels"]))]
    src = meta["Source"]
    out = []
    for i, axis in enumerate(axes):
        offset0, scale0 = chip_axis(
            src["offset"][i], src["scale"][i], meta["size"][i], meta["step"][i]
        )
        n = len(meta["xy"[i] + "_bounds"])
        out.append(_axis_indices(axis, offset0, scale0, n))
    return out


def chip_table(signal) -> dict[str, np.ndarray]:
    """Geometry of every chip, flattened in HyperSpy's navigation order.

    Parameters
    ----------
    signal : hyperspy.signal.BaseSignal
        A chipped signal.

    Returns
    -------
    dict of numpy.ndarray
        Columns ``row``, ``col`` (grid and window) or ``label``, then ``y0``,
        ``y1``, ``x0``, ``x1`` (half-open source-pixel bounds), ``y``, ``x``
        (chip centre in calibrated units) and ``n_pixels``. The chips run
        with x fastest, as ``signal.data.reshape(-1, n_channels)``.
    """
    meta = _chipping(signal)
    src = meta["Source"]
    indices = chip_indices(signal)
    ndim = len(src["navigation_shape"])
    cols = {}
    if meta["scheme"] == "labels":
        (index,) = indices
        bounds = np.asarray(meta["bounds"])[index]
        cols["label"] = np.asarray(meta["labels"])[index]
        if ndim == 1:
            bounds = np.concatenate([np.zeros_like(bounds), bounds + 0], axis=1)
            bounds[:, 1] = 1
        y0, y1, x0, x1 = bounds.T
        n_pixels = np.asarray(meta["n_pixels"])[index]
    else:
        xb = np.asarray(meta["x_bounds"])[indices[0]]
        if ndim == 2:
            yb = np.asarray(meta["y_bounds"])[indices[1]]
            row, col = np.meshgrid(indices[1], indices[0], indexing="ij")
        else:
            yb = np.array([[0, 1]])
            row, col = np.meshgrid([0], indices[0], indexing="ij")
        y0, x0 = np.meshgrid(yb[:, 0], xb[:, 0], indexing="ij")
        y1, x1 = np.meshgrid(yb[:, 1], xb[:, 1], indexing="ij")
        cols["row"], cols["col"] = row.ravel(), col.ravel()
        y0, y1, x0, x1 = (a.ravel() for a in (y0, y1, x0, x1))
        n_pixels = (y1 - y0) * (x1 - x0)
    cols.update(y0=y0, y1=y1, x0=x0, x1=x1)
    # Centres: mean pixel position of the chip's bounding box.
    if ndim == 2:
        cols["y"] = src["offset"][1] + src["scale"][1] * (y0 + y1 - 1) / 2
    else:
        cols["y"] = np.zeros(x0.shape)
    cols["x"] = src["offset"][0] + src["scale"][0] * (x0 + x1 - 1) / 2
    cols["n_pixels"] = np.asarray(n_pixels, dtype=np.int64)
    return cols


def source_index_image(signal) -> np.ndarray:
    """For every source pixel, the flat index of its chip in `signal` (-1: none).

    Window chips overlap: a pixel goes to the chip whose centre is nearest.

    Parameters
    ----------
    signal : hyperspy.signal.BaseSignal
        A chipped signal.

    Returns
    -------
    numpy.ndarray
        Integer image of the source navigation shape (data order).
    """
    meta = _chipping(signal)
    shape = tuple(meta["Source"]["navigation_shape"])
    indices = chip_indices(signal)
    if meta["scheme"] == "labels":
        lut = np.full(len(meta["labels"]), -1, dtype=np.int64)
        lut[indices[0]] = np.arange(indices[0].size)
        label_image = np.asarray(meta["label_image"])
        index = np.searchsorted(np.asarray(meta["labels"]), label_image)
        index = np.clip(index, 0, lut.size - 1)
        return np.where(label_image > 0, lut[index], -1)
    per_axis = []
    for i, n_pix in enumerate(shape):
        bounds = np.asarray(meta["xy"[i] + "_bounds"])
        centre0, step = chip_axis(0.0, 1.0, meta["size"][i], meta["step"][i])
        pixel = np.arange(n_pix)
        full = np.rint((pixel - centre0) / step).astype(np.int64)
        full = np.clip(full, 0, bounds.shape[0] - 1)
        inside = (pixel >= bounds[full, 0]) & (pixel < bounds[full, 1])
        lut = np.full(bounds.shape[0], -1, dtype=np.int64)
        lut[indices[i]] = np.arange(indices[i].size)
        per_axis.append(np.where(inside, lut[full], -1))
    if len(shape) == 1:
        return per_axis[0]
    col, row = per_axis
    n_cols = indices[0].size
    flat = row[:, None] * n_cols + col[None, :]
    return np.where((row[:, None] >= 0) & (col[None, :] >= 0), flat, -1)


def full_grid_shape(meta: dict) -> tuple[int, ...]:
    """Shape of the complete chip set at chipping time (before any slicing)."""
    if meta["scheme"] == "labels":
        return (len(meta["labels"]),)
    shape = tuple(
        len(meta[f"{name}_bounds"]) for name in "xy" if f"{name}_bounds" in meta
    )
    return shape[::-1]


def flat_chip_index(signal) -> np.ndarray:
    """Index of every chip of `signal` in the flattened complete chip set.

    Per-chip results are stored for the complete set (``full_grid_shape``),
    so that they stay attached to the right chip after slicing.

    Parameters
    ----------
    signal : hyperspy.signal.BaseSignal
        A chipped signal.

    Returns
    -------
    numpy.ndarray
        Flat indices, x fastest, as ``signal.data.reshape(-1, n_channels)``.
    """
    meta = _chipping(signal)
    indices = chip_indices(signal)
    if len(indices) == 1:
        return indices[0]
    n_cols = len(meta["x_bounds"])
    return (indices[1][:, None] * n_cols + indices[0][None, :]).ravel()
