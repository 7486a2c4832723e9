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
"""to_dataframe: columns, conservation, spectra and the Parquet round trip."""

import numpy as np
import pandas as pd
import pytest

GEOMETRY = ["chip_id", "row", "col", "y0", "y1", "x0", "x1", "y", "x", "n_pixels"]


def test_columns_and_conservation(lazy, make_map):
    s = make_map(lazy=lazy)
    chips = s.chip(4, remainder="keep")
    df = chips.to_dataframe()
    assert list(df.columns) == GEOMETRY + ["counts"]
    data = np.asarray(s.data.compute() if lazy else s.data)
    assert df["counts"].sum() == data.sum()
    assert df["n_pixels"].sum() == 23 * 17
    assert (df["n_pixels"] == (df["y1"] - df["y0"]) * (df["x1"] - df["x0"])).all()
    # Chip 6 is row 1, column 1: pixels y 4-7, x 4-7; centre in calibrated units.
    row = df.iloc[6]
    assert (row["row"], row["col"], row["y0"], row["x0"]) == (1, 1, 4, 4)
    assert row["x"] == pytest.approx(-3.0 + 0.5 * 5.5)
    assert row["y"] == pytest.approx(10.0 + 0.25 * 5.5)


def test_labels_columns(eds_map):
    labels = np.zeros((23, 17), int)
    labels[:10], labels[15:] = 4, 9
    df = eds_map.chip(labels=labels).to_dataframe()
    assert "row" not in df and "col" not in df
    assert df["label"].tolist() == [4, 9]
    assert df["counts"].tolist() == [
        eds_map.data[:10].sum(),
        eds_map.data[15:].sum(),
    ]


@pytest.mark.parametrize("fmt", ["array", "wide"])
def test_spectra_and_parquet_round_trip(eds_map, fmt):
    chips = eds_map.chip(5)
    df = chips.to_dataframe(spectra=True, spectrum_format=fmt)
    flat = chips.data.reshape(-1, 512)
    if fmt == "array":
        np.testing.assert_array_equal(np.stack(df["spectrum"]), flat)
    else:
        assert df.columns[11] == "ch_0000" and df.columns[-1] == "ch_0511"
        np.testing.assert_array_equal(df.iloc[:, 11:].to_numpy(), flat)
    df.to_parquet("chips.parquet")
    back = pd.read_parquet("chips.parquet")
    assert back.attrs == df.attrs
    assert back.attrs["energy_axis"] == {
        "name": "Energy",
        "units": "keV",
        "offset": -0.2,
        "scale": 0.02,
        "size": 512,
    }
    assert back.attrs["elements"] == ["Fe", "O"]
    assert back.attrs["chipping"]["size"] == [5, 5]
    assert back.attrs["beam_energy"] == 300.0
    if fmt == "array":
        np.testing.assert_array_equal(np.stack(back["spectrum"]), flat)


def test_sliced_chips(eds_map):
    df = eds_map.chip(5).inav[1:, 2:].to_dataframe()
    assert df["row"].tolist() == [2, 2, 3, 3]
    assert df["col"].tolist() == [1, 2, 1, 2]


def test_bad_arguments(eds_map):
    chips = eds_map.chip(5)
    with pytest.raises(ValueError, match=r"`spectrum_format` must be one of"):
        chips.to_dataframe(spectra=True, spectrum_format="long")
    with pytest.raises(TypeError, match=r"`spectra` must be True or False, got 'yes'"):
        chips.to_dataframe(spectra="yes")
    with pytest.raises(ValueError, match="Call s.chip"):
        eds_map.to_dataframe()


def _quantified_chips(lazy, seed):
    """The demo's 3 x 3 chips of 10 px, quantified (eager or lazy)."""
    from hyperspy_chipping.data import sto_lfo_cross_section

    s = sto_lfo_cross_section((30, 30), 50.0, seed=seed)
    s.set_signal_type("EDS_TEM_chipped")
    chips = (s.as_lazy() if lazy else s).chip(10)
    chips.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())
    return chips


def test_editing_the_table_leaves_the_stored_results(lazy):
    # Some table columns start as views of the results stored in the signal
    # (pandas' copy=False would keep them so): an edit of the table must stay
    # out of the stored results, and out of the next table.
    chips = _quantified_chips(lazy, seed=1)
    df = chips.to_dataframe()
    before = df[["at_Fe", "counts", "chi2_red"]].to_numpy(copy=True)
    df.loc[:, "at_Fe"] = -1.0
    df["counts"] *= 0
    df.iloc[0, df.columns.get_loc("chi2_red")] = 1e9
    again = chips.to_dataframe()[["at_Fe", "counts", "chi2_red"]].to_numpy()
    np.testing.assert_array_equal(again, before)


def test_stored_precision_and_table_dtypes(lazy):
    # Detection limits are stored in single precision (Currie's limits are
    # good to a few %), and so are the table's mdl_ columns (a float64 copy
    # of them tipped a million-window table over 1.5 GB); flags are booleans.
    chips = _quantified_chips(lazy, seed=2)
    df = chips.to_dataframe()
    q = chips.metadata.Chipping.Quantification
    assert np.asarray(q.detection_limit_percent).dtype == np.float32
    assert np.asarray(q.detected).dtype == bool
    assert np.asarray(q.low_counts).dtype == bool
    assert df["mdl_La"].dtype == np.float32
    assert df["at_La"].dtype == np.float64
    assert df["detected_La"].dtype == bool
    column = list(q.elements).index("La")
    np.testing.assert_array_equal(
        df["mdl_La"], np.asarray(q.detection_limit_percent)[:, column]
    )
