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
"""Registration with HyperSpy and the exspy dispatch workarounds."""

import importlib.metadata
from pathlib import Path

import exspy
import hyperspy.api as hs
import numpy as np
import pytest

import hyperspy_chipping
from hyperspy_chipping.signals import ChippedEDSSpectrum, LazyChippedEDSSpectrum


def test_entry_point_and_yaml_in_package():
    eps = importlib.metadata.entry_points(group="hyperspy.extensions")
    ep = [e for e in eps if e.name == "hyperspy_chipping"]
    assert ep and ep[0].value == "hyperspy_chipping"
    yaml = Path(hyperspy_chipping.__file__).parent / "hyperspy_extension.yaml"
    assert yaml.is_file()
    assert "EDS_TEM_chipped" in yaml.read_text()


def test_known_signal_types_lists_chipped(capsys):
    hs.print_known_signal_types()
    out = capsys.readouterr().out
    assert "EDS_TEM_chipped" in out and "ChippedEDSSpectrum" in out


def test_set_signal_type_round_trip():
    s = exspy.signals.EDSTEMSpectrum(np.ones((3, 4, 16)))
    s.set_signal_type("EDS_TEM_chipped")
    assert type(s) is ChippedEDSSpectrum
    assert s.metadata.Signal.signal_type == "EDS_TEM_chipped"
    s.set_signal_type("EDS_TEM")
    assert type(s) is exspy.signals.EDSTEMSpectrum
    s.set_signal_type("EDS_TEM_chipped")
    assert type(s) is ChippedEDSSpectrum


def test_copy_and_as_lazy_keep_class(eds_map):
    assert type(eds_map.deepcopy()) is ChippedEDSSpectrum
    lazy = eds_map.as_lazy()
    assert type(lazy) is LazyChippedEDSSpectrum
    assert lazy.metadata.Signal.signal_type == "EDS_TEM_chipped"
    back = lazy.deepcopy()
    back.compute()
    assert type(back) is ChippedEDSSpectrum


def test_eds_sem_metadata_moves_to_tem():
    s = exspy.signals.EDSSEMSpectrum(np.ones((3, 4, 16)))
    s.set_microscope_parameters(beam_energy=15.0)
    s.set_signal_type("EDS_TEM_chipped")
    assert s.metadata.Acquisition_instrument.TEM.beam_energy == 15.0
    assert "SEM" not in s.metadata.Acquisition_instrument


@pytest.mark.parametrize("ext", ["hspy", "zspy"])
@pytest.mark.parametrize("lazy_load", [False, True])
def test_save_load_keeps_class_and_chipping(ext, lazy_load, make_map):
    chips = make_map().chip(5)
    chips.save(f"chips.{ext}")
    back = hs.load(f"chips.{ext}", lazy=lazy_load)
    expected = LazyChippedEDSSpectrum if lazy_load else ChippedEDSSpectrum
    assert type(back) is expected
    np.testing.assert_array_equal(np.asarray(back.data), chips.data)
    np.testing.assert_array_equal(
        back.metadata.Chipping.x_bounds, chips.metadata.Chipping.x_bounds
    )
    assert back.metadata.Chipping.Source.navigation_shape == [17, 23]


def test_create_model_works_on_chipped(eds_map):
    # exspy's string dispatch raises NotImplementedError without the mixin.
    m = eds_map.chip(5).create_model()
    assert {c.name for c in m} >= {"Fe_Ka", "O_Ka", "background_order_6"}


def test_line_energy_auto_resolution_uses_tem_metadata(eds_map):
    eds_map.set_microscope_parameters(energy_resolution_MnKa=130.0)
    energy, fwhm = eds_map._get_line_energy("Mn_Ka", FWHM_MnKa="auto")
    assert energy == pytest.approx(5.8987, abs=1e-3)
    assert fwhm == pytest.approx(0.130, abs=1e-6)  # 130 eV at Mn Ka by definition


def test_take_off_angle_from_tem_metadata(eds_map):
    eds_map.set_microscope_parameters(tilt_stage=10.0, elevation_angle=20.0)
    eds_map.metadata.Acquisition_instrument.TEM.Detector.EDS.azimuth_angle = 0.0
    # Detector in the tilt plane: the tilt adds to the elevation.
    assert eds_map.get_take_off_angle() == pytest.approx(30.0)


def test_quantification_with_absorption_correction(eds_map):
    chips = eds_map.chip(5)
    chips.set_lines(["Fe_Ka", "O_Ka"])
    intensities = chips.get_lines_intensity()
    at, _ = chips.quantification(
        intensities, "CL", factors=[1.0, 2.0], absorption_correction=True, thickness=50
    )
    total = at[0].data + at[1].data
    np.testing.assert_allclose(total, 100.0)
