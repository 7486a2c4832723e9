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
"""The hyperspy-chipping command line."""

import subprocess
import sys

import hyperspy.api as hs
import numpy as np
import pandas as pd
import pytest

from hyperspy_chipping.cli import main, select_spectrum_image


def test_demo_run_writes_table_and_png(capsys):
    assert main(["--demo-shape", "30", "20", "--size", "10"]) == 0
    assert "wrote 6 chips to chips.parquet and chips.png" in capsys.readouterr().out
    df = pd.read_parquet("chips.parquet")
    assert len(df) == 6 and df["n_pixels"].eq(100).all()
    assert np.stack(df["spectrum"]).shape == (6, 2000)
    assert df.attrs["elements"] == ["Fe", "La", "O", "Sr", "Ti"]
    # The demo is quantified with its own k-factors: compositions sum to 100.
    at = df.filter(regex=r"^at_[A-Z][a-z]?$")
    assert list(at.columns) == ["at_Fe", "at_La", "at_O", "at_Sr", "at_Ti"]
    np.testing.assert_allclose(at.sum(axis=1), 100)
    assert df.attrs["quantification"]["intensity"] == "family"
    with open("chips.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("ext", ["hspy", "rpl"])
def test_file_run_csv(make_map, ext, capsys):
    s = make_map(shape=(12, 9), n_channels=64)
    s.set_signal_type("EDS_TEM")
    if ext == "rpl":
        # Ripple (.rpl/.raw): the export format of Bruker Esprit and Oxford INCA.
        s.change_dtype("uint16")
    s.save(f"map.{ext}")
    code = main(
        [f"map.{ext}", "--size", "4", "3", "--remainder", "keep", "-o", "t.csv"]
    )
    assert code == 0
    df = pd.read_csv("t.csv")
    assert len(df) == 3 * 4
    assert df["counts"].sum() == s.data.sum()
    assert df.filter(like="ch_").to_numpy().sum() == s.data.sum()
    assert "t.png" in capsys.readouterr().out


def test_lazy_run_and_elements(make_map):
    s = make_map(shape=(12, 9), n_channels=64)
    s.save("map.hspy")
    assert main(["map.hspy", "--lazy", "--size", "3", "--elements", "Cu"]) == 0
    df = pd.read_parquet("chips.parquet")
    assert df.attrs["elements"] == ["Cu", "Fe", "O"]
    assert df["counts"].sum() == s.data[:12, :9].sum()


def test_file_with_no_spectrum_image(capsys):
    hs.signals.Signal2D(np.ones((8, 8))).save("image.hspy")
    assert main(["image.hspy"]) == 2
    assert "'image.hspy' holds no EDS spectrum image" in capsys.readouterr().err


def test_bad_size_is_reported(capsys):
    assert main(["--demo-shape", "20", "20", "--size", "0"]) == 2
    assert "`size` must be at least 1 pixel, got 0" in capsys.readouterr().err


def test_missing_file(capsys):
    assert main(["nope.hspy"]) == 2
    assert "nope.hspy" in capsys.readouterr().err


def test_picks_largest_spectrum_image_and_matching_image(make_map):
    si = make_map(shape=(6, 5), n_channels=32)
    si.set_signal_type("EDS_TEM")
    detector_sum = si.sum(axis=(0, 1))  # Velox also gives summed spectra
    other = hs.signals.Signal2D(np.ones((4, 4)))
    haadf = hs.signals.Signal2D(np.arange(30.0).reshape(6, 5))
    picked, image = select_spectrum_image([other, detector_sum, haadf, si])
    assert picked is si and image is haadf
    assert picked.metadata.Signal.signal_type == "EDS_TEM_chipped"
    assert select_spectrum_image([si])[1] is None


def test_help_runs():
    out = subprocess.run(
        [sys.executable, "-m", "hyperspy_chipping.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--size" in out and "demo" in out


def test_file_run_with_kfactors(make_map):
    s = make_map(shape=(12, 9), n_channels=512)
    s.save("map.hspy")
    args = ["map.hspy", "--size", "3", "--kfactors", "Fe_Ka=1.0", "O_Ka=2.0"]
    assert main(args + ["--intensity", "line", "--model", "exspy"]) == 0
    df = pd.read_parquet("chips.parquet")
    assert df.attrs["quantification"]["model"] == "exspy"
    assert df.attrs["quantification"]["kfactors"] == {"Fe_Ka": 1.0, "O_Ka": 2.0}
    assert {"at_Fe", "wt_O_std", "I_Fe_Ka", "chi2_red"} <= set(df.columns)


def test_bad_kfactor_items(capsys):
    assert main(["--demo-shape", "20", "20", "--kfactors", "La_La:2.5"]) == 2
    assert "--kfactors takes LINE=K items such as La_La=2.5, got 'La_La:2.5'" in (
        capsys.readouterr().err
    )
