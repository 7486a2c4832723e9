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
"""Bad input to quantify_chips and the other methods: a clear error, nothing changed.

The cases of ``chip()`` and the shared helpers are in ``test_bad_input.py``.
"""

import numpy as np
import pytest
from test_bad_input import (
    CHIP_CASES,
    SOURCE_CASES,
    K,
    _assert_same,
    _chips,
    _map,
    _unchanged,
)

QUANTIFY_CASES = [
    (
        "k-none",
        dict(kfactors=None),
        TypeError,
        r"`kfactors` must be a dict .* NoneType",
    ),
    ("k-str", dict(kfactors="La"), TypeError, r"`kfactors` must be a dict .* str"),
    ("k-empty", dict(kfactors={}), ValueError, r"`kfactors` is empty"),
    (
        "k-zero",
        dict(kfactors={**K, "La_La": 0}),
        ValueError,
        r"`kfactors\['La_La'\]` .* got 0",
    ),
    (
        "k-neg",
        dict(kfactors={**K, "La_La": -1.0}),
        ValueError,
        r"kfactors\['La_La'\].* -1\.0",
    ),
    (
        "k-nan",
        dict(kfactors={**K, "Fe_Ka": np.nan}),
        ValueError,
        r"kfactors\['Fe_Ka'\].* nan",
    ),
    (
        "k-inf",
        dict(kfactors={**K, "Fe_Ka": np.inf}),
        ValueError,
        r"kfactors\['Fe_Ka'\].* inf",
    ),
    (
        "k-bool",
        dict(kfactors={**K, "La_La": True}),
        TypeError,
        r"kfactors\['La_La'\].* True",
    ),
    (
        "k-string",
        dict(kfactors={**K, "La_La": "2"}),
        TypeError,
        r"kfactors\['La_La'\].* '2'",
    ),
    ("k-none-value", dict(kfactors={**K, "La_La": None}), TypeError, r"'La_La'.* None"),
    (
        "k-subline",
        dict(kfactors={**K, "La_Lb1": 1.0}),
        ValueError,
        r"'La_Lb1': quantify a main",
    ),
    (
        "k-foreign",
        dict(kfactors={**K, "Cu_Ka": 1.0}),
        ValueError,
        r"'Cu_Ka', but Cu is not",
    ),
    (
        "k-badkey",
        dict(kfactors={"Lanthanum": 1.0}),
        ValueError,
        r"'Lanthanum' is not of the form",
    ),
    (
        "k-mixed",
        dict(kfactors={"La_L": 2.0, "Fe_Ka": 1.0, "O_K": 2, "Sr_K": 1, "Ti_K": 1}),
        ValueError,
        r"mixes shell keys",
    ),
    (
        "k-shell-line",
        dict(
            kfactors={"La_L": 2, "Fe_K": 1, "O_K": 2, "Sr_K": 1, "Ti_K": 1},
            intensity="line",
        ),
        ValueError,
        r"keyed by shell .*intensity='line'",
    ),
    (
        "k-list-len",
        dict(kfactors=[1.0, 2.0]),
        ValueError,
        r"one value per line .* got 2 values",
    ),
    ("method", dict(method="XYZ"), ValueError, r"`method` must be one of .* 'XYZ'"),
    (
        "intensity",
        dict(intensity="both"),
        ValueError,
        r"`intensity` must be one of .* 'both'",
    ),
    ("model", dict(model="pca"), ValueError, r"`model` must be one of .* 'pca'"),
    ("composition", dict(composition="molar"), ValueError, r"`composition` .* 'molar'"),
    ("background", dict(background="linear"), ValueError, r"`background` .* 'linear'"),
    (
        "order-neg",
        dict(background_order=-1),
        ValueError,
        r"`background_order` must be >= 0, got -1",
    ),
    (
        "order-float",
        dict(background_order=2.5),
        TypeError,
        r"`background_order` .* 2\.5",
    ),
    (
        "order-bool",
        dict(background_order=True),
        TypeError,
        r"`background_order` .* True",
    ),
    (
        "order-huge",
        dict(background_order=50),
        ValueError,
        r"`background_order` .* got 50",
    ),
    (
        "range-scalar",
        dict(energy_range=5),
        TypeError,
        r"`energy_range` must be a pair .* 5",
    ),
    ("range-1", dict(energy_range=(5,)), TypeError, r"`energy_range` .* \(5,\)"),
    ("range-str", dict(energy_range="0-10"), TypeError, r"`energy_range` .* '0-10'"),
    (
        "range-reversed",
        dict(energy_range=(10, 2)),
        ValueError,
        r"low < high, got \(10, 2\)",
    ),
    ("range-equal", dict(energy_range=(3, 3)), ValueError, r"low < high, got \(3, 3\)"),
    (
        "range-nan",
        dict(energy_range=(np.nan, 5)),
        ValueError,
        r"`energy_range` must be finite",
    ),
    (
        "range-none-item",
        dict(energy_range=(None, 5)),
        TypeError,
        r"`energy_range` .* None",
    ),
    ("range-outside", dict(energy_range=(50, 60)), ValueError, r"holds no channel"),
    (
        "range-drops-line",
        dict(energy_range=(0.2, 5.0)),
        ValueError,
        r"(quantified line .* not in the model|has no X-ray line inside)",
    ),
    (
        "thick-neg",
        dict(thickness=-5, absorption_correction=True),
        ValueError,
        r"`thickness` must be a positive number, got -5",
    ),
    (
        "thick-zero",
        dict(thickness=0, absorption_correction=True),
        ValueError,
        r"`thickness` .* got 0",
    ),
    (
        "thick-str",
        dict(thickness="50", absorption_correction=True),
        TypeError,
        r"`thickness` .* '50'",
    ),
    (
        "thick-nan",
        dict(thickness=np.nan, absorption_correction=True),
        ValueError,
        r"`thickness` must be finite",
    ),
    (
        "thick-alone",
        dict(thickness=50),
        ValueError,
        r"`thickness`=50 is only used .* absorption_correction=True",
    ),
    (
        "thick-zeta",
        dict(thickness=50, absorption_correction=True, method="zeta"),
        ValueError,
        r"`thickness`=50 is for method='CL'",
    ),
    (
        "absorb-no-thick",
        dict(absorption_correction=True),
        ValueError,
        r"needs the specimen\s+`thickness`",
    ),
    (
        "absorb-str",
        dict(absorption_correction="yes"),
        TypeError,
        r"`absorption_correction` .* 'yes'",
    ),
    (
        "refine-str",
        dict(refine="no"),
        TypeError,
        r"`refine` must be True or False, got 'no'",
    ),
    ("refine-none", dict(refine=None), TypeError, r"`refine` .* None"),
]


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [c[1:] for c in QUANTIFY_CASES],
    ids=[c[0] for c in QUANTIFY_CASES],
)
def test_quantify_arguments(kwargs, exc, match, lazy):
    chips = _chips(lazy)
    before = _unchanged(chips)
    kwargs = dict(kwargs)
    kfactors = kwargs.pop("kfactors", K)
    with pytest.raises(exc, match=match):
        chips.quantify_chips(kfactors, **kwargs)
    _assert_same(before, chips)


def _meta(path, value):
    def make():
        chips = _chips()
        if value is None:
            chips.metadata.Acquisition_instrument.TEM.__delattr__(path)
        else:
            chips.metadata.set_item(f"Acquisition_instrument.TEM.{path}", value)
        return chips

    return make


def _no_elements():
    chips = _chips()
    chips.metadata.Sample.elements = []
    del chips.metadata.Sample.xray_lines
    return chips


def _nonuniform_energy():
    chips = _chips()
    chips.axes_manager.signal_axes[0].convert_to_non_uniform_axis()
    return chips


def _metre_energy():
    chips = _chips()
    chips.axes_manager.signal_axes[0].units = "m"
    return chips


def _nan_chips():
    chips = _chips()
    chips.change_dtype("float64")
    chips.data[0, 0, 500] = np.nan
    return chips


STATE_CASES = [
    (
        "beam-0",
        _meta("beam_energy", 0.0),
        ValueError,
        r"beam_energy must be a positive .* got 0\.0",
    ),
    (
        "beam-neg",
        _meta("beam_energy", -300.0),
        ValueError,
        r"beam_energy .* got -300\.0",
    ),
    ("beam-nan", _meta("beam_energy", np.nan), ValueError, r"beam_energy .* got nan"),
    (
        "beam-str",
        _meta("beam_energy", "high"),
        ValueError,
        r"beam_energy .* got 'high'",
    ),
    ("no-elements", _no_elements, ValueError, r"No elements to fit"),
    (
        "nonuniform-energy",
        _nonuniform_energy,
        NotImplementedError,
        r"energy axis .* not uniform",
    ),
    ("energy-units", _metre_energy, ValueError, r"keV or eV, got units 'm'"),
    ("nan-chips", _nan_chips, ValueError, r"NaN, infinite or negative counts"),
    ("not-chipped", _map, ValueError, r"not the output of\s+chip\(\)"),
]


@pytest.mark.parametrize(
    "make, exc, match", [c[1:] for c in STATE_CASES], ids=[c[0] for c in STATE_CASES]
)
def test_quantify_signal_state(make, exc, match):
    chips = make()
    before = _unchanged(chips)
    with pytest.raises(exc, match=match):
        chips.quantify_chips(K)
    _assert_same(before, chips)


def test_fewer_channels_than_model_terms(make_map):
    chips = make_map(shape=(8, 8), n_channels=512).chip(4)
    chips.metadata.Sample.elements = ["Fe"]
    before = _unchanged(chips)
    # 6.2-6.5 keV at 20 eV per channel: 16 channels; Fe K and a degree-20
    # background: 22 terms.
    with pytest.raises(ValueError, match=r"holds 16 channels, not more than the 22"):
        chips.quantify_chips(
            {"Fe_Ka": 1.0}, energy_range=(6.2, 6.5), background_order=20
        )
    _assert_same(before, chips)


@pytest.mark.parametrize("method", ["zeta", "cross_section"])
@pytest.mark.parametrize("item", ["beam_current", "Detector.EDS.live_time"])
def test_dose_methods_need_current_and_time(method, item):
    s = _map()
    node, _, name = f"Acquisition_instrument.TEM.{item}".rpartition(".")
    if s.metadata.has_item(f"{node}.{name}"):
        delattr(s.metadata.get_item(node), name)
    chips = s.chip(15)
    before = _unchanged(chips)
    with pytest.raises(ValueError, match=rf"method='{method}' needs the beam current"):
        chips.quantify_chips(K, method=method)
    _assert_same(before, chips)


def test_missing_beam_energy_says_the_default():
    chips = _meta("beam_energy", None)()
    with pytest.warns(UserWarning, match=r"beam_energy is not set: 300 kV is assumed"):
        chips.quantify_chips(K)


OTHER_CASES = [
    (
        "df-spectra",
        lambda c: c.to_dataframe(spectra="yes"),
        TypeError,
        r"`spectra` must be True or False, got 'yes'",
    ),
    (
        "df-spectra-int",
        lambda c: c.to_dataframe(spectra=1),
        TypeError,
        r"`spectra` .* got 1",
    ),
    (
        "df-format",
        lambda c: c.to_dataframe(spectrum_format="long"),
        ValueError,
        r"`spectrum_format` .* 'long'",
    ),
    (
        "df-unchipped",
        lambda c: _map().to_dataframe(),
        ValueError,
        r"not the output of\s+chip\(\)",
    ),
    (
        "model-unquantified",
        lambda c: c.get_fit_model(),
        ValueError,
        r"has not been quantified",
    ),
    (
        "source-map-shape",
        lambda c: c.get_source_map(np.ones((3, 3))),
        ValueError,
        r"`values` must have the chip navigation shape \(2, 2\) .* \(3, 3\)",
    ),
    (
        "source-map-unchipped",
        lambda c: _map().get_source_map(np.ones((2, 2))),
        ValueError,
        r"not the output of",
    ),
    (
        "plot-image-shape",
        lambda c: c.plot_chips(np.ones((5, 5))),
        ValueError,
        r"`image` must have the source navigation shape \(30, 30\) .* \(5, 5\)",
    ),
    ("plot-unchipped", lambda c: _map().plot_chips(), ValueError, r"not the output of"),
]


@pytest.mark.parametrize(
    "call, exc, match", [c[1:] for c in OTHER_CASES], ids=[c[0] for c in OTHER_CASES]
)
def test_other_methods(call, exc, match):
    chips = _chips()
    before = _unchanged(chips)
    with pytest.raises(exc, match=match):
        call(chips)
    _assert_same(before, chips)


def test_line_scan_chips_cannot_be_plotted():
    s = _map().inav[:, 0]
    chips = s.chip(5)
    with pytest.raises(ValueError, match=r"plot_chips needs chips of a 2-D map"):
        chips.plot_chips()


def test_there_are_at_least_100_cases():
    n = 2 * len(CHIP_CASES) + len(SOURCE_CASES) + 2 * len(QUANTIFY_CASES)
    n += len(STATE_CASES) + len(OTHER_CASES)
    assert n >= 100
