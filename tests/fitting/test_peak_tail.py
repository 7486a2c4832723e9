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
"""Real detectors' peaks: a low-energy tail, and Ca/Sc valence-band L lines."""

import warnings

import hyperspy.api as hs
import numpy as np
import pytest
from scipy.integrate import quad

from hyperspy_chipping.data import sto_lfo_cross_section
from hyperspy_chipping.data._simulate import expected_spectra
from hyperspy_chipping.fitting import XrayLineFamily
from hyperspy_chipping.fitting._design import Calibration, peak_columns
from hyperspy_chipping.fitting._families import Family
from hyperspy_chipping.fitting._peak_shape import tail_excess
from hyperspy_chipping.fitting._resolution import fwhm_at_energy
from hyperspy_chipping.fitting._xray_families import (
    SIGMA_PER_FWHM,
    family_lines,
    gaussian_channel_areas,
    subshell_lines,
)

TRUTH = {"LFO": {"La": 20, "Fe": 20, "O": 60}, "STO": {"Sr": 20, "Ti": 20, "O": 60}}
#: The simulated detector's tail: 15 % of every line's counts, decay length
#: 0.6 sigma (real SDDs: 0.05-0.2 and 0.5-1 sigma).
FRACTION, SLOPE = 0.15, 0.6


def test_tail_shape_is_a_gaussian_convolved_with_an_exponential():
    # The closed form against a numerical convolution: density of
    # N(0, 1) - Exp(r) at a few points, and its area and mean (-r).
    r = 0.8

    def density(z):
        return quad(
            lambda t: np.exp(-t / r) / r * np.exp(-0.5 * (z + t) ** 2),
            0,
            np.inf,
        )[0] / np.sqrt(2 * np.pi)

    z = np.array([-4.0, -1.0, 0.0, 1.5])
    closed = np.gradient(tail_excess(np.linspace(-6, 4, 100001), r), 1e-4)
    closed += np.exp(-0.5 * np.linspace(-6, 4, 100001) ** 2) / np.sqrt(2 * np.pi)
    expected = [density(v) for v in z]
    np.testing.assert_allclose(
        np.interp(z, np.linspace(-6, 4, 100001), closed), expected, rtol=1e-4
    )
    fam = Family("Fe", "K", ("Ka",), np.array([6.4]), np.array([1.0]), np.array([True]))
    cal = Calibration(0.0, 0.01, 130.0, tail_fraction=0.3, tail_slope=r)
    col = peak_columns([fam], cal, np.arange(2000))[:, 0]
    centres = np.arange(2000) * 0.01
    sigma = float(fwhm_at_energy(6.4, 130.0)) * SIGMA_PER_FWHM
    assert col.sum() == pytest.approx(1.0, abs=1e-6)
    # Mean: the tail's share moves it down by f r sigma.
    assert col @ centres == pytest.approx(6.4 - 0.3 * r * sigma, abs=1e-5)


def _tailed_map(shape=(60, 60), seed=3, dose=400.0):
    """The demo's STO/LFO map, every line with a low-energy tail.

    Each line's Gaussian channel areas, a fraction FRACTION of them moved
    below the line by a discrete convolution with an exponential of decay
    SLOPE x the line's sigma (independent of the package's closed form).
    Continuum and k-factors as the demo's; Poisson counts (1.4 M at the
    default `dose`, counts per pixel: a tail this size is then clear).
    """
    ref = sto_lfo_cross_section(shape, dose, seed=seed, poisson=False)
    phase_map = ref.metadata.Simulation.phase_map
    film = (phase_map == 1).mean()
    exp = expected_spectra(2000, 0.01, 0.0, {"LFO": film, "STO": 1 - film}, dose)
    energy = {line.key: line.energy for lines in exp.lines.values() for line in lines}
    out = np.zeros(shape + (2000,))
    for label, phase in ((1, "LFO"), (2, "STO")):
        spectrum = exp.continuum[phase].copy()
        for key, line in exp.line_spectra[phase].items():
            sigma = float(fwhm_at_energy(energy[key], 130.0)) * SIGMA_PER_FWHM
            decay = SLOPE * sigma / 0.01  # channels
            j = np.arange(int(40 * decay) + 1)
            kernel = np.diff(-np.exp(-(np.r_[j, j[-1] + 1] - 0.5).clip(0) / decay))
            kernel /= kernel.sum()
            tail = np.convolve(line[::-1], kernel)[: line.size][::-1]
            spectrum += (1 - FRACTION) * line + FRACTION * tail
        out[phase_map == label] = spectrum
    s = hs.signals.Signal1D(np.random.default_rng(seed).poisson(out).astype("uint16"))
    s.metadata.add_dictionary(ref.metadata.as_dictionary())
    axis = s.axes_manager.signal_axes[0]
    axis.scale, axis.offset, axis.units, axis.name = 0.01, 0.0, "keV", "Energy"
    s.set_signal_type("EDS_TEM_chipped")
    return s


@pytest.fixture(scope="module")
def tailed():
    s = _tailed_map()
    chips = s.chip(15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        chips.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())
    return chips


def test_tail_is_recovered_and_compositions_stay_right(tailed):
    q = tailed.metadata.Chipping.Quantification
    assert q.Calibration.tail_fraction == pytest.approx(FRACTION, abs=0.03)
    assert q.Calibration.tail_slope == pytest.approx(SLOPE, abs=0.15)
    df = tailed.to_dataframe()
    phase = tailed.metadata.Simulation.phase_map
    for name, label in (("LFO", 1), ("STO", 2)):
        pure = [
            (phase[r.y0 : r.y1, r.x0 : r.x1] == label).all() for r in df.itertuples()
        ]
        rows = df[np.array(pure)]
        for element, truth in TRUTH[name].items():
            error = rows[f"at_{element}"].mean() / truth - 1
            assert abs(error) < 0.015, (name, element, error)


def test_fit_model_carries_the_tail(tailed):
    # The HyperSpy model rebuilt from the results has the same line shape:
    # its chips' chi-squared per channel stays ~1 (Gaussian components
    # would leave the 15 % tail in the residual).
    q = tailed.metadata.Chipping.Quantification
    m = tailed.get_fit_model()
    assert m["Fe_K"].tail_fraction == pytest.approx(q.Calibration.tail_fraction)
    lo, hi = q.energy_range
    e = tailed.axes_manager.signal_axes[0].axis
    sel = (e > lo) & (e < hi)
    data, mu = tailed.data[..., sel].astype(float), m.as_signal().data[..., sel]
    used = mu > 2
    chi2 = ((data - mu) ** 2 / np.where(used, mu, 1))[used].mean()
    assert chi2 == pytest.approx(1.0, abs=0.1)
    m.store("tailed")
    tailed.save("tailed.hspy")
    restored = hs.load("tailed.hspy").models.restore("tailed")
    assert restored["Fe_K"].tail_fraction == m["Fe_K"].tail_fraction
    np.testing.assert_allclose(restored.as_signal().data, m.as_signal().data)


def test_gaussian_peaks_get_no_tail():
    # The demo's peaks are Gaussian: no tail is fitted, whatever else of the
    # model is still approximate.
    s = sto_lfo_cross_section((60, 60), 50.0, seed=5)
    s.set_signal_type("EDS_TEM_chipped")
    chips = s.chip(15)
    chips.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())
    assert chips.metadata.Chipping.Quantification.Calibration.tail_fraction == 0.0


def test_component_tail_integrates_to_its_amplitude():
    c = XrayLineFamily([1.0], [1.0], [0.07], "Na", "K", tail_fraction=0.4)
    c.A.value = 100.0
    x = np.linspace(0, 3, 30001)
    assert c.function(x).sum() * (x[1] - x[0]) == pytest.approx(100.0, rel=1e-4)
    # The tail puts counts below the line, none above it.
    below, above = c.function(np.array([0.85, 1.15]))
    plain = XrayLineFamily([1.0], [1.0], [0.07], "Na", "K")
    plain.A.value = 100.0
    assert below > plain.function(np.array([0.85]))[0]
    assert above < plain.function(np.array([1.15]))[0]


def test_ca_valence_band_l_lines():
    # xraydb (Elam) has only the core L lines of Ca (Ll 0.302 keV, L eta);
    # in a solid Ca L alpha (0.3413 keV, X-ray Data Booklet) is the strongest.
    lines = subshell_lines("Ca", "L3")
    assert lines["La1"][0] == pytest.approx(0.3413)
    assert lines["La1"][1] / sum(r for _, r in lines.values()) == pytest.approx(0.901)
    _, fam = family_lines("Ca", "L", 20.0)
    main = [x for x in fam if x.main]
    assert [x.name for x in main] == ["La1"]
    assert sum(x.weight for x in fam) == pytest.approx(1.0)
    assert "La1" not in subshell_lines("Ti", "L2")  # Ti's come from xraydb


def test_a_ca_l_alpha_peak_is_modelled_not_unidentified():
    # CaO on a 20 kV map: Ca K and a Ca L alpha peak at 0.3413 keV (the
    # lines the tables of the package lack until now), Gaussian, with O K
    # and a continuum. No peak of the summed residual is left near 0.34 keV.
    e = np.arange(2000) * 0.01
    edges = np.arange(2001) * 0.01 - 0.005
    ev = np.clip(e, 0.05, None)
    spectrum = 3e4 * (20.0 - ev).clip(0) / ev * np.exp(-0.03 / ev**3)
    lines = {0.3413: 4e5, 0.5249: 1e6, 3.6905: 2e6, 4.0127: 2.6e5}
    for energy, area in lines.items():
        fwhm = float(fwhm_at_energy(energy, 130.0))
        spectrum = spectrum + gaussian_channel_areas(energy, fwhm, edges, area)
    data = np.random.default_rng(1).poisson(np.tile(spectrum / 16, (4, 4, 1)))
    s = hs.signals.Signal1D(data.astype("uint32"))
    axis = s.axes_manager.signal_axes[0]
    axis.scale, axis.offset, axis.units, axis.name = 0.01, 0.0, "keV", "Energy"
    s.set_signal_type("EDS_TEM_chipped")
    s.set_microscope_parameters(beam_energy=20.0, energy_resolution_MnKa=130.0)
    s.add_elements(["Ca", "O"])
    chips = s.chip(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        chips.quantify_chips({"Ca_Ka": 1.0, "O_Ka": 1.0}, auto_elements=False)
    report = chips.metadata.Chipping.Quantification.Summed_fit
    near = [
        (energy, sigma)
        for energy, sigma in zip(report.feature_energies, report.feature_sigma)
        if abs(energy - 0.34) < 0.1
    ]
    assert not near, near
