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
"""What real spectra hold: exspy's shipped FePt spectrum as a small map."""

import warnings

import exspy
import numpy as np
import pytest


def fept_map(elements, xray_lines=None, empty_chip=False, lazy=False):
    """exspy's FePt spectrum (200 kV) tiled into a 2 x 2 map of one-pixel chips."""
    s = exspy.data.EDS_TEM_FePt_nanoparticles()
    data = np.tile(s.data, (2, 2, 1))
    if empty_chip:
        data[0, 0] = 0
    t = exspy.signals.EDSTEMSpectrum(data)
    t.axes_manager.signal_axes[0].update_from(
        s.axes_manager.signal_axes[0], ("offset", "scale", "units", "name")
    )
    t.metadata.add_dictionary(s.metadata.as_dictionary())
    t.metadata.Sample.elements = list(elements)
    if xray_lines is not None:
        t.metadata.Sample.xray_lines = list(xray_lines)
    t.set_signal_type("EDS_TEM_chipped")
    if lazy:
        t = t.as_lazy()
    return t.chip(1)


def quantify(chips, kfactors=None, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chips.quantify_chips(kfactors or {"Fe_Ka": 1.0, "Pt_La": 1.0}, **kwargs)
    q = chips.metadata.Chipping.Quantification
    if "atomic_percent" not in q:  # lazy: compute
        chips.to_dataframe()
        q = chips.metadata.Chipping.Quantification
    return q, [w for w in caught if issubclass(w.category, UserWarning)]


def test_exspy_model_with_energy_range_matches_stock_exspy():
    # Stock exspy (EDSModel, set_signal_range(5.5, 10), fit) on this spectrum
    # gives Fe_Ka 2800 and Pt_La 14921 counts (main lines).
    chips = fept_map(["Cu", "Fe", "Pt"])
    q, _ = quantify(chips, model="exspy", energy_range=(5.5, 10), intensity="line")
    fe, pt = np.asarray(q.intensities)[0]
    assert fe == pytest.approx(2800, rel=0.02)
    assert pt == pytest.approx(14921, rel=0.02)
    assert q.families == ["Cu_K", "Fe_K", "Pt_L"]


@pytest.mark.parametrize("lazy", [False, True])
def test_get_fit_model_of_exspy_model_with_an_empty_chip(lazy):
    chips = fept_map(["Cu", "Fe", "Pt"], empty_chip=True, lazy=lazy)
    quantify(chips, model="exspy")
    if lazy:
        chips.compute()
    model = chips.get_fit_model()
    fitted = model.as_signal().data
    # A linear fit of zero counts is zero; the other chips are the same
    # spectrum, so their models are equal and hold its counts.
    np.testing.assert_allclose(fitted[0, 0], 0.0, atol=1e-9)
    np.testing.assert_allclose(fitted[1, 1], fitted[0, 1], rtol=1e-9)
    spectrum = chips.data[1, 1]
    assert fitted[1, 1].sum() == pytest.approx(float(spectrum.sum()), rel=0.02)


@pytest.mark.parametrize("lazy", [False, True])
def test_file_xray_lines_without_kfactors_are_fitted_not_quantified(lazy):
    # As a Bruker file does: its own xray_lines, with C.
    lines = ["C_Ka", "Cu_Ka", "Fe_Ka", "Pt_La"]
    chips = fept_map(["C", "Cu", "Fe", "Pt"], xray_lines=lines, lazy=lazy)
    q, _ = quantify(chips)
    assert q.xray_lines == ["Fe_Ka", "Pt_La"]
    assert "C_K" in q.families and "Cu_K" in q.families
    np.testing.assert_allclose(np.asarray(q.atomic_percent).sum(axis=1), 100.0)
    # The same fit as with the elements alone (no xray_lines in the file).
    ref, _ = quantify(fept_map(["C", "Cu", "Fe", "Pt"]))
    np.testing.assert_allclose(q.intensities, ref.intensities, rtol=1e-9)


def test_a_list_of_kfactors_still_needs_one_per_file_line():
    chips = fept_map(["C", "Fe", "Pt"], xray_lines=["C_Ka", "Fe_Ka", "Pt_La"])
    with pytest.raises(ValueError, match="needs one value per line"):
        chips.quantify_chips([1.0, 1.0])


@pytest.mark.parametrize("lazy", [False, True])
def test_fit_starts_above_a_large_zero_peak(lazy):
    from hyperspy_chipping.data import sto_lfo_cross_section

    s = sto_lfo_cross_section(
        (60, 60), 50.0, seed=3, energy_offset=-0.25, zero_peak_counts=2000.0
    )
    s.set_signal_type("EDS_TEM_chipped")
    if lazy:
        s = s.as_lazy()
    chips = s.chip(15)
    q, _ = quantify(chips, s.metadata.Simulation.kfactors.as_dictionary())
    # The simulated zero peak has the noise width, FWHM(0) = sqrt(R^2 -
    # 2.5 * 5898.7 eV) (Fiori-Newbury): 2000 counts per pixel x 3600 pixels
    # fall below half a count sqrt(2 ln(2 x 7.2e6)) = 5.7 sigma out.
    r = s.metadata.Acquisition_instrument.TEM.Detector.EDS.energy_resolution_MnKa
    sigma = np.sqrt(r**2 - 2.5 * 5898.7) / 2.3548 / 1000
    lo, hi = q.energy_range
    assert 5.7 * sigma - 0.01 <= lo <= 5.7 * sigma + 0.01
    assert hi == pytest.approx(19.74, abs=0.01)


def test_user_energy_range_wins():
    chips = fept_map(["Cu", "Fe", "Pt"])
    q, _ = quantify(chips, energy_range=(0.3, 19.0))
    assert list(q.energy_range) == [0.3, 19.0]


def sem_map(lazy=False):
    """exspy's 10 kV SEM spectrum (TM002) tiled into a 2 x 2 map."""
    s = exspy.data.EDS_SEM_TM002()
    t = exspy.signals.EDSSEMSpectrum(np.tile(s.data, (2, 2, 1)))
    t.axes_manager.signal_axes[0].update_from(
        s.axes_manager.signal_axes[0], ("offset", "scale", "units", "name")
    )
    t.metadata.add_dictionary(s.metadata.as_dictionary())
    t.set_signal_type("EDS_TEM_chipped")
    if lazy:
        t = t.as_lazy()
    return t


@pytest.mark.parametrize("lazy", [False, True])
def test_sem_data_quantified_by_cliff_lorimer_get_one_warning(lazy):
    chips = sem_map(lazy).chip(1)
    k = dict.fromkeys(chips.metadata.Sample.elements, 1.0)
    with pytest.warns(UserWarning, match="thin-film method") as caught:
        chips.quantify_chips(k)
    assert sum("thin-film" in str(w.message) for w in caught) == 1


def test_tem_data_get_no_thin_film_warning():
    chips = fept_map(["Cu", "Fe", "Pt"])
    _, caught = quantify(chips)
    assert not any("thin-film" in str(w.message) for w in caught)


def _fe_fraction(elements, **kwargs):
    q, caught = quantify(fept_map(elements), intensity="line", **kwargs)
    fe, pt = np.asarray(q.intensities)[0]
    return fe / (fe + pt), q, caught


def test_fept_unnamed_system_peaks_are_found_and_fitted():
    # exspy's FePt spectrum with only Fe, Pt and the Cu grid named: its C K
    # and Si K peaks (carbon film, Si) are found and fitted, and Fe/(Fe+Pt)
    # from the full range agrees with the 5.5-10 keV fit (where no system
    # peak lies) within 3 % (it was 11 % apart without them; DESIGN 3.5).
    narrow, *_ = _fe_fraction(["Cu", "Fe", "Pt"], energy_range=(5.5, 10.0))
    full, q, caught = _fe_fraction(["Cu", "Fe", "Pt"])
    assert {"C", "Si"} <= set(q.auto_elements)
    assert full / narrow == pytest.approx(1.0, abs=0.03)
    # The Pt Mz peak (1.60 keV, Pt fitted) is never blamed on another
    # element: none with a main line within a peak width of it was added.
    assert not {"Kr", "Lu", "Hf", "Rb", "Ta"} & set(q.auto_elements)
    # Nor is the peak at 6.93 keV between Fe Ka and Fe Kb named Co: Co L
    # would show as strongly as the detector's refined entrance lets it
    # through, and the data have none (a signature at the nominal entrance,
    # with the refined entrance in the fit, named it).
    assert "Co" not in set(q.auto_elements)
    found = [c for c in q.Summed_fit.feature_causes if c.startswith("Pt_Mz")]
    assert found, list(q.Summed_fit.feature_causes)
    assert sum("not in metadata.Sample.elements" in str(w.message) for w in caught) == 1


def test_fept_with_system_peaks_named_agrees_within_one_percent():
    narrow, *_ = _fe_fraction(["Cu", "Fe", "Pt"], energy_range=(5.5, 10.0))
    full, *_ = _fe_fraction(["C", "Cu", "Fe", "O", "Pt", "Si"])
    assert full / narrow == pytest.approx(1.0, abs=0.01)


def _fe_fraction_family(elements, **kwargs):
    q, caught = quantify(fept_map(elements), intensity="family", **kwargs)
    fe, pt = np.asarray(q.intensities)[0]
    return fe / (fe + pt), q, caught


def test_fept_family_intensities_agree_within_three_percent_with_auto_elements():
    # Family intensities: the 5.5-10 keV fit holds Pt Lα and Ll but not the
    # Lβ (11.1-11.2 keV) and Lγ (12.9-13.4 keV) groups, whose share of the
    # family it takes from the table; the full range measures them.
    narrow, *_ = _fe_fraction_family(["Cu", "Fe", "Pt"], energy_range=(5.5, 10.0))
    full, *_ = _fe_fraction_family(["Cu", "Fe", "Pt"])
    assert full / narrow == pytest.approx(1.0, abs=0.03)


def test_fept_family_intensities_with_system_peaks_named_agree_within_one_percent():
    # The data put the Pt L beta group at 0.95 x the table: the 5.5-10 keV
    # fit, which extrapolated it from the table, was 1.8 % off the full
    # range until the ratios of lines outside the range were refined on the
    # summed spectrum.
    narrow, q, _ = _fe_fraction_family(["Cu", "Fe", "Pt"], energy_range=(5.5, 10.0))
    full, *_ = _fe_fraction_family(["C", "Cu", "Fe", "O", "Pt", "Si"])
    assert full / narrow == pytest.approx(1.0, abs=0.01)
    lb = [v for g, v in q.line_weights.Pt_L.as_dictionary().items() if "Lb1" in g]
    assert lb and lb[0] < 0.98, q.line_weights.Pt_L


@pytest.mark.parametrize("lazy", [False, True])
def test_narrow_range_fits_its_channels_with_ratios_from_beyond(lazy):
    # The chips are fitted over energy_range only; the summed spectrum
    # beyond it gives the ratios of the lines outside (Pt L beta, gamma).
    chips = fept_map(["Cu", "Fe", "Pt"], lazy=lazy)
    q, _ = quantify(chips, intensity="family", energy_range=(5.5, 10.0))
    assert list(q.energy_range) == [5.5, 10.0]
    e = chips.axes_manager.signal_axes[0].axis
    lo, hi = q.fit_channels
    assert e[lo] >= 5.5 - 0.01 and e[hi - 1] <= 10.0 + 0.01
    eager = fept_map(["Cu", "Fe", "Pt"])
    q_eager, _ = quantify(eager, intensity="family", energy_range=(5.5, 10.0))
    np.testing.assert_allclose(q.intensities, q_eager.intensities, rtol=1e-9)
    # Without the lines beyond the range in the axis, the table's ratios.
    cut = fept_map(["Cu", "Fe", "Pt"]).isig[:10.5]
    q_cut, _ = quantify(cut, intensity="family", energy_range=(5.5, 10.0))
    fe, pt = np.asarray(q_eager.intensities)[0]
    fe_cut, pt_cut = np.asarray(q_cut.intensities)[0]
    assert pt_cut / pt == pytest.approx(1.02, abs=0.01)  # the table's Pt L beta


def test_fept_peak_next_to_a_sum_energy_is_not_taken_for_pile_up():
    # A peak at 11.53 keV lies near Pt La + Pt Ma (11.49 keV); pile-up goes
    # as the product of the rates, so the self pile-up of Pt Ma (4.10 keV)
    # would then be as large, and the data show none: no pile-up is fitted
    # or named (the peak is most likely Pt Lb5, 11.56 keV, not in the
    # tables). The Si peak is larger than a detector's internal
    # fluorescence: Si, not an artefact.
    _, q, caught = _fe_fraction(["Cu", "Fe", "Pt"])
    assert not any("pileup" in f for f in q.families)
    assert "Si" in list(q.auto_elements)
    assert "Si_internal_fluorescence" not in list(q.families)
    assert not any("pile-up" in c for c in q.Summed_fit.feature_causes)
    assert not any("pile-up" in str(w.message) for w in caught)


def _fitted_backgrounds(chips):
    """Every chip's fitted background over the fit channels (design x amplitudes)."""
    from hyperspy_chipping.fitting._design import Calibration, background_columns

    q = chips.metadata.Chipping.Quantification
    axis = chips.axes_manager.signal_axes[0]
    lo, hi = q.energy_range
    channels = np.flatnonzero((axis.axis >= lo) & (axis.axis <= hi))
    c = q.Calibration
    cal = Calibration(c.offset, c.scale, c.energy_resolution_MnKa)
    columns = background_columns(
        q.background,
        cal,
        channels,
        q.beam_energy,
        int(q.chip_background_order),
        shape=list(q.background_shape),
        window=q.Detector_response.window_scale,
    )
    return np.asarray(q.amplitudes)[:, len(q.families) :] @ columns.T


def _sem_20kv_map(lazy=False):
    """A 20 kV SEM-like map: Kramers' continuum to the beam energy (the
    Duane-Hunt limit) through the detector window, Al, Si and Fe lines,
    Poisson."""
    from hyperspy_chipping.fitting._design import Calibration, peak_columns
    from hyperspy_chipping.fitting._families import physics_families

    e = 0.01 * np.arange(2048) - 0.47
    cal = Calibration(-0.47, 0.01, 130.0)
    fams = physics_families(["Al", "Fe", "Si"], 20.0, (0.2, 20.0))
    lines = peak_columns(fams, cal, np.arange(2048)) @ np.array([3e3, 2e3, 1e3, 6e3])
    from hyperspy_chipping.fitting._design import tabulated_efficiency

    safe = np.clip(e, 0.1, None)
    kramers = 40 * (20 - safe) / safe
    continuum = np.where(e > 0.1, kramers * tabulated_efficiency(safe), 0)
    expected = np.clip(continuum, 0, None) + lines
    data = np.random.default_rng(0).poisson(np.tile(expected, (4, 4, 1)))
    s = exspy.signals.EDSSEMSpectrum(data.astype("uint32"))
    ax = s.axes_manager.signal_axes[0]
    ax.offset, ax.scale, ax.units, ax.name = -0.47, 0.01, "keV", "Energy"
    s.set_microscope_parameters(beam_energy=20.0, energy_resolution_MnKa=130.0)
    s.add_elements(["Al", "Fe", "Si"])
    s.set_signal_type("EDS_TEM_chipped")
    return s.as_lazy() if lazy else s


@pytest.mark.parametrize("lazy", [False, True])
def test_sem_background_is_never_negative(lazy):
    # The continuum falls to zero at the beam energy: the fitted background
    # (of every chip, not only of the sum) stays >= 0 up to there.
    chips = _sem_20kv_map(lazy).chip(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        chips.quantify_chips({"Al": 1.0, "Fe": 1.0, "Si": 1.0})
        chips.to_dataframe()
    if lazy:
        chips.compute()
    background = _fitted_backgrounds(chips)
    assert background.min() >= 0
    # ... and it is the continuum: above the last line (Fe Kb, 7.06 keV) the
    # fitted model is the background alone, and it matches the counts.
    q = chips.metadata.Chipping.Quantification
    assert q.Summed_fit.chi2_red < 1.5


def test_tm002_sem_background_is_never_negative():
    chips = sem_map().chip(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        chips.quantify_chips(dict.fromkeys(chips.metadata.Sample.elements, 1.0))
    assert _fitted_backgrounds(chips).min() >= 0
