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
"""Validation of the arguments of the demo data generator."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
import xraydb


def _number(name: str, value: object, low: float, low_ok: bool = True) -> float:
    """A finite real ``value >= low`` (``> low`` if not ``low_ok``), or an error
    naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if not math.isfinite(value) or value < low or (value == low and not low_ok):
        bound = f">= {low:g}" if low_ok else f"> {low:g}"
        raise ValueError(f"{name} must be finite and {bound}, got {value!r}")
    return float(value)


def _integer(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    return int(value)


def check_inputs(
    navigation_shape: object,
    counts_per_pixel: object,
    seed: object,
    film_fraction: object,
    n_channels: object,
    energy_scale: object,
    energy_offset: object,
    zero_peak_counts: object,
    system_peaks: object,
    poisson: object,
    dtype: object,
) -> dict:
    """Validate and normalise the arguments of :func:`sto_lfo_cross_section`."""
    if (
        isinstance(navigation_shape, (str, bytes))
        or not isinstance(navigation_shape, (Sequence, np.ndarray))
        or len(navigation_shape) != 2
    ):
        raise TypeError(
            f"navigation_shape must be a pair (x, y), got {navigation_shape!r}"
        )
    nx, ny = (_integer("navigation_shape", n) for n in navigation_shape)
    if nx < 1 or ny < 1:
        raise ValueError(f"navigation_shape must be positive, got {(nx, ny)!r}")
    if isinstance(seed, bool) or not isinstance(
        seed, (numbers.Integral, np.random.Generator)
    ):
        raise TypeError(f"seed must be an int or a numpy Generator, got {seed!r}")
    if isinstance(seed, numbers.Integral) and seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed!r}")
    fraction = _number("film_fraction", film_fraction, -math.inf)
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"film_fraction must be in [0, 1], got {film_fraction!r}")
    if not isinstance(poisson, (bool, np.bool_)):
        raise TypeError(f"poisson must be True or False, got {poisson!r}")
    channels = _integer("n_channels", n_channels)
    if channels < 16:
        raise ValueError(f"n_channels must be >= 16, got {n_channels!r}")
    if isinstance(system_peaks, str):
        system_peaks = (system_peaks,)
    if not isinstance(system_peaks, Sequence) or not all(
        isinstance(el, str) for el in system_peaks
    ):
        raise TypeError(
            "system_peaks must be a sequence of element symbols such as ('Cu',), "
            f"got {system_peaks!r}"
        )
    for element in system_peaks:
        try:
            xraydb.atomic_number(element)
        except ValueError:
            raise ValueError(f"system_peaks: unknown element {element!r}") from None
    try:
        np_dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a numpy dtype, got {dtype!r}") from None
    if np_dtype.kind not in "uif":
        raise ValueError(
            f"dtype must be an integer or float dtype, got {np_dtype.name!r}"
        )
    return {
        "nx": nx,
        "ny": ny,
        "counts_per_pixel": _number("counts_per_pixel", counts_per_pixel, 0, False),
        "film_fraction": fraction,
        "n_channels": channels,
        "energy_scale": _number("energy_scale", energy_scale, 0.0, False),
        "energy_offset": _number("energy_offset", energy_offset, -math.inf),
        "zero_peak_counts": _number("zero_peak_counts", zero_peak_counts, 0.0),
        "system_peaks": tuple(system_peaks),
        "dtype": np_dtype,
    }
