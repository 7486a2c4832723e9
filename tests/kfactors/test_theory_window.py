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
"""Theoretical k-factors evaluated at the detector window the fit refined."""

import warnings

import numpy as np
import pytest

from hyperspy_chipping.data import sto_lfo_cross_section
from hyperspy_chipping.fitting._design import window_factor
from hyperspy_chipping.kfactors import theoretical_kfactors, window_kfactors
from hyperspy_chipping.quantification._kfactor_window import applied_window

LINES = ["Fe_Ka", "La_La", "O_Ka", "Sr_Ka", "Ti_Ka"]


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


@pytest.fixture(scope="module")
def thin_window_map():
    # The demo seen through a detector with a quarter of the nominal window:
    # the noise-free demo times the window's relative transmission.
    s = sto_lfo_cross_section((30, 30), seed=3, poisson=False)
    energy = s.axes_manager.signal_axes[0].axis
    rng = np.random.default_rng(3)
    s.data = rng.poisson(s.data * window_factor(energy, 0.25)).astype("uint16")
    s.set_signal_type("EDS_TEM_chipped")
    return s


@pytest.mark.parametrize("window", [0.0, 0.3, 1.0, 2.5])
def test_window_model_matches_theory_at_that_window(window):
    # The window model is exact: it is how theoretical_kfactors computes them.
    nominal = theoretical_kfactors(LINES, 200.0)
    fixed = theoretical_kfactors(LINES, 200.0, window=window)
    moved = window_kfactors(nominal, nominal.window_model, window)
    assert moved == pytest.approx(dict(fixed), rel=1e-12)


def test_window_model_only_without_a_window():
    assert not hasattr(theoretical_kfactors(LINES, window=1.0), "window_model")
    model = theoretical_kfactors(LINES).window_model
    assert model["reference"] == "Fe_Ka"
    for terms in model["terms"].values():  # yields normalised at nominal
        assert sum(t[0] for t in terms) == pytest.approx(1.0)


@pytest.mark.parametrize("window", [-0.1, float("nan"), "thin", True])
def test_window_kfactors_errors(window):
    k = theoretical_kfactors(["Fe_Ka", "O_Ka"])
    with pytest.raises(ValueError, match="`window` must be a non-negative number"):
        window_kfactors(k, k.window_model, window)


@pytest.mark.parametrize("window", [0.0, 0.5, (0.0, 150.0, 30.0), (1.0, 0.0, 80.0)])
def test_window_model_of_earlier_versions_follows_the_polymer(window):
    # Window models written before the nitride and the dead layer were
    # refined hold [yield, depth] pairs: they follow the polymer scale, and
    # agree with the [yield, depth, energy] form for a polymer-only change.
    nominal = theoretical_kfactors(LINES, 200.0)
    terms = nominal.window_model["terms"]
    old = {
        "reference": "Fe_Ka",
        "terms": {k: [t[:2] for t in v] for k, v in terms.items()},
    }
    polymer = window if np.ndim(window) == 0 else window[0]
    expected = window_kfactors(nominal, nominal.window_model, polymer)
    assert window_kfactors(nominal, old, window) == pytest.approx(expected, rel=1e-3)


@pytest.mark.parametrize(
    "response, expected",
    [
        (
            {
                "window_scale": 0.3,
                "nitride_nm": 80.0,
                "dead_layer_nm": 20.0,
                "significant": True,
            },
            (0.3, 80.0, 20.0),
        ),
        (
            {
                "window_scale": 0.3,
                "nitride_nm": 80.0,
                "dead_layer_nm": 20.0,
                "significant": False,
            },
            (1.0, 0.0, 30.0),
        ),
        # Results of earlier versions: a polymer scale and its std.
        ({"window_scale": 0.3, "window_scale_std": 0.02}, (0.3, 0.0, 30.0)),
        ({"window_scale": 1.03, "window_scale_std": 0.02}, (1.0, 0.0, 30.0)),
        ({"window_scale": 0.5}, (1.0, 0.0, 30.0)),  # no uncertainty: not trusted
        ({}, (1.0, 0.0, 30.0)),  # not refined
    ],
)
def test_applied_window(response, expected):
    assert applied_window(response) == expected


def test_user_kfactors_untouched(thin_window_map):
    chips = thin_window_map.chip(15)
    k = {"Fe_Ka": 1.0, "La_La": 2.5, "O_Ka": 2.0, "Sr_Ka": 1.8, "Ti_Ka": 1.1}
    chips.quantify_chips(k)
    q = chips.metadata.Chipping.Quantification
    assert q.kfactors.as_dictionary() == k
    assert "kfactor_window" not in q and "kfactors_nominal" not in q


@pytest.mark.parametrize("lazy", [False, True])
def test_theoretical_at_the_fitted_window(thin_window_map, lazy):
    s = thin_window_map.as_lazy() if lazy else thin_window_map
    chips = s.chip(15)
    maps = _quiet(chips.quantify_chips, "theoretical")
    df = _quiet(chips.to_dataframe)
    q = chips.metadata.Chipping.Quantification
    response = q.Detector_response
    # The fit sees the thin window (its transmission below 1 keV, whichever
    # layers make it; within 10 % from the 45 000 counts of this map, as a
    # polymer scale within 0.25 +- 0.15 would be), significantly, and the
    # k-factors applied are the theory's at that entrance.
    energy = np.array([0.3, 0.4, 0.53, 0.7, 1.0, 2.0])
    assert response.significant
    assert q.kfactor_window == [
        response.window_scale,
        response.nitride_nm,
        response.dead_layer_nm,
    ]
    np.testing.assert_allclose(
        window_factor(energy, q.kfactor_window), window_factor(energy, 0.25), rtol=0.1
    )
    nominal = theoretical_kfactors(LINES)
    expected = window_kfactors(nominal, nominal.window_model, q.kfactor_window)
    assert q.kfactors.as_dictionary() == pytest.approx(expected)
    assert q.kfactors_nominal.as_dictionary() == pytest.approx(dict(nominal))
    attrs = df.attrs["quantification"]
    assert attrs["kfactor_source"] == "theoretical"
    assert attrs["kfactors"] == pytest.approx(expected)
    assert attrs["kfactor_window"] == q.kfactor_window
    # The maps are those of the applied k-factors: quantifying with them,
    # fixed, gives the same compositions.
    fixed = s.chip(15)
    again = fixed.quantify_chips(dict(q.kfactors.as_dictionary()))
    for m, n in zip(maps, again):
        np.testing.assert_allclose(np.asarray(m.data), np.asarray(n.data), rtol=1e-9)


def test_lazy_equals_eager(thin_window_map):
    eager = thin_window_map.chip(15)
    lazy = thin_window_map.as_lazy().chip(15)
    maps_e = _quiet(eager.quantify_chips, "theoretical")
    maps_l = _quiet(lazy.quantify_chips, "theoretical")
    for a, b in zip(maps_e, maps_l):
        np.testing.assert_allclose(a.data, b.data.compute(), rtol=1e-9)
    _quiet(lazy.to_dataframe)
    qe = eager.metadata.Chipping.Quantification
    ql = lazy.metadata.Chipping.Quantification
    assert ql.kfactor_window == qe.kfactor_window
    assert ql.kfactors.as_dictionary() == pytest.approx(qe.kfactors.as_dictionary())


def test_saved_lazy_request_keeps_the_window_model(thin_window_map, tmp_path):
    # A lazy request saved before it is computed is quantified the same way
    # when loaded (the window model is plain numbers in the metadata).
    import hyperspy.api as hs

    eager = thin_window_map.chip(15)
    _quiet(eager.quantify_chips, "theoretical")
    lazy = thin_window_map.as_lazy().chip(15)
    _quiet(lazy.quantify_chips, "theoretical")
    lazy.save(tmp_path / "chips.zspy")
    back = hs.load(tmp_path / "chips.zspy", lazy=True)
    df = _quiet(back.to_dataframe)
    q = back.metadata.Chipping.Quantification
    assert q.kfactor_window == eager.metadata.Chipping.Quantification.kfactor_window
    np.testing.assert_allclose(df["at_O"], eager.to_dataframe()["at_O"], rtol=1e-9)
