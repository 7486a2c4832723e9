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
"""Chip a spectrum image and describe its chips (pure functions).

:func:`chip_arrays` turns a source signal into the data, axes and
``metadata.Chipping`` of the chipped signal; :func:`chip_table` recovers the
geometry of every chip of a chipped signal from its navigation axes, so it
stays right after slicing (``inav``), copying, saving and loading.
"""

from __future__ import annotations

import copy
import logging

import dask.array as da
import numpy as np

from hyperspy_chipping.chipping._aggregate import (
    accumulator_dtype,
    sum_grid,
    sum_labels,
)
from hyperspy_chipping.chipping._geometry import (
    chip_axis,
    grid_bounds,
    label_regions,
    parse_pair,
)
from hyperspy_chipping.chipping._source import check_counts, guard_lazy_data
from hyperspy_chipping.chipping._windows import (
    dense_lazy_sizes,
    gaussian_weights,
    link_window_source,
    weighted_windows,
)

_logger = logging.getLogger(__name__)

_TIME_KEYS = ("live_time", "real_time")
_EDS_NODE = "Acquisition_instrument.TEM.Detector.EDS"


def _labels_array(labels, navigation_shape: tuple[int, ...]) -> np.ndarray:
    """Validate a label image (array or signal) against the navigation shape."""
    data = getattr(labels, "data", labels)
    if isinstance(data, da.Array):
        data = data.compute()
    data = np.asarray(data)
    expected = tuple(navigation_shape[::-1])
    if data.shape != expected:
        raise ValueError(
            f"`labels` must have the navigation shape {expected} in data order "
            f"(rows, columns), got shape {data.shape}."
        )
    if not (np.issubdtype(data.dtype, np.integer) or data.dtype == np.bool_):
        raise TypeError(
            f"`labels` must be an integer image (0 = no chip), got dtype {data.dtype}."
        )
    return data.astype(np.int64)


def _source_file(signal) -> str:
    """The file a signal was loaded from ('' if none)."""
    tmp = signal.tmp_parameters
    if not tmp.has_item("filename"):
        return ""
    from pathlib import Path

    folder = tmp.get_item("folder", "")
    return str(Path(folder) / f"{tmp.filename}{tmp.get_item('extension', '')}")


def _source_description(signal) -> dict:
    nav = signal.axes_manager.navigation_axes
    return {
        "file": _source_file(signal),
        "navigation_shape": [int(a.size) for a in nav],
        "names": [str(a.name) for a in nav],
        "units": [str(a.units) for a in nav],
        "scale": [float(a.scale) for a in nav],
        "offset": [float(a.offset) for a in nav],
    }


def check_source(signal) -> None:
    """Raise if `signal` cannot be chipped.

    Parameters
    ----------
    signal : exspy.signals.EDSSpectrum
        The source spectrum image.

    Raises
    ------
    TypeError
        If `signal` is not an EDS spectrum.
    ValueError
        If it has no navigation axes, more than two, or is already chipped.
    NotImplementedError
        If an axis is not uniform.
    """
    from exspy.signals import EDSSpectrum

    if not isinstance(signal, EDSSpectrum):
        raise TypeError(
            "`signal` must be an EDS spectrum image (exspy EDSSpectrum, e.g. "
            f"after set_signal_type('EDS_TEM')), got {type(signal).__name__}."
        )
    ndim = signal.axes_manager.navigation_dimension
    if ndim == 0:
        raise ValueError(
            "`signal` has no navigation axes: a single spectrum cannot be "
            f"chipped (shape {signal.data.shape})."
        )
    if ndim > 2:
        names = [a.name for a in signal.axes_manager.navigation_axes]
        raise ValueError(
            f"`signal` has {ndim} navigation axes {names}; chipping takes a line "
            "scan or a map. Sum or slice the extra axes first, e.g. "
            "s.sum('Time')."
        )
    for axis in signal.axes_manager._axes:
        if not axis.is_uniform:
            raise NotImplementedError(
                f"The {axis.name!r} axis of `signal` is not uniform; chipping "
                "needs uniform axes."
            )
    if "Chipping" in signal.metadata:
        raise ValueError(
            "`signal` is already chipped (it has metadata.Chipping); chip the "
            "source spectrum image instead."
        )


KERNELS = ("box", "gaussian")
#: Eager chipping refuses outputs larger than this fraction of free memory.
MEMORY_FRACTION = 0.5


def _check_memory(n_chips: int, n_channels: int, itemsize: int, args: str):
    """Refuse an eager chip set that would not fit in memory."""
    import psutil

    need = n_chips * n_channels * itemsize * 2  # output and one temporary
    free = psutil.virtual_memory().available
    if need > MEMORY_FRACTION * free:
        raise MemoryError(
            f"chip({args}) on this eager signal would need about "
            f"{_size(need)} ({n_chips} chips x {n_channels} channels), more than "
            f"half of the {_size(free)} free. Chip it lazily: "
            "chip(..., lazy_output=True)."
        )


def _size(n_bytes: float) -> str:
    return (
        f"{n_bytes / 2**30:.1f} GiB"
        if n_bytes >= 2**30
        else f"{n_bytes / 2**20:.0f} MiB"
    )


#: Overlapping windows of an eager map whose spectra would take more than
#: this, and more than the map itself, are returned lazy (``lazy_output=None``).
LAZY_WINDOWS_BYTES = 256 * 2**20
#: Source rows and columns per chunk of an eager map read lazily.
IN_MEMORY_CHUNK = 128


def _lazy_output(lazy_output, signal, scheme, overlapping, stack_bytes) -> bool:
    """Whether the chips are lazy (see ``ChippedEDSSpectrum.chip``)."""
    if lazy_output is not None and not isinstance(lazy_output, (bool, np.bool_)):
        raise TypeError(
            f"`lazy_output` must be None, True or False, got {lazy_output!r}."
        )
    if lazy_output is not None:
        return bool(lazy_output)
    if signal._lazy:
        return True
    source_bytes = signal.data.size * signal.data.dtype.itemsize
    if overlapping and stack_bytes > max(LAZY_WINDOWS_BYTES, source_bytes):
        _logger.info(
            "The %s windows would take %s in memory: returned lazy (computed "
            "on demand, chunk by chunk); lazy_output=False holds them.",
            scheme,
            _size(stack_bytes),
        )
        return True
    return False


class _SharedMap:
    """An in-memory map as dask reads it: by slices, without a copy.

    ``dask.array.from_array`` copies a numpy array first (a second map in
    memory, ~3 s per GB of fresh pages on a virtual machine); through this
    wrapper its chunks are views of the user's map.
    """

    def __init__(self, array):
        self.array = array
        self.shape = array.shape
        self.dtype = array.dtype
        self.ndim = array.ndim

    def __getitem__(self, index):
        return self.array[index]


def _in_memory_dask(data):
    """A dask view of an in-memory map, chunked for window sums (no copy)."""
    chunks = (IN_MEMORY_CHUNK,) * (data.ndim - 1) + (-1,)
    # name=False: a random name, rather than hashing the whole map.
    return da.from_array(
        _SharedMap(data),
        chunks=chunks,
        name=False,
        asarray=False,
        meta=np.empty((0,) * data.ndim, dtype=data.dtype),
    )


def chip_arrays(
    signal,
    size=None,
    step=None,
    labels=None,
    remainder="crop",
    kernel=None,
    lazy_output=None,
):
    """Chip `signal`: summed data, axes and metadata of the chipped signal.

    Parameters
    ----------
    signal : exspy.signals.EDSSpectrum
        Source spectrum image with one or two navigation axes.
    size, step, labels, remainder, kernel, lazy_output
        See :meth:`hyperspy_chipping.signals.ChippedEDSSpectrum.chip`.

    Returns
    -------
    data : numpy.ndarray or dask.array.Array
        Chip spectra; a dask array for lazy output.
    axes : list of dict
        Axes dictionaries in data order.
    chipping : dict
        Content of ``metadata.Chipping``.
    source : dict or None
        For lazy step-1 windows of a 2-D map: what links the chips to the
        map (``source``, ``sizes``, ``dtype``, ``weights``), see
        ``chipping._windows.link_window_source``.
    """
    check_source(signal)
    link = None
    source_data, guards = guard_lazy_data(signal.data)
    for guard in guards:
        guard.check()  # a missing chunk is refused now, not read as zeros
    am = signal.axes_manager
    nav_shape = tuple(am.navigation_shape)
    ndim = len(nav_shape)
    source = _source_description(signal)
    energy = am.signal_axes[0].get_axis_dictionary()
    if labels is not None:
        if size is not None or step is not None:
            raise ValueError(
                "Give either `labels` or `size` (and `step`), not both: got "
                f"size={size!r}, step={step!r} with labels."
            )
        if kernel is not None:
            raise ValueError(
                f"`kernel`={kernel!r} weights the pixels of grid or window chips; "
                "label chips take every pixel of the label."
            )
        label_image = _labels_array(labels, nav_shape)
        regions = label_regions(label_image)
        largest = int(regions["n_pixels"].max())
        dtype = accumulator_dtype(signal.data.dtype, largest)
        source_data = check_counts(source_data, largest)
        lazy = _lazy_output(lazy_output, signal, "labels", False, 0)
        if lazy and not signal._lazy:
            source_data = _in_memory_dask(source_data)
        data = sum_labels(source_data, regions["index"], regions["labels"].size, dtype)
        axes = [
            {
                "name": "Chip",
                "units": "",
                "scale": 1.0,
                "offset": 0.0,
                "size": int(regions["labels"].size),
                "navigate": True,
            },
        ]
        chipping = {
            "scheme": "labels",
            "labels": regions["labels"],
            "bounds": regions["bounds"],
            "n_pixels": regions["n_pixels"],
            "label_image": label_image,
        }
    else:
        if size is None:
            raise ValueError(
                "Give the chip `size` in pixels (e.g. chip(15)) or a `labels` "
                "image; got neither."
            )
        size = parse_pair(size, "size", ndim)
        step = size if step is None else parse_pair(step, "step", ndim)
        bounds = grid_bounds(nav_shape, size, step, remainder)
        kernel = "box" if kernel is None else kernel
        if kernel not in KERNELS:
            raise ValueError(f"`kernel` must be one of {KERNELS}, got {kernel!r}.")
        if kernel == "gaussian" and remainder != "crop":
            raise ValueError(
                "`kernel`='gaussian' needs whole windows: use remainder='crop', "
                f"got remainder={remainder!r}."
            )
        # The first chip is whole (grid_bounds refuses a size beyond the map).
        dtype = accumulator_dtype(signal.data.dtype, int(np.prod(size)))
        if kernel == "gaussian":
            dtype = np.dtype(np.float64)
        n_chips = int(np.prod([b.shape[0] for b in bounds]))
        n_channels = signal.axes_manager.signal_axes[0].size
        scheme = "grid" if step == size else "window"
        overlapping = any(t < z for t, z in zip(step, size))
        lazy = _lazy_output(
            lazy_output,
            signal,
            scheme,
            overlapping,
            n_chips * n_channels * dtype.itemsize,
        )
        if not lazy:
            _check_memory(
                n_chips, n_channels, dtype.itemsize, f"size={size}, step={step}"
            )
        source_data = check_counts(source_data, int(np.prod(size)))
        if lazy and not signal._lazy:
            source_data = _in_memory_dask(source_data)
        if kernel == "gaussian":
            weights = [gaussian_weights(s) for s in size]
            data = weighted_windows(source_data, bounds, weights)
        else:
            data = sum_grid(source_data, bounds, dtype)
        if step == (1, 1) and dense_lazy_sizes(source_data, bounds) is not None:
            link = {
                "source": source_data,
                # An in-memory map: tasks read views of it (no halo copies).
                "array": None if signal._lazy else signal.data,
                "sizes": size[::-1],
                "dtype": dtype,
                "weights": None if kernel == "box" else tuple(weights[::-1]),
            }
        axes = []
        for i in reversed(range(ndim)):
            src = am.navigation_axes[i]
            offset, scale = chip_axis(src.offset, src.scale, size[i], step[i])
            axes.append(
                {
                    "name": src.name,
                    "units": src.units,
                    "scale": float(scale),
                    "offset": float(offset),
                    "size": int(bounds[i].shape[0]),
                    "navigate": True,
                }
            )
        chipping = {
            "scheme": scheme,
            "size": list(size),
            "step": list(step),
            "remainder": remainder,
            "kernel": kernel,
        }
        if kernel == "gaussian":
            # Dose-equivalent pixels of a window: the sum of its weights.
            chipping["kernel_weight_sum"] = float(np.prod([w.sum() for w in weights]))
        for name, b in zip("xy", bounds):
            chipping[f"{name}_bounds"] = b
    axes.append(energy)
    chipping["Source"] = source
    if isinstance(data, da.Array) and not lazy:  # lazy_output=False
        data, link = data.compute(), None
    return data, axes, chipping, link


def scale_times(metadata, chipping: dict) -> None:
    """Scale live and real time by the pixels per chip, as exspy's ``rebin``.

    The per-pixel source values are kept in ``chipping["Source"]``. A scalar
    can hold one chip size only: the nominal chip (grid, window) or the mean
    label region; :func:`chip_table` gives every chip's pixel count.
    """
    if chipping["scheme"] == "labels":
        factor = float(np.mean(chipping["n_pixels"]))
    else:
        factor = chipping.get("kernel_weight_sum", float(np.prod(chipping["size"])))
    for key in _TIME_KEYS:
        item = f"{_EDS_NODE}.{key}"
        value = metadata.get_item(item)
        if value is None:
            _logger.info("%s is not in the metadata and was not scaled.", key)
            continue
        chipping["Source"][f"pixel_{key}"] = float(value)
        metadata.set_item(item, float(value) * factor)


def chip(
    signal,
    size=None,
    *,
    step=None,
    labels=None,
    remainder="crop",
    kernel=None,
    lazy_output=None,
):
    """Cut an EDS spectrum image into chips; see ``ChippedEDSSpectrum.chip``.

    Works on any exspy EDS spectrum image (``EDS_TEM``, ``EDS_SEM`` or
    ``EDS_TEM_chipped``); the result is always a (lazy)
    :class:`~hyperspy_chipping.signals.ChippedEDSSpectrum`. The source signal
    is not changed.

    Parameters
    ----------
    signal : exspy.signals.EDSSpectrum
        Source spectrum image with one or two navigation axes.
    size, step, labels, remainder, kernel, lazy_output
        See :meth:`hyperspy_chipping.signals.ChippedEDSSpectrum.chip`.

    Returns
    -------
    ChippedEDSSpectrum or LazyChippedEDSSpectrum
        The chips.

    Raises
    ------
    TypeError
        If `signal` is not an EDS spectrum, or for arguments of a bad type.
    ValueError
        For arguments of a bad value (see ``ChippedEDSSpectrum.chip``).

    Examples
    --------
    >>> import exspy
    >>> import numpy as np
    >>> s = exspy.signals.EDSTEMSpectrum(np.ones((8, 8, 16), dtype="uint8"))
    >>> chips = chip(s, 4)
    >>> chips
    <ChippedEDSSpectrum, title: , dimensions: (2, 2|16)>
    >>> chips.data.dtype, int(chips.data[0, 0, 0])
    (dtype('uint32'), 16)
    """
    from hyperspy_chipping.signals import ChippedEDSSpectrum, LazyChippedEDSSpectrum

    data, axes, chipping, link = chip_arrays(
        signal,
        size=size,
        step=step,
        labels=labels,
        remainder=remainder,
        kernel=kernel,
        lazy_output=lazy_output,
    )
    metadata = signal.metadata.deepcopy()
    if metadata.has_item("Acquisition_instrument.SEM") and not metadata.has_item(
        "Acquisition_instrument.TEM"
    ):
        metadata.set_item(
            "Acquisition_instrument.TEM", metadata.Acquisition_instrument.SEM
        )
        del metadata.Acquisition_instrument.SEM
    scale_times(metadata, chipping)
    metadata.set_item("Chipping", chipping)
    metadata.Signal.signal_type = "EDS_TEM_chipped"
    if metadata.has_item("Signal.Noise_properties.variance"):
        # A variance of the source shape does not fit the chips.
        del metadata.Signal.Noise_properties.variance
    cls = LazyChippedEDSSpectrum if isinstance(data, da.Array) else ChippedEDSSpectrum
    out = cls(
        data,
        axes=axes,
        metadata=metadata.as_dictionary(),
        original_metadata=copy.deepcopy(signal.original_metadata.as_dictionary()),
    )
    if link is not None:
        # Per-pixel windows are then quantified straight from the map.
        link_window_source(out, **link)
    return out
