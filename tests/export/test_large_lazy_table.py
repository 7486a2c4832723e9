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
"""The table of a large lazy chip set holds its results once (issue 14).

Above ``KEEP_BYTES`` of per-chip results, ``to_dataframe()`` of a lazy chip
set computes only the columns of the table, into the table's own arrays,
and keeps nothing in the metadata. The table must be the one the stored
results give, column for column and bit for bit.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from hyperspy_chipping.chipping._windows import window_source
from hyperspy_chipping.data import sto_lfo_cross_section
from hyperspy_chipping.quantification import _stored


@pytest.fixture(scope="module")
def demo():
    s = sto_lfo_cross_section((36, 30), seed=5)
    s.set_signal_type("EDS_TEM_chipped")
    return s


def _kfactors(demo):
    return demo.metadata.Simulation.kfactors.as_dictionary()


def _tables(make, monkeypatch, **options):
    """The table with the results stored, then computed for the table alone."""
    k = options.pop("kfactors")
    stored = make()
    stored.quantify_chips(k, **options)
    expected = stored.to_dataframe()
    assert "atomic_percent" in stored.metadata.Chipping.Quantification
    monkeypatch.setattr(_stored, "KEEP_BYTES", 0)
    chips = make()
    chips.quantify_chips(k, **options)
    df = chips.to_dataframe()
    return chips, df, expected


def _assert_identical(df, expected):
    pd.testing.assert_frame_equal(df, expected, check_exact=True)
    assert df.attrs == expected.attrs


def test_streamed_windows_table_equals_the_stored_results(demo, monkeypatch):
    chips, df, expected = _tables(
        lambda: demo.chip(5, step=1, lazy_output=True),
        monkeypatch,
        kfactors=_kfactors(demo),
    )
    assert window_source(chips) is not None  # the streamed path
    _assert_identical(df, expected)
    # Nothing per chip was kept: the lazy signal still holds the request.
    q = chips.metadata.Chipping.Quantification
    assert "atomic_percent" not in q and "request" not in q
    assert q.get_item("lazy") is True
    # The composition columns are the table's own block, not copies.
    assert df._mgr.nblocks < 20


def test_large_lazy_grid_table_equals_the_stored_results(demo, monkeypatch):
    # A lazy grid above ONE_PASS_BYTES takes the two-pass path as well.
    monkeypatch.setattr(_stored, "ONE_PASS_BYTES", 0)
    chips, df, expected = _tables(
        lambda: demo.as_lazy().chip(3), monkeypatch, kfactors=_kfactors(demo)
    )
    assert window_source(chips) is None
    _assert_identical(df, expected)
    assert "atomic_percent" not in chips.metadata.Chipping.Quantification


def test_zeta_table_keeps_mass_thickness(demo, monkeypatch):
    monkeypatch.setattr(_stored, "ONE_PASS_BYTES", 0)
    zeta = {"Fe_Ka": 600.0, "La_La": 900.0, "O_Ka": 300.0, "Sr_Ka": 700.0}
    zeta["Ti_Ka"] = 650.0
    chips, df, expected = _tables(
        lambda: demo.as_lazy().chip(6), monkeypatch, kfactors=zeta, method="zeta"
    )
    assert "mass_thickness" in df
    _assert_identical(df, expected)


def test_an_edit_of_the_table_reaches_nothing_else(demo, monkeypatch):
    monkeypatch.setattr(_stored, "KEEP_BYTES", 0)
    chips = demo.chip(5, step=1, lazy_output=True)
    chips.quantify_chips(_kfactors(demo))
    df = chips.to_dataframe()
    first = df["at_La"].to_numpy().copy()
    df.loc[:, "at_La"] = -1.0
    again = chips.to_dataframe()  # computed again, from the data
    np.testing.assert_array_equal(again["at_La"].to_numpy(), first)


def test_weak_chips_are_reported_once(monkeypatch):
    monkeypatch.setattr(_stored, "KEEP_BYTES", 0)
    # ~6 counts a pixel: the summed spectrum calibrates, many 2 x 2 px
    # windows are too weak.
    s = sto_lfo_cross_section((30, 30), 6.0, seed=6)
    s.set_signal_type("EDS_TEM_chipped")
    chips = s.chip(2, step=1, lazy_output=True)
    chips.quantify_chips(_kfactors(s))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = chips.to_dataframe()
    weak = [w for w in caught if "too weak to quantify" in str(w.message)]
    assert len(weak) == 1
    n = int(df["low_counts"].sum())
    assert 0 < n < len(df) and f"{n} of {len(df)} chips" in str(weak[0].message)
    assert df.loc[df["low_counts"], "at_La"].isna().all()
