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
"""k-factors: calibration from known regions, theory, tables (issue 12)."""

import math
import warnings

import numpy as np
import pytest

from hyperspy_chipping.data import sto_lfo_cross_section
from hyperspy_chipping.kfactors import (
    KFactors,
    convert_kfactors,
    load_kfactors,
    save_kfactors,
    theoretical_kfactors,
    window_kfactors,
)
from hyperspy_chipping.kfactors._calibrate import solve_kfactors
from hyperspy_chipping.kfactors._theory import ionization_cross_section

STO = {"Sr": 20, "Ti": 20, "O": 60}
LFO = {"La": 20, "Fe": 20, "O": 60}
LINES = ["Fe_Ka", "La_La", "O_Ka", "Sr_Ka", "Ti_Ka"]


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


@pytest.fixture(scope="module")
def demo():
    s = sto_lfo_cross_section((60, 60), seed=1)
    s.set_signal_type("EDS_TEM_chipped")
    return s


def _pure(s, size=15):
    """Masks of the chips that lie wholly in STO and in LFO (data order)."""
    pm = s.metadata.Simulation.phase_map
    ny, nx = pm.shape[0] // size, pm.shape[1] // size
    blocks = pm[: ny * size, : nx * size].reshape(ny, size, nx, size)
    return (blocks == 2).all(axis=(1, 3)), (blocks == 1).all(axis=(1, 3))


def _labels(s):
    return s.metadata.Simulation.phase_map.astype(int)  # 1 = LFO, 2 = STO


# --- calibration -----------------------------------------------------------


def test_hand_computation_one_region_two_elements():
    # FeO 50:50 at %: w_Fe = 55.845 / 71.844, w_O = 15.999 / 71.844;
    # k_O = (w_O / I_O) / (w_Fe / I_Fe); var(log k) = 1/I_Fe + 1/I_O.
    w_fe, w_o = 55.845 / 71.844, 15.999 / 71.844
    k, u = solve_kfactors(
        [{"Fe": 0.5, "O": 0.5}],
        np.array([[1000.0, 500.0]]),
        np.diag([1000.0, 500.0])[None],
        ["Fe_Ka", "O_Ka"],
        "Fe_Ka",
    )
    assert k["Fe_Ka"] == 1.0
    assert k["O_Ka"] == pytest.approx((w_o / 500) / (w_fe / 1000), rel=2e-4)
    assert u["O_Ka"] == pytest.approx(math.sqrt(1 / 1000 + 1 / 500), rel=1e-6)


def test_two_regions_weighted_by_counts():
    # O in two regions: the log-ratio estimates are averaged with weights
    # 1/var; here Fe-O (O/Fe ratio r1) and Fe-O again with more counts.
    comps = [{"Fe": 0.5, "O": 0.5}, {"Fe": 0.5, "O": 0.5}]
    inten = np.array([[1000.0, 500.0], [4000.0, 1800.0]])
    cov = np.stack([np.diag(inten[0]), np.diag(inten[1])])
    k, u = solve_kfactors(comps, inten, cov, ["Fe_Ka", "O_Ka"], "Fe_Ka")
    w = 15.999 / 55.845
    x1, x2 = np.log(w * 1000 / 500), np.log(w * 4000 / 1800)
    v1, v2 = 1 / 1000 + 1 / 500, 1 / 4000 + 1 / 1800
    expected = (x1 / v1 + x2 / v2) / (1 / v1 + 1 / v2)
    assert math.log(k["O_Ka"]) == pytest.approx(expected, abs=1e-4)  # masses
    assert u["O_Ka"] == pytest.approx((1 / v1 + 1 / v2) ** -0.5, rel=1e-6)


@pytest.mark.parametrize("lazy", [False, True])
def test_calibrated_kfactors_reproduce_both_phases_exactly(demo, lazy):
    # Label chips STO and LFO: 6 equations, 6 unknowns (4 k-factors, 2
    # scales): quantify_chips with the result must give 20:20:60 exactly.
    s = demo.as_lazy() if lazy else demo
    chips = s.chip(labels=_labels(demo))
    k = chips.calibrate_kfactors([STO, LFO], [2, 1])
    assert isinstance(k, dict) and sorted(k) == LINES and k["Fe_Ka"] == 1.0
    chips.quantify_chips(k)
    df = chips.to_dataframe()
    for label, truth in ((2, STO), (1, LFO)):
        row = df[df["label"] == label].iloc[0]
        # Exact ratios (the other elements' noise intensities, counted by
        # quantify_chips, shift the percentages by ~1e-5 only), to the
        # single-precision round-off of the chip fit (~1e-7; the calibration
        # fits in double precision).
        for element, at in truth.items():
            ratio = row[f"at_{element}"] / row["at_O"]
            assert ratio == pytest.approx(at / truth["O"], rel=1e-6)
            assert row[f"at_{element}"] == pytest.approx(at, rel=1e-3)
    prov = chips.metadata.Chipping.KFactors
    assert prov.reference == "Fe_Ka"
    assert [list(r) for r in prov.regions] == [[1], [0]]  # chip ids of labels
    assert prov.compositions[0]["Sr"] == pytest.approx(20.0)


def test_lazy_equals_eager(demo):
    sto, lfo = _pure(demo)
    k_eager = demo.chip(15).calibrate_kfactors([STO, LFO], [sto, lfo])
    k_lazy = demo.as_lazy().chip(15).calibrate_kfactors([STO, LFO], [sto, lfo])
    for line in LINES:
        assert k_lazy[line] == pytest.approx(k_eager[line], rel=1e-9)
        assert k_lazy.relative_uncertainty[line] == pytest.approx(
            k_eager.relative_uncertainty[line], rel=1e-9, abs=1e-15
        )


def test_grid_calibration_near_ground_truth(demo):
    # The simulation's own k-factors are the truth; the fit model is within
    # ~1 % of it on this demo (quantification user guide), so the calibrated
    # values must be within a few per cent, and the pure chips near 20:20:60.
    sto, lfo = _pure(demo)
    chips = demo.chip(15)
    k = chips.calibrate_kfactors([STO, LFO], [sto, lfo])
    truth = demo.metadata.Simulation.kfactors.as_dictionary()
    for line in LINES:
        assert k[line] == pytest.approx(truth[line], rel=0.05)
        # counting uncertainty of ~10^5 counts: a few per cent at most
        assert 0 <= k.relative_uncertainty[line] < 0.05
    maps = chips.quantify_chips(k)
    at = {m.metadata.Sample.elements[0]: m.data for m in maps}
    for mask, truth_at in ((sto, STO), (lfo, LFO)):
        for element, value in truth_at.items():
            assert at[element][mask].mean() == pytest.approx(value, rel=0.01)


def test_where_forms_agree(demo):
    sto, _ = _pure(demo)
    chips = demo.chip(15)
    ids = list(np.flatnonzero(sto.ravel()))  # chip_id: flat index, x fastest
    k_mask = chips.calibrate_kfactors(STO, sto)
    k_ids = chips.calibrate_kfactors(STO, ids)
    assert dict(k_ids) == pytest.approx(dict(k_mask), rel=1e-12)
    # default reference without Fe: the line with the most counts
    assert k_mask.reference in ("Sr_Ka", "O_Ka", "Ti_Ka")
    k_ref = chips.calibrate_kfactors(STO, sto, reference="Ti")
    assert k_ref["Ti_Ka"] == 1.0
    assert k_ref["Sr_Ka"] == pytest.approx(k_mask["Sr_Ka"] / k_mask["Ti_Ka"], rel=1e-9)


def _bad_calls(demo):
    sto, lfo = _pure(demo)
    return [
        (("SrTiO3", sto), {}, TypeError, "`composition` must be a dict"),
        (({}, sto), {}, ValueError, "`composition` is empty"),
        (({"Sr": -1, "O": 3}, sto), {}, ValueError, r"`composition`\['Sr'\]"),
        (({"Sr": 1, "Xx": 3}, sto), {}, ValueError, "unknown element 'Xx'"),
        (({"Cu": 1, "O": 3}, sto), {}, ValueError, r"has \['Cu'\], not in"),
        ((STO, np.ones((3, 4), bool)), {}, ValueError, r"navigation shape \(4, 4\)"),
        ((STO, np.zeros((4, 4), bool)), {}, ValueError, "selects no chip"),
        ((STO, [99]), {}, ValueError, r"chip id\(s\) \[99\]"),
        ((STO, "top"), {}, TypeError, "`where` must be a boolean mask"),
        (([STO, LFO], [sto]), {}, ValueError, "`where` must be a list of 2"),
        ((STO, sto), {"reference": "Fe_Ka"}, ValueError, "`reference` 'Fe_Ka'"),
        (
            ({"Sr": 20, "Ti": 20, "O": 60, "La": 1}, sto),
            {},
            ValueError,
            "no significant counts in La_La",
        ),
        (
            ([{"Sr": 1, "Ti": 1}, {"La": 1, "Fe": 1}], [sto, lfo]),
            {},
            ValueError,
            "do not determine every k-factor",
        ),
    ]


def test_errors_leave_signal_unchanged(demo):
    chips = demo.chip(15)
    before = chips.data.copy()
    for args, kwargs, error, match in _bad_calls(demo):
        with pytest.raises(error, match=match):
            chips.calibrate_kfactors(*args, **kwargs)
        assert "KFactors" not in chips.metadata.Chipping
        np.testing.assert_array_equal(chips.data, before)


def test_label_errors(demo):
    chips = demo.chip(labels=_labels(demo))
    with pytest.raises(ValueError, match=r"`where`: label 7 is not among"):
        chips.calibrate_kfactors(STO, 7)


# --- theory ----------------------------------------------------------------


def test_cross_section_form_by_hand():
    # The form of ionization_cross_section at 300 kV for Sr K / Fe K, by
    # hand: Elam's edges 16.105 and 7.112 keV, Z 38 and 26, K constants.
    from hyperspy_chipping.kfactors._theory import CROSS_SECTION_CONSTANTS

    b, c, d, e, f = CROSS_SECTION_CONSTANTS["K"]
    mc2 = 510.99895
    gamma = 1 + 300 / mc2
    b2 = 1 - 1 / gamma**2
    t = mc2 * b2 / 2

    def q(edge, z):
        u = 300 / edge
        bethe = (math.log(c * t / edge) - math.log(1 - b2) - b2) / (edge * t)
        return bethe * u / (u + d) * math.exp(e * (z / 100) ** 2 + f * z / 100)

    expected = q(16.105, 38) / q(7.112, 26)
    got = ionization_cross_section("Sr", "K", 300.0) / ionization_cross_section(
        "Fe", "K", 300.0
    )
    assert got == pytest.approx(expected, rel=1e-3)


# sigma / sigma(Fe K) from the analytic formulas of Bote et al., At. Data Nucl.
# Data Tables 95 (2009) 871 (overvoltage U <= 16: eq. with a1-a5; above: the
# Bethe-like form with A, b, g1-g4 and g3 * (1 - beta**2)**(1/4)), evaluated
# with their published parameters and edge energies (reference values, not
# in the package). Sr K switches branch between 200 kV (U = 12.4) and
# 300 kV (U = 18.6); the two branches meet at U = 16 within 0.3 %.
BOTE_SALVAT = {
    200.0: {
        ("O", "K"): 23.6929,
        ("Ti", "K"): 1.5837,
        ("Sr", "K"): 0.3316,
        ("Mo", "K"): 0.2431,
        ("Pt", "K"): 0.0225,
        ("La", "L3"): 2.8653,
        ("Fe", "L3"): 37.5289,
        ("Pt", "L3"): 1.0926,
        ("Au", "L3"): 1.0499,
        ("Au", "L1"): 0.3228,
    },
    300.0: {
        ("O", "K"): 22.8247,
        ("Ti", "K"): 1.5689,
        ("Sr", "K"): 0.3454,
        ("Mo", "K"): 0.2572,
        ("Pt", "K"): 0.0297,
        ("La", "L2"): 1.2902,
        ("La", "L3"): 2.8265,
        ("Fe", "L3"): 36.2923,
        ("Pt", "L3"): 1.0950,
        ("Au", "L3"): 1.0529,
        ("Au", "L1"): 0.3277,
    },
}


@pytest.mark.parametrize(
    "beam_energy, element, subshell, bote_salvat",
    [(e, *key, v) for e, table in BOTE_SALVAT.items() for key, v in table.items()],
)
def test_cross_sections_follow_bote_salvat(beam_energy, element, subshell, bote_salvat):
    # Within 3.5 % (the K shells of O to Pt within 3.5 %, L shells within 3 %
    # at these points; the relativistic Bethe form alone was 16 % low for Pt K
    # and 10 % for Pt and Au L3 at 200 kV).
    ratio = ionization_cross_section(
        element, subshell, beam_energy
    ) / ionization_cross_section("Fe", "K", beam_energy)
    assert ratio == pytest.approx(bote_salvat, rel=0.035)


def test_hubbell_yields():
    # Hubbell et al. (1994) fit by hand for O (Z = 8) and Sr (Z = 38).
    from hyperspy_chipping.kfactors._theory import hubbell_k_yield

    for element, z in (("O", 8), ("Sr", 38)):
        x = (0.0370 + 0.03112 * z + 5.44e-5 * z**2 - 1.25e-6 * z**3) ** 4
        assert hubbell_k_yield(element) == pytest.approx(x / (1 + x), rel=1e-12)
    # the two yield tables differ for light elements, not for Fe
    hub = theoretical_kfactors(["Fe_Ka", "O_Ka"])
    elam = theoretical_kfactors(["Fe_Ka", "O_Ka"], fluorescence_yields="xraydb")
    assert hub["O_Ka"] / elam["O_Ka"] == pytest.approx(
        (0.0058 / 0.35099) / (hubbell_k_yield("O") / hubbell_k_yield("Fe")), rel=1e-3
    )


# Weight-based family k-factors relative to Fe Ka from independent tables:
# Bote and Salvat's cross sections (published parameters, formula as above)
# with xraylib 4.3's fluorescence yields (Hubbell's fit for K shells, Krause
# for L), Coster-Kronig probabilities and radiative rates, K vacancies
# cascading radiatively into the L subshells, and each line times the same
# detector efficiency (the package's). Computed once outside the package.
PEER = {
    200.0: {
        "O_Ka": 1.0539,
        "Ti_Ka": 0.8542,
        "Sr_Ka": 3.4114,
        "La_La": 1.5747,
        "Si_Ka": 0.6851,
        "Cu_Ka": 1.2063,
        "Mo_Ka": 6.7419,
        "Ga_La": 0.9755,
        "Pt_La": 2.1429,
        "Au_La": 2.1681,
    },
    300.0: {
        "O_Ka": 1.094,
        "Ti_Ka": 0.8622,
        "Sr_Ka": 3.2751,
        "La_La": 1.5911,
        "Si_Ka": 0.7033,
        "Cu_Ka": 1.1975,
        "Mo_Ka": 6.374,
        "Ga_La": 1.0054,
        "Pt_La": 2.1234,
        "Au_La": 2.1447,
    },
}


@pytest.mark.parametrize("beam_energy", [200.0, 300.0])
def test_theory_against_peer_tables(beam_energy):
    peer = PEER[beam_energy]
    k = theoretical_kfactors(["Fe_Ka", *peer], beam_energy)
    for line, value in peer.items():
        # within 5 % (the goal of issue 12); 6 % for Ga L (1.1 keV, whose
        # L3 cross section the fitted form puts 4-5 % below Bote-Salvat's)
        tol = 0.06 if line == "Ga_La" else 0.05
        assert k[line] == pytest.approx(value, rel=tol), line
        assert abs(k[line] / value - 1) < k.relative_uncertainty[line], line
    assert k.relative_uncertainty["Fe_Ka"] == 0.0
    assert k.relative_uncertainty["O_Ka"] > k.relative_uncertainty["Sr_Ka"]
    assert k.source == "theoretical" and k.convention == "family"


def test_theory_bote_salvat_branches_meet():
    # Sr K at 200 and 300 kV lies in the two branches of Bote and Salvat's
    # fit (U = 12.4, 18.6); the physical k-factor changes smoothly between
    # them (by the ratio of the cross-section ratios, 0.3454 / 0.3316).
    k200 = theoretical_kfactors(["Fe_Ka", "Sr_Ka"], 200.0)["Sr_Ka"]
    k300 = theoretical_kfactors(["Fe_Ka", "Sr_Ka"], 300.0)["Sr_Ka"]
    assert k200 / k300 == pytest.approx(3.4114 / 3.2751, rel=0.02)


def test_theory_window_scales_the_efficiency():
    # The fit's window scale w multiplies the efficiency of each line by
    # window_factor(E, w): O K (0.525 keV, both lines) against Fe K (6.4 to
    # 7.1 keV, where the window is all but transparent).
    from hyperspy_chipping.fitting._design import window_factor

    nominal = theoretical_kfactors(["Fe_Ka", "O_Ka"])
    for w in (0.0, 0.5, 2.0):
        k = theoretical_kfactors(["Fe_Ka", "O_Ka"], window=w)
        fe = float(window_factor(np.array([6.4]), w)[0])
        o = float(window_factor(np.array([0.525]), w)[0])
        assert k["O_Ka"] / nominal["O_Ka"] == pytest.approx(fe / o, rel=2e-3)
    assert "window thickness x" not in nominal.detector


def test_k_vacancies_cascade_into_l():
    # Radiative decay of a K vacancy leaves one L vacancy: Ka1 in L3, Ka2 in
    # L2 (xraydb's relative line intensities), times the K yield (Hubbell).
    import xraydb

    from hyperspy_chipping.kfactors._theory import _add_k_cascade, hubbell_k_yield

    vac = {"L1": 0.0, "L2": 0.0, "L3": 0.0}
    _add_k_cascade("La", 300.0, vac, "hubbell")
    lines = xraydb.xray_lines("La", "K")
    total = sum(x.intensity for x in lines.values())
    per_k = ionization_cross_section("La", "K", 300.0) * hubbell_k_yield("La")
    assert vac["L3"] == pytest.approx(per_k * lines["Ka1"].intensity / total)
    assert vac["L2"] == pytest.approx(per_k * lines["Ka2"].intensity / total)
    # a few per cent of the direct L3 ionisation at 300 kV; none below the
    # K edge (38.9 keV)
    assert 0.01 < vac["L3"] / ionization_cross_section("La", "L3", 300.0) < 0.1
    below = {"L1": 0.0, "L2": 0.0, "L3": 0.0}
    _add_k_cascade("La", 30.0, below, "hubbell")
    assert below == {"L1": 0.0, "L2": 0.0, "L3": 0.0}


def test_theory_trends():
    # Physics: a K family per atom weakens as the edge rises (k grows with
    # Z above Fe); the M family of La is weaker than its L at 300 kV.
    k = theoretical_kfactors(["Fe_Ka", "Cu_Ka", "Zn_Ka", "Sr_Ka"])
    assert k["Fe_Ka"] < k["Cu_Ka"] < k["Zn_Ka"] < k["Sr_Ka"]
    la = theoretical_kfactors(["La_La", "La_Ma"], reference="La_La")
    assert la["La_Ma"] > 1.0
    assert la.relative_uncertainty["La_Ma"] > 0.2


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([],), {}, "`lines` is empty"),
        ((["Xx_Ka"],), {}, "unknown element 'Xx'"),
        ((["Fe_Kb"],), {}, "give a main line"),
        ((["Fe_Ka"],), {"reference": "O_Ka"}, "`reference` 'O_Ka' is not among"),
        ((["Fe_Ka"], -3.0), {}, "`beam_energy` must be a positive"),
        ((["La_Ka"], 30.0), {}, "La K family is not excited"),
        ((["Fe_Ka"],), {"fluorescence_yields": "krause"}, "`fluorescence_yields`"),
        ((["Fe_Ka"],), {"window": -0.5}, "`window` must be a non-negative"),
        ((["Fe_Ka"],), {"window": "thin"}, "`window` must be a non-negative"),
    ],
)
def test_theory_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        theoretical_kfactors(*args, **kwargs)


@pytest.mark.parametrize("lazy", [False, True])
def test_quantify_theoretical_marked_and_warned_once(demo, lazy):
    chips = (demo.as_lazy() if lazy else demo).chip(30)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chips.quantify_chips("theoretical")
        df = chips.to_dataframe()
    standardless = [w for w in caught if "standardless" in str(w.message)]
    assert len(standardless) == 1
    assert standardless[0].filename == __file__
    q = chips.metadata.Chipping.Quantification
    assert q.kfactor_source == "theoretical"
    # The k-factors applied: the theoretical ones at the window the fit used.
    expected = theoretical_kfactors(LINES)
    assert q.kfactors_nominal.as_dictionary() == pytest.approx(dict(expected))
    at_window = window_kfactors(expected, expected.window_model, q.kfactor_window)
    assert q.kfactors.as_dictionary() == pytest.approx(at_window)
    assert df.attrs["quantification"]["kfactor_window"] == q.kfactor_window
    assert "at_Sr" in df


def test_quantify_string_errors(demo):
    chips = demo.chip(30)
    with pytest.raises(TypeError, match="'theoretical' or the path .* 'theory'"):
        chips.quantify_chips("theory")
    assert "Quantification" not in chips.metadata.Chipping
    with pytest.raises(
        ValueError, match="Cliff-Lorimer k-factors, but `method='zeta'`"
    ):
        chips.quantify_chips("theoretical", method="zeta")
    assert "Quantification" not in chips.metadata.Chipping


# --- tables ----------------------------------------------------------------


@pytest.mark.parametrize("ext", ["json", "csv"])
def test_table_round_trip(tmp_path, ext):
    k = KFactors(
        {"Fe_Ka": 1.0, "La_La": 2.5123456789, "O_Ka": 1.9},
        relative_uncertainty={"La_La": 0.012, "O_Ka": 0.2},
        reference="Fe_Ka",
        beam_energy=300.0,
        detector="Super-X",
        source="Velox 3.2",
        notes="a, b: c",
    )
    path = tmp_path / f"k.{ext}"
    save_kfactors(path, k)
    back = load_kfactors(path)
    assert dict(back) == dict(k)
    assert back.relative_uncertainty == k.relative_uncertainty
    assert back.header() == k.header()


def test_table_used_by_quantify(demo, tmp_path):
    truth = demo.metadata.Simulation.kfactors.as_dictionary()
    save_kfactors(tmp_path / "k.json", truth, source="demo truth")
    chips = demo.chip(30)
    chips.quantify_chips(str(tmp_path / "k.json"))
    q = chips.metadata.Chipping.Quantification
    assert q.kfactor_source == "demo truth"
    assert q.kfactors.as_dictionary() == truth


def test_main_line_table_converted(demo, tmp_path):
    # The demo's main-line k-factors (truth) must quantify like its family
    # ones: k_family = k_line * main fraction.
    sim = demo.metadata.Simulation
    line_k = KFactors(sim.kfactors_line.as_dictionary(), convention="line")
    family = convert_kfactors(line_k, "family", beam_energy=300.0)
    truth = sim.kfactors.as_dictionary()
    for line in LINES:
        assert family[line] == pytest.approx(truth[line], rel=0.01)
    back = convert_kfactors(family, "line")
    for line in LINES:
        assert back[line] == pytest.approx(line_k[line], rel=1e-12)
    # exspy's La L family sums to 2.011 x La_La (design notes): within 5 %.
    la = convert_kfactors(KFactors({"La_La": 1.0}, convention="line"), "family")
    assert la["La_La"] == pytest.approx(1 / 2.011, rel=0.05)


def test_table_errors(tmp_path):
    with pytest.raises(ValueError, match=r"`path` must end in .json or .csv"):
        save_kfactors(tmp_path / "k.txt", {"Fe_Ka": 1.0})
    (tmp_path / "bad.json").write_text('{"Fe_Ka": 1.0}')
    with pytest.raises(ValueError, match="bad.json is not a k-factor table"):
        load_kfactors(tmp_path / "bad.json")
    (tmp_path / "bad.csv").write_text("element,k\nFe,1\n")
    with pytest.raises(ValueError, match="needs the columns 'line' and 'kfactor'"):
        load_kfactors(tmp_path / "bad.csv")
    with pytest.raises(ValueError, match=r"`kfactors\['O_Ka'\]` must be a positive"):
        KFactors({"O_Ka": -1.0})
    with pytest.raises(ValueError, match="`convention` must be one of"):
        KFactors({"O_Ka": 1.0}, convention="shell")
    with pytest.raises(ValueError, match="`to` must be one of"):
        convert_kfactors({"O_Ka": 1.0}, "atomic")
    with pytest.raises(ValueError, match="do not pair"):
        from hyperspy_chipping.kfactors._named import resolve_kfactors

        resolve_kfactors(None, KFactors({"O_Ka": 1.0}), intensity="line")


def test_provenance_survives_slicing_and_save(demo, tmp_path):
    import hyperspy.api as hs

    sto, lfo = _pure(demo)
    chips = demo.chip(15)
    k = chips.calibrate_kfactors([STO, LFO], [sto, lfo])
    sub = chips.inav[:, 2:]
    assert sub.metadata.Chipping.KFactors.kfactors.as_dictionary() == dict(k)
    assert len(sub.to_dataframe()) == 8
    chips.save(tmp_path / "chips.hspy")
    back = hs.load(tmp_path / "chips.hspy")
    prov = back.metadata.Chipping.KFactors
    assert prov.kfactors.as_dictionary() == pytest.approx(dict(k))
    assert list(prov.regions[1]) == [0, 1, 2, 3]
    # the loaded signal quantifies with the stored k-factors
    back.quantify_chips(prov.kfactors.as_dictionary())
    assert back.metadata.Chipping.Quantification.kfactor_source == "user"
