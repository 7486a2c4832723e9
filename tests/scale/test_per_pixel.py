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
"""Per-pixel windows: lazy output, quantified straight from the map (issue 14)."""

import dask.array as da
import numpy as np
import pandas as pd
import pytest

from hyperspy_chipping.chipping import _chip
from hyperspy_chipping.chipping._windows import window_source
from hyperspy_chipping.data import sto_lfo_cross_section
from hyperspy_chipping.quantification._calibration_sum import calibration_subset
from hyperspy_chipping.quantification._stream import window_calibration_total


@pytest.fixture(scope="module")
def demo():
    s = sto_lfo_cross_section((60, 45), seed=4)
    s.set_signal_type("EDS_TEM_chipped")
    return s


def _kfactors(demo):
    return demo.metadata.Simulation.kfactors.as_dictionary()


def _table(chips, k):
    chips.quantify_chips(k)
    return chips.to_dataframe()


def _numeric(df):
    return [c for c in df.columns if df[c].dtype.kind in "fiub"]


def _assert_same_table(df, expected):
    """Equal to the round-off of the single-precision chip fit.

    Geometry and integer counts are exact; fitted values (and the weighted
    counts of a Gaussian kernel, summed in float32) agree to ~1e-7 (1e-6
    relative, or 1e-5 in the at % of an absent element).
    """
    assert list(df.columns) == list(expected.columns)
    for column in _numeric(expected):
        a, b = df[column].to_numpy(), expected[column].to_numpy()
        if column in ("chip_id", "row", "col", "y0", "y1", "x0", "x1") or (
            column == "counts" and b.dtype.kind in "iu"
        ):
            np.testing.assert_array_equal(a, b, err_msg=column)
        elif a.dtype.kind == "b":
            # A flag on a threshold may flip at round-off: almost never.
            assert (a != b).mean() < 1e-3, column
        else:
            np.testing.assert_allclose(
                a, b, rtol=1e-6, atol=1e-5, equal_nan=True, err_msg=column
            )


@pytest.mark.parametrize(
    "size, kernel", [(3, "box"), (5, "box"), (4, "box"), (5, "gaussian")]
)
def test_streamed_windows_equal_the_explicit_stack(demo, size, kernel):
    k = _kfactors(demo)
    expected = _table(demo.chip(size, step=1, kernel=kernel, lazy_output=False), k)
    windows = demo.chip(size, step=1, kernel=kernel, lazy_output=True)
    assert window_source(windows) is not None  # the streamed path
    _assert_same_table(_table(windows, k), expected)
    # The results are stored: a second table computes nothing new.
    q = windows.metadata.Chipping.Quantification
    assert "atomic_percent" in q and q.atomic_percent.shape[0] == len(expected)


def test_streamed_windows_of_a_lazy_map(demo):
    k = _kfactors(demo)
    expected = _table(demo.chip(5, step=1, lazy_output=False), k)
    lazy = demo.as_lazy()
    lazy.data = lazy.data.rechunk((17, 23, 2000))  # chunks unlike the windows'
    windows = lazy.chip(5, step=1)
    assert window_source(windows)["array"] is None  # read through dask
    _assert_same_table(_table(windows, k), expected)


def test_streamed_windows_with_a_narrow_energy_range(demo):
    # The summed spectrum spans the range widened to the families' lines
    # beyond energy_range (Sr K beta above 15 keV); the streamed chips are
    # fitted over energy_range only and their counts are over every channel.
    k = {line: v for line, v in _kfactors(demo).items() if line != "O_Ka"}
    del k["Sr_Ka"]
    expected_chips = demo.chip(5, step=1, lazy_output=False)
    expected_chips.quantify_chips(k, energy_range=(4.0, 15.0))
    expected = expected_chips.to_dataframe()
    windows = demo.chip(5, step=1, lazy_output=True)
    windows.quantify_chips(k, energy_range=(4.0, 15.0))
    df = windows.to_dataframe()
    _assert_same_table(df, expected)
    hand = expected_chips.data.reshape(-1, expected_chips.data.shape[-1]).sum(-1)
    np.testing.assert_array_equal(df["counts"], hand)
    assert list(windows.metadata.Chipping.Quantification.energy_range) == [4.0, 15.0]


@pytest.mark.parametrize("kernel", ["box", "gaussian"])
def test_big_endian_counts_give_the_same_windows(demo, kernel):
    # Some files store big-endian counts: the compiled window kernels read
    # them in the machine's byte order, and the results are the same.
    k = _kfactors(demo)
    expected = _table(demo.chip(5, step=1, kernel=kernel, lazy_output=True), k)
    swapped = demo.deepcopy()
    swapped.data = swapped.data.astype(">u2")
    windows = swapped.chip(5, step=1, kernel=kernel, lazy_output=True)
    assert window_source(windows) is not None
    _assert_same_table(_table(windows, k), expected)


def test_a_copy_or_slice_drops_the_link_and_stays_right(demo):
    k = _kfactors(demo)
    windows = demo.chip(5, step=1, lazy_output=True)
    expected = _table(windows.deepcopy(), k)  # a copy: explicit window sums
    assert window_source(windows.deepcopy()) is None
    _assert_same_table(_table(windows, k), expected)
    # A slice is quantified as a chip set of its own (its own summed
    # spectrum), from its explicit window sums.
    part = windows.inav[10:20, 5:15]
    assert window_source(part) is None
    explicit = demo.chip(5, step=1, lazy_output=False).inav[10:20, 5:15]
    _assert_same_table(_table(part, k), _table(explicit, k))


def test_calibration_total_is_that_of_the_window_spectra(demo):
    windows = demo.chip(5, step=1, lazy_output=True)
    nav_shape = windows.data.shape[:2]
    fit = slice(13, 1900)
    strides = [sl.step or 1 for sl in calibration_subset(nav_shape)]
    explicit = demo.chip(5, step=1, lazy_output=False).data
    expected = explicit[calibration_subset(nav_shape) + (fit,)].sum(
        axis=(0, 1), dtype=float
    )
    total = window_calibration_total(window_source(windows), strides, fit)
    np.testing.assert_array_equal(total.compute(), expected)  # exact integers


def test_window_spectra_on_demand(demo):
    windows = demo.chip(3, step=1, lazy_output=True)
    windows.quantify_chips(_kfactors(demo))
    df = windows.to_dataframe(spectra=True)
    row = df.iloc[123]
    y0, x0 = int(row["y0"]), int(row["x0"])
    hand = demo.data[y0 : y0 + 3, x0 : x0 + 3].sum(axis=(0, 1))
    np.testing.assert_array_equal(row["spectrum"], hand)
    assert int(row["counts"]) == int(hand.sum())


def test_lazy_output_default_follows_the_window_stack_size(demo, monkeypatch):
    stack = 56 * 41 * 2000 * 4  # 5 x 5 windows of the 60 x 45 demo, uint32
    assert not demo.chip(5, step=1)._lazy  # 25 MB: below 256 MiB
    assert not demo.chip(5)._lazy  # a grid never holds a pixel twice
    monkeypatch.setattr(_chip, "LAZY_WINDOWS_BYTES", stack - 1)
    windows = demo.chip(5, step=1)
    assert windows._lazy and isinstance(windows.data, da.Array)
    assert not demo.chip(5, step=5)._lazy
    assert not demo.chip(5, step=1, lazy_output=False)._lazy
    assert demo.chip(15, lazy_output=True)._lazy
    assert not demo.as_lazy().chip(5, lazy_output=False)._lazy


def test_lazy_output_reads_the_map_without_copying_it(demo):
    demo = demo.deepcopy()  # changed below
    before = demo.data.copy()
    windows = demo.chip(5, step=1, lazy_output=True)
    np.testing.assert_array_equal(demo.data, before)
    # The chips read the map when computed: a change of the map shows, as
    # with a view from inav (documented).
    demo.data[:5, :5] += 1
    assert int(windows.data[0, 0].sum().compute()) == int(demo.data[:5, :5].sum())


@pytest.mark.parametrize("value", ["yes", 1, np.float64(0.0)])
def test_lazy_output_must_be_a_bool(demo, value):
    with pytest.raises(TypeError, match=r"`lazy_output` must be None, True or False"):
        demo.chip(5, step=1, lazy_output=value)


def test_streamed_windows_on_a_distributed_cluster(demo):
    distributed = pytest.importorskip("distributed")
    k = _kfactors(demo)
    expected = _table(demo.chip(5, step=1, lazy_output=False), k)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        windows = demo.as_lazy().chip(5, step=1)
        assert window_source(windows) is not None
        df = _table(windows, k)
    _assert_same_table(df, expected)


@pytest.mark.parametrize("step", [1, 15])
def test_lazy_chips_never_shuffle_on_a_cluster(demo, monkeypatch, step):
    # The package's rechunks merge or split neighbouring chunks: plain
    # tasks. A peer-to-peer shuffle (dask's choice on a distributed client
    # for large graphs, forced here through the config) cost per-pixel
    # windows of a 1024 px map on a 2-process cluster 55-63 s against 47 s.
    distributed = pytest.importorskip("distributed")
    shuffle = pytest.importorskip("distributed.shuffle")
    import dask

    def refuse(*args, **kwargs):
        raise AssertionError("a peer-to-peer rechunk in the window graph")

    monkeypatch.setattr(shuffle, "rechunk_p2p", refuse)
    k = _kfactors(demo)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
        dask.config.set({"array.rechunk.method": "p2p"}),
    ):
        chips = demo.as_lazy().chip(15 if step == 15 else 5, step=step)
        chips.quantify_chips(k)
        chips.to_dataframe()


def test_streamed_table_round_trips_through_parquet(demo, tmp_path):
    windows = demo.chip(3, step=1, lazy_output=True)
    df = _table(windows, _kfactors(demo))
    df.to_parquet(tmp_path / "w.parquet")
    back = pd.read_parquet(tmp_path / "w.parquet")
    pd.testing.assert_frame_equal(back, df)


@pytest.mark.parametrize("step", [1, 15])
def test_results_of_a_process_cluster_come_back(demo, monkeypatch, step):
    """Worker processes do not share the client's memory: results computed
    there must come back (da.store into a numpy array would fill copies of
    it in the workers and leave garbage here)."""
    distributed = pytest.importorskip("distributed")
    from hyperspy_chipping.quantification import _stored

    k = _kfactors(demo)
    expected = _table(demo.chip(5, step=step, lazy_output=False), k)
    monkeypatch.setattr(_stored, "ONE_PASS_BYTES", 1)  # grid: two passes too
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        df = _table(demo.as_lazy().chip(5, step=step), k)

        # (Defined here: cloudpickle sends it by value; a function of this
        # module would import the module, and with it exspy, on the worker.)
        def heavy_modules():
            import sys

            heavy = ("exspy", "hyperspy", "matplotlib", "sympy")
            return sorted(name for name in heavy if name in sys.modules)

        loaded = client.run(heavy_modules)
    _assert_same_table(df, expected)
    # The tasks need numpy, dask and the kernels: not exspy, HyperSpy and
    # their plotting stack (~120 MB a worker; the lazy subpackage exports
    # and the atomic masses sent with the task keep them out).
    assert loaded and all(not found for found in loaded.values()), loaded


def test_windows_of_a_file_on_a_process_cluster(demo, tmp_path):
    """A map read from a file, on worker processes, with chunk edges both
    ways: every window equals the explicit stack's."""
    distributed = pytest.importorskip("distributed")
    import hyperspy.api as hs

    k = _kfactors(demo)
    expected = _table(demo.chip(5, step=1, lazy_output=False), k)
    path = tmp_path / "map.zspy"
    lazy = demo.as_lazy()
    lazy.data = lazy.data.rechunk((16, 16, -1))  # 3 x 4 chunks
    lazy.save(path)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        s = hs.load(path, lazy=True)
        s.set_signal_type("EDS_TEM_chipped")
        assert s.data.numblocks[:2] == (3, 4)
        df = _table(s.chip(5, step=1), k)
    _assert_same_table(df, expected)


def test_a_chunk_is_read_by_the_one_task_that_uses_it():
    """The task that computes a chunk's inner windows also cuts its edges:
    the chunk (here: read, then checked) has no other dependent, so its
    read is fused into that task and the chunk is released when it ends
    (a worker process holds no chunk between tasks)."""
    import dask

    from hyperspy_chipping.chipping._split_windows import map_windows_split
    from hyperspy_chipping.chipping._windows import _dense_windows_block

    source = da.from_array(np.ones((12, 12, 3), "u2"), chunks=(4, 4, 3))
    checked = source.map_blocks(np.asarray, dtype=source.dtype, name="checked")

    def sums(block):
        return _dense_windows_block(block, (3, 3), np.int64)

    out = map_windows_split(checked, (3, 3), sums, 3, np.int64)
    (optimized,) = dask.optimize(out)
    keys = [k[0] if isinstance(k, tuple) else k for k in optimized.__dask_graph__()]
    assert not any(str(k).startswith("checked") for k in keys)
    np.testing.assert_array_equal(out.compute(), np.full((10, 10, 3), 9))
