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
"""Lazy data are read correctly or not at all; counts that are not counts."""

import shutil
from pathlib import Path

import dask
import exspy
import hyperspy.api as hs
import numpy as np
import pytest

pytest.importorskip("zarr")


@pytest.fixture
def zspy_map(make_map, tmp_path):
    s = make_map(shape=(20, 20), n_channels=512)
    s.save(tmp_path / "map.zspy", chunks=(10, 10, 512))
    return s, tmp_path / "map.zspy"


def _chunk_files(store: Path):
    data = next(p for p in store.rglob(".zarray") if p.parent.name == "data")
    return sorted(p for p in data.parent.rglob("*") if p.is_file() and p.name[0] != ".")


def test_guarded_reads_are_exact(zspy_map):
    s, path = zspy_map
    chips = hs.load(path, lazy=True).chip(5)
    expected = np.asarray(s.data).reshape(4, 5, 4, 5, 512).sum(axis=(1, 3))
    np.testing.assert_array_equal(chips.data.compute(), expected)


def test_deleted_source_raises_in_every_compute_path(zspy_map):
    s, path = zspy_map
    chips = hs.load(path, lazy=True).chip(5)
    maps = chips.quantify_chips({"Fe_Ka": 1.0, "O_Ka": 2.0})
    shutil.rmtree(path)
    match = r"map\.zspy' which no longer exists|map\.zspy', which no longer exists"
    with pytest.raises(FileNotFoundError, match=match):
        chips.compute()
    with pytest.raises(FileNotFoundError, match=match):
        maps[0].data.compute()
    with pytest.raises(FileNotFoundError, match=match):
        chips.to_dataframe()
    assert chips._lazy  # nothing was swapped for zeros


def test_deleted_saved_chips_raise(make_map, tmp_path):
    chips = make_map(shape=(20, 20), n_channels=64).chip(5)
    chips.save(tmp_path / "chips.zspy")
    back = hs.load(tmp_path / "chips.zspy", lazy=True)
    assert type(back).__name__ == "LazyChippedEDSSpectrum"
    shutil.rmtree(tmp_path / "chips.zspy")
    with pytest.raises(FileNotFoundError, match=r"chips\.zspy.*no longer exists"):
        back.compute()


def test_missing_chunk_is_refused(zspy_map):
    s, path = zspy_map
    lazy = hs.load(path, lazy=True)
    files = _chunk_files(path)
    assert len(files) == 4  # 2 x 2 chunks of 10 x 10 pixels
    files[1].unlink()
    with pytest.raises(
        FileNotFoundError, match=r"1 chunk\(s\) of the data in .*map\.zspy"
    ):
        lazy.chip(5)
    # Loaded as chipped data, the missing chunk raises when read.
    chipped = hs.load(path, lazy=True, signal_type="EDS_TEM_chipped")
    with pytest.raises(FileNotFoundError, match=r"chunk\(s\) .* are missing"):
        chipped.compute()


def test_corrupt_chunk_names_file_and_chunk(zspy_map):
    s, path = zspy_map
    lazy = hs.load(path, lazy=True)
    chips = lazy.chip(5)
    _chunk_files(path)[0].write_bytes(b"not a compressed chunk at all" * 10)
    with pytest.raises(
        OSError, match=r"Could not read chunk\(s\) \[\(0, 0, 0\)\] .*map\.zspy.*corrupt"
    ):
        chips.compute()


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.nan, r"has NaN counts"),
        (-2.0, r"has negative \(down to -2\.0\) counts"),
        (np.inf, r"has infinite counts"),
    ],
)
def test_lazy_chip_validates_like_eager(make_map, bad, match):
    s = make_map(shape=(10, 10), n_channels=16)
    s.change_dtype("float32")
    s.data[4, 4, 3] = bad
    before = s.data.copy()
    with pytest.raises(ValueError, match=match):
        s.chip(5)
    chips = s.as_lazy().chip(5)
    with pytest.raises(ValueError, match=match):
        chips.compute()
    with pytest.raises(ValueError, match=match):
        chips.to_dataframe()
    np.testing.assert_array_equal(s.data, before)


@pytest.mark.parametrize("dtype", ["int64", "uint64"])
def test_64_bit_sums_that_could_overflow(dtype, lazy):
    data = np.zeros((4, 4, 8), dtype=dtype)
    data[0, 0, 0] = np.iinfo(dtype).max // 10  # 16 pixels of this overflow
    s = exspy.signals.EDSTEMSpectrum(data)
    s.set_signal_type("EDS_TEM_chipped")
    if lazy:
        s = s.as_lazy()
    with pytest.raises(OverflowError, match=rf"{dtype} counts up to .* 16 pixels"):
        dask.compute(s.chip(4).data)
    # Chips small enough are summed exactly.
    small = s.chip(2).data
    assert int(np.asarray(dask.compute(small)[0])[0, 0, 0]) == np.iinfo(dtype).max // 10


def test_hspy_lazy_source_file_is_recorded(make_map, tmp_path):
    make_map(shape=(8, 8), n_channels=16).save(tmp_path / "m.hspy")
    chips = hs.load(tmp_path / "m.hspy", lazy=True).chip(4)
    assert chips.metadata.Chipping.Source.file == str(tmp_path / "m.hspy")
    assert chips.to_dataframe().counts.sum() > 0


def test_guarded_reads_on_a_process_cluster(zspy_map):
    """The guard travels to worker processes (pickled) and reads exactly."""
    distributed = pytest.importorskip("distributed")
    s, path = zspy_map
    expected = s.chip(5).to_dataframe()
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        chips = hs.load(path, lazy=True).chip(5)
        df = chips.to_dataframe()
        shutil.rmtree(path)
        with pytest.raises(FileNotFoundError, match="no longer exists"):
            chips.compute()
    np.testing.assert_array_equal(df.counts, expected.counts)


def test_unpickled_guard_without_zarr_says_what_is_missing(zspy_map, monkeypatch):
    # A guarded array sent to another environment opens the store on first
    # use; without zarr there it says so and names the file.
    import pickle
    import sys

    import zarr

    from hyperspy_chipping.chipping._source import GuardedZarrArray

    _, path = zspy_map
    array = zarr.open_array(str(path), path="Experiments/__unnamed__/data", mode="r")
    copy = pickle.loads(pickle.dumps(GuardedZarrArray(array)))
    monkeypatch.setitem(sys.modules, "zarr", None)
    with pytest.raises(ImportError, match=r"map\.zspy.*needs zarr"):
        copy.array
