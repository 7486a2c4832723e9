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
"""The one-pass Pearson kernel against its definition in double precision."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperspy_chipping.fitting._chi2_kernel import pearson_rows


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_channels=st.integers(1, 67),
    holes=st.sampled_from(["none", "zero", "negative", "nan"]),
)
def test_pearson_rows_follow_their_definition(seed, n_channels, holes):
    # mu = A a, v = W s; the sum of (y - mu)^2 / v over v > 0; the channels
    # with v <= 0 or NaN are counted, not summed; mu <= 0 counted per chip;
    # mu < 0 marked per channel. Odd channel counts exercise the loop tails.
    rng = np.random.default_rng(seed)
    n, k, m = 9, 3, 2
    design = rng.normal(1.0, 1.0, (k, n_channels)).astype(np.float32)
    shapes = rng.uniform(0.0, 2.0, (m, n_channels)).astype(np.float32)
    if holes != "none":
        at = rng.random(n_channels) < 0.3
        shapes[:, at] = {"zero": 0.0, "negative": -1.0, "nan": np.nan}[holes]
    amplitudes = rng.normal(5.0, 5.0, (n, k)).astype(np.float32)
    weights = rng.uniform(0.0, 5.0, (n, m)).astype(np.float32)
    y = rng.poisson(5.0, (n, n_channels)).astype(np.float32)
    total, invalid, nonpositive, negative = pearson_rows(
        y, amplitudes, design, weights, shapes
    )
    mu = amplitudes.astype(float) @ design
    v = weights.astype(float) @ shapes
    valid = v > 0
    terms = np.where(valid, (y - mu) ** 2 / np.where(valid, v, 1.0), 0.0)
    np.testing.assert_allclose(total, terms.sum(axis=1), rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(invalid, (~valid).sum(axis=1))
    # (Single-precision products: exact comparison away from 0 only.)
    clear = np.abs(mu) > 1e-3 * np.abs(mu).max()
    np.testing.assert_array_equal(
        nonpositive[clear.all(axis=1)], (mu <= 0).sum(axis=1)[clear.all(axis=1)]
    )
    np.testing.assert_array_equal(
        negative[clear.all(axis=0)], (mu < 0).any(axis=0)[clear.all(axis=0)]
    )


@pytest.mark.parametrize(
    "rows",
    [
        lambda wide: wide[:, 5:35],  # the fit range of wider rows
        lambda wide: wide[::2, 5:35],  # every other row
        lambda wide: wide[::-1, 5:35],  # reversed rows (copied)
        lambda wide: wide[2:3, 5:35],  # one row
        lambda wide: np.broadcast_to(wide[1, 5:35], (5, 30)),  # overlapping
        lambda wide: wide[:, 5:35].T.copy().T,  # column-major (copied)
    ],
)
def test_pearson_rows_of_row_views_equal_those_of_a_copy(rows):
    # Rows are read in place through a 1-D view of their span (numba then
    # vectorises); any layout gives the contiguous copy's results exactly.
    rng = np.random.default_rng(0)
    wide = rng.poisson(3.0, (5, 40)).astype(np.float32)
    view = rows(wide)
    n = view.shape[0]
    design = rng.uniform(0.0, 1.0, (2, 30)).astype(np.float32)
    args = (
        rng.uniform(1, 5, (n, 2)).astype(np.float32),
        design,
        np.ones((n, 1), np.float32),
        design[:1],
    )
    got = pearson_rows(view, *args)
    copy = pearson_rows(np.ascontiguousarray(view), *args)
    for a, b in zip(got, copy):
        np.testing.assert_array_equal(a, b)
    assert got[0].shape == (n,) and np.isfinite(got[0]).all()
    # The definition, in double precision.
    mu = args[0].astype(float) @ design
    expected = ((view - mu) ** 2 / (args[2].astype(float) @ design[:1])).sum(axis=1)
    np.testing.assert_allclose(got[0], expected, rtol=1e-5)


def test_pearson_rows_of_no_rows():
    design = np.ones((1, 4), np.float32)
    got = pearson_rows(
        np.zeros((0, 4), np.float32),
        np.zeros((0, 1), np.float32),
        design,
        np.zeros((0, 1), np.float32),
        design,
    )
    assert [a.shape for a in got] == [(0,), (0,), (0,), (4,)]
