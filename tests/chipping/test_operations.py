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
"""HyperSpy operations on chipped signals: the table stays true, or says so."""

import warnings

import numpy as np
import pytest

from hyperspy_chipping.data import sto_lfo_cross_section


def _hand_row(data, y0, y1, x0, x1):
    return int(np.asarray(data)[y0:y1, x0:x1].sum())


@pytest.fixture
def quantified():
    s = sto_lfo_cross_section((40, 40), seed=4)
    s.set_signal_type("EDS_TEM_chipped")
    chips = s.chip(8)
    chips.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())
    return s, chips


def test_inav_single_chip_keeps_its_identity(make_map, lazy):
    s = make_map(shape=(24, 16), n_channels=32, lazy=lazy)
    chips = s.chip(4)  # 4 columns (x) x 6 rows (y)
    one = chips.inav[1, 2]
    assert one.axes_manager.navigation_dimension == 0
    df = one.to_dataframe()
    assert len(df) == 1
    row = df.iloc[0]
    # Column 1, row 2 of a 4-wide grid: flat index 2 * 4 + 1.
    assert (row.chip_id, row.row, row.col) == (9, 2, 1)
    assert (row.y0, row.y1, row.x0, row.x1) == (8, 12, 4, 8)
    data = np.asarray(s.data)
    assert row.counts == _hand_row(data, 8, 12, 4, 8)


def test_inav_keeps_chip_ids_and_bounds(make_map, lazy):
    s = make_map(shape=(24, 16), n_channels=32, lazy=lazy)
    chips = s.chip(4)
    full = chips.to_dataframe().set_index("chip_id")
    for sliced in (
        chips.inav[1:3, 2:4],
        chips.inav[:, 2],
        chips.inav[3],
        chips.inav[::2],
    ):
        df = sliced.to_dataframe()
        assert df.chip_id.is_unique
        cols = ["row", "col", "y0", "y1", "x0", "x1", "n_pixels", "counts"]
        np.testing.assert_array_equal(
            df.set_index("chip_id")[cols].to_numpy(), full.loc[df.chip_id, cols]
        )
    # Row 2 in full: chips 8..11.
    assert list(chips.inav[:, 2].to_dataframe().chip_id) == [8, 9, 10, 11]
    # Column 3: chips 3, 7, 11, ...
    assert list(chips.inav[3].to_dataframe().chip_id) == [3, 7, 11, 15, 19, 23]


def test_inav_twice_and_labels(make_map):
    s = make_map(shape=(12, 10), n_channels=16)
    chips = s.chip(2)
    twice = chips.inav[:, 3].inav[2]
    assert twice.to_dataframe().chip_id.tolist() == [3 * 5 + 2]
    labels = np.zeros((12, 10), int)
    labels[:4], labels[4:8], labels[8:] = 3, 5, 9
    by_label = s.chip(labels=labels)
    df = by_label.inav[1].to_dataframe()
    assert df.label.tolist() == [5]
    assert df.counts.tolist() == [_hand_row(s.data, 4, 8, 0, 10)]


def test_sliced_results_stay_with_their_chip(quantified):
    _, chips = quantified
    full = chips.to_dataframe().set_index("chip_id")
    one = chips.inav[2, 3].to_dataframe().iloc[0]
    assert one.chip_id == 3 * 5 + 2
    assert one.at_La == pytest.approx(full.loc[17, "at_La"])


def test_sum_over_chips_is_not_chipped(make_map, lazy):
    chips = make_map(shape=(12, 10), n_channels=16, lazy=lazy).chip(2)
    with pytest.warns(UserWarning, match=r"sum\(\) over the navigation axes merged"):
        total = chips.sum()
    assert "Chipping" not in total.metadata
    assert "Chipping" in chips.metadata  # the chips themselves are unchanged
    with pytest.raises(ValueError, match=r"not the output of\s+chip\(\)"):
        total.to_dataframe()
    with pytest.warns(UserWarning, match=r"mean\(\) over the navigation axes"):
        chips.mean("x")


def test_sum_over_energy_keeps_the_chips(make_map):
    chips = make_map(shape=(12, 10), n_channels=16).chip(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        counts = chips.sum(-1)
    assert "Chipping" in counts.metadata


def test_rebin_of_the_chips_drops_the_chipping(make_map, lazy):
    chips = make_map(shape=(16, 16), n_channels=32, lazy=lazy).chip(4)
    with pytest.warns(UserWarning, match=r"rebin\(\) merged chips"):
        merged = chips.rebin(scale=(2, 2, 1))
    assert "Chipping" not in merged.metadata
    with pytest.raises(ValueError, match="not the output of"):
        merged.to_dataframe()


def test_rebin_of_energy_drops_the_quantification(quantified):
    _, chips = quantified
    with pytest.warns(UserWarning, match=r"rebin\(\) changed the energy axis"):
        coarse = chips.rebin(scale=(1, 1, 2))
    assert "Quantification" not in coarse.metadata.Chipping
    assert "at_La" not in coarse.to_dataframe()
    assert "at_La" in chips.to_dataframe()


def test_isig_after_quantifying(quantified):
    _, chips = quantified
    with pytest.warns(UserWarning, match="energy axis was sliced"):
        cropped = chips.isig[0.2:12.0]
    df = cropped.to_dataframe()
    assert not any(c.startswith(("at_", "I_")) for c in df)
    with pytest.raises(ValueError, match="has not been quantified"):
        cropped.get_fit_model()
    # Slicing the chips only keeps the fit.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "at_La" in chips.inav[1:3].to_dataframe()


def test_data_written_in_place_is_detected(quantified):
    _, chips = quantified
    chips.data[:] = 0
    with pytest.warns(UserWarning, match=r"counts of 25 of 25 chips have changed"):
        df = chips.to_dataframe()
    assert "at_La" not in df
    assert (df.counts == 0).all()
    with pytest.raises(ValueError, match="Quantification is stale"):
        chips.get_fit_model()


def test_energy_axis_recalibrated_in_place(quantified):
    _, chips = quantified
    chips.axes_manager.signal_axes[0].offset += 0.05
    with pytest.warns(UserWarning, match="energy axis has changed"):
        df = chips.to_dataframe()
    assert "at_La" not in df


def test_recalibrated_navigation_is_refused(make_map):
    chips = make_map(shape=(16, 16), n_channels=16).chip(4)
    chips.axes_manager.navigation_axes[0].offset += 0.3
    with pytest.raises(ValueError, match=r"navigation axis 'x' are not chip"):
        chips.to_dataframe()


def test_swapped_navigation_is_refused(make_map):
    chips = make_map(shape=(16, 16), n_channels=16).chip(4)
    swapped = chips.swap_axes(0, 1)
    with pytest.raises(ValueError, match=r"axis 'y' stands where the chip axis 'x'"):
        swapped.to_dataframe()


def test_copy_and_roundtrip_keep_fixed_index(make_map, tmp_path):
    import hyperspy.api as hs

    one = make_map(shape=(8, 8), n_channels=16).chip(4).inav[1, 0]
    one.save(tmp_path / "one.hspy")
    back = hs.load(tmp_path / "one.hspy")
    assert back.to_dataframe().chip_id.tolist() == [1]
    assert one.deepcopy().to_dataframe().chip_id.tolist() == [1]


def test_a_single_chip_can_be_quantified(quantified):
    s, chips = quantified
    full = chips.to_dataframe().set_index("chip_id")
    one = chips.inav[2, 3]
    maps = one.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())
    assert maps[0].data.size == 1
    row = one.to_dataframe().iloc[0]
    assert row.chip_id == 17
    # Calibrated on its own spectrum, the chip agrees with the map's fit
    # within its uncertainty.
    for el in ("La", "O", "Sr"):
        assert abs(row[f"at_{el}"] - full.loc[17, f"at_{el}"]) < 3 * row[f"at_{el}_std"]


def test_maps_are_not_views_of_the_stored_results():
    s = sto_lfo_cross_section((30, 30), seed=4)
    s.set_signal_type("EDS_TEM_chipped")
    chips = s.chip(10)
    maps = chips.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())
    before = chips.to_dataframe()["at_La"].to_numpy().copy()
    maps[1].data *= 2  # the user edits a returned map
    np.testing.assert_array_equal(chips.to_dataframe()["at_La"], before)
