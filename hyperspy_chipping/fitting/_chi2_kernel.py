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
"""Pearson's chi-squared of many chips in one pass over their counts.

Numpy computes the model, the variance model, the residual and its weighted
square of a block of chips as four (n_chips, n_channels) temporaries, each a
pass through memory: on a per-pixel map that is most of the time of the
fit. Here each chip's model and variance are built in a buffer of one
spectrum (in the core's cache) and the chip's counts are read once.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def _pearson_rows(
    flat,
    row_step,
    amplitudes,
    weights,
    design,
    shapes,
    support,
    total,
    invalid,
    nonpositive,
    negative,
):
    n = amplitudes.shape[0]
    n_channels = design.shape[1]
    n_design = design.shape[0]
    mu = np.empty(n_channels, dtype=np.float32)
    var = np.empty(n_channels, dtype=np.float32)
    for i in range(n):
        mu[:] = 0
        var[:] = 0
        # (Slices indexed from 0: numba then knows no index is negative,
        # and the loops vectorise.)
        for j in range(n_design):
            a = amplitudes[i, j]
            if a != 0:
                lo, hi = support[j, 0], support[j, 1]
                out, column = mu[lo:hi], design[j, lo:hi]
                for c in range(out.size):
                    out[c] += a * column[c]
        for j in range(shapes.shape[0]):
            w = weights[i, j]
            if w != 0:
                lo, hi = support[n_design + j, 0], support[n_design + j, 1]
                out, column = var[lo:hi], shapes[j, lo:hi]
                for c in range(out.size):
                    out[c] += w * column[c]
        start = i * row_step
        total[i], bad, zeros = _residual_sum(flat[start : start + n_channels], mu, var)
        invalid[i] = int(bad)
        nonpositive[i] = int(zeros)
        if zeros:  # (branch-free: the loop vectorises)
            for c in range(n_channels):
                negative[c] |= mu[c] < 0


@numba.njit(nogil=True, cache=True, fastmath={"reassoc"})
def _residual_sum(counts, mu, var):
    """``sum (y - mu)^2 / v`` over ``v > 0``, the count of the other
    channels and the count of ``mu <= 0``, in one pass.

    The terms are summed in double precision; the counts in single
    precision (exact up to 2**24 channels). Reassociation (and nothing else
    of fast-math: the division stays exact, NaN stays NaN) lets the three
    sums vectorise; without it each is a chain of dependent additions.
    """
    inf = np.float32(np.inf)
    one, zero = np.float32(1), np.float32(0)
    total = 0.0
    bad = zero
    nonpositive = zero
    for c in range(counts.size):
        v = var[c]
        m = mu[c]
        r = counts[c] - m
        ok = v > 0
        total += r * r / (v if ok else inf)
        bad += zero if ok else one
        nonpositive += one if m <= 0 else zero
    return total, bad, nonpositive


def pearson_rows(
    spectra: np.ndarray,
    amplitudes: np.ndarray,
    design: np.ndarray,
    weights: np.ndarray,
    shapes: np.ndarray,
    supports: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pearson's sum, the channels left out and the model's zeros per chip.

    For each chip, with the model ``mu = amplitudes @ design`` and the
    variance model ``v = weights @ shapes``: ``sum (y - mu)^2 / v`` over the
    channels where ``v > 0``, how many channels have ``v <= 0`` (or NaN),
    and how many have ``mu <= 0``; and the channels where some chip's model
    is negative. The
    model and variance are summed in single precision, as the fit's product
    is; the sum accumulates in double precision.

    Parameters
    ----------
    spectra : numpy.ndarray
        (n_chips, n_channels) float32 counts (rows may be strided).
    amplitudes : numpy.ndarray
        (n_chips, n_components).
    design : numpy.ndarray
        (n_components, n_channels) the design matrix, transposed.
    weights : numpy.ndarray
        (n_chips, n_shapes).
    shapes : numpy.ndarray
        (n_shapes, n_channels).
    supports : numpy.ndarray, optional
        ``support(np.vstack([design, shapes]))``, if the caller keeps it.

    Returns
    -------
    total : numpy.ndarray
        (n_chips,) float64.
    invalid : numpy.ndarray
        (n_chips,) int64.
    nonpositive : numpy.ndarray
        (n_chips,) int64: channels with ``mu <= 0``.
    negative : numpy.ndarray
        (n_channels,) bool: ``mu < 0`` in some chip.

    Examples
    --------
    One chip, two channels, a flat model of 2 counts and variance 2:

    >>> y = np.array([[1.0, 4.0]], dtype=np.float32)
    >>> total, invalid, nonpositive, negative = pearson_rows(
    ...     y, np.array([[2.0]]), np.array([[1.0, 1.0]]),
    ...     np.array([[2.0]]), np.array([[1.0, 1.0]]))
    >>> float(total[0]), int(invalid[0]), int(nonpositive[0])  # (1 + 4) / 2
    (2.5, 0, 0)
    >>> negative.tolist()
    [False, False]

    A model of -1 in the first channel (left out: its variance is 0):

    >>> total, invalid, nonpositive, negative = pearson_rows(
    ...     y, np.array([[-1.0, 2.0]]), np.array([[1.0, 0.0], [0.0, 1.0]]),
    ...     np.array([[2.0]]), np.array([[0.0, 1.0]]))
    >>> float(total[0]), int(invalid[0]), int(nonpositive[0])  # (4 - 2)**2 / 2
    (2.0, 1, 1)
    >>> negative.tolist()
    [True, False]
    """
    flat, row_step = _rows_in_place(np.asarray(spectra, dtype=np.float32))
    n = np.shape(spectra)[0]
    total = np.empty(n)
    invalid = np.empty(n, dtype=np.int64)
    nonpositive = np.empty(n, dtype=np.int64)
    negative = np.zeros(np.shape(design)[1], dtype=np.bool_)
    design = np.ascontiguousarray(design, dtype=np.float32)
    shapes = np.ascontiguousarray(shapes, dtype=np.float32)
    _pearson_rows(
        flat,
        row_step,
        np.ascontiguousarray(amplitudes, dtype=np.float32),
        np.ascontiguousarray(weights, dtype=np.float32),
        design,
        shapes,
        support(np.vstack([design, shapes])) if supports is None else supports,
        total,
        invalid,
        nonpositive,
        negative,
    )
    return total, invalid, nonpositive, negative


def _rows_in_place(spectra: np.ndarray) -> tuple[np.ndarray, int]:
    """A 1-D contiguous view over the rows of `spectra` and its row step.

    Rows of window sums are often strided (a block of a wider array): as a
    2-D argument numba compiles them for any layout and reads each row
    without vectorising (measured 2x slower per chip). A 1-D view from the
    first count to the last, contiguous, with row ``i`` at ``i * row_step``,
    keeps the rows in place and the loops vectorised. Other layouts are
    copied.

    Examples
    --------
    >>> a = np.arange(12, dtype=np.float32).reshape(3, 4)[:, 1:3]
    >>> flat, step = _rows_in_place(a)
    >>> step, flat[2 * step : 2 * step + 2].tolist() == a[2].tolist()
    (4, True)
    """
    item = spectra.itemsize
    if (
        spectra.ndim != 2
        or spectra.shape[0] == 0
        or spectra.strides[1] != item
        or spectra.strides[0] % item
        or spectra.strides[0] < spectra.shape[1] * item
    ):
        spectra = np.ascontiguousarray(spectra).reshape(-1, np.shape(spectra)[-1])
    step = spectra.strides[0] // item if spectra.shape[0] > 1 else spectra.shape[1]
    span = (spectra.shape[0] - 1) * step + spectra.shape[1]
    flat = np.lib.stride_tricks.as_strided(
        spectra, shape=(span,), strides=(item,), writeable=False
    )
    return flat, step


def support(rows: np.ndarray) -> np.ndarray:
    """``[first, last + 1)`` of the nonzero entries of each row.

    A peak's column is exactly 0 beyond 7 sigma of its lines: its model is
    built over its own channels only.

    Examples
    --------
    >>> support(np.array([[0.0, 1.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0]])).tolist()
    [[1, 3], [0, 0]]
    """
    nonzero = np.asarray(rows) != 0
    out = np.zeros((nonzero.shape[0], 2), dtype=np.int64)
    any_ = nonzero.any(axis=1)
    out[any_, 0] = nonzero[any_].argmax(axis=1)
    out[any_, 1] = nonzero.shape[1] - nonzero[any_, ::-1].argmax(axis=1)
    return out
