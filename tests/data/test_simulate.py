"""Tests of the simulated LaFeO3/SrTiO3 demo data set."""

import math

import hyperspy.api as hs
import numpy as np
import pytest

from hyperspy_chipping.data import sto_lfo_cross_section
from hyperspy_chipping.data._simulate import expected_spectra
from hyperspy_chipping.fitting._xray_families import (
    detector_efficiency,
    family_lines,
    gaussian_channel_areas,
)

# Reference values written by hand, not taken from the code under test.
# Line energies (keV): X-ray Data Booklet (Bearden / Elam).
ENERGY = {
    "O_Ka": 0.525,
    "Ti_Ka1": 4.511,
    "La_La1": 4.651,
    "Fe_Ka1": 6.404,
    "Cu_Ka1": 8.048,
    "Sr_Ka1": 14.165,
    "Sr_Ka2": 14.098,
}
# Standard atomic masses (IUPAC).
MASS = {"La": 138.905, "Fe": 55.845, "O": 15.999, "Sr": 87.62, "Ti": 47.867}
FORMULA = {"LFO": {"La": 1, "Fe": 1, "O": 3}, "STO": {"Sr": 1, "Ti": 1, "O": 3}}


def hand_weight_fractions(phase):
    masses = {el: n * MASS[el] for el, n in FORMULA[phase].items()}
    total = sum(masses.values())
    return {el: m / total for el, m in masses.items()}


def energy_axis(s):
    return s.axes_manager.signal_axes[0].axis


def argmax_energy(s, spectrum, low, high):
    e = energy_axis(s)
    window = (e >= low) & (e <= high)
    return e[window][np.argmax(spectrum[window])]


# --- shape, axes, metadata ------------------------------------------------------


def test_shape_axes_and_metadata():
    s = sto_lfo_cross_section((7, 5), n_channels=300, energy_offset=-0.25)
    assert s.metadata.Signal.signal_type == "EDS_TEM"
    assert s.axes_manager.navigation_shape == (7, 5)
    assert s.data.shape == (5, 7, 300)
    assert s.data.dtype == np.uint16
    x, y = s.axes_manager.navigation_axes
    assert (x.name, y.name, x.units, y.units) == ("x", "y", "nm", "nm")
    assert x.scale == y.scale == pytest.approx(0.2)
    energy = s.axes_manager.signal_axes[0]
    assert (energy.name, energy.units) == ("Energy", "keV")
    assert energy.offset == pytest.approx(-0.25)
    assert energy.scale == pytest.approx(0.01)

    tem = s.metadata.Acquisition_instrument.TEM
    assert tem.beam_energy == 300.0
    eds = tem.Detector.EDS
    assert eds.energy_resolution_MnKa == 130.0
    assert 0 < eds.live_time <= eds.real_time
    assert s.metadata.Sample.elements == ["Fe", "La", "O", "Sr", "Ti"]
    assert s.metadata.Sample.xray_lines == ["Fe_Ka", "La_La", "O_Ka", "Sr_Ka", "Ti_Ka"]

    truth = s.metadata.Simulation
    # film_fraction 0.4 of 5 rows -> 2 rows of LFO (label 1) on top.
    expected_map = np.array([[1] * 7] * 2 + [[2] * 7] * 3, dtype=np.uint8)
    np.testing.assert_array_equal(truth.phase_map, expected_map)
    assert truth.phase_map.dtype == np.uint8
    assert truth.composition_at.LFO.as_dictionary() == {"La": 0.2, "Fe": 0.2, "O": 0.6}
    assert truth.composition_at.STO.as_dictionary() == {"Sr": 0.2, "Ti": 0.2, "O": 0.6}
    assert set(truth.kfactors.as_dictionary()) == set(s.metadata.Sample.xray_lines)
    assert truth.kfactors.Fe_Ka == 1.0
    assert truth.seed == 0 and truth.counts_per_pixel == 50.0
    assert "xraydb" in truth.model and "Kramers" in truth.model


def test_metadata_survives_save_and_load(tmp_path):
    s = sto_lfo_cross_section((6, 4), n_channels=200)
    s.save(tmp_path / "lfo.hspy")
    r = hs.load(tmp_path / "lfo.hspy")
    np.testing.assert_array_equal(r.data, s.data)
    np.testing.assert_array_equal(
        r.metadata.Simulation.phase_map, s.metadata.Simulation.phase_map
    )
    assert r.metadata.Simulation.kfactors_line.La_La == pytest.approx(
        s.metadata.Simulation.kfactors_line.La_La
    )


@pytest.mark.parametrize("fraction, film_rows", [(0.0, 0), (0.5, 5), (1.0, 10)])
def test_film_fraction_sets_rows(fraction, film_rows):
    s = sto_lfo_cross_section((3, 10), film_fraction=fraction, n_channels=100)
    phase_map = s.metadata.Simulation.phase_map
    assert (phase_map[:film_rows] == 1).all()
    assert (phase_map[film_rows:] == 2).all()


def test_dtype_options():
    assert (
        sto_lfo_cross_section((2, 2), n_channels=64, dtype="int32").data.dtype
        == np.int32
    )
    noisy = sto_lfo_cross_section((2, 2), n_channels=64, dtype="float32")
    assert noisy.data.dtype == np.float32
    assert np.all(noisy.data == np.round(noisy.data))  # counts, as floats
    assert sto_lfo_cross_section((2, 2), poisson=False).data.dtype == np.float64
    assert (
        sto_lfo_cross_section((2, 2), poisson=False, dtype="float32").data.dtype
        == np.float32
    )


# --- noise ----------------------------------------------------------------------


def test_seed_determinism():
    a = sto_lfo_cross_section((20, 20), seed=3)
    b = sto_lfo_cross_section((20, 20), seed=3)
    c = sto_lfo_cross_section((20, 20), seed=4)
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.array_equal(a.data, c.data)
    g1 = sto_lfo_cross_section((20, 20), seed=np.random.default_rng(3))
    np.testing.assert_array_equal(g1.data, a.data)  # same stream as the int seed
    assert g1.metadata.Simulation.seed == "Generator"


def test_mean_counts_within_poisson_tolerance():
    s = sto_lfo_cross_section((20, 20), 50.0, seed=1)
    totals = s.data.sum(-1, dtype=float)
    # The map mean of 400 Poisson totals of mean ~50 has sigma sqrt(50/400).
    assert abs(totals.mean() - 50.0) < 4 * math.sqrt(50.0 / 400)
    # Each pixel's total is Poisson: variance equals the mean, per phase.
    truth = s.metadata.Simulation
    for label, phase in ((1, "LFO"), (2, "STO")):
        t = totals[truth.phase_map == label]
        expected = truth.expected_counts[phase]
        assert abs(t.mean() - expected) < 4 * math.sqrt(expected / t.size)
        assert 0.7 < t.var(ddof=1) / expected < 1.3


def test_counts_per_channel_are_poisson():
    # High counts on a pure film so that many channels have large means.
    s = sto_lfo_cross_section((20, 20), 5000.0, film_fraction=1.0, seed=2)
    e = sto_lfo_cross_section((1, 1), 5000.0, film_fraction=1.0, poisson=False)
    mu = e.data[0, 0]
    counts = s.data.reshape(-1, mu.size).astype(float)
    busy = mu > 30
    assert busy.sum() > 20
    # Mean over 400 pixels: within 5 sigma in every busy channel.
    z = (counts.mean(0)[busy] - mu[busy]) / np.sqrt(mu[busy] / 400)
    assert np.abs(z).max() < 5
    # Var/mean of a Poisson variable is 1 (sd of the ratio ~ sqrt(2/399)).
    ratio = counts.var(0, ddof=1)[busy] / mu[busy]
    assert abs(ratio.mean() - 1.0) < 0.05
    # Nothing where the expectation is zero (below 0.1 keV, no zero peak).
    assert counts[:, mu == 0].sum() == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"film_fraction": 0.0},
        {"film_fraction": 1.0},
        {"film_fraction": 0.25, "n_channels": 4096, "energy_scale": 0.005,
         "energy_offset": -0.25},
    ],
)  # fmt: skip
def test_expectation_sums_to_counts_per_pixel(kwargs):
    s = sto_lfo_cross_section((4, 8), 37.5, poisson=False, **kwargs)
    assert s.data.sum(-1).mean() == pytest.approx(37.5, rel=1e-12)


def test_uint8_overflow_raises():
    with pytest.raises(ValueError, match="dtype='uint8' overflows"):
        sto_lfo_cross_section((2, 2), 1e5, dtype="uint8")


# --- peak positions and shapes --------------------------------------------------


def test_peaks_at_known_energies():
    lfo = sto_lfo_cross_section((1, 1), film_fraction=1.0, poisson=False)
    sto = sto_lfo_cross_section((1, 1), film_fraction=0.0, poisson=False)
    one_channel = 0.01 + 1e-9
    spectrum = lfo.data[0, 0]
    assert argmax_energy(lfo, spectrum, 4.4, 4.9) == pytest.approx(
        ENERGY["La_La1"], abs=one_channel
    )
    assert argmax_energy(lfo, spectrum, 6.2, 6.6) == pytest.approx(
        ENERGY["Fe_Ka1"], abs=one_channel
    )
    assert argmax_energy(lfo, spectrum, 0.4, 0.6) == pytest.approx(
        ENERGY["O_Ka"], abs=one_channel
    )
    spectrum = sto.data[0, 0]
    assert argmax_energy(sto, spectrum, 4.3, 4.7) == pytest.approx(
        ENERGY["Ti_Ka1"], abs=one_channel
    )
    # Sr Ka1 + Ka2 (intensity ratio ~0.52) peak at their centroid, ~14.142 keV.
    centroid = (ENERGY["Sr_Ka1"] + 0.52 * ENERGY["Sr_Ka2"]) / 1.52
    assert argmax_energy(sto, spectrum, 13.8, 14.5) == pytest.approx(
        centroid, abs=one_channel
    )
    # No Sr in the film: only the falling continuum under Sr Ka.
    e = energy_axis(lfo)
    sr_window = (e > 13.9) & (e < 14.4)
    assert np.all(np.diff(lfo.data[0, 0][sr_window]) <= 0)


def test_sr_kalpha_doublet():
    _, lines = family_lines("Sr", "K", 300.0)
    by_name = {line.name: line for line in lines}
    ka1, ka2 = by_name["Ka1"], by_name["Ka2"]
    # Elam: Ka2/Ka1 = 0.52 (efficiency is ~flat over 67 eV at 14 keV).
    assert ka2.weight / ka1.weight == pytest.approx(0.52, abs=0.03)
    # Ka2 lies 67 eV below Ka1.
    assert (ka1.energy - ka2.energy) * 1000 == pytest.approx(67, abs=2)
    assert ka1.energy == pytest.approx(ENERGY["Sr_Ka1"], abs=0.002)


def test_line_fractions():
    truth = sto_lfo_cross_section((2, 2), poisson=False).metadata.Simulation
    f = truth.line_fractions.as_dictionary()
    # La La / La L family: exspy's tables give 1/2.011 (DESIGN.md section 3).
    assert 0.4 < f["La_La"] < 0.6
    # K families: exspy's Fe/Ti/Sr K family sums of 1.127/1.117/1.150 x Ka.
    assert f["Fe_Ka"] == pytest.approx(1 / 1.127, abs=0.03)
    assert f["Ti_Ka"] == pytest.approx(1 / 1.117, abs=0.03)
    assert f["Sr_Ka"] == pytest.approx(1 / 1.150, abs=0.03)
    assert f["O_Ka"] == pytest.approx(1.0)
    for line, k in truth.kfactors.as_dictionary().items():
        assert truth.kfactors_line[line] == pytest.approx(k / f[line])


def test_ti_l_shape_is_physical():
    # Ti Ll (L3-M1) is a weak line, far below La (L3-M4,5): not exspy's 1.0 : 0.694.
    _, lines = family_lines("Ti", "L", 300.0)
    w = {line.name: line.weight for line in lines}
    assert w["Ll"] < 0.2 * (w["La1"] + w["La2"])
    # Ti Lb3/Lb4 (L1-M2,3) sit 4 eV from O Ka: the overlap the design talks about.
    assert abs(next(x.energy for x in lines if x.name == "Lb3") - 0.525) < 0.01


def test_narrow_peak_area_is_exact():
    # A 1 eV wide peak centred on the edge between two 10 eV channels: half of the
    # area in each, whatever the sampling of the channel centres would say.
    edges = np.linspace(0.0, 0.1, 11)
    areas = gaussian_channel_areas(0.05, 0.001, edges, 8.0)
    np.testing.assert_allclose(areas[4:6], [4.0, 4.0], rtol=1e-12)
    assert areas.sum() == pytest.approx(8.0, rel=1e-12)


def test_peak_width_follows_mn_ka_resolution():
    expected = expected_spectra(2000, 0.01, 0.0, {"LFO": 1.0, "STO": 0.0}, 50.0)
    e = expected.energy
    peak = expected.line_spectra["LFO"]["Fe_Ka1"]
    mean = (e * peak).sum() / peak.sum()
    variance = ((e - mean) ** 2 * peak).sum() / peak.sum()
    # Fiori-Newbury by hand: FWHM**2 = 130**2 + 2.5 (6404 - 5898.7) eV**2.
    sigma = math.sqrt(130.0**2 + 2.5 * (6404 - 5898.7)) / 2.3548 / 1000
    # A channel-integrated Gaussian has variance sigma**2 + width**2 / 12.
    assert math.sqrt(variance) == pytest.approx(
        math.sqrt(sigma**2 + 0.01**2 / 12), rel=2e-3
    )
    assert mean == pytest.approx(ENERGY["Fe_Ka1"], abs=0.002)


def test_detector_efficiency_shape():
    eff = detector_efficiency([0.39, 0.53, 6.4, 10.0, 20.0])
    assert eff[1] / eff[0] > 1.3  # steep rise below 1 keV (window absorption)
    assert eff[2] > 0.95  # transparent window, thick crystal
    assert eff[4] < eff[3]  # 0.45 mm Si lets hard X-rays through
    assert detector_efficiency([0.05])[0] == 0.0


# --- Cliff-Lorimer closes ---------------------------------------------------------


def _intensities(expected, phase, lines_of):
    """Family and main-line intensities measured on the channel spectra."""
    spectra = expected.line_spectra[phase]
    family, main = {}, {}
    for xray_line in lines_of:
        element = xray_line.split("_")[0]
        fam = lines_of[xray_line]
        lines = expected.lines[f"{element}_{fam}"]
        family[element] = sum(spectra[x.key].sum() for x in lines)
        main[element] = sum(spectra[x.key].sum() for x in lines if x.main)
    return family, main


@pytest.mark.parametrize("phase", ["LFO", "STO"])
def test_cliff_lorimer_closes_in_both_conventions(phase):
    s = sto_lfo_cross_section((2, 4), poisson=False, film_fraction=0.5)
    truth = s.metadata.Simulation
    expected = expected_spectra(2000, 0.01, 0.0, {"LFO": 0.5, "STO": 0.5}, 50.0)
    # The signal is the sum of its parts: characteristic lines plus continuum.
    label = truth.phase_labels[phase]
    pixel = s.data[np.argwhere(truth.phase_map == label)[0][0], 0]
    parts = expected.continuum[phase] + sum(expected.line_spectra[phase].values())
    np.testing.assert_allclose(pixel, parts, rtol=1e-12, atol=1e-15)

    quantified = [
        x for x in s.metadata.Sample.xray_lines if x.split("_")[0] in FORMULA[phase]
    ]
    family_of = {x: x.split("_")[1][0] for x in quantified}  # "La_La" -> "L"
    family, main = _intensities(expected, phase, family_of)
    wt = hand_weight_fractions(phase)
    for kfactors, intensity in (
        (truth.kfactors, family),
        (truth.kfactors_line, main),
    ):
        ck = {
            x.split("_")[0]: kfactors[x] * intensity[x.split("_")[0]]
            for x in quantified
        }
        total = sum(ck.values())
        for element, value in ck.items():
            assert value / total == pytest.approx(wt[element], rel=2e-4)
    # The measured main-line fraction is the one recorded.
    for x in quantified:
        element = x.split("_")[0]
        assert main[element] / family[element] == pytest.approx(truth.line_fractions[x])


def test_continuum_fraction_is_plausible():
    truth = sto_lfo_cross_section((2, 2), poisson=False, film_fraction=0.5).metadata
    fraction = truth.Simulation.continuum_fraction.as_dictionary()
    assert 0.25 < (fraction["LFO"] + fraction["STO"]) / 2 < 0.35
    # Kramers: the heavier film (Zbar ~40) has more continuum than STO (Zbar ~26).
    assert fraction["LFO"] > fraction["STO"]


# --- zero and system peaks --------------------------------------------------------


def test_zero_peak_only_when_requested():
    kwargs = {"n_channels": 400, "energy_offset": -0.25, "poisson": False}
    without = sto_lfo_cross_section((2, 2), **kwargs).data[0, 0]
    with_peak = sto_lfo_cross_section((2, 2), zero_peak_counts=20.0, **kwargs).data[
        0, 0
    ]
    e = np.arange(400) * 0.01 - 0.25
    assert without[e < 0.095].sum() == 0  # nothing below 0.1 keV
    diff = with_peak - without
    assert diff.sum() == pytest.approx(20.0, rel=1e-6)  # whole peak inside the axis
    assert e[np.argmax(diff)] == pytest.approx(0.0, abs=1e-9)
    # Noisy data: counts around 0 keV only with the zero peak.
    noisy = sto_lfo_cross_section((5, 5), **{**kwargs, "poisson": True})
    assert noisy.data[..., e < 0.05].sum() == 0
    noisy = sto_lfo_cross_section(
        (5, 5), zero_peak_counts=20.0, **{**kwargs, "poisson": True}
    )
    assert noisy.data[..., e < 0.05].sum() > 200


def test_zero_peak_width_is_the_noise_term():
    # Axis starting at 0: the recorded part is the Gaussian above -half a channel.
    # Its FWHM is the Fiori-Newbury noise term sqrt(130**2 - 2.5 * 5898.7) eV.
    kwargs = {"n_channels": 100, "poisson": False}
    diff = (
        sto_lfo_cross_section((1, 1), zero_peak_counts=20.0, **kwargs).data
        - sto_lfo_cross_section((1, 1), **kwargs).data
    )[0, 0]
    sigma = math.sqrt(130.0**2 - 2.5 * 5898.7) / 1000 / (2 * math.sqrt(2 * math.log(2)))
    recorded = 20.0 * 0.5 * (1 + math.erf(0.005 / (sigma * math.sqrt(2))))
    assert diff.sum() == pytest.approx(recorded, rel=1e-3)


def test_system_peak_only_when_requested():
    kwargs = {"poisson": False, "film_fraction": 0.5}
    without = sto_lfo_cross_section((1, 2), **kwargs)
    with_cu = sto_lfo_cross_section((1, 2), system_peaks=("Cu",), **kwargs)
    e = energy_axis(without)
    window = (e > 7.85) & (e < 8.25)
    # Without Cu the window holds only the falling continuum: no local maximum.
    assert np.all(np.diff(without.data[0, 0][window]) <= 0)
    # With Cu, the same extra spectrum in every pixel, peaking at Cu Ka
    # (Ka1/Ka2 centroid 8.041 keV, within one channel of Ka1).
    diff = with_cu.data - without.data
    np.testing.assert_allclose(diff[0, 0], diff[1, 0], atol=1e-12)
    assert argmax_energy(with_cu, diff[0, 0], 7.5, 8.5) == pytest.approx(
        ENERGY["Cu_Ka1"], abs=0.0101
    )
    # 3 % of counts_per_pixel in the Cu K family (all inside the 0-20 keV axis).
    k_window = (e > 7.6) & (e < 9.4)
    assert diff[0, 0][k_window].sum() == pytest.approx(1.5, rel=0.01)
    assert "Cu" not in with_cu.metadata.Sample.elements
    assert with_cu.metadata.Simulation.system_peaks == ["Cu"]
    # Total counts: counts_per_pixel plus the system peak, not rescaled.
    assert with_cu.data.sum(-1).mean() > without.data.sum(-1).mean() + 1.5


def test_system_peaks_accepts_a_single_symbol():
    a = sto_lfo_cross_section((1, 1), system_peaks="Cu", poisson=False)
    b = sto_lfo_cross_section((1, 1), system_peaks=["Cu"], poisson=False)
    np.testing.assert_array_equal(a.data, b.data)


# --- errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"navigation_shape": 100}, TypeError, "navigation_shape must be a pair"),
        ({"navigation_shape": (1, 2, 3)}, TypeError, "navigation_shape must be a pair"),
        (
            {"navigation_shape": (1.5, 2)},
            TypeError,
            "navigation_shape must be an integer",
        ),
        (
            {"navigation_shape": (0, 2)},
            ValueError,
            r"navigation_shape must be positive, got \(0, 2\)",
        ),
        (
            {"counts_per_pixel": 0},
            ValueError,
            "counts_per_pixel must be finite and > 0, got 0",
        ),
        ({"counts_per_pixel": -3.0}, ValueError, "counts_per_pixel .* got -3.0"),
        ({"counts_per_pixel": float("inf")}, ValueError, "counts_per_pixel .* got inf"),
        ({"counts_per_pixel": float("nan")}, ValueError, "counts_per_pixel .* got nan"),
        (
            {"counts_per_pixel": "50"},
            TypeError,
            "counts_per_pixel must be a real number",
        ),
        (
            {"film_fraction": 1.5},
            ValueError,
            r"film_fraction must be in \[0, 1\], got 1.5",
        ),
        ({"film_fraction": -0.1}, ValueError, "film_fraction .* got -0.1"),
        ({"n_channels": 15}, ValueError, "n_channels must be >= 16, got 15"),
        ({"n_channels": 100.0}, TypeError, "n_channels must be an integer, got 100.0"),
        ({"energy_scale": 0}, ValueError, "energy_scale must be finite and > 0, got 0"),
        ({"energy_scale": -0.01}, ValueError, "energy_scale .* got -0.01"),
        ({"energy_offset": float("nan")}, ValueError, "energy_offset must be finite"),
        (
            {"zero_peak_counts": -1},
            ValueError,
            "zero_peak_counts must be finite and >= 0, got -1",
        ),
        ({"system_peaks": ("Xx",)}, ValueError, "system_peaks: unknown element 'Xx'"),
        (
            {"system_peaks": (29,)},
            TypeError,
            "system_peaks must be a sequence of element",
        ),
        (
            {"system_peaks": ("H",)},
            ValueError,
            "system_peaks element 'H' has no Ka, La or Ma",
        ),
        (
            {"dtype": "complex128"},
            ValueError,
            "dtype must be an integer or float dtype, got 'complex128'",
        ),
        (
            {"dtype": "bool"},
            ValueError,
            "dtype must be an integer or float dtype, got 'bool'",
        ),
        (
            {"dtype": "not-a-dtype"},
            TypeError,
            "dtype must be a numpy dtype, got 'not-a-dtype'",
        ),
        ({"seed": 1.5}, TypeError, "seed must be an int or a numpy Generator, got 1.5"),
        ({"seed": -1}, ValueError, "seed must be >= 0, got -1"),
        ({"poisson": "yes"}, TypeError, "poisson must be True or False, got 'yes'"),
        ({"energy_offset": -100.0}, ValueError, "energy axis .* holds no X-ray signal"),
    ],
)
def test_bad_input_raises(kwargs, error, match):
    kwargs = {"navigation_shape": (2, 2), **kwargs}
    with pytest.raises(error, match=match):
        sto_lfo_cross_section(**kwargs)
