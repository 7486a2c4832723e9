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
    """``metadata.Chipping`` as a dict, without its (large) ``Quantification``.

    The per-chip results of a per-pixel quantification take hundreds of MB;
    the geometry is read many times per table and must not copy them.
    """
    require_chipping(signal)
    node = signal.metadata.Chipping
    out = {}
    for key in node.keys():
        if key == "Quantification":
            continue
        value = node.get_item(key)
        out[key] = value.as_dictionary() if hasattr(value, "as_dictionary") else value
    return out


_STALE = (
    "metadata.Chipping no longer matches this signal: {what}. A HyperSpy "
    "operation (rebin, transpose, re-calibration, ...) changed the chip axes; "
    "chip the source map again (s.chip(...))."
)


def _expected_axes(meta: dict) -> list[tuple[str, float, float, int]]:
    """(name, offset, scale, number of chips) of every chip axis at chipping.

    One tuple per navigation axis of the source map (navigation order), or
    the one ``Chip`` axis of label chips.
    """
    if meta["scheme"] == "labels":
        return [("Chip", 0.0, 1.0, len(meta["labels"]))]
    src = meta["Source"]
    out = []
    for i in range(len(meta["size"])):
        offset0, scale0 = chip_axis(
            src["offset"][i], src["scale"][i], meta["size"][i], meta["step"][i]
        )
        out.append((src["names"][i], offset0, scale0, len(meta["xy"[i] + "_bounds"])))
    return out


def _axis_indices(axis, name, offset0: float, scale0: float, n: int) -> np.ndarray:
    position = (np.asarray(axis.axis, dtype=float) - offset0) / scale0
    index = np.rint(position).astype(np.int64)
    if (
        index.size == 0
        or index.min() < 0
        or index.max() >= n
        or np.abs(position - index).max() > 1e-3
    ):
        raise ValueError(
            _STALE.format(
                what=f"the values of navigation axis {axis.name!r} are not chip "
                f"positions of axis {name!r} (offset {offset0:g}, scale {scale0:g})"
            )
        )
    return index


def chip_indices(signal) -> list[np.ndarray]:
    """Index of every chip along each chip axis of the complete chip set.

    For grid and window chips the indices are the chip columns (x) and rows
    (y) in the full chip grid; for labels they index ``Chipping.labels``. An
    axis that integer indexing removed (``chips.inav[3]``) gives its one
    index, recorded in ``Chipping.fixed_index``.

    Parameters
    ----------
    signal : hyperspy.signal.BaseSignal
        A chipped signal (the output of ``chip()``, possibly sliced).

    Returns
    -------
    list of numpy.ndarray
        One integer array per chip axis of the source (navigation order).

    Raises
    ------
    ValueError
        If the navigation axes no longer match ``metadata.Chipping``.
    """
    meta = _chipping(signal)
    expected = _expected_axes(meta)
    fixed = list(meta.get("fixed_index", [-1] * len(expected)))
    axes = list(signal.axes_manager.navigation_axes)
    n_free = sum(f < 0 for f in fixed)
    if len(axes) != n_free:
        raise ValueError(
            _STALE.format(
                what=f"it has {len(axes)} navigation axes where the chips have {n_free}"
            )
        )
    names = [str(e[0]) for e in expected]
    check_names = len(set(names)) == len(names)
    free = iter(axes)
    out = []
    for i, (name, offset0, scale0, n) in enumerate(expected):
        if fixed[i] >= 0:
            out.append(np.array([fixed[i]], dtype=np.int64))
            continue
        axis = next(free)
        if check_names and str(axis.name) != str(name):
            raise ValueError(
                _STALE.format(
                    what=f"navigation axis {axis.name!r} stands where the chip "
                    f"axis {name!r} was"
                )
            )
        out.append(_axis_indices(axis, name, offset0, scale0, n))
    return out


def sliced_fixed_index(signal, array_slices) -> list[int] | None:
    """``Chipping.fixed_index`` of `signal` sliced by `array_slices`.

    Integer indexing removes a navigation axis, and with it the position of
    the chips along that axis: the index is recorded so that the sliced
    chips keep their identity (``chip_id``, pixel bounds).

    Parameters
    ----------
    signal : hyperspy.signal.BaseSignal
        A chipped signal, before slicing.
    array_slices : tuple
        HyperSpy's array slices (data order) of the slicing.

    Returns
    -------
    list of int or None
        Per chip axis: the fixed index, or -1 where the axis remains; None
        if `signal` is not chipped or its geometry is stale.
    """
    if "Chipping" not in signal.metadata:
        return None
    try:
        indices = chip_indices(signal)
    except ValueError:
        return None
    meta = _chipping(signal)
    fixed = list(meta.get("fixed_index", [-1] * len(indices)))
    nav = iter(signal.axes_manager.navigation_axes)
    for i in range(len(fixed)):
        if fixed[i] >= 0:
            continue
        axis = next(nav)
        where = array_slices[axis.index_in_array]
        if not isinstance(where, slice):
            fixed[i] = int(indices[i][int(where)])
    return fixed


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


def is_complete(index: np.ndarray, n_full: int) -> bool:
    """Whether `index` (:func:`flat_chip_index`) is every chip, in order.

    Then per-chip results stored for the complete set are the table's rows
    as they are: no lookup, no copy.

    Examples
    --------
    >>> is_complete(np.arange(4), 4), is_complete(np.array([0, 2]), 4)
    (True, False)
    """
    return index.size == n_full and bool((index == np.arange(n_full)).all())
