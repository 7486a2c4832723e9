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
"""The L-line-aware family model: real spectra, other tables, model view."""

import warnings

import exspy
import hyperspy.api as hs
import numpy as np
import pytest

from hyperspy_chipping.data import sto_lfo_cross_section
from hyperspy_chipping.fitting import Bremsstrahlung, XrayLineFamily
from hyperspy_chipping.fitting._families import default_line, physics_families


def _as_map(spectrum, elements):
    """A 1 x 1 map of a single real spectrum, chipped into one chip."""
    s = hs.signals.Signal1D(spectrum.data[None, None])
    s.axes_manager.signal_axes[0].update_from(
        spectrum.axes_manager.signal_axes[0], ("offset", "scale", "units", "name")
    )
    s.axes_manager.signal_axes[0].is_binned = True
    s.metadata.add_dictionary(spectrum.metadata.as_dictionary())
    s.set_signal_type("EDS_TEM_chipped")
    s.set_elements(elements)
    return s.chip(1)


def _fe_pt(chips, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        chips.quantify_chips({"Fe_Ka": 1.0, "Pt_La": 1.0}, **kwargs)
    df = chips.to_dataframe()
    return df["I_Fe_Ka"][0] / df["I_Pt_La"][0]


@pytest.mark.parametrize("intensity", ["line", "family"])
def test_fept_full_range_agrees_with_narrow_range(intensity):
    # exspy's real FePt spectrum: a background that chases the unmodelled
    # low-energy peaks steals Fe Ka area (stock: -36 %). With the system peaks
    # in the model, the full-range and the 5.5-10 keV fits must agree.
    fept = exspy.data.EDS_TEM_FePt_nanoparticles()
    full = _fe_pt(
        _as_map(fept, ["Fe", "Pt", "Cu", "Si", "C", "O"]), intensity=intensity
    )
    narrow = _fe_pt(
        _as_map(fept, ["Fe", "Pt", "Cu"]), energy_range=(5.5, 10.0), intensity=intensity
    )
    tolerance = 0.03  # the target of the L-line-aware model (issue 4)
    assert full / narrow == pytest.approx(1.0, abs=tolerance)


@pytest.mark.parametrize("auto", [True, False])
def test_missing_peak_is_reported(auto):
    # The simulated Cu grid peak: added as a fit-only element by default,
    # named as a candidate when auto_elements=False.
    s = sto_lfo_cross_section((40, 40), seed=3, system_peaks=("Cu",))
    s.set_signal_type("EDS_TEM_chipped")
    chips = s.chip(20)
    match = r"Cu \(Cu_Ka\)" if auto else r"peak at 8\.0\d keV \(.* Cu_Ka"
    with pytest.warns(UserWarning, match=match):
        chips.quantify_chips(
            s.metadata.Simulation.kfactors.as_dictionary(), auto_elements=auto
        )
    q = chips.metadata.Chipping.Quantification
    assert list(q.auto_elements) == (["Cu"] if auto else [])
    assert ("Cu_K" in q.families) is auto


@pytest.mark.parametrize("fraction, named", [(0.02, True), (0.10, False)])
def test_escape_peak_is_named_as_a_candidate(fraction, named):
    # SrTiO3 alone with a peak at the Si escape energy of Ti Ka (4.511 - 1.740
    # keV). At 2 % of the Ti K counts, as a Si drift detector makes it, the
    # warning names the escape peak first and does not only tell the user to
    # add an element; at 10 %, too strong for an escape peak, it does not.
    s = sto_lfo_cross_section((40, 40), seed=3, film_fraction=0.0)
    s.set_signal_type("EDS_TEM_chipped")
    k = s.metadata.Simulation.kfactors.as_dictionary()
    first = s.chip(40)
    first.quantify_chips(k)
    ti_counts = float(first.to_dataframe()["I_Ti_Ka"][0])
    axis = s.axes_manager.signal_axes[0]
    energy = axis.offset + axis.scale * np.arange(axis.size)
    profile = np.exp(-0.5 * ((energy - 2.771) / 0.045) ** 2)
    per_pixel = fraction * ti_counts / s.axes_manager.navigation_size
    rng = np.random.default_rng(0)
    s.data += rng.poisson(per_pixel * profile / profile.sum(), s.data.shape).astype(
        s.data.dtype
    )
    with pytest.warns(UserWarning, match=r"peak at 2\.7\d keV|Ti_Ka_escape") as record:
        s.chip(20).quantify_chips(k)
    message = " ".join(str(w.message) for w in record)
    # Named: added to the fit as the escape peak of Ti Ka (a shape tied to
    # it); too strong: not an escape peak.
    assert ("Ti_Ka_escape" in message) is named


def test_no_warning_when_model_is_complete():
    s = sto_lfo_cross_section((40, 40), seed=3)
    s.set_signal_type("EDS_TEM_chipped")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        s.chip(20).quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())


def _simulate_with_exspy_tables(shape=(90, 90), seed=0):
    """STO/LFO whose lines come from exspy's table (other physics than ours).

    The demo's continuum and family areas (its ground truth), but every line
    family drawn with exspy's line energies and relative weights (Kα at the
    Kα1 energy only, no Kα2), channel-integrated Gaussians of exspy's width
    formula; Poisson counts.
    """
    from exspy.material import elements as db
    from scipy.special import erf

    from hyperspy_chipping.data._simulate import expected_spectra

    ref = sto_lfo_cross_section(shape, 50.0, seed=seed, poisson=False)
    phase_map = ref.metadata.Simulation.phase_map
    film = (phase_map == 1).mean()
    exp = expected_spectra(2000, 0.01, 0.0, {"LFO": film, "STO": 1 - film}, 50.0)
    edges = np.arange(2001) * 0.01 - 0.005
    out = np.zeros(ref.data.shape)
    for label, phase in ((1, "LFO"), (2, "STO")):
        spectrum = exp.continuum[phase].copy()
        for key, area in exp.family_counts[phase].items():
            element, shell = key.split("_")
            table = db[element].Atomic_properties.Xray_lines.as_dictionary()
            sub = {n: v for n, v in table.items() if n[0] == shell}
            norm = sum(v["weight"] for v in sub.values())
            for v in sub.values():
                e0 = v["energy (keV)"]
                fwhm = np.sqrt(0.130**2 + 2.5e-3 * (e0 - 5.8987))
                z = (edges - e0) / (fwhm / 2.3548 * np.sqrt(2))
                spectrum += area * v["weight"] / norm * 0.5 * np.diff(erf(z))
        out[phase_map == label] = spectrum
    rng = np.random.default_rng(seed)
    s = ref._deepcopy_with_new_data(rng.poisson(out).astype("uint16"))
    s.set_signal_type("EDS_TEM_chipped")
    return s


def test_other_physics_tables_family_intensities():
    # Sub-line weights of exspy's table differ from ours (La L family 2.011 vs
    # 2.001 x La La, no Kα2, other widths): the family intensities must still
    # pair with family k-factors to a few %.
    s = _simulate_with_exspy_tables()
    chips = s.chip(15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        chips.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())
    df = chips.to_dataframe()
    phase = s.metadata.Simulation.phase_map
    lfo = [(phase[r.y0 : r.y1, r.x0 : r.x1] == 1).all() for r in df.itertuples()]
    rows = df[np.array(lfo)]
    for element in ("La", "Fe", "O"):
        assert rows[f"at_{element}"].mean() == pytest.approx(
            20 if element != "O" else 60, rel=0.03
        )


def test_family_shapes_have_ka1_ka2_and_la_fraction():
    fams = {f.key: f for f in physics_families(["Sr", "La"], 300.0, (0.2, 20.0))}
    sr = fams["Sr_K"]
    ka1 = sr.energies[list(sr.names).index("Ka1")]
    ka2 = sr.energies[list(sr.names).index("Ka2")]
    assert (ka1 - ka2) * 1000 == pytest.approx(67, abs=3)  # eV, known physics
    # exspy's table: La L family = 2.011 x La La; tables differ by ~5 %.
    assert 1 / fams["La_L"].main_fraction == pytest.approx(2.011, rel=0.05)


def test_default_line_choice():
    assert default_line("Sr", 300.0, (0.2, 20.0)) == "Sr_Ka"
    assert default_line("Pt", 200.0, (0.2, 20.0)) == "Pt_La"
    assert default_line("Pt", 200.0, (0.2, 5.0)) == "Pt_Ma"
    with pytest.raises(ValueError, match=r"O has no Ka, La or Ma line inside"):
        default_line("O", 300.0, (1.0, 20.0))


def test_element_keyed_kfactors():
    s = sto_lfo_cross_section((30, 30), seed=2)
    s.set_signal_type("EDS_TEM_chipped")
    del s.metadata.Sample.xray_lines
    chips = s.chip(15)
    k = s.metadata.Simulation.kfactors.as_dictionary()
    by_line = chips.quantify_chips(k)
    by_element = chips.quantify_chips({line.split("_")[0]: v for line, v in k.items()})
    for a, b in zip(by_line, by_element):
        np.testing.assert_array_equal(a.data, b.data)


@pytest.fixture(scope="module")
def fitted():
    s = sto_lfo_cross_section((60, 60), seed=2)
    s.set_signal_type("EDS_TEM_chipped")
    chips = s.chip(15)
    chips.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())
    return chips


def test_fit_model_reproduces_the_fit(fitted):
    m = fitted.get_fit_model()
    assert isinstance(m, exspy.models.EDSTEMModel)
    assert isinstance(m["La_L"], XrayLineFamily)
    assert isinstance(m["background"], Bremsstrahlung)
    q = fitted.metadata.Chipping.Quantification
    la = q.families.index("La_L")
    np.testing.assert_allclose(m["La_L"].A.map["values"].ravel(), q.amplitudes[:, la])
    # The model of every chip follows its data: chi2 per channel ~ 1.
    model = m.as_signal().data
    lo, hi = q.energy_range
    e = fitted.axes_manager.signal_axes[0].axis
    sel = (e > lo) & (e < hi)
    data, mu = fitted.data[..., sel].astype(float), model[..., sel]
    used = mu > 2  # Pearson chi2 with model variance; sparse channels left out
    chi2 = ((data - mu) ** 2 / np.where(used, mu, 1))[used].mean()
    assert chi2 == pytest.approx(1.0, abs=0.1)


def test_fit_model_store_save_restore(fitted):
    m = fitted.get_fit_model()
    m.store("chips")
    fitted.save("fitted.hspy")
    back = hs.load("fitted.hspy")
    restored = back.models.restore("chips")
    assert type(restored["La_L"]) is XrayLineFamily
    np.testing.assert_allclose(
        restored["La_L"].A.map["values"], m["La_L"].A.map["values"]
    )
    np.testing.assert_allclose(restored.as_signal().data, m.as_signal().data)


def test_fit_model_exspy_is_exact():
    s = sto_lfo_cross_section((30, 30), seed=2)
    s.set_signal_type("EDS_TEM_chipped")
    chips = s.chip(15)
    k = s.metadata.Simulation.kfactors_line.as_dictionary()
    chips.quantify_chips(k, intensity="line", model="exspy")
    m = chips.get_fit_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stock = chips.create_model()
        stock.multifit(optimizer="lstsq", show_progressbar=False)
    ours = m.as_signal().data
    axis = chips.axes_manager.signal_axes[0]
    # Stock model evaluated chip by chip from its components' current values
    # (its as_signal() uses stale maps of twinned parameters after lstsq).
    for index in np.ndindex(chips.axes_manager.navigation_shape):
        stock.axes_manager.indices = index
        expected = sum(c.function(axis.axis) for c in stock if c.active)
        np.testing.assert_allclose(
            ours[index[::-1]], expected * axis.scale, rtol=1e-6, atol=1e-6
        )


def test_fit_model_needs_quantification():
    s = sto_lfo_cross_section((30, 30), seed=2)
    s.set_signal_type("EDS_TEM_chipped")
    with pytest.raises(ValueError, match=r"call quantify_chips\(\) first"):
        s.chip(15).get_fit_model()


def test_refinement_bound_is_warned():
    # exspy's La M lines differ from ours, next to Fe Lb3,4 (0.79 keV): that
    # group's ratio would absorb them at 4.5 x its table and is held at the
    # bound, with a warning that says so.
    s = _simulate_with_exspy_tables((90, 90))
    with pytest.warns(
        UserWarning, match=r"Fe_L sub-line group Lb4\+Lb3 .* held at the bound"
    ):
        s.chip(15).quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())


def test_line_not_excited_at_beam_energy():
    s = sto_lfo_cross_section((30, 30), seed=2)
    s.set_signal_type("EDS_TEM_chipped")
    s.set_microscope_parameters(beam_energy=10.0)
    chips = s.chip(15)
    with pytest.raises(ValueError, match=r"Sr_Ka is not in .* not excited at 10.0 kV"):
        chips.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())


@pytest.mark.parametrize("background", ["bremsstrahlung", "polynomial"])
def test_fit_model_background_is_the_fitted_one(background):
    # Metadata offset 20 eV off the truth: the fit refines it, and the model
    # view must draw the background the chips were fitted with, channel for
    # channel (design columns times the stored amplitudes).
    from hyperspy_chipping.fitting._design import Calibration, background_columns

    s = sto_lfo_cross_section((30, 30), seed=2)
    s.axes_manager.signal_axes[0].offset += 0.02
    s.set_signal_type("EDS_TEM_chipped")
    chips = s.chip(15)
    chips.quantify_chips(
        s.metadata.Simulation.kfactors.as_dictionary(), background=background
    )
    q = chips.metadata.Chipping.Quantification
    m = chips.get_fit_model()
    axis = chips.axes_manager.signal_axes[0]
    lo, hi = q.energy_range
    channels = np.flatnonzero((axis.axis >= lo) & (axis.axis <= hi))
    cal = Calibration(
        q.Calibration.offset, q.Calibration.scale, q.Calibration.energy_resolution_MnKa
    )
    shape = list(q.background_shape) or None  # the map's continuum (TEM/SEM)
    order = q.chip_background_order if shape else q.background_order
    response = q.Detector_response  # the detector entrance the fit refined
    window = [response.window_scale, response.nitride_nm, response.dead_layer_nm]
    columns = background_columns(
        background, cal, channels, q.beam_energy, int(order), shape, window
    )
    fitted = columns @ q.amplitudes[0, len(q.families) :]
    m.axes_manager.indices = (0, 0)
    view = m["background"].function(axis.axis[channels]) * axis.scale
    # (the model view's amplitudes are stored in single precision: 1e-7)
    np.testing.assert_allclose(view, fitted, rtol=1e-6, atol=1e-6 * fitted.max())
