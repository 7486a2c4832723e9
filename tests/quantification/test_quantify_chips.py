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
"""quantify_chips against ground truth, stock exspy and conservation laws."""

import warnings

import exspy
import numpy as np
import pytest

from hyperspy_chipping.data import sto_lfo_cross_section

TRUTH = {"LFO": {"La": 20, "Fe": 20, "O": 60}, "STO": {"Sr": 20, "Ti": 20, "O": 60}}


def _demo(shape=(120, 120), **kwargs):
    s = sto_lfo_cross_section(shape, 50.0, seed=7, **kwargs)
    s.set_signal_type("EDS_TEM_chipped")
    return s


def _pure_chips(chips, df):
    """Chips lying entirely in one phase, by the simulation's phase map."""
    phase = chips.metadata.Simulation.phase_map
    out = {}
    for name, label in (("LFO", 1), ("STO", 2)):
        pure = [
            (phase[r.y0 : r.y1, r.x0 : r.x1] == label).all() for r in df.itertuples()
        ]
        out[name] = df[np.array(pure)]
    return out


@pytest.fixture(scope="module")
def demo():
    return _demo()


@pytest.fixture(scope="module")
def quantified(demo):
    chips = demo.chip(15)
    chips.quantify_chips(demo.metadata.Simulation.kfactors.as_dictionary())
    return chips


@pytest.mark.parametrize("intensity", ["family", "line"])
def test_pure_phases_within_2_percent(demo, intensity):
    chips = demo.chip(15)
    sim = demo.metadata.Simulation
    k = sim.kfactors if intensity == "family" else sim.kfactors_line
    chips.quantify_chips(k.as_dictionary(), intensity=intensity)
    df = chips.to_dataframe()
    for phase, rows in _pure_chips(chips, df).items():
        assert len(rows) >= 16
        for element, truth in TRUTH[phase].items():
            mean = rows[f"at_{element}"].mean()
            assert mean == pytest.approx(truth, rel=0.02), (phase, element, mean)


def test_velox_axis_with_zero_peak_within_2_percent():
    s = _demo(energy_offset=-0.25, zero_peak_counts=20.0)
    chips = s.chip(15)
    chips.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())
    df = chips.to_dataframe()
    for phase, rows in _pure_chips(chips, df).items():
        for element, truth in TRUTH[phase].items():
            assert rows[f"at_{element}"].mean() == pytest.approx(truth, rel=0.02)


def test_composition_sums_and_weight_atomic_consistency(quantified):
    df = quantified.to_dataframe()
    at = df.filter(regex=r"^at_[A-Z][a-z]?$")
    wt = df.filter(regex=r"^wt_[A-Z][a-z]?$")
    np.testing.assert_allclose(at.sum(axis=1), 100)
    np.testing.assert_allclose(wt.sum(axis=1), 100)
    # wt_A / wt_B = at_A M_A / (at_B M_B) with M from exspy's database.
    masses = {"Fe": 55.845, "La": 138.905, "O": 15.999, "Sr": 87.62, "Ti": 47.867}
    r = df.iloc[0]
    assert r.wt_La / r.wt_Fe == pytest.approx(
        r.at_La * masses["La"] / (r.at_Fe * masses["Fe"]), rel=1e-3
    )


def test_chi2_is_about_one_for_a_correct_model(quantified):
    chi2 = quantified.to_dataframe()["chi2_red"]
    assert chi2.mean() == pytest.approx(1.0, abs=0.05)


def test_reported_std_matches_chip_to_chip_spread():
    s = _demo(shape=(300, 300))
    chips = s.chip(10)
    chips.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())
    df = chips.to_dataframe()
    sto = _pure_chips(chips, df)["STO"]
    assert len(sto) > 300
    for element in ("Sr", "Ti", "O"):
        ratio = sto[f"at_{element}_std"].mean() / sto[f"at_{element}"].std()
        assert 0.8 < ratio < 1.2, (element, ratio)
    for line in ("Sr_Ka", "Ti_Ka", "O_Ka"):
        ratio = sto[f"I_{line}_std"].mean() / sto[f"I_{line}"].std()
        assert 0.8 < ratio < 1.2, (line, ratio)


def test_absent_element_is_zero_and_does_not_corrupt_others(demo):
    s = demo.deepcopy()
    s.add_elements(["Cu"])
    chips = s.chip(15)
    k = dict(s.metadata.Simulation.kfactors.as_dictionary(), Cu_Ka=1.2)
    chips.quantify_chips(k)
    df = chips.to_dataframe()
    assert (df["at_Cu"] >= 0).all()
    # Noise only: the signed intensity scatters around 0 within its std.
    assert abs(df["I_Cu_Ka"].mean()) < 3 * df["I_Cu_Ka_std"].mean() / np.sqrt(len(df))
    assert (df["at_Cu"] < 3 * df["at_Cu_std"] + 1e-9).all()
    for phase, rows in _pure_chips(chips, df).items():
        for element, truth in TRUTH[phase].items():
            assert rows[f"at_{element}"].mean() == pytest.approx(truth, rel=0.02)


def test_system_peak_fitted_but_not_quantified():
    s = _demo(system_peaks=("Cu",))
    s.add_elements(["Cu"])
    chips = s.chip(15)
    chips.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())
    df = chips.to_dataframe()
    assert "at_Cu" not in df
    for phase, rows in _pure_chips(chips, df).items():
        for element, truth in TRUTH[phase].items():
            assert rows[f"at_{element}"].mean() == pytest.approx(truth, rel=0.02)


def test_exspy_model_reproduces_stock_multifit(demo):
    chips = demo.inav[:60, :60].chip(15)
    k_line = demo.metadata.Simulation.kfactors_line.as_dictionary()
    maps = chips.quantify_chips(k_line, intensity="line", model="exspy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = chips.create_model()
        m.multifit(optimizer="lstsq", show_progressbar=False)
        intensities = m.get_lines_intensity(xray_lines=list(k_line))
    stock = chips.quantification(intensities, "CL", factors=list(k_line.values()))
    for ours, ref in zip(maps, stock):
        np.testing.assert_allclose(ours.data, ref.data, atol=0.1)


def test_family_kfactors_with_line_intensities_is_the_studys_error(demo):
    # Stock exspy pairs main-line intensities with family k-factors: La comes
    # out low by the La L family / La La ratio over Fe's (DESIGN.md §3).
    chips = demo.inav[:, :30].chip(15)  # LaFeO3 rows only
    k_family = demo.metadata.Simulation.kfactors.as_dictionary()
    wrong = chips.quantify_chips(k_family, intensity="line", model="exspy")
    right = chips.quantify_chips(k_family, intensity="family", model="exspy")
    la_fe_wrong = np.mean(wrong[1].data / wrong[0].data)
    la_fe_right = np.mean(right[1].data / right[0].data)
    # exspy's own family sums: La L 2.011 x La_La, Fe K 1.127 x Fe_Ka.
    assert la_fe_wrong / la_fe_right == pytest.approx(1.127 / 2.011, rel=0.01)
    assert la_fe_right == pytest.approx(1.0, rel=0.06)


@pytest.mark.parametrize("method", ["zeta", "cross_section"])
def test_zeta_and_cross_section_give_cl_composition(demo, method):
    chips = demo.inav[:, :30].chip(15)
    k = demo.metadata.Simulation.kfactors.as_dictionary()
    cl = chips.quantify_chips(k)
    # Zeta factors proportional to k-factors give the same composition; cross
    # sections sigma_A proportional to M_A / k_A do too.
    masses = {"Fe": 55.845, "La": 138.90547, "O": 15.9994, "Sr": 87.62, "Ti": 47.867}
    if method == "zeta":
        factors = {line: 500.0 * v for line, v in k.items()}
    else:
        factors = {line: 1e3 * masses[line.split("_")[0]] / v for line, v in k.items()}
    other = chips.quantify_chips(factors, method=method)
    for a, b in zip(cl, other):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-3)
    assert "mass_thickness" in chips.to_dataframe() or method == "cross_section"


def test_absorption_correction_raises_light_elements(demo):
    chips = demo.inav[:, 60:].chip(15)  # SrTiO3
    k = demo.metadata.Simulation.kfactors.as_dictionary()
    plain = chips.quantify_chips(k)
    corrected = chips.quantify_chips(k, absorption_correction=True, thickness=100.0)
    o_plain, o_corr = plain[2].data.mean(), corrected[2].data.mean()
    # O K (0.525 keV) is absorbed most: correcting raises it, by a few %.
    assert 1.0 < o_corr / o_plain < 1.3
    assert chips.metadata.Chipping.Quantification.take_off_angle == pytest.approx(
        chips.get_take_off_angle()
    )


def test_lazy_equals_eager(demo):
    eager = demo.inav[:45, :45].chip(15)
    lazy = demo.inav[:45, :45].as_lazy().chip(15)
    k = demo.metadata.Simulation.kfactors.as_dictionary()
    a = eager.quantify_chips(k)
    b = lazy.quantify_chips(k)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x.data, np.asarray(y.data), rtol=1e-9)


def test_ev_axis_gives_same_result(demo):
    s = demo.inav[:45, :45].deepcopy()
    k = demo.metadata.Simulation.kfactors.as_dictionary()
    ref = s.chip(15).quantify_chips(k)
    e = s.axes_manager.signal_axes[0]
    e.scale, e.offset, e.units = e.scale * 1000, e.offset * 1000, "eV"
    s.set_microscope_parameters(energy_resolution_MnKa=130.0)
    ev = s.chip(15).quantify_chips(k)
    for x, y in zip(ref, ev):
        np.testing.assert_allclose(x.data, y.data, rtol=1e-6)


@pytest.mark.parametrize("lazy", [False, True])
def test_zero_count_chips_are_nan_and_flagged(demo, lazy):
    s = demo.inav[:30, :30].deepcopy()
    s.data[:15, :15] = 0
    chips = (s.as_lazy() if lazy else s).chip(15)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        maps = chips.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())
        df = chips.to_dataframe()
    maps = [np.asarray(m.data) for m in maps]
    assert np.isnan(maps[0][0, 0]) and np.isfinite(maps[0][1, 1])
    assert df["low_counts"].tolist() == [True, False, False, False]
    # No counts, no fit to judge: not the 0 of an empty residual.
    assert np.isnan(df["chi2_red"][0]) and np.isfinite(df["chi2_red"][1:]).all()
    assert (df.filter(like="_std").iloc[0].dropna() > 0).all()


def test_results_survive_save_load_slicing_and_lazy(quantified):
    quantified.save("q.hspy")
    import hyperspy.api as hs

    back = hs.load("q.hspy")
    df = quantified.to_dataframe()
    assert back.to_dataframe().equals(df)
    assert back.as_lazy().to_dataframe().equals(df)
    part = quantified.inav[1:3, 2:].to_dataframe()
    sel = df[(df["col"].between(1, 2)) & (df["row"] >= 2)].reset_index(drop=True)
    np.testing.assert_array_equal(part["at_La"], sel["at_La"])


def test_maps_are_signals_with_chip_calibration(quantified):
    maps = quantified.quantify_chips(
        quantified.metadata.Simulation.kfactors.as_dictionary(), composition="weight"
    )
    assert maps[1].metadata.General.title == "weight percent of La"
    x = maps[1].axes_manager.signal_axes[0]
    assert x.scale == quantified.axes_manager.navigation_axes[0].scale
    source = quantified.get_source_map(maps[1])
    assert source.data.shape == (120, 120)


def test_kfactor_list_in_exspy_order(demo):
    chips = demo.inav[:30, :30].chip(15)
    k = demo.metadata.Simulation.kfactors.as_dictionary()
    a = chips.quantify_chips(k)
    b = chips.quantify_chips([k[line] for line in sorted(k)])
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.data, y.data)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"method": "XYZ"}, ValueError, r"`method` must be one of .* got 'XYZ'"),
        ({"intensity": "shell"}, ValueError, r"`intensity` must be one of"),
        ({"model": "gauss"}, ValueError, r"`model` must be one of .* got 'gauss'"),
        ({"composition": "molar"}, ValueError, r"`composition` must be one of"),
        ({"background": "linear"}, ValueError, r"`background` must be one of"),
        (
            {"energy_range": (0.2, 5.0)},
            ValueError,
            r"The quantified line Fe_Ka is not in the model",
        ),
        (
            {"energy_range": (0.2, 1.0)},
            ValueError,
            r"Sr \(metadata.Sample.elements\) has no X-ray line inside",
        ),
        (
            {"method": "zeta", "beam_current": None},
            ValueError,
            r"needs the beam current and the live time",
        ),
        (
            {"absorption_correction": True},
            ValueError,
            r"needs the specimen `thickness`",
        ),
    ],
)
def test_bad_options(demo, kwargs, error, match):
    chips = demo.inav[:30, :30].chip(15)
    k = demo.metadata.Simulation.kfactors.as_dictionary()
    if kwargs.pop("beam_current", 1) is None:
        del chips.metadata.Acquisition_instrument.TEM.beam_current
    with pytest.raises(error, match=match):
        chips.quantify_chips(k, **kwargs)
    assert "Quantification" not in chips.metadata.Chipping


@pytest.mark.parametrize(
    "kfactors, error, match",
    [
        (
            {"Fe_Ka": 1, "La_La": 2, "O_Ka": 2, "Sr_Ka": 2, "Ti_Ka": 1, "Cu_Ka": 1},
            ValueError,
            r"`kfactors` has 'Cu_Ka', but Cu is not in metadata.Sample.elements",
        ),
        (
            {"Fe_Ka": 1, "La_La": 0, "O_Ka": 2, "Sr_Ka": 2, "Ti_Ka": 1},
            ValueError,
            r"`kfactors\['La_La'\]` must be a positive number, got 0",
        ),
        (
            {"Fe_Ka": 1, "La_La": np.nan, "O_Ka": 2, "Sr_Ka": 2, "Ti_Ka": 1},
            ValueError,
            r"`kfactors\['La_La'\]` must be a positive number, got nan",
        ),
        ([1.0, 2.0], ValueError, r"needs one value per line .* got 2 values"),
        ("Fe_Ka=1", TypeError, r"`kfactors` must be a dict"),
        ({"Fe_Kb": 1.0}, ValueError, r"quantify a main line"),
        ({"FeKa": 1.0}, ValueError, r"'FeKa' is not of the form"),
        ({}, ValueError, r"`kfactors` is empty"),
        (
            {"Fe_K": 1, "La_La": 2, "O_Ka": 2, "Sr_Ka": 2, "Ti_Ka": 1},
            ValueError,
            r"mixes shell keys",
        ),
    ],
)
def test_bad_kfactors(demo, kfactors, error, match):
    chips = demo.inav[:30, :30].chip(15)
    with pytest.raises(error, match=match):
        chips.quantify_chips(kfactors)


def test_shell_kfactors_conflict_with_line_intensity(demo):
    chips = demo.inav[:30, :30].chip(15)
    k = {"Fe_K": 1, "La_L": 2.5, "O_K": 2, "Sr_K": 1.8, "Ti_K": 1.1}
    chips.quantify_chips(k)  # shells are family k-factors: fine
    with pytest.raises(ValueError, match=r"keyed by shell .* do not pair"):
        chips.quantify_chips(k, intensity="line")


def test_no_elements():
    s = exspy.signals.EDSTEMSpectrum(np.ones((4, 4, 64)))
    s.set_signal_type("EDS_TEM_chipped")
    chips = s.chip(2)
    with pytest.raises(ValueError, match=r"No elements to fit: set them with"):
        chips.quantify_chips({"Fe_Ka": 1.0})


def test_not_chipped(demo):
    with pytest.raises(ValueError, match=r"Call s.chip"):
        demo.quantify_chips({"Fe_Ka": 1.0})


@pytest.mark.parametrize("bad", [np.nan, -1.0])
def test_bad_counts(demo, bad):
    chips = demo.inav[:30, :30].chip(15)
    chips.change_dtype("float64")
    chips.data[0, 0, 500] = bad
    with pytest.raises(ValueError, match=r"(NaN or infinite|negative) counts"):
        chips.quantify_chips(demo.metadata.Simulation.kfactors.as_dictionary())


@pytest.mark.parametrize("bad", [np.nan, -1.0])
def test_chip_refuses_bad_counts(demo, bad):
    s = demo.inav[:30, :30].deepcopy()
    s.change_dtype("float32")
    s.data[3, 3, 500] = bad
    with pytest.raises(
        ValueError, match=r"`signal` has (NaN|negative \(down to -1\.0\)) counts"
    ):
        s.chip(15)
