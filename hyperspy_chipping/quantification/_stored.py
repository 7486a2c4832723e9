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
"""Stored results of a quantification: read, check, compute when asked.

``metadata.Chipping.Quantification`` holds the results of an eager
quantification, or the request of a lazy one. Where they are read (the
table, the model view) they are checked against the signal — a result that
no longer describes it is not used — and a lazy request is computed, in
bounded memory.
"""

from __future__ import annotations

import os
import sys
import warnings

import dask
import dask.array as da
import numpy as np

from hyperspy_chipping.chipping._table import flat_chip_index
from hyperspy_chipping.chipping._windows import window_source
from hyperspy_chipping.quantification._block import BOOLEAN, SINGLE_PRECISION
from hyperspy_chipping.quantification._calibration_sum import lazy_total
from hyperspy_chipping.quantification._fit import energy_axis_kev, solve_model
from hyperspy_chipping.quantification._kfactor_window import window_kfactors_task
from hyperspy_chipping.quantification._run import (
    compute_results,
    parse_request,
    store_results,
    summary_metadata,
    warn_weak_chips,
)


def stale_reason(signal, q, data=None) -> str | None:
    """Why the stored quantification `q` no longer describes `signal`, if so.

    The energy axis must be the one quantified and, where results are
    stored, every chip must still hold the counts it was fitted with (data
    written in place after ``quantify_chips`` fail this).

    Returns
    -------
    str or None
        The reason, or None if `q` is current.
    """
    if "energy_axis" in q:
        now = energy_axis_kev(signal)
        then = list(q.energy_axis)
        if int(now[2]) != int(then[2]) or not np.allclose(
            now[:2], then[:2], rtol=1e-9, atol=1e-12
        ):
            return (
                "the energy axis has changed since quantify_chips() (offset, "
                f"scale, size {then[0]:g} keV, {then[1]:g} keV, {then[2]} -> "
                f"{now[0]:g} keV, {now[1]:g} keV, {now[2]})"
            )
    if "counts" in q and "atomic_percent" in q:
        data = signal.data if data is None else data
        if isinstance(data, da.Array):
            return None  # lazy: recomputed from the data whenever it is read
        # Stored counts are those of the fit channels.
        start, stop = q.get_item("fit_channels", [0, data.shape[-1]])
        flat = np.asarray(data).reshape(-1, data.shape[-1])
        counts = flat[:, start:stop].sum(axis=1, dtype=float)
        stored = np.asarray(q.counts)[flat_chip_index(signal)]
        changed = ~np.isclose(counts, stored, rtol=1e-6, equal_nan=True)
        if changed.any():
            return (
                f"the counts of {int(changed.sum())} of {changed.size} chips have "
                "changed since quantify_chips() (was the data written in place?)"
            )
    return None


def ensure_results(signal, data=None, *, stale="warn"):
    """Stored results of a quantified signal, computing them if needed.

    A lazy signal (or one computed after a lazy quantification) holds only
    the request: run it again on the chip spectra — `data` if given (already
    computed), else computed here, so that the source is read once — and
    store the results.

    Results that no longer describe the signal (:func:`stale_reason`) are
    not used: with ``stale="warn"`` one warning says why and None is
    returned; with ``stale="raise"`` a ValueError is raised.
    """
    q = signal.metadata.get_item("Chipping.Quantification")
    if q is None:
        return q
    reason = stale_reason(signal, q, data)
    if reason is not None:
        message = (
            f"metadata.Chipping.Quantification is stale: {reason}. Its results "
            "are not used; call quantify_chips() again."
        )
        if stale == "raise":
            raise ValueError(message)
        warnings.warn(message, UserWarning, stacklevel=4)
        return None
    if "atomic_percent" in q:
        return q
    request, prep, params = _parse_stored(signal, q)
    if data is None and signal._lazy:
        results, _ = lazy_results(signal, request, prep, params)
    else:
        results = compute_results(signal, request, prep, params, data=data)
    store_results(signal, request, results)
    return signal.metadata.Chipping.Quantification


#: A lazy chip set larger than this is quantified in two passes over the
#: data (the model first, then the chips), so that its chunks need not all
#: be held until the model is solved.
ONE_PASS_BYTES = 256 * 2**20


def lazy_results(signal, request, prep, params, extra=None, select=None):
    """Compute the results of a lazy signal, in bounded memory.

    A small chip set (a grid of chips: a few MB) is computed and quantified
    as an eager one: one read of the source. A large one (per-pixel windows
    of a big map) cannot be held: the model is solved first, from its own
    pass over the data, and the chunks of chips are then quantified with it
    and released one by one (in a single graph dask would hold every chunk
    until the model is solved).

    Parameters
    ----------
    signal : LazyChippedEDSSpectrum
        The chips.
    request, prep, params
        From :func:`parse_request`.
    extra : callable, optional
        ``extra(data)`` of the chip data (numpy or dask), one value a chip
        (the navigation shape), computed in the same pass, e.g. the chip
        counts.
    select : callable, optional
        ``select(lay)`` of the packed layout (:func:`layout`, with
        ``all_counts`` for streamed windows) -> ``{name: (columns, dtype)}``:
        compute these arrays, each of the packed columns `columns` (a slice
        or a list, in that order), instead of one array per result. Large
        chip sets only (else None is returned).

    Returns
    -------
    results : dict or None
        As :func:`compute_results`, computed (or the arrays of `select`,
        with ``solution``); None if `select` is given and the chip set is
        small enough to be computed as an eager one.
    extra : numpy.ndarray
        ``extra(data)`` computed, flat in chip order (None without `extra`).
    """
    data = signal.data
    # Per-pixel windows linked to their map are never held (_stream.py).
    linked = window_source(signal) is not None
    if data.size * data.dtype.itemsize <= ONE_PASS_BYTES and not linked:
        if select is not None:
            return None, None
        (data,) = dask.compute(data)
        results = compute_results(signal, request, prep, params, data=data)
        return results, None if extra is None else extra(data).reshape(-1)
    # The summed spectrum is computed (by the workers of a cluster) and the
    # model solved here, where the line tables are loaded.
    (total,) = dask.compute(lazy_total(signal, prep))
    solution = window_kfactors_task(
        solve_model(np.asarray(total), prep, request["refine"]), params
    )
    packed, lay = compute_results(
        signal, request, prep, params, solution=solution, packed=True
    )
    # Per-pixel windows quantified from their map carry their counts.
    streamed = "all_counts" in lay
    if select is None:
        select = _every_result
    groups = select(lay)
    if streamed and "all_counts" not in groups and extra is not None:
        groups["all_counts"] = (lay["all_counts"], packed.dtype)
    # Only the columns asked for leave the tasks (from worker processes, to
    # this one): the others are dropped where each block is computed.
    width = range(packed.shape[-1])
    used = sorted(
        {c for columns, _ in groups.values() for c in _listed(columns, width)}
    )
    if len(used) < len(width):
        packed = packed[..., used]
        where = {c: k for k, c in enumerate(used)}
        groups = {
            name: ([where[c] for c in _listed(columns, width)], dtype)
            for name, (columns, dtype) in groups.items()
        }
    # Each result's columns are written straight into an array of its own
    # (single precision where stored so), with no concatenated copies; in
    # column order, so that each table column is contiguous (pandas gathers
    # strided columns ~7x slower).
    # The chips of a grid or of per-pixel windows come in tiles: each tile's
    # columns are written through views of the flat arrays with the
    # navigation shape (no reshape of the dask results, which would merge
    # their chunks, and no dask slices of them, which dask copies).
    names = list(groups)
    nav = packed.shape[:-1]
    width = range(packed.shape[-1])
    targets = [
        np.empty(
            (int(np.prod(nav)), len(_listed(columns, width))),
            dtype=dtype,
            order="F",
        )
        for columns, dtype in groups.values()
    ]
    writer = _ColumnWriter(
        [target.reshape(nav + target.shape[1:]) for target in targets],
        [columns for columns, _ in groups.values()],
    )
    sources, outputs = [packed], [writer]
    if extra is not None and not streamed:
        sources.append(extra(data))
        targets.append(np.empty(int(np.prod(nav)), dtype=sources[-1].dtype))
        outputs.append(targets[-1].reshape(nav))
    client = _process_client()
    if client is None:  # threads: each chunk is written where it is computed
        da.store(sources, outputs, lock=False)
    else:
        # Worker processes cannot write into this process's arrays (da.store
        # would fill copies of them there): the chunks come back here.
        for source, output in zip(sources, outputs):
            _gather_blocks(source, output.__setitem__, client)
    arrays = dict(zip(names, targets))
    arrays["solution"] = solution
    if extra is None:
        return arrays, None
    if streamed:  # as extra(data) would give them: the sums' dtype
        counts = arrays["all_counts"][:, 0]
        return arrays, counts.astype(np.zeros(1, dtype=data.dtype).sum().dtype)
    return arrays, targets[-1]


def _listed(columns, width) -> list[int]:
    """Column indices of `columns` (a slice or a list) of a `width` range."""
    return list(width[columns]) if isinstance(columns, slice) else list(columns)


def _every_result(lay):
    """One array per packed result, in the dtype it is stored in."""
    return {
        name: (
            columns,
            np.float32
            if name in SINGLE_PRECISION
            else (bool if name in BOOLEAN else np.float64),
        )
        for name, columns in lay.items()
    }


def _process_client():
    """The dask.distributed client that computes, if it has worker processes.

    Its workers do not share this process's memory; a client of threads in
    this process (``processes=False``) does, like dask's default scheduler.
    """
    # No client without distributed imported (and no half-second import to
    # find that out): distributed is optional.
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        client = distributed.get_client()
    except ValueError:  # no client
        return None
    if getattr(dask.base.get_scheduler(), "__self__", None) is not client:
        return None
    workers = client.scheduler_info().get("workers", {})
    here = os.getpid()
    if all(w.get("pid", None) == here for w in workers.values()):
        return None
    return client


class _ColumnWriter:
    """A :func:`dask.array.store` target that splits packed results.

    ``writer[index] = block`` writes each of `columns` (slices of the
    block's last axis) into its array of `views`, at `index` without its
    last axis.
    """

    def __init__(self, views, columns):
        self.views = views
        self.columns = columns

    def __setitem__(self, index, block):
        for view, columns in zip(self.views, self.columns):
            view[index[:-1]] = block[..., columns]


def _gather_blocks(array, write, client):
    """Compute `array` on the cluster a block at a time into this process.

    ``write(index, block)`` is called here as each block arrives (`index`:
    the block's slices along every axis), and the block is then released.
    """
    as_completed = sys.modules["distributed"].as_completed  # a client exists
    starts = [np.cumsum((0,) + c) for c in array.chunks]
    where = list(np.ndindex(*array.numblocks))
    futures = client.compute([array.blocks[i] for i in where])
    order = {future.key: i for future, i in zip(futures, where)}
    for future, block in as_completed(futures, with_results=True):
        i = order[future.key]
        write(tuple(slice(int(s[k]), int(s[k + 1])) for s, k in zip(starts, i)), block)
        future.release()


#: The per-chip results of a lazy chip set larger than this (bytes, as
#: stored) are not kept in its metadata when its table is made: the table is
#: their only copy in memory (see :func:`lazy_table_results`).
KEEP_BYTES = 64 * 2**20


def lazy_table_results(signal, select=None):
    """Counts and results of every chip of a lazy signal, for its table.

    The quantification of a lazy signal (stored as a request) is computed
    with the chip counts (see :func:`lazy_results`); the chip spectra of a
    large chip set are never held all at once. Results that take at most
    :data:`KEEP_BYTES` are stored, so that the table, the model view and
    the plots read them again without a pass over the data. Larger ones
    (per-pixel windows of a big map) are not: only the arrays the table
    needs are computed, and returned, so that they are held once, in the
    table; like the lazy data, they are computed again when read again.

    Parameters
    ----------
    signal : LazyChippedEDSSpectrum
        The chips.
    select : callable, optional
        The table's arrays, as :func:`lazy_results` takes them.

    Returns
    -------
    counts : numpy.ndarray
        Total counts of every chip, flat in the table's order.
    results : dict or None
        None if the results are stored in the metadata (or there are none);
        else the arrays of `select`, with ``quantification``: the metadata
        of the quantification without its per-chip results.
    """

    def counts(data):
        return data.sum(axis=-1)  # the eager table's dtype

    q = signal.metadata.get_item("Chipping.Quantification")
    if q is None or "atomic_percent" in q or stale_reason(signal, q) is not None:
        (total,) = dask.compute(counts(signal.data))
        return np.asarray(total).reshape(-1), None
    request, prep, params = _parse_stored(signal, q)
    n_chips = int(np.prod(signal.data.shape[:-1]))
    n_lines = len(request["xray_lines"])
    # Stored: six float64 columns a quantified line, four single-precision
    # ones a line and two a fitted component (at least one a line).
    stored = n_chips * n_lines * (6 * 8 + 4 * 4 + 2 * 2 * 4)
    if select is not None and stored > KEEP_BYTES:
        results, total = lazy_results(
            signal, request, prep, params, extra=counts, select=select
        )
        if results is not None:
            solution = results.pop("solution")
            low = results["low_counts"][:, 0]
            if not solution.get("unchecked", False):
                warn_weak_chips(int(low.sum()), low.size)
            results["quantification"] = summary_metadata(request, solution)
            return total, results
    results, total = lazy_results(signal, request, prep, params, extra=counts)
    store_results(signal, request, results)
    return total, None


def _parse_stored(signal, q):
    """The request stored in `q`, parsed again against `signal`."""
    request = q.as_dictionary()
    options = dict(
        method=request["method"],
        intensity=request["intensity"],
        model=request["model"],
        composition="atomic",
        background=request["background"],
        background_order=request["background_order"],
        energy_range=(
            None if request.get("auto_start") else tuple(request["energy_range"])
        ),
        thickness=request.get("thickness"),
        absorption_correction="take_off_angle" in request,
        refine=request["refine"],
        auto_elements=request.get("auto_elements", True),
    )
    source = request.get("kfactor_source", "user")
    model = request.get("kfactor_window_model")
    request, prep, params = parse_request(signal, request["kfactors"], **options)
    request["kfactor_source"] = source
    if model is not None and request["method"] == "CL":  # see _kfactor_window
        request["kfactor_window_model"] = model
        params.update(window_model=model, lines=list(request["xray_lines"]))
    return request, prep, params
