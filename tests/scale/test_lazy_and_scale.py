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
"""Lazy end to end, per-pixel windows, distributed, memory and missing files."""

import logging
import shutil
import warnings

import dask
import dask.array as da
import hyperspy.api as hs
import numpy as np
import pytest

from hyperspy_chipping.data import sto_lfo_cross_section


@pytest.fixture(scope="module")
def demo():
    s = sto_lfo_cross_section((60, 45), seed=4)
    s.set_signal_type("EDS_TEM_chipped")
    return s


def _counting_lazy(s, chunks):
    """A lazy copy whose chunk reads are counted."""
    reads = []

    def read(block, block_info=None):
        reads.append(block_info[0]["chunk-location"])
        return block

    lazy = s.as_lazy()
    lazy.data = da.from_array(s.data, chunks=chunks).map_blocks(
        read, dtype=s.data.dtype
    )
    return lazy, reads


def test_lazy_chip_and_quantify_compute_nothing_then_read_each_chunk_once(demo):
    k = demo.metadata.Simulation.kfactors.as_dictionary()
    lazy, reads = _counting_lazy(demo, (20, 16, 2000))  # chunks not chip-aligned
    chips = lazy.chip(15)
    maps = chips.quantify_chips(k)
    assert reads == [] and maps[0]._lazy
    assert chips.metadata.Chipping.Quantification.lazy
    df = chips.to_dataframe()
    # 3 x 4 source chunks, each read once by the one graph of the table.
    assert len(reads) == len(set(reads)) == 12
    eager = demo.chip(15)
    eager.quantify_chips(k)
    expected = eager.to_dataframe()
    np.testing.assert_allclose(df["at_La"], expected["at_La"], rtol=1e-9)
    np.testing.assert_allclose(df["at_La_std"], expected["at_La_std"], rtol=1e-9)
    # chi2 is evaluated in float32 (round-off ~1e-6, see Projector.reduced_chi2)
    np.testing.assert_allclose(df["chi2_red"], expected["chi2_red"], rtol=1e-5)


@pytest.mark.parametrize("kernel", ["box", "gaussian"])
def test_per_pixel_windows_lazy_equals_eager(demo, kernel):
    k = demo.metadata.Simulation.kfactors.as_dictionary()
    eager = demo.chip(9, step=1, kernel=kernel)
    assert eager.axes_manager.navigation_shape == (60 - 8, 45 - 8)
    maps = eager.quantify_chips(k)
    lazy_maps = demo.as_lazy().chip(9, step=1, kernel=kernel).quantify_chips(k)
    for a, b in zip(maps, lazy_maps):
        # Round-off: the lazy windows are summed (Gaussian: weighted) in
        # float32 and fitted in single precision, ~1e-7 of the amplitudes.
        np.testing.assert_allclose(np.asarray(b.data), a.data, rtol=1e-6, atol=1e-5)


def test_box_windows_equal_hand_sums(demo):
    chips = demo.chip(9, step=1)
    y, x = 20, 7
    np.testing.assert_array_equal(
        chips.data[y, x], demo.data[y : y + 9, x : x + 9].sum(axis=(0, 1))
    )


def test_gaussian_weights_give_poisson_like_uncertainties(demo):
    # Weighted sums with sum(w) == sum(w**2) have variance == mean: the
    # reported std must match the spread of independent windows.
    s = sto_lfo_cross_section((150, 150), seed=5)
    s.set_signal_type("EDS_TEM_chipped")
    chips = s.chip(10, kernel="gaussian")  # adjacent windows: independent
    chips.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())
    df = chips.to_dataframe()
    sto = df[df["y0"] >= 70]
    ratio = sto["at_Sr_std"].mean() / sto["at_Sr"].std()
    assert 0.8 < ratio < 1.2
    weight_sum = chips.metadata.Chipping.kernel_weight_sum
    pixel = s.metadata.Acquisition_instrument.TEM.Detector.EDS.live_time
    eds = chips.metadata.Acquisition_instrument.TEM.Detector.EDS
    assert eds.live_time == pytest.approx(pixel * weight_sum)


def test_gaussian_window_is_weighted_sum(demo):
    from hyperspy_chipping.chipping._windows import gaussian_weights

    chips = demo.chip(5, step=1, kernel="gaussian")
    w = gaussian_weights(5)
    expected = np.einsum("i,j,ijk->k", w, w, demo.data[3:8, 4:9].astype(float))
    np.testing.assert_allclose(chips.data[3, 4], expected)


def test_distributed_cluster(demo):
    distributed = pytest.importorskip("distributed")
    k = demo.metadata.Simulation.kfactors.as_dictionary()
    expected = demo.chip(15)
    expected.quantify_chips(k)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        chips = demo.as_lazy().chip(15)
        chips.quantify_chips(k)
        df = chips.to_dataframe()
    np.testing.assert_allclose(df["at_La"], expected.to_dataframe()["at_La"])


def test_unaligned_chunks_are_rechunked_with_a_note(demo, caplog):
    lazy = demo.as_lazy()
    lazy.data = lazy.data.rechunk((7, 11, 2000))
    with caplog.at_level(logging.INFO, logger="hyperspy_chipping"):
        chips = lazy.chip(5)
    assert "Rechunking" in caplog.text
    np.testing.assert_array_equal(chips.data.compute(), demo.chip(5).data)


def test_eager_per_pixel_too_large_is_refused(demo, monkeypatch):
    import psutil

    class Small:
        available = 10 * 2**20  # 10 MiB

    monkeypatch.setattr(psutil, "virtual_memory", lambda: Small())
    before = demo.data.copy()
    with pytest.raises(
        MemoryError,
        match=r"would need about \d+ MiB .*chip\(\.\.\., lazy_output=True\)",
    ):
        demo.chip(5, step=1)
    np.testing.assert_array_equal(demo.data, before)
    lazy = demo.chip(5, step=1, lazy_output=True)  # lazy is fine
    assert lazy._lazy
    assert demo.as_lazy().chip(5, step=1)._lazy


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"size": 5, "kernel": "triangle"}, r"`kernel` must be one of .* 'triangle'"),
        ({"size": 5, "kernel": "gaussian", "remainder": "keep"}, r"whole windows"),
        ({"labels": np.ones((60, 45), int), "kernel": "box"}, r"label chips"),
    ],
)
def test_bad_kernel(demo, kwargs, match):
    with pytest.raises(ValueError, match=match):
        demo.chip(**kwargs)


def test_missing_file_is_a_clear_error(demo, tmp_path):
    demo.save(tmp_path / "map.zspy")
    lazy = hs.load(tmp_path / "map.zspy", lazy=True)
    chips = lazy.chip(15)
    chips.quantify_chips(demo.metadata.Simulation.kfactors.as_dictionary())
    shutil.rmtree(tmp_path / "map.zspy")
    with pytest.raises(FileNotFoundError, match=r"map\.zspy.* no longer exists"):
        chips.to_dataframe()
    # Nothing half-written: the request is still there, no results.
    assert "atomic_percent" not in chips.metadata.Chipping.Quantification


def test_lazy_results_compute_in_one_graph(demo):
    chips = demo.as_lazy().chip(15)
    maps = chips.quantify_chips(demo.metadata.Simulation.kfactors.as_dictionary())
    computed = dask.compute(*[m.data for m in maps])
    total = np.sum(computed, axis=0)
    np.testing.assert_allclose(total, 100.0)


def test_progress_bar_while_computing(demo, capsys):
    chips = demo.as_lazy().chip(15)
    chips.to_dataframe(show_progressbar=True)
    assert "Completed" in capsys.readouterr().out
    chips.to_dataframe(show_progressbar=False)
    assert "Completed" not in capsys.readouterr().out


def test_lazy_maps_read_each_chunk_once(demo):
    k = demo.metadata.Simulation.kfactors.as_dictionary()
    lazy, reads = _counting_lazy(demo, (20, 16, 2000))
    maps = lazy.chip(15).quantify_chips(k)
    maps[1].compute()
    # The summed spectrum, the model and every chip: one graph, one read each.
    assert len(reads) == len(set(reads)) == 12


def test_large_lazy_chip_sets_are_quantified_in_two_passes(demo, monkeypatch):
    """Above ONE_PASS_BYTES the model is solved first, then the chips are
    quantified chunk by chunk: two reads of the data, never all chips held."""
    from hyperspy_chipping.quantification import _stored

    k = demo.metadata.Simulation.kfactors.as_dictionary()
    expected = demo.chip(5, step=1)
    expected.quantify_chips(k)
    expected = expected.to_dataframe()
    monkeypatch.setattr(_stored, "ONE_PASS_BYTES", 1024)
    lazy, reads = _counting_lazy(demo, (20, 16, 2000))
    windows = lazy.chip(5, step=1)
    windows.quantify_chips(k)
    df = windows.to_dataframe()
    assert len(reads) == 2 * len(set(reads))
    # Equal to the round-off of the single-precision chip fit (~1e-7 of the
    # amplitudes: 1e-5 at % is far below any chip's uncertainty).
    np.testing.assert_allclose(df["at_La"], expected["at_La"], rtol=1e-6, atol=1e-5)
    np.testing.assert_array_equal(df["counts"], expected["counts"])
    assert "spectrum" not in df


@pytest.mark.parametrize("lazy", [False, True])
def test_per_pixel_windows_see_counts_not_overlaps(demo, lazy):
    """Overlapping windows count each pixel 81 times (9 x 9): the summed fit
    must judge its residual by the counts' noise, not 81 x the counts' —
    else noise reads as peaks, and elements nobody has are added."""
    k = demo.metadata.Simulation.kfactors.as_dictionary()
    windows = (demo.as_lazy() if lazy else demo).chip(9, step=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        windows.quantify_chips(k)
        df = windows.to_dataframe()
    q = windows.metadata.Chipping.Quantification
    assert list(q.auto_elements) == []
    assert 0.8 < q.Summed_fit.chi2_red < 1.3
    assert df["at_O"].median() == pytest.approx(60, abs=1.5)


@pytest.mark.parametrize("step", [None, 1])
def test_energy_axis_in_several_chunks(demo, step):
    # A reader may chunk the energy axis too (rosettasciio's JEOL .pts,
    # lazily): the summed spectrum then came in several chunks and the model
    # could not be solved on it.
    k = demo.metadata.Simulation.kfactors.as_dictionary()
    lazy = demo.as_lazy()
    lazy.data = lazy.data.rechunk((30, 45, 512))
    assert lazy.data.numblocks[-1] > 1
    chips = lazy.chip(15) if step is None else lazy.chip(9, step=step)
    chips.quantify_chips(k)
    eager = demo.chip(15) if step is None else demo.chip(9, step=step)
    eager.quantify_chips(k)
    np.testing.assert_allclose(
        chips.to_dataframe()["at_La"], eager.to_dataframe()["at_La"], rtol=1e-5
    )
