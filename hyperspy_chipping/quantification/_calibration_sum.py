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
"""The summed spectrum that calibrates the model: which chips, and how often
each source pixel counts in it (overlapping windows).
"""

from __future__ import annotations

import numpy as np

from hyperspy_chipping.chipping._windows import window_source
from hyperspy_chipping.quantification._stream import window_calibration_total

#: The model is calibrated on the sum of at most about this many chips, an
#: evenly spread subset beyond (per-pixel windows overlap: a subset holds the
#: counts of the whole map already).
CALIBRATION_CHIPS = 8192


def calibration_subset(nav_shape: tuple[int, ...]) -> tuple[slice, ...]:
    """Evenly strided chips whose summed spectrum calibrates the model.

    Examples
    --------
    >>> calibration_subset((33, 33))
    (slice(None, None, 1), slice(None, None, 1))
    >>> calibration_subset((492, 492))
    (slice(None, None, 6), slice(None, None, 6))
    """
    if not nav_shape:  # a single chip (integer-indexed)
        return ()
    n = int(np.prod(nav_shape))
    stride = max(1, int(np.ceil((n / CALIBRATION_CHIPS) ** (1 / len(nav_shape)))))
    return tuple(slice(None, None, stride) for _ in nav_shape)


def overlap(signal, nav_shape: tuple[int, ...]) -> float:
    """How many times the calibration subset counts each source pixel.

    Overlapping windows count a pixel in several chips: their summed
    spectrum holds ``overlap`` times the counts, with ``overlap**2`` times
    the Poisson variance. The model is solved on the sum divided by it, so
    that the significance of its residual peaks and its chi-squared are
    those of counts (else noise in per-pixel windows reads as peaks).

    Examples
    --------
    >>> import hyperspy.api as hs
    >>> s = hs.signals.Signal1D(np.ones((40, 40, 8), dtype="uint16"))
    >>> s.set_signal_type("EDS_TEM_chipped")
    >>> overlap(s.chip(9, step=1), (32, 32)), overlap(s.chip(8), (5, 5))
    (81.0, 1.0)
    """
    meta = signal.metadata.Chipping
    if meta.scheme != "window" or not nav_shape:
        return 1.0
    strides = [sl.step or 1 for sl in calibration_subset(nav_shape)][::-1]
    factor = 1.0
    for size, step, stride in zip(meta.size, meta.step, strides):
        factor *= max(1.0, size / (step * stride))
    return factor


def lazy_total(signal, prep):
    """The summed spectrum that calibrates the model of lazy chips (dask).

    The sum of the calibration chips over the fit channels, per chip of
    overlap, as :func:`compute_results` solves the model on it: computed on
    its own (on a cluster, by the workers), the model is then solved here,
    in the process that has the line tables loaded; a worker process needs
    only the kernels that fit the chips.
    """
    channels = prep["channels"]
    fit = slice(int(channels[0]), int(channels[-1]) + 1)
    nav_shape = signal.data.shape[:-1]
    link = window_source(signal)
    if link is not None:
        strides = [sl.step or 1 for sl in calibration_subset(nav_shape)]
        total = window_calibration_total(link, strides, fit)
    else:
        subset = signal.data[calibration_subset(nav_shape) + (fit,)]
        total = subset.sum(axis=tuple(range(len(nav_shape))), dtype=float)
    return total / overlap(signal, nav_shape)
