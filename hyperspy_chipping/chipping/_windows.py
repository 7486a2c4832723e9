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
"""Window chips: sums over overlapping windows, box or Gaussian weighted.

Overlapping windows (``step < size``) hold every pixel several times: a
running window gives each one from the previous with two additions whatever
its size, and a dask map is chipped chunk by chunk with an asymmetric halo
(:func:`dense_windows_lazy`), so that no task holds more than a few MB.
"""

from __future__ import annotations

import functools
import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import dask.array as da
import numpy as np


def _regular_step(bounds: np.ndarray) -> int | None:
    """Step of equal chips starting at 0, ``k * step``; None if irregular."""
    size = bounds[0, 1] - bounds[0, 0]
    step = bounds[1, 0] - bounds[0, 0] if bounds.shape[0] > 1 else size
    starts = np.arange(bounds.shape[0]) * step
    regular = np.array_equal(bounds[:, 0], starts) and np.array_equal(
        bounds[:, 1], starts + size
    )
    return int(step) if regular and step > 0 else None


def _cumsum_windows(data, axis: int, size: int, step: int, n: int, dtype):
    """Sums over ``[i * step, i * step + size)`` for i < n, by running sums."""
    xp = da if isinstance(data, da.Array) else np
    stop = (n - 1) * step + size
    index = (slice(None),) * axis
    running = xp.cumsum(data[index + (slice(0, stop),)], axis=axis, dtype=dtype)
    shape = list(running.shape)
    shape[axis] = 1
    zero = xp.zeros(shape, dtype=dtype)
    running = xp.concatenate([zero, running], axis=axis)
    hi = running[index + (slice(size, stop + 1, step),)]
    lo = running[index + (slice(0, stop - size + 1, step),)]
    return hi - lo


def _sliding_windows(data, axis: int, size: int, n: int, dtype, out=None):
    """Sums over ``[i, i + size)`` for i < n along `axis`: a running window.

    Each window is the previous one, less the slice that leaves, plus the
    one that enters: two additions per window whatever its size, with no
    running sum of the whole axis (unsigned sums never go below zero: the
    slice that leaves is part of the previous window).

    Examples
    --------
    >>> x = np.arange(6, dtype=np.uint16)[:, None]
    >>> _sliding_windows(x, 0, 3, 4, np.uint32)[:, 0].tolist()
    [3, 6, 9, 12]
    """
    index = (slice(None),) * axis
    shape = list(data.shape)
    shape[axis] = n
    if out is None:
        out = np.empty(shape, dtype=dtype)
    data[index + (slice(0, size),)].sum(axis=axis, dtype=dtype, out=out[index + (0,)])
    for i in range(1, n):
        window = out[index + (i,)]
        np.subtract(out[index + (i - 1,)], data[index + (i - 1,)], out=window)
        np.add(window, data[index + (i + size - 1,)], out=window)
    return out


def _windows_in_slabs(data, bounds, sizes, steps, dtype, rows=16):
    """Dense windows of an eager map, a slab of output rows at a time.

    Running sums over a few rows stay in cache and in bounded temporaries,
    and the slabs run on every core (numpy releases the GIL).
    """
    (size_x, size_y), (step_x, step_y) = sizes, steps
    n_x, n_y = bounds[0].shape[0], bounds[1].shape[0]
    out = np.empty((n_y, n_x, data.shape[-1]), dtype=dtype)

    def windows(block, axis, size, step, n, target=None):
        if step == 1:
            return _sliding_windows(block, axis, size, n, dtype, target)
        sums = _cumsum_windows(block, axis, size, step, n, dtype)
        if target is None:
            return sums
        target[...] = sums

    def work(j0):
        j1 = min(j0 + rows, n_y)
        slab = data[j0 * step_y : (j1 - 1) * step_y + size_y]
        ysum = windows(slab, 0, size_y, step_y, j1 - j0)
        windows(ysum, 1, size_x, step_x, n_x, out[j0:j1])

    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(work, range(0, n_y, rows)))
    return out


def _weighted_axis(data, axis: int, weights, n: int, dtype=np.float64):
    """Weighted sums over ``[i, i + len(weights))`` for i < n along `axis`.

    In float64, the same operations in the same order as
    :func:`weighted_windows`, so that a chunked map gives the same sums bit
    for bit; `dtype` float32 halves the memory traffic (the precision of
    the single-precision fit they feed).
    """
    if dtype == np.float32:
        return _weighted_axis_single(data, axis, weights, n)
    index = (slice(None),) * axis
    acc = term = None
    for k, wk in enumerate(weights):
        part = data[index + (slice(k, k + n),)]
        if acc is None:
            acc = part.astype(dtype) * dtype(wk)
            term = np.empty_like(acc)
        else:
            np.multiply(part, dtype(wk), out=term, casting="unsafe")
            acc += term
    return acc


def _weighted_axis_single(data, axis: int, weights, n: int):
    """:func:`_weighted_axis` in float32, in fewer passes over the data.

    Along the first axis, one product with the banded matrix of the weights
    (BLAS, ~4x faster than a pass per weight); along another, the pixels
    the symmetric kernel weighs alike are added before they are weighed.

    Examples
    --------
    >>> x = np.arange(24, dtype=np.uint16).reshape(4, 6, 1)
    >>> w = np.array([1.0, 2.0, 1.0])
    >>> ref = _weighted_axis(x, 1, w, 4)[..., 0]
    >>> bool(np.allclose(_weighted_axis_single(x, 1, w, 4)[..., 0], ref))
    True
    >>> bool(np.allclose(_weighted_axis_single(x, 0, w, 2), _weighted_axis(x, 0, w, 2)))
    True
    """
    size = len(weights)
    weights = np.asarray(weights, dtype=np.float32)
    if axis == 0:
        band = np.zeros((n, n + size - 1), dtype=np.float32)
        for i in range(n):
            band[i, i : i + size] = weights
        rows = data[: n + size - 1].reshape(n + size - 1, -1)
        out = band @ rows.astype(np.float32, copy=False)
        return out.reshape((n,) + data.shape[1:])
    index = (slice(None),) * axis
    acc = pair = None
    for k in range((size + 1) // 2):
        a = data[index + (slice(k, k + n),)]
        mirror = size - 1 - k
        if mirror != k and np.isclose(weights[k], weights[mirror]):
            if pair is None:
                pair = np.empty(a.shape, dtype=np.float32)
            np.add(
                a,
                data[index + (slice(mirror, mirror + n),)],
                out=pair,
                dtype=np.float32,
            )
            terms = [(pair, weights[k])]
        else:
            terms = [(a, weights[k])] + (
                [(data[index + (slice(mirror, mirror + n),)], weights[mirror])]
                if mirror != k
                else []
            )
        for values, weight in terms:
            if acc is None:
                acc = np.multiply(values, weight, dtype=np.float32)
            else:
                acc += np.multiply(values, weight, dtype=np.float32)
    return acc


def _dense_windows_block(block, sizes, dtype, weights=None):
    """Step-1 window sums of one block holding its upper halo.

    `weights` (one array per data axis, y then x) weigh the pixels of each
    window (Gaussian kernel; float64 sums), else they are added.
    """
    (sy, sx) = sizes
    ny, nx = block.shape[0] - sy + 1, block.shape[1] - sx + 1
    if weights is not None:
        wtype = np.float32 if np.dtype(dtype) == np.float32 else np.float64
        rows = _weighted_axis(block, 0, weights[0], ny, wtype)
        return _weighted_axis(rows, 1, weights[1], nx, wtype)
    rows = _sliding_windows(block, 0, sy, ny, dtype)
    return _sliding_windows(rows, 1, sx, nx, dtype)


#: Target size of the window sums of one task of :func:`_dense_windows_lazy`:
#: a few MB, so that a task's arrays are reused from the heap rather than
#: mapped afresh (a fresh page costs ~3 s per GB on a virtual machine).
WINDOW_CHUNK_BYTES = 8 * 2**20


def _whole_window_chunks(data, sizes):
    """`data` rechunked so that every chunk holds a whole window.

    A chunk smaller than the window is merged with a neighbour (then it also
    holds the ``size - 1`` pixels of a halo or of a boundary strip's half);
    the channels are one chunk.
    """
    chunks = list(data.chunks[:2])
    for axis, size in enumerate(sizes):
        c = list(chunks[axis])
        while len(c) > 1 and min(c) < size:
            k = int(np.argmin(c))
            k = k - 1 if k == len(c) - 1 else k
            c[k : k + 2] = [c[k] + c[k + 1]]
        chunks[axis] = tuple(c)
    return data.rechunk(tuple(chunks) + ((data.shape[2],),), method="tasks")


def map_dense_windows(
    data,
    sizes,
    function,
    bytes_per_window,
    out_channels,
    dtype,
    args=(),
    array=None,
    task_bytes=WINDOW_CHUNK_BYTES,
):
    """Map `function` over the step-1 windows of a dask map, chunk by chunk.

    Each output chunk holds the windows that start in one source chunk; the
    chunk reads the ``size - 1`` rows and columns after it (an asymmetric
    halo). Every task then needs one chunk and its halo, and no running sum
    ties the chunks of an axis together.

    Parameters
    ----------
    data : dask.array.Array
        (ny, nx, n_channels) map.
    sizes : tuple of int
        Window size along (y, x), data order.
    function : callable
        ``function(block, *args)`` of a source block holding its halo,
        returning the (rows, columns, out_channels) values of the windows
        that start in it.
    bytes_per_window : int
        Bytes a task holds per window: chunks are sized from it.
    out_channels : int or None
        Values per window (None: the map's channels, with its chunks).
    dtype : numpy.dtype
        Output dtype.
    args : tuple
        More arguments of `function`: constants or dask Delayed objects
        (e.g. a model solved in the same graph).
    array : numpy.ndarray, optional
        The in-memory map that `data` reads: each task then takes a view of
        its block and halo, rather than a concatenated copy.
    task_bytes : int
        Largest memory of a task (its windows' share, `bytes_per_window`
        each): larger source chunks are split.

    Returns
    -------
    dask.array.Array
        (ny - sy + 1, nx - sx + 1, out_channels).
    """
    side = max(2 * max(sizes), int(np.sqrt(task_bytes / bytes_per_window)))
    if max(data.chunksize[:2]) > side:
        data = data.rechunk(
            {0: min(side, data.chunksize[0]), 1: min(side, data.chunksize[1])},
            method="tasks",
        )
    data = _whole_window_chunks(data, sizes)
    out_chunks = [
        tuple(c[:-1]) + (c[-1] - size + 1,) for c, size in zip(data.chunks, sizes)
    ]
    last = data.chunks[2] if out_channels is None else (out_channels,)
    if array is not None:
        starts = [np.cumsum((0,) + c[:-1]) for c in out_chunks]
        return da.map_blocks(
            _on_view,
            *args,
            name=f"dense-windows-{uuid.uuid4().hex}",  # never hash the map
            array=array,
            starts=starts,
            block_chunks=out_chunks,
            sizes=tuple(sizes),
            function=function,
            dtype=dtype,
            chunks=tuple(out_chunks) + (last,),
        )
    depth = {0: (0, sizes[0] - 1), 1: (0, sizes[1] - 1), 2: 0}
    # map_overlap(trim=False), spelled out so that `args` may hold Delayed.
    halo = da.overlap.overlap(data, depth=depth, boundary="none")
    return da.map_blocks(
        function, halo, *args, dtype=dtype, chunks=tuple(out_chunks) + (last,)
    )


def _on_view(*args, array, starts, block_chunks, sizes, function, block_id=None):
    """`function` of the view of `array` that a block and its halo cover."""
    i, j = block_id[:2]
    y0, x0 = starts[0][i], starts[1][j]
    ny, nx = block_chunks[0][i], block_chunks[1][j]
    view = array[y0 : y0 + ny + sizes[0] - 1, x0 : x0 + nx + sizes[1] - 1]
    return function(view, *args)


def _dense_windows_lazy(data, sizes, dtype, weights=None):
    """Windows at every pixel of a dask map, chunk by chunk (bounded memory).

    See :func:`map_dense_windows`.

    Parameters
    ----------
    data : dask.array.Array
        (ny, nx, n_channels) map.
    sizes : tuple of int
        Window size along (y, x), data order.
    dtype : numpy.dtype
        Accumulator dtype.
    weights : tuple of numpy.ndarray, optional
        Pixel weights along (y, x) (Gaussian kernel); float64 sums.

    Returns
    -------
    dask.array.Array
        (ny - sy + 1, nx - sx + 1, n_channels) window sums.
    """
    # A task holds its chunk and halo, a row pass and the output.
    per_pixel = data.shape[2] * max(np.dtype(dtype).itemsize, data.dtype.itemsize)
    function = functools.partial(
        _dense_windows_block, sizes=tuple(sizes), dtype=dtype, weights=weights
    )
    return map_dense_windows(data, sizes, function, per_pixel, None, dtype)


def dense_lazy_sizes(data, bounds) -> tuple[int, int] | None:
    """Window size (y, x) if `bounds` are step-1 windows of a 2-D dask map.

    Examples
    --------
    >>> x = da.zeros((5, 4, 2), chunks=2)
    >>> dense_lazy_sizes(x, [np.array([[0, 2], [1, 3], [2, 4]]), np.array([[0, 5]])])
    (5, 2)
    """
    if (
        len(bounds) == 2
        and isinstance(data, da.Array)
        and data.ndim == 3
        and all(_is_dense(b, n) for b, n in zip(bounds, data.shape[1::-1]))
    ):
        return tuple(int(b[0, 1] - b[0, 0]) for b in reversed(bounds))
    return None


def _is_dense(bounds: np.ndarray, n: int) -> bool:
    """Whether `bounds` are the step-1 windows ``[i, i + size)`` of n pixels."""
    size = int(bounds[0, 1] - bounds[0, 0])
    expected = np.arange(n - size + 1)
    return (
        bounds.shape[0] == expected.size
        and (bounds[:, 0] == expected).all()
        and (bounds[:, 1] == expected + size).all()
    )


def gaussian_weights(size: int) -> np.ndarray:
    """Gaussian weights over a window of `size` pixels (sigma = size / 4).

    Normalised so that ``sum(w) == sum(w**2)`` in 2-D once squared per axis:
    the weighted sum of Poisson counts then has variance equal to its mean
    (for a uniform neighbourhood), like counts.

    Examples
    --------
    >>> w = gaussian_weights(9)
    >>> bool(np.isclose(w.sum(), (w**2).sum()))
    True
    """
    k = np.arange(size) - (size - 1) / 2
    w = np.exp(-0.5 * (k / (size / 4)) ** 2)
    return w * w.sum() / (w**2).sum()


def weighted_windows(data, bounds: list[np.ndarray], weights: list[np.ndarray]):
    """Weighted window sums (float64), separable over the navigation axes.

    Parameters
    ----------
    data : numpy.ndarray or dask.array.Array
        Spectrum image in data order.
    bounds : list of numpy.ndarray
        Regular window intervals per navigation axis (navigation order).
    weights : list of numpy.ndarray
        Window weights per navigation axis (navigation order).

    Returns
    -------
    numpy.ndarray or dask.array.Array
        (n_rows, n_cols, n_channels) weighted sums.

    Examples
    --------
    >>> x = np.ones((1, 5, 2))
    >>> b = [np.array([[0, 3], [1, 4], [2, 5]]), np.array([[0, 1]])]
    >>> weighted_windows(x, b, [np.array([1.0, 2.0, 1.0]), np.ones(1)])[0, :, 0]
    array([4., 4., 4.])
    """
    n_nav = len(bounds)
    sizes = dense_lazy_sizes(data, bounds)
    if sizes is not None:
        return _dense_windows_lazy(data, sizes, np.float64, tuple(weights[::-1]))
    out = data
    for i in reversed(range(n_nav)):
        axis = n_nav - 1 - i
        b, w = bounds[i], weights[i]
        step = _regular_step(b)
        n = b.shape[0]
        index = (slice(None),) * axis
        acc = None
        for k, wk in enumerate(w):
            part = out[index + (slice(k, k + (n - 1) * step + 1, step),)]
            term = part.astype(np.float64) * float(wk)
            acc = term if acc is None else acc + term
        out = acc
    return out


#: The private attribute of a lazy window signal linking it to its map.
_LINK = "_window_source"


def link_window_source(signal, source, sizes, dtype, weights=None, array=None):
    """Remember the map that lazy step-1 window chips were cut from.

    The link holds the name of the chips' dask array: it is trusted only
    while the chips still hold that array (a copy, a slice, an operation
    on the data or save/load gives another, and the explicit window sums
    are then used). Nothing is computed.

    Parameters
    ----------
    signal : LazyChippedEDSSpectrum
        The window chips.
    source : dask.array.Array
        (ny, nx, n_channels) map, checked as it is read.
    sizes : tuple of int
        Window size along (y, x).
    dtype : numpy.dtype
        Accumulator dtype of the window sums.
    weights : tuple of numpy.ndarray, optional
        Pixel weights along (y, x) (Gaussian kernel).
    array : numpy.ndarray, optional
        The in-memory map that `source` reads, if any.
    """
    setattr(
        signal,
        _LINK,
        {
            "name": signal.data.name,
            "source": source,
            "sizes": tuple(int(s) for s in sizes),
            "dtype": np.dtype(dtype),
            "weights": None if weights is None else tuple(weights),
            "array": array,
        },
    )


def window_source(signal):
    """The link of :func:`link_window_source`, if it still holds; else None."""
    link = getattr(signal, _LINK, None)
    data = signal.data
    if link is None or not isinstance(data, da.Array) or data.name != link["name"]:
        return None
    return link
