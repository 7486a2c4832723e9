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
"""Sum the spectra of the pixels of every chip: one pass over the data.

The functions take numpy or dask arrays in HyperSpy's data order
(navigation axes reversed, then the energy axis) and never make a floating
point copy of the map. Integer data are summed into an integer accumulator
wide enough for the largest chip, so counts stay exact counts.
"""

from __future__ import annotations

import functools
import logging
import os
from concurrent.futures import ThreadPoolExecutor

import dask.array as da
import numpy as np

from hyperspy_chipping.chipping._windows import (
    _cumsum_windows,
    _dense_windows_lazy,
    _regular_step,
    _windows_in_slabs,
    dense_lazy_sizes,
)

_logger = logging.getLogger(__name__)


def accumulator_dtype(dtype, max_pixels: int) -> np.dtype:
    """Smallest safe dtype for the sum of `max_pixels` values of `dtype`.

    Parameters
    ----------
    dtype : numpy.dtype
        Dtype of the source data.
    max_pixels : int
        Largest number of pixels in one chip.

    Returns
    -------
    numpy.dtype
        ``uint32``/``uint64`` for unsigned data, ``int32``/``int64`` for
        signed integers and booleans, ``float64`` for floating point data.

    Raises
    ------
    TypeError
        For complex or non-numeric data.

    Examples
    --------
    >>> accumulator_dtype(np.uint16, 225)
    dtype('uint32')
    >>> accumulator_dtype(np.uint32, 225)
    dtype('uint64')
    >>> accumulator_dtype(np.float32, 225)
    dtype('float64')
    """
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        dtype = np.dtype(np.uint8)
    if np.issubdtype(dtype, np.floating):
        return np.dtype(np.float64)
    if not np.issubdtype(dtype, np.integer):
        raise TypeError(
            f"EDS data must be real integers or floats to be chipped, got dtype "
            f"{dtype}."
        )
    info = np.iinfo(dtype)
    largest = max(abs(int(info.max)), abs(int(info.min))) * int(max_pixels)
    kind = np.uint32 if info.min == 0 else np.int32
    if largest <= np.iinfo(kind).max:
        return np.dtype(kind)
    return np.dtype(np.uint64 if info.min == 0 else np.int64)


def _is_regular(bounds: np.ndarray) -> bool:
    """True if the intervals tile the axis from 0 with equal, adjacent chips."""
    return _regular_step(bounds) == bounds[0, 1] - bounds[0, 0]


def _reshape_sum(block, sizes: tuple[int, ...], dtype):
    """Sum blocks of ``sizes`` pixels along the leading axes of `block`."""
    shape = []
    for n, size in zip(block.shape, sizes):
        shape += [n // size, size]
    shape += list(block.shape[len(sizes) :])
    axes = tuple(2 * i + 1 for i in range(len(sizes)))
    return block.reshape(shape).sum(axis=axes, dtype=dtype)


def _band_sum(band, sizes: tuple[int, ...], dtype):
    """Sum one band of ``sizes[0]`` rows into its chips, adding narrow.

    Unsigned counts are added in their own dtype (uint16 adds are ~2.5x
    faster than widening ones) for as long as the sum of the rows' maxima
    proves that no channel can overflow, then flushed into the `dtype`
    accumulator; the result is exact whatever the data hold.
    """
    inner = int(np.prod(sizes[1:], dtype=np.int64))
    narrow = band.dtype.newbyteorder("=")  # e.g. big-endian data from a file
    if narrow.kind != "u" or narrow.itemsize >= np.dtype(dtype).itemsize:
        return _reshape_sum(band, sizes, dtype)[0]
    limit = int(np.iinfo(narrow).max)
    wide, part, bound = None, None, 0
    for row in band:
        row_bound = int(row.max()) * inner if row.size else 0
        add_narrow = row_bound <= limit
        if part is not None and (not add_narrow or bound + row_bound > limit):
            wide = part.astype(dtype) if wide is None else wide + part
            part, bound = None, 0
        row_sum = _reshape_sum(row, sizes[1:], narrow if add_narrow else dtype)
        if not add_narrow:
            wide = row_sum if wide is None else wide + row_sum
        elif part is None:
            part, bound = row_sum, row_bound
        else:
            part += row_sum
            bound += row_bound
    if part is not None:
        wide = part.astype(dtype) if wide is None else wide + part
    return wide


def _chip_sum(block, sizes: tuple[int, ...], dtype, pool=None):
    """Sum blocks of ``sizes`` pixels, band by band (on `pool` if given).

    Examples
    --------
    >>> data = np.full((4, 6, 2), 65535, dtype=np.uint16)
    >>> _chip_sum(data, (2, 3), np.uint32)[..., 0].tolist()
    [[393210, 393210], [393210, 393210]]
    """
    n_bands = block.shape[0] // sizes[0]
    out = np.empty(
        tuple(n // s for n, s in zip(block.shape, sizes))
        + tuple(block.shape[len(sizes) :]),
        dtype=dtype,
    )

    def work(i):
        band = block[i * sizes[0] : (i + 1) * sizes[0]]
        out[i] = _band_sum(band, sizes, dtype)

    if pool is None:
        for i in range(n_bands):
            work(i)
    else:
        list(pool.map(work, range(n_bands)))
    return out


def _regular_sum(data, sizes: tuple[int, ...], counts: tuple[int, ...], dtype):
    """Sum whole chips of `sizes` pixels tiling the leading axes from 0."""
    cropped = data[tuple(slice(0, n * s) for n, s in zip(counts, sizes))]
    if not isinstance(data, da.Array):
        # Bands of chips on every core (numpy releases the GIL).
        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            return _chip_sum(cropped, sizes, dtype, pool)
    # Chunks holding whole chips, then one reshape-sum per chunk.
    chunks = {
        axis: max(size, (max(cropped.chunks[axis]) // size) * size)
        for axis, size in enumerate(sizes)
    }
    if any(c % sizes[axis] for axis in chunks for c in cropped.chunks[axis]):
        _logger.info(
            "Rechunking %s to %s so that every chunk holds whole chips.",
            cropped.chunksize,
            chunks,
        )
    cropped = cropped.rechunk(chunks, method="tasks")
    out_chunks = [
        tuple(c // size for c in cropped.chunks[axis])
        for axis, size in enumerate(sizes)
    ]
    out_chunks += list(cropped.chunks[len(sizes) :])
    return cropped.map_blocks(
        functools.partial(_chip_sum, sizes=sizes, dtype=dtype),
        dtype=dtype,
        chunks=tuple(out_chunks),
        meta=np.empty((0,) * data.ndim, dtype=dtype),
    )


def sum_intervals(data, axis: int, bounds: np.ndarray, dtype):
    """Sum `data` over half-open intervals along one axis.

    Parameters
    ----------
    data : numpy.ndarray or dask.array.Array
        The data.
    axis : int
        Axis (data order) to reduce.
    bounds : numpy.ndarray
        (n, 2) integer array of ``[start, stop)`` intervals.
    dtype : numpy.dtype
        Accumulator dtype.

    Returns
    -------
    numpy.ndarray or dask.array.Array
        `data` with `axis` replaced by one entry per interval; lazy if
        `data` is lazy.

    Examples
    --------
    >>> x = np.arange(10)
    >>> sum_intervals(x, 0, np.array([[0, 4], [4, 8]]), np.int64).tolist()
    [6, 22]
    >>> sum_intervals(x, 0, np.array([[0, 3], [2, 10]]), np.int64).tolist()
    [3, 44]
    """
    xp = da if isinstance(data, da.Array) else np
    if _is_regular(bounds):
        sizes = (1,) * axis + (int(bounds[0, 1] - bounds[0, 0]),)
        counts = tuple(data.shape[:axis]) + (bounds.shape[0],)
        return _regular_sum(data, sizes, counts, dtype)
    if bounds.shape[0] > 2 and _is_regular(bounds[:-1]):
        # Regular chips plus one partial chip at the edge (remainder="keep").
        head = sum_intervals(data, axis, bounds[:-1], dtype)
        tail = sum_intervals(data, axis, bounds[-1:], dtype)
        return xp.concatenate([head, tail], axis=axis)
    step = _regular_step(bounds)
    size = int(bounds[0, 1] - bounds[0, 0])
    if step is not None and size / step > 4 and bounds.shape[0] > 16:
        # Many overlapping windows: differences of a running sum, two passes
        # whatever the window size (slicing would read each pixel size/step
        # times).
        return _cumsum_windows(data, axis, size, step, bounds.shape[0], dtype)
    parts = [
        data[(slice(None),) * axis + (slice(int(a), int(b)),)].sum(
            axis=axis, dtype=dtype
        )
        for a, b in bounds
    ]
    return xp.stack(parts, axis=axis)


def sum_grid(data, bounds: list[np.ndarray], dtype):
    """Sum the pixels of every grid or window chip.

    Parameters
    ----------
    data : numpy.ndarray or dask.array.Array
        Spectrum image in data order, e.g. (ny, nx, n_channels).
    bounds : list of numpy.ndarray
        Intervals per navigation axis in navigation order (x, y), as
        :func:`~hyperspy_chipping.chipping._geometry.grid_bounds` returns.
    dtype : numpy.dtype
        Accumulator dtype.

    Returns
    -------
    numpy.ndarray or dask.array.Array
        Chip spectra, shape (n_rows, n_cols, n_channels).

    Examples
    --------
    >>> data = np.ones((4, 6, 3), dtype=np.uint16)
    >>> bounds = [np.array([[0, 3], [3, 6]]), np.array([[0, 2], [2, 4]])]
    >>> sum_grid(data, bounds, np.uint32)[..., 0].tolist()
    [[6, 6], [6, 6]]
    """
    n_nav = len(bounds)
    sizes = dense_lazy_sizes(data, bounds)
    if sizes is not None and min(sizes) > 1:
        return _dense_windows_lazy(data, sizes, dtype)
    if n_nav == 2 and not isinstance(data, da.Array):
        steps = [_regular_step(b) for b in bounds]
        sizes = [int(b[0, 1] - b[0, 0]) for b in bounds]
        if all(steps) and any(s / t > 4 for s, t in zip(sizes, steps)):
            return _windows_in_slabs(data, bounds, sizes, steps, dtype)
    if all(_is_regular(b) for b in bounds):
        # Plain grid: one reshape and one sum over both chip axes.
        sizes = tuple(int(b[0, 1] - b[0, 0]) for b in reversed(bounds))
        counts = tuple(b.shape[0] for b in reversed(bounds))
        return _regular_sum(data, sizes, counts, dtype)
    out = data
    # bounds are in navigation order; data axis of navigation axis i is
    # n_nav - 1 - i. Reduce the slowest (outermost) axis first: it shrinks
    # the array most cheaply.
    for i in reversed(range(n_nav)):
        out = sum_intervals(out, n_nav - 1 - i, bounds[i], dtype)
    return out


def _label_block_sum(block, lab, n_labels: int, dtype):
    flat = block.reshape(-1, block.shape[-1])
    lab = lab.reshape(-1)
    out = np.zeros((n_labels, block.shape[-1]), dtype=dtype)
    order = np.argsort(lab, kind="stable")
    sorted_lab = lab[order]
    edges = np.searchsorted(sorted_lab, np.arange(-1, n_labels) + 0.5)
    # One gather and one sum per chip: together a single pass over `block`
    # (np.add.reduceat with a wider dtype is ~20x slower).
    for i in range(n_labels):
        rows = order[edges[i] : edges[i + 1]]
        if rows.size:
            out[i] = flat[rows].sum(axis=0, dtype=dtype)
    return out


def sum_labels(data, index_image: np.ndarray, n_labels: int, dtype):
    """Sum the pixels of every labelled region.

    Parameters
    ----------
    data : numpy.ndarray or dask.array.Array
        Spectrum image in data order, e.g. (ny, nx, n_channels).
    index_image : numpy.ndarray
        Image of the navigation shape (data order) holding, for every pixel,
        the index of its chip (0 to ``n_labels - 1``), or -1 outside every
        chip.
    n_labels : int
        Number of chips.
    dtype : numpy.dtype
        Accumulator dtype.

    Returns
    -------
    numpy.ndarray or dask.array.Array
        Chip spectra, shape (n_labels, n_channels).

    Examples
    --------
    >>> data = np.arange(12, dtype=np.uint16).reshape(2, 2, 3)
    >>> index = np.array([[0, -1], [1, 0]])
    >>> sum_labels(data, index, 2, np.uint32).tolist()
    [[9, 11, 13], [6, 7, 8]]
    """
    if not isinstance(data, da.Array):
        return _label_block_sum(data, index_image, n_labels, dtype)
    n_nav = data.ndim - 1
    data = data.rechunk({-1: -1}, method="tasks")
    lab = da.from_array(index_image, chunks=data.chunks[:n_nav])
    lab = lab[(Ellipsis, None)]
    n_sig = data.shape[-1]

    def block_sum(block, lab_block):
        out = _label_block_sum(block, lab_block, n_labels, dtype)
        return out.reshape((1,) * n_nav + (n_labels * n_sig,))

    partial = da.map_blocks(
        block_sum,
        data,
        lab,
        dtype=dtype,
        chunks=tuple((1,) * len(c) for c in data.chunks[:n_nav])
        + ((n_labels * n_sig,),),
        meta=np.empty((0,) * data.ndim, dtype=dtype),
    )
    return partial.sum(axis=tuple(range(n_nav)), dtype=dtype).reshape(n_labels, n_sig)
