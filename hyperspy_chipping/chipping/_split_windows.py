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
"""Per-pixel windows of a dask map, a chunk a task, in bounded memory.

The windows inside each chunk come from the task that reads it, with the
chunk's edges; the windows that cross chunk edges come from strips of the
edges. See :func:`map_windows_split`.
"""

from __future__ import annotations

import dask.array as da
import numpy as np

from hyperspy_chipping.chipping._windows import (  # noqa: F401 (doctest)
    _dense_windows_block,
    _whole_window_chunks,
)


def map_windows_split(data, sizes, function, out_channels, dtype, args=()):
    """Map `function` over the step-1 windows of a dask map, one chunk a task.

    :func:`map_dense_windows` gives each task its chunk and a halo from the
    next chunks, so that a chunk is held from the task above it (which
    needs its first rows) until its own task runs: a whole row of chunks
    (0.5 GB for a 1024 px wide map of 128 px chunks of 2048 channels). Here
    the task that reads a chunk computes the windows inside it and cuts the
    chunk's edges (``size - 1`` pixels on each side), and the chunk is
    released when it ends; the windows that cross into the next chunks come
    from strips of two (or, at a corner, four) chunks' edges. A chunk is
    held by one task, whatever the width of the map and the scheduler: dask
    threads, or worker processes that each read a second chunk while they
    work on one (measured on a 2-process LocalCluster, a 4 GiB map of
    64 MiB chunks, 5x5 windows: 0.38 -> 0.34-0.35 GiB a worker).

    Parameters
    ----------
    data : dask.array.Array
        (ny, nx, n_channels) map.
    sizes : tuple of int
        Window size along (y, x), data order.
    function : callable
        ``function(block, *args)`` -> the (rows, columns, out_channels)
        values of every window that fits in `block`.
    out_channels : int
        Values per window.
    dtype : numpy.dtype
        Output dtype.
    args : tuple
        More arguments of `function` (constants or dask Delayed objects).

    Returns
    -------
    dask.array.Array
        (ny - sy + 1, nx - sx + 1, out_channels).

    Examples
    --------
    >>> x = da.from_array(np.arange(7 * 9).reshape(7, 9, 1), chunks=(3, 4, 1))
    >>> def sums(block):
    ...     return _dense_windows_block(block, (2, 3), np.int64)
    >>> out = map_windows_split(x, (2, 3), sums, 1, np.int64).compute()
    >>> bool((out == _dense_windows_block(x.compute(), (2, 3), np.int64)).all())
    True
    """
    data = _whole_window_chunks(data, sizes)
    (hy, hx), last = (sizes[0] - 1, sizes[1] - 1), (out_channels,)
    ych, xch = data.chunks[:2]
    yend, xend = np.cumsum(ych)[:-1], np.cumsum(xch)[:-1]
    channels = (data.shape[2],)

    def windows(block_array, rows, columns):
        return da.map_blocks(
            function, block_array, *args, dtype=dtype, chunks=(rows, columns, last)
        )

    # One task a chunk: its inner windows and its edges, as one object.
    parts = da.map_blocks(
        _inner_and_edges,
        data,
        *args,
        function=function,
        halo=(hy, hx),
        dtype=object,
        chunks=((1,) * len(ych), (1,) * len(xch), (1,)),
        meta=np.empty((0, 0, 0), dtype=object),
    )

    def part(index, chunks, part_dtype):
        return da.map_blocks(
            _part,
            parts,
            index=index,
            dtype=part_dtype,
            chunks=chunks,
            meta=np.empty((0, 0, 0), dtype=part_dtype),
        )

    inner_rows = tuple(c - hy for c in ych)
    inner_columns = tuple(c - hx for c in xch)
    inner = part(0, (inner_rows, inner_columns, last), dtype)
    right = bottom = corner = None
    if hx and len(xend):
        lefts = part(3, (ych, (hx,) * len(xch), channels), data.dtype)
        rights = part(4, (ych, (hx,) * len(xch), channels), data.dtype)
        # The strip across the edge after column chunk j: its right edge and
        # the next chunk's left edge.
        strips = da.concatenate(
            [
                da.concatenate([rights.blocks[:, j], lefts.blocks[:, j + 1]], axis=1)
                for j in range(len(xend))
            ],
            axis=1,
        ).rechunk({1: 2 * hx}, method="tasks")
        right = windows(strips, inner_rows, (hx,) * len(xend))
    if hy and len(yend):
        tops = part(1, ((hy,) * len(ych), xch, channels), data.dtype)
        bottoms = part(2, ((hy,) * len(ych), xch, channels), data.dtype)
        strips = da.concatenate(
            [
                da.concatenate([bottoms.blocks[i], tops.blocks[i + 1]], axis=0)
                for i in range(len(yend))
            ],
            axis=0,
        ).rechunk({0: 2 * hy}, method="tasks")
        bottom = windows(strips, (hy,) * len(yend), inner_columns)
        if right is not None:
            cross = [strips[:, e - hx : e + hx] for e in xend]
            cross = da.concatenate(cross, axis=1).rechunk({1: 2 * hx}, method="tasks")
            corner = windows(cross, (hy,) * len(yend), (hx,) * len(xend))
    rows = []
    for i in range(len(ych)):
        for main, side, present in (
            (inner, right, True),
            (bottom, corner, bottom is not None and i < len(yend)),
        ):
            if not present:
                continue
            pieces = []
            for j in range(len(xch)):
                pieces.append(main.blocks[i, j])
                if side is not None and j < len(xend):
                    pieces.append(side.blocks[i, j])
            rows.append(da.concatenate(pieces, axis=1))
    return da.concatenate(rows, axis=0)


def _inner_and_edges(block, *args, function, halo):
    """The windows inside `block`, and copies of its top, bottom, left and
    right edges (`halo` rows and columns; empty without a halo), as one
    object (a 1 x 1 x 1 object array: the block's indices are kept, so that
    the chunk's read is fused into this task)."""
    hy, hx = halo
    out = np.empty((1, 1, 1), dtype=object)
    out[0, 0, 0] = (
        function(block, *args),
        block[:hy].copy(),
        block[block.shape[0] - hy :].copy(),
        block[:, :hx].copy(),
        block[:, block.shape[1] - hx :].copy(),
    )
    return out


def _part(parts, index):
    """Part `index` of :func:`_inner_and_edges`'s object."""
    return parts[0, 0, 0][index]
