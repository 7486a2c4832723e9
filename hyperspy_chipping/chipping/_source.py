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
"""Read the counts of a spectrum image correctly, or not at all.

Two things can make a computation silently wrong before any chip is summed:

- A chunked store (zarr, behind HyperSpy's ``.zspy``) returns its fill value,
  zero, for a chunk whose file is missing, and for every chunk once the whole
  store is gone. :func:`guard_lazy_data` makes every read of such an array
  check that its file and chunks are there, and name the file and chunk when
  a read fails (a corrupt chunk), in whatever computes the data: ``chip()``,
  ``compute()``, the composition maps, ``to_dataframe()``, a
  ``dask.distributed`` worker.
- Counts that are not counts (NaN, infinite, negative) or integer sums that
  would not fit in 64 bits. :func:`check_counts` refuses them, eagerly at
  once and lazily as each chunk is read.
"""

from __future__ import annotations

import itertools
import os

import dask.array as da
import numpy as np

_BAD_COUNTS = "`signal` has {what} counts; EDS counts must be finite and >= 0."


def _store_path(array) -> str:
    store = array.store
    path = getattr(store, "path", None) or getattr(store, "root", None)
    return os.fspath(path) if path is not None else ""


class GuardedZarrArray:
    """A zarr array whose reads fail loudly instead of returning fill values.

    Parameters
    ----------
    array : zarr.Array
        The array (zarr 2 API) read by a lazy signal.

    Notes
    -----
    Every read first checks that the store and every chunk it touches exist
    (a missing chunk would be read as zeros), and turns a failed read into an
    :class:`OSError` naming the file and the chunks.
    """

    def __init__(self, array):
        self._array = array
        self.path = _store_path(array)
        self.shape, self.dtype = array.shape, array.dtype
        self.ndim, self.chunks = array.ndim, array.chunks

    @property
    def array(self):
        """The zarr array (opened on first use after unpickling)."""
        if self._array is None:
            self._check_path()
            # Only a zarr array is ever wrapped: zarr is installed wherever
            # one was read (it is not a dependency of the package), but an
            # unpickled one may be opened in another environment.
            try:
                import zarr
            except ImportError as err:
                raise ImportError(
                    f"Reading the chunked file {self.path!r} needs zarr "
                    "(`pip install zarr`), which HyperSpy uses for .zspy files."
                ) from err

            self._array = zarr.open_array(
                store=self._store, path=self._array_path, mode="r"
            )
        return self._array

    def __getstate__(self):
        # zarr opens an unpickled array at once, which fails before any
        # read can say why if the file is gone: open it on first use.
        state = dict(self.__dict__)
        array = state.pop("_array")
        if array is not None:
            state["_store"], state["_array_path"] = array.store, array.path
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._array = None

    def _check_path(self):
        if self.path and not os.path.exists(self.path):
            raise FileNotFoundError(
                f"The data of this lazy signal are read from {self.path!r}, which "
                "no longer exists; nothing was computed. Load the file again."
            )

    def _chunk_coords(self, key):
        ranges = []
        for sl, n, c in zip(key, self.shape, self.chunks):
            start, stop, _ = sl.indices(n) if isinstance(sl, slice) else (sl, sl + 1, 1)
            ranges.append(range(start // c, max(start // c + 1, -(-stop // c))))
        return itertools.product(*ranges)

    def check(self, key=None) -> None:
        """Raise if the file, or a chunk that `key` reads, is missing.

        Parameters
        ----------
        key : tuple of slice, optional
            The selection to be read; default the whole array.

        Raises
        ------
        FileNotFoundError
            If the store or one of the chunks is missing.
        """
        self._check_path()
        if key is None:
            key = tuple(slice(None) for _ in self.shape)
        store = self.array.chunk_store or self.array.store
        missing = [
            c for c in self._chunk_coords(key) if self.array._chunk_key(c) not in store
        ]
        if missing:
            raise FileNotFoundError(
                f"{len(missing)} chunk(s) of the data in {self.path!r} are missing "
                f"(first: chunk {missing[0]} of array {self.array.path!r}); zarr "
                "would read them as zeros. The file is incomplete: copy or save "
                "it again."
            )

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        self.check(key)
        try:
            return self.array[key]
        except Exception as err:
            chunks = list(self._chunk_coords(key))
            raise OSError(
                f"Could not read chunk(s) {chunks[:4]} of the data in "
                f"{self.path!r} ({type(err).__name__}: {err}); the file is "
                "corrupt."
            ) from err


def _is_zarr_array(value) -> bool:
    return all(hasattr(value, a) for a in ("_chunk_key", "chunk_store", "store"))


def guard_lazy_data(data):
    """`data` with every zarr array it reads replaced by a guarded one.

    Parameters
    ----------
    data : dask.array.Array or numpy.ndarray
        Data of a signal; anything but a dask array is returned unchanged.

    Returns
    -------
    data : dask.array.Array or numpy.ndarray
        The same values, computed through :class:`GuardedZarrArray` reads.
    guards : list of GuardedZarrArray
        The zarr arrays read, guarded before or now (empty if none).

    Examples
    --------
    >>> import numpy as np
    >>> x = da.ones((4, 4), chunks=2)
    >>> guard_lazy_data(x)[1]
    []
    """
    if not isinstance(data, da.Array):
        return data, []
    from dask.highlevelgraph import HighLevelGraph, MaterializedLayer

    layers = dict(data.dask.layers)
    guards, changed = [], False
    for name, layer in layers.items():
        # from_array keeps the array as the one value of its own layer.
        if len(layer) > 4:
            continue
        items = dict(layer.items())
        guards.extend(v for v in items.values() if isinstance(v, GuardedZarrArray))
        found = {k: GuardedZarrArray(v) for k, v in items.items() if _is_zarr_array(v)}
        if found:
            guards.extend(found.values())
            items.update(found)
            layers[name] = MaterializedLayer(items)
            changed = True
    if not changed:
        return data, guards
    graph = HighLevelGraph(layers, dict(data.dask.dependencies))
    return da.Array(graph, data.name, data.chunks, meta=data._meta), guards


def _check_block(block, largest: int | None):
    """Raise for counts that are not counts; return `block` unchanged."""
    check_counts(block, largest)
    return block


def check_counts(data, largest_chip: int | None = None):
    """Refuse data that are not EDS counts; lazily, as each chunk is read.

    Parameters
    ----------
    data : numpy.ndarray or dask.array.Array
        Spectrum image data.
    largest_chip : int, optional
        Pixels in the largest chip: 64-bit integer data whose sums over that
        many pixels could overflow are refused.

    Returns
    -------
    numpy.ndarray or dask.array.Array
        `data` (for a dask array: the same values, checked as they are read).

    Raises
    ------
    ValueError
        For NaN, infinite or negative counts.
    OverflowError
        For 64-bit integers whose chip sums would not fit in 64 bits.

    Examples
    --------
    >>> _ = check_counts(np.array([[0, 3], [1, 2]]))
    >>> check_counts(np.array([0.0, np.inf]))
    Traceback (most recent call last):
    ...
    ValueError: `signal` has infinite counts; EDS counts must be finite and >= 0.
    """
    if isinstance(data, da.Array):
        return data.map_blocks(_check_block, largest_chip, dtype=data.dtype)
    if data.size == 0:
        return data
    dtype = data.dtype
    if np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.signedinteger):
        low = data.min()
        if np.isnan(low) or low < 0:
            what = "NaN" if np.isnan(low) else f"negative (down to {low})"
            raise ValueError(_BAD_COUNTS.format(what=what))
    if np.issubdtype(dtype, np.floating) and not np.isfinite(data.max()):
        raise ValueError(_BAD_COUNTS.format(what="infinite"))
    if largest_chip and np.issubdtype(dtype, np.integer) and dtype.itemsize == 8:
        high = int(data.max())
        limit = int(np.iinfo(dtype).max)
        if high * int(largest_chip) > limit:
            raise OverflowError(
                f"`signal` holds {dtype} counts up to {high}: a chip of "
                f"{largest_chip} pixels could sum to more than {limit}, the "
                f"largest {dtype}. Use smaller chips or convert the data to "
                "float64 first (s.change_dtype('float64'))."
            )
    return data
