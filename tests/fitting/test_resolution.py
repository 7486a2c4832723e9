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
"""The two-parameter width model (electronic noise + Fano) and its refinement."""

import math

import numpy as np
import pytest

from hyperspy_chipping.data import sto_lfo_cross_section
from hyperspy_chipping.fitting._calibrate import (
    _wls,
    calibrate,
    channel_weights,
    design_matrix,
)
from hyperspy_chipping.fitting._design import (
    Calibration,
    detected_continuum,
    peak_columns,
)
from hyperspy_chipping.fitting._families import physics_families
from hyperspy_chipping.fitting._resolution import (
    FIORI_NEWBURY_FANO,
    electronic_noise,
    fwhm_at_energy,
    resolution_mnka,
)

EPS_SI = 3.85  # eV per electron-hole pair in Si
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
MN_KA = 5898.7  # eV
BEAM = 200.0


def _fano_fwhm(energy_ev, noise, fano):
    """FWHM (eV) of a Si detector: noise and pair statistics in quadrature."""
    return np.sqrt(noise**2 + FWHM_PER_SIGMA**2 * fano * EPS_SI * energy_ev)


def test_default_fano_is_exspys_fiori_newbury_width():
    # exspy: FWHM(E)^2 = FWHM_MnKa^2 + 2.5 eV (E - E_MnKa); the Fano term's
    # slope (2.3548^2 x 3.85 eV x F) is 2.5 eV for F = 0.1171.
    e = np.array([0.277, 1.0, 6.4, 15.0])
    exspy = np.sqrt(130.0**2 + 2.5 * (e * 1000 - MN_KA))
    np.testing.assert_allclose(fwhm_at_energy(e, 130.0) * 1000, exspy, rtol=1e-9)
    np.testing.assert_allclose(
        Calibration(0.0, 0.01, 130.0).fwhm(e) * 1000, exspy, rtol=1e-9
    )
    assert FIORI_NEWBURY_FANO == pytest.approx(2.5 / (FWHM_PER_SIGMA**2 * EPS_SI))


@pytest.mark.parametrize("noise, fano", [(0.0, 0.115), (45.0, 0.12), (90.0, 0.09)])
def test_noise_and_fano_give_the_detector_width(noise, fano):
    # The Fano limit of Si at Mn Ka (no noise, F = 0.115) is ~120 eV.
    r = resolution_mnka(noise, fano)
    assert r == pytest.approx(_fano_fwhm(MN_KA, noise, fano), rel=1e-9)
    cal = Calibration(0.0, 0.01, r, fano=fano)
    assert cal.noise == pytest.approx(noise, abs=1e-6)
    e = np.array([0.1, 0.525, 8.04])
    np.testing.assert_allclose(cal.fwhm(e) * 1000, _fano_fwhm(e * 1000, noise, fano))


def test_width_model_errors():
    with pytest.raises(ValueError, match="Fano factor must be finite and > 0"):
        fwhm_at_energy(1.0, 130.0, fano=-0.1)
    with pytest.raises(ValueError, match="Fano factor must be finite and > 0"):
        electronic_noise(130.0, float("nan"))
    with pytest.raises(ValueError, match="electronic noise must be >= 0"):
        resolution_mnka(-1.0, 0.12)
    with pytest.raises(ValueError, match="too small: the width with Fano factor"):
        fwhm_at_energy(0.0, 100.0, fano=0.12)  # below the Fano limit


def _detector_spectrum(noise, fano, seed, scale=1.0):
    """Summed spectrum of a detector of known noise and Fano factor.

    Kramers' continuum through the detector window and the families of C,
    O, Fe, Cu, Sr and La (lines from 0.28 to 16 keV), drawn with the width
    of the given detector, Poisson counts.
    """
    cal = Calibration(-0.1, 0.01, resolution_mnka(noise, fano), fano=fano)
    channels = np.arange(30, 2000)
    fams = physics_families(["C", "O", "Fe", "Cu", "Sr", "La"], BEAM, (0.2, 19.9))
    area = np.linspace(4e5, 1e6, len(fams)) * scale
    continuum = 40.0 * scale * detected_continuum(cal.centres(channels), BEAM)
    expected = continuum + peak_columns(fams, cal, channels) @ area
    counts = np.random.default_rng(seed).poisson(expected).astype(float)
    return counts, channels, fams, cal


def _standard_errors(y, channels, fams, cal):
    """Standard errors of (offset, scale, FWHM_MnKa, F) from the Fisher
    information of the variable-projection fit (numerical Jacobian of the
    model, amplitudes refitted at each step)."""
    w = channel_weights(np.clip(y, 1.0, None))
    q0 = np.array([cal.offset, cal.scale, cal.fwhm_mnka, cal.fano])
    steps = np.array([1e-5, 1e-8, 1e-2, 1e-5])

    def model(q):
        a = design_matrix(fams, Calibration(*q), channels, "bremsstrahlung", 3, BEAM)
        return a @ _wls(a, y, w)[0]

    jac = (
        np.stack(
            [
                (model(q0 + np.eye(4)[i] * h) - model(q0 - np.eye(4)[i] * h)) / (2 * h)
                for i, h in enumerate(steps)
            ],
            axis=1,
        )
        * np.sqrt(w)[:, None]
    )
    return np.sqrt(np.diag(np.linalg.inv(jac.T @ jac)))


@pytest.mark.parametrize(
    "noise, fano, seed", [(75.0, 0.10, 0), (40.0, 0.13, 1), (60.0, 0.115, 2)]
)
def test_known_noise_and_fano_are_recovered(noise, fano, seed):
    # Starting from exspy's width at the metadata's 130 eV, the fit finds
    # the detector's noise and Fano factor within their statistical errors
    # (4 sigma), and its FWHM at Mn Ka.
    y, channels, fams, truth = _detector_spectrum(noise, fano, seed)
    start = Calibration(truth.offset, truth.scale, 130.0)
    cal, _, model = calibrate(y, channels, start, fams, "bremsstrahlung", 3, BEAM)
    err = _standard_errors(y, channels, fams, cal)
    assert abs(cal.fano - fano) < 4 * err[3], (cal.fano, err[3])
    assert abs(cal.fwhm_mnka - truth.fwhm_mnka) < 4 * err[2], (cal, err)
    # The noise, (R^2 - slope F E_MnKa)^(1/2), propagated from R and F.
    d_r = cal.fwhm_mnka / cal.noise
    d_f = -(FWHM_PER_SIGMA**2) * EPS_SI * MN_KA / (2 * cal.noise)
    assert abs(cal.noise - noise) < 4 * math.hypot(d_r * err[2], d_f * err[3])
    chi2 = ((y - model) ** 2 / np.clip(model, 1, None)).sum() / (y.size - 4)
    assert chi2 < 1.1


def test_one_parameter_width_cannot_follow_a_noisy_detector():
    # F = 0.09 and N = 90 eV: the low-energy lines are wider than exspy's
    # Fiori-Newbury extrapolation (O Ka 95 against 60 eV for the same width
    # at Mn Ka). With the Fano factor held at exspy's value the fit cannot
    # follow both ends; refined, the fit is as good as the counts allow.
    y, channels, fams, truth = _detector_spectrum(90.0, 0.09, 3)
    start = Calibration(truth.offset, truth.scale, 130.0)
    args = (fams, "bremsstrahlung", 3, BEAM)
    held, _, m1 = calibrate(y, channels, start, *args, refine_fano=False)
    free, _, m2 = calibrate(y, channels, start, *args)

    def chi2(m):
        return ((y - m) ** 2 / np.clip(m, 1, None)).sum() / (y.size - 4)

    assert held.fano == FIORI_NEWBURY_FANO
    assert chi2(m2) < 1.1 < chi2(m1)
    err = _standard_errors(y, channels, fams, free)
    assert abs(held.fwhm_mnka - truth.fwhm_mnka) > 5 * err[2]
    assert abs(free.fwhm_mnka - truth.fwhm_mnka) < 4 * err[2]


def test_fano_stays_within_its_physical_bounds():
    # A width slope beyond a Si detector's (F = 0.3, e.g. peaks broadened
    # by a process the model lacks) is refined to the bound, not beyond.
    y, channels, fams, truth = _detector_spectrum(20.0, 0.3, 4, scale=0.1)
    start = Calibration(truth.offset, truth.scale, 130.0)
    cal, _, _ = calibrate(y, channels, start, fams, "bremsstrahlung", 3, BEAM)
    assert cal.fano == pytest.approx(0.20)
    assert cal.noise >= 0


def test_refined_width_is_stored_and_drawn():
    s = sto_lfo_cross_section((30, 30), 50.0, seed=1)
    s.set_signal_type("EDS_TEM_chipped")
    chips = s.chip(15)
    chips.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())
    c = chips.metadata.Chipping.Quantification.Calibration
    # The demo is drawn with exspy's width (F = 0.1171) at 130 eV.
    assert c.fano_factor == pytest.approx(FIORI_NEWBURY_FANO, abs=0.01)
    assert c.energy_resolution_MnKa == pytest.approx(130.0, abs=3.0)
    assert c.electronic_noise == pytest.approx(
        math.sqrt(
            c.energy_resolution_MnKa**2 - 2.3548**2 * 3.85 * MN_KA * c.fano_factor
        ),
        rel=1e-3,
    )
    # The stored model and its view draw the refined widths (the view on the
    # signal's own axis: widths in its channel widths).
    stored = chips.metadata.Chipping.Quantification.Families.Fe_K
    cal = Calibration(c.offset, c.scale, c.energy_resolution_MnKa, c.fano_factor)
    np.testing.assert_allclose(stored.fwhm, cal.fwhm(stored.energies), rtol=1e-9)
    fe = chips.get_fit_model()["Fe_K"]
    stretch = chips.axes_manager.signal_axes[0].scale / c.scale
    np.testing.assert_allclose(fe.fwhm, np.asarray(stored.fwhm) * stretch)
    # Results stored before the Fano factor was refined still draw.
    del c.fano_factor, c.electronic_noise
    assert chips.get_fit_model()["Fe_K"].fwhm.tolist() == fe.fwhm.tolist()
