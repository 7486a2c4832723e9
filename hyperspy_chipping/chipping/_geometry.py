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
"""Chip geometry: which source pixels make up each chip.

Everything here works on shapes and small index arrays only, never on the
spectra. Navigation quantities are given in HyperSpy's navigation order
(x, y), as :attr:`~hyperspy.axes.AxesManager.navigation_shape`, ``inav`` and
``rebin`` take them; bounds are half-open pixel intervals ``[start, stop)``.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy import ndimage

REMAINDER_OPTIONS = ("crop", "keep")


def parse_pair(value, name: str, ndim: int) -> tuple[int, ...]:
    """Validate a chip size or step given as an int or one int per axis.

    Parameters
    ----------
    value : int or tuple of int
        One positive int for every navigation axis, or a pair in navigation
        order (x, y).
    name : str
        Argument name, for the error message.
    ndim : int
        Number of navigation dimensions (1 or 2).

    Returns
    -------
    tuple of int
        One value per navigation axis, in navigation order.

    Raises
    ------
    TypeError
        If `value` is neither an int nor a sequence of ints of length `ndim`.
    ValueError
        If any value is smaller than 1.

    Examples
    --------
    >>> parse_pair(15, "size", 2)
    (15, 15)
    >>> parse_pair((16, 12), "size", 2)
    (16, 12)
    """
    expected = "an int" if ndim == 1 else f"an int or a sequence of {ndim} ints (x, y)"
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        values = (int(value),) * ndim
    elif isinstance(value, (tuple, list, np.ndarray)) and len(value) == ndim:
        if not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value
        ):
            raise TypeError(f"`{name}` must be {expected}, got {value!r}.")
        values = tuple(int(v) for v in value)
    else:
        raise TypeError(f"`{name}` must be {expected}, got {value!r}.")
    if min(values) < 1:
        raise ValueError(f"`{name}` must be at least 1 pixel, got {value!r}.")
    return values


def axis_intervals(n: int, size: int, step: int, remainder: str) -> np.ndarray:
    """Half-open pixel intervals of the chips along one navigation axis.

    Parameters
    ----------
    n : int
        Number of pixels along the axis.
    size : int
        Chip size in pixels.
    step : int
        Distance between the starts of consecutive chips, in pixels.
    remainder : {"crop", "keep"}
        ``"crop"`` drops the pixels past the last whole chip, as
        :meth:`~hyperspy.signal.BaseSignal.rebin` does; ``"keep"`` adds
        partial chips so that every pixel belongs to a chip.

    Returns
    -------
    numpy.ndarray
        Integer array of shape (n_chips, 2): start and stop of every chip.

    Examples
    --------
    >>> axis_intervals(10, 4, 4, "crop").tolist()
    [[0, 4], [4, 8]]
    >>> axis_intervals(10, 4, 4, "keep").tolist()
    [[0, 4], [4, 8], [8, 10]]
    >>> axis_intervals(6, 4, 1, "crop").tolist()
    [[0, 4], [1, 5], [2, 6]]
    """
    starts = np.arange(0, n - size + 1, step)
    if remainder == "keep":
        last_stop = starts[-1] + size if starts.size else 0
        extra = np.arange(starts[-1] + step if starts.size else 0, n, step)
        # Partial chips until one reaches the edge; later ones would be
        # subsets of it.
        if last_stop < n and extra.size:
            stops = np.minimum(extra + size, n)
            first_full = int(np.argmax(stops >= n))
            extra = extra[: first_full + 1]
            starts = np.concatenate([starts, extra])
    stops = np.minimum(starts + size, n)
    return np.stack([starts, stops], axis=1).astype(np.int64)


def chip_axis(offset: float, scale: float, size: int, step: int):
    """Offset and scale of a chip axis from its source axis.

    A chip sits at the centre of its pixels, and chips are `step` pixels
    apart, like the axes of HyperSpy's ``rebin``. With ``offset=0, scale=1``
    the result is in source pixels.

    Examples
    --------
    >>> chip_axis(10.0, 0.5, 15, 15)
    (13.5, 7.5)
    """
    return offset + scale * (size - 1) / 2, scale * step


def grid_bounds(
    navigation_shape: tuple[int, ...],
    size: tuple[int, ...],
    step: tuple[int, ...],
    remainder: str,
) -> list[np.ndarray]:
    """Chip intervals for every navigation axis (grid and window chipping).

    Parameters
    ----------
    navigation_shape : tuple of int
        Source navigation shape in navigation order (x, y).
    size, step : tuple of int
        Chip size and step in navigation order.
    remainder : {"crop", "keep"}
        See :func:`axis_intervals`.

    Returns
    -------
    list of numpy.ndarray
        One (n_chips_axis, 2) array per navigation axis, in navigation order.

    Raises
    ------
    ValueError
        If `size` is larger than the map along an axis, or `remainder` is
        unknown.

    Examples
    --------
    >>> [b.shape for b in grid_bounds((500, 500), (15, 15), (15, 15), "crop")]
    [(33, 2), (33, 2)]
    """
    if remainder not in REMAINDER_OPTIONS:
        raise ValueError(
            f"`remainder` must be one of {REMAINDER_OPTIONS}, got {remainder!r}."
        )
    if any(s > n for s, n in zip(size, navigation_shape)):
        raise ValueError(
            f"`size`={tuple(size)} is larger than the navigation shape "
            f"{tuple(navigation_shape)} (both in navigation order x, y)."
        )
    return [
        axis_intervals(n, s, t, remainder)
        for n, s, t in zip(navigation_shape, size, step)
    ]


def label_regions(label_image: np.ndarray) -> dict[str, np.ndarray]:
    """Describe the regions of an integer label image (label 0 ignored).

    Parameters
    ----------
    label_image : numpy.ndarray
        Integer image in data order (y, x), or 1-D for a line scan.

    Returns
    -------
    dict
        ``labels`` (sorted label values > 0), ``n_pixels`` (pixels per
        label), ``bounds`` (bounding box per label, half-open, one
        ``[start, stop)`` pair per axis in data order, flattened:
        ``y0, y1, x0, x1`` for an image) and ``index`` (an image of every
        pixel's position in ``labels``, -1 for label 0).

    Raises
    ------
    ValueError
        If the image has negative labels or no label above 0.

    Examples
    --------
    >>> lab = np.array([[1, 1, 0], [2, 2, 2]])
    >>> r = label_regions(lab)
    >>> r["labels"].tolist(), r["n_pixels"].tolist(), r["bounds"].tolist()
    ([1, 2], [2, 3], [[0, 1, 0, 2], [1, 2, 0, 3]])
    >>> r["index"].tolist()
    [[0, 0, -1], [1, 1, 1]]
    """
    if label_image.size and label_image.min() < 0:
        raise ValueError(
            f"`labels` must be >= 0 (0 = not in any chip), got minimum "
            f"{label_image.min()}."
        )
    values, inverse, counts = np.unique(
        label_image, return_inverse=True, return_counts=True
    )
    compact = inverse.reshape(label_image.shape)
    if values[0] == 0:
        values, counts = values[1:], counts[1:]
    else:
        compact = compact + 1  # find_objects treats 0 as background
    if values.size == 0:
        raise ValueError(
            "`labels` selects no pixel: every label is 0, so there is no chip."
        )
    slices = ndimage.find_objects(compact)
    bounds = np.array(
        [[v for sl in region for v in (sl.start, sl.stop)] for region in slices],
        dtype=np.int64,
    )
    return {
        "labels": values,
        "n_pixels": counts.astype(np.int64),
        "bounds": bounds,
        "index": compact - 1,
    }
