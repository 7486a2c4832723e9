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
"""Per-pixel windows quantified straight from the source map, in bands.

A window at every pixel holds each pixel ``size**2`` times: materialised,
the window spectra of a 500 x 500 px map of 2000 channels take 2 GB, and
writing them costs more than fitting them. Lazy step-1 window chips keep a
link to the map they were cut from (``chipping._windows.window_source``); their
quantification then reads the map chunk by chunk, sums the windows of a
band of about a thousand at a time in cache, fits and quantifies them, and
keeps only the per-window results (:func:`stream_window_results`). The
summed spectrum that calibrates the model is the same as that of the window
spectra (:func:`window_calibration_total`): a separable weighted sum of the
map's pixels, each weighted by the number of calibration windows holding it.
Results equal those of the explicit window stack to round-off.
"""

from __future__ import annotations

import functools

import dask.array as da
import numpy as np

from hyperspy_chipping.chipping._box_kernel import box_sums, weighted_sums
from hyperspy_chipping.chipping._split_windows import map_windows_split
from hyperspy_chipping.chipping._windows import (
    _dense_windows_block,
    map_dense_windows,
)
from hyperspy_chipping.quantification._block import layout

#: Windows summed and quantified together inside a task (in cache).
BAND_WINDOWS = 1024
#: Largest source block (with its results) of one task.
TASK_BYTES = 96 * 2**20


def _axis_weights(n_source, size, stride, kernel=None) -> np.ndarray:
    """Times each pixel along an axis lies in the calibration windows.

    The windows start at ``0, stride, 2 * stride, ...`` (of the
    ``n_source - size + 1`` windows); `kernel` weighs the pixels of each.

    Examples
    --------
    >>> _axis_weights(6, 3, 2).tolist()
    [1.0, 1.0, 2.0, 1.0, 1.0, 0.0]
    """
    weights = np.zeros(n_source)
    kernel = np.ones(size) if kernel is None else np.asarray(kernel, dtype=float)
    for start in range(0, n_source - size + 1, stride):
        weights[start : start + size] += kernel
    return weights


def _weighted_block_sum(block, wy, wx, fit):
    """``sum_ij wy[i] wx[j] block[i, j, fit]``, row by row.

    Each row's weighted sum is one single-precision product (half the
    memory traffic of float64; exact for integer counts while it stays below
    2**24, else to ~1e-7), accumulated over the rows in float64.
    """
    total = np.zeros(block.shape[2], dtype=np.float64)[fit]
    wx32 = np.asarray(wx, dtype=np.float32)
    for i in np.flatnonzero(wy):
        total += wy[i] * (wx32 @ block[i, :, fit].astype(np.float32))
    return total[None, None]


def window_calibration_total(link, strides, fit):
    """Summed spectrum of the calibration windows, from the source map.

    Equal to ``windows[::sy, ::sx, fit].sum(axis=(0, 1))`` of the explicit
    window sums (see ``calibration_subset``) without them: exactly for
    integer counts while a row's weighted sum in a chunk stays below 2**24
    counts per channel (else to ~1e-7).

    Parameters
    ----------
    link : dict
        From :func:`window_source`.
    strides : tuple of int
        Calibration stride along (y, x).
    fit : slice
        The fit channels.

    Returns
    -------
    dask.array.Array
        (n_fit,) float64.
    """
    source = link["source"]
    weights = link["weights"] or (None, None)
    wy, wx = (
        _axis_weights(n, size, stride, kernel)
        for n, size, stride, kernel in zip(
            source.shape[:2], link["sizes"], strides, weights
        )
    )
    n_fit = len(range(source.shape[2])[fit])
    wyd = da.from_array(wy, chunks=(source.chunks[0],))
    wxd = da.from_array(wx, chunks=(source.chunks[1],))
    parts = da.map_blocks(
        lambda block, a, b: _weighted_block_sum(block, a.ravel(), b.ravel(), fit),
        source.rechunk({2: -1}, method="tasks"),
        wyd[:, None, None],
        wxd[None, :, None],
        dtype=np.float64,
        chunks=((1,) * source.numblocks[0], (1,) * source.numblocks[1], (n_fit,)),
    )
    return parts.sum(axis=(0, 1))


def _stream_block(
    block, *args, sizes, dtype, weights, fit, quantify, n_pixels, checked
):
    """Window results of one source block (with its halo), band by band.

    Returns (rows, columns, n_out + 1): `quantify`'s packed results, then
    the window's counts over every channel (the table's ``counts``).
    """
    sy, sx = sizes
    ny, nx = block.shape[0] - sy + 1, block.shape[1] - sx + 1
    band = max(1, BAND_WINDOWS // max(nx, 1))
    # Unsigned counts whose sums float32 holds exactly: one pass, straight
    # into the fit's float32 (_box_kernel).
    boxed = checked and weights is None
    # The fit's counts (a column of the packed results) are those of the
    # channels it kept: the others are added for the counts over all.
    solution = args[0]
    trim = solution.get("trim", slice(None))
    counted = (
        fit.start + (trim.start or 0),
        fit.stop if trim.stop is None else fit.start + trim.stop,
    )
    column = layout(len(solution["rows"]), 1, False)["counts"].start
    out = None  # the block's results, written band by band (no concatenation)
    for i0 in range(0, ny, band):
        i1 = min(i0 + band, ny)
        rows = block[i0 : i1 + sy - 1]
        if boxed:
            windows = box_sums(rows, sizes, dtype)
        elif checked:  # Gaussian weights, float32
            windows = weighted_sums(rows, weights)
        else:
            windows = _dense_windows_block(rows, sizes, dtype, weights)
        npix = np.full(windows.shape[:2], n_pixels)
        packed = quantify(
            windows[..., fit],
            npix,
            *args,
            checked=checked,
            integer=boxed,
        )
        # (float32 windows hold integers below 2**24: their sums are exact.)
        rest = windows[..., : counted[0]].sum(axis=-1, dtype=np.float64)
        rest += windows[..., counted[1] :].sum(axis=-1, dtype=np.float64)
        if out is None:
            out = np.empty((ny, nx, packed.shape[-1] + 1))
        out[i0:i1, :, :-1] = packed
        np.add(packed[..., column], rest, out=out[i0:i1, :, -1])
    return out


def _split_large_chunks(source, per_window):
    """`source` with chunks of at most TASK_BYTES (file chunks kept if smaller)."""
    side = int(np.sqrt(TASK_BYTES / per_window))
    if max(source.chunksize[:2]) > side:
        source = source.rechunk(
            {0: min(side, source.chunksize[0]), 1: min(side, source.chunksize[1])},
            method="tasks",
        )
    return source


def stream_window_results(link, fit, quantify, n_pixels, args, n_out):
    """Per-window packed results straight from the source map (lazy).

    Parameters
    ----------
    link : dict
        From :func:`window_source`.
    fit : slice
        The fit channels.
    quantify : callable
        ``quantify(spectra, n_pixels, *args)`` -> (..., n_out) packed
        results (``quantify_block``).
    n_pixels : float
        Pixels (dose-equivalent pixels for a Gaussian kernel) per window.
    args : tuple
        The solution (solved, or a dask Delayed) and the parameters.
    n_out : int
        Columns of the packed results.

    Returns
    -------
    dask.array.Array
        (rows, columns, n_out + 1) windows: the packed results, then each
        window's counts over every channel.
    """
    source = link["source"]
    sizes, dtype = link["sizes"], link["dtype"]
    checked = False
    if np.issubdtype(source.dtype, np.unsignedinteger) and (
        link["weights"] is not None
        or np.iinfo(source.dtype).max * int(np.prod(sizes)) < 2**24
    ):
        # Sums of unsigned counts below 2**24 are exact in float32, and
        # Gaussian-weighted ones good to ~1e-7, the precision of the fit:
        # the windows are summed straight into the fit's float32 (no
        # conversion pass), and need no check (they cannot be negative).
        dtype, checked = np.dtype(np.float32), True
    # Per window in a task: its share of the source chunk and its results;
    # the window sums take a band at a time (BAND_WINDOWS), whatever the
    # task's size, so that a file's chunks are used as they are (splitting
    # them holds each until all its pieces are used).
    per_window = source.shape[2] * source.dtype.itemsize + 8 * (n_out + 1)
    function = functools.partial(
        _stream_block,
        sizes=sizes,
        dtype=dtype,
        weights=link["weights"],
        fit=fit,
        quantify=quantify,
        n_pixels=float(n_pixels),
        checked=checked,
    )
    if link.get("array") is not None:  # views of the in-memory map
        windows = map_dense_windows(
            source,
            sizes,
            function,
            per_window,
            n_out + 1,
            np.float64,
            args,
            array=link["array"],
            task_bytes=TASK_BYTES,
        )
    else:  # a chunk a task: each read chunk is released at once
        windows = map_windows_split(
            _split_large_chunks(source, per_window),
            sizes,
            function,
            n_out + 1,
            np.float64,
            args,
        )
    return windows
