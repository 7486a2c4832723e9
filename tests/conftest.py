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
"""Fixtures shared by the tests."""

import exspy
import hyperspy.api as hs
import numpy as np
import pytest


def _make_map(shape=(23, 17), n_channels=512, lazy=False, dtype="uint16", seed=0):
    """A small EDS_TEM_chipped spectrum image with Poisson counts.

    `shape` is in data order (rows, columns).
    """
    rng = np.random.default_rng(seed)
    data = rng.poisson(0.5, shape + (n_channels,)).astype(dtype)
    s = exspy.signals.EDSTEMSpectrum(data)
    for axis, name, scale, offset in zip(
        s.axes_manager.navigation_axes, "xy", (0.5, 0.25), (-3.0, 10.0)
    ):
        axis.name, axis.units, axis.scale, axis.offset = name, "nm", scale, offset
    e = s.axes_manager.signal_axes[0]
    e.name, e.units, e.scale, e.offset = "Energy", "keV", 0.02, -0.2
    s.set_microscope_parameters(beam_energy=300.0, live_time=0.01, real_time=0.02)
    s.add_elements(["Fe", "O"])
    s.set_signal_type("EDS_TEM_chipped")
    return s.as_lazy() if lazy else s


@pytest.fixture
def make_map():
    """Factory of small EDS_TEM_chipped spectrum images (see ``_make_map``)."""
    return _make_map


@pytest.fixture
def eds_map():
    return _make_map()


@pytest.fixture(params=[False, True], ids=["eager", "lazy"])
def lazy(request):
    return request.param


@pytest.fixture
def fept():
    """exspy's real FePt nanoparticle spectrum (200 kV), as shipped."""
    return exspy.data.EDS_TEM_FePt_nanoparticles()


@pytest.fixture
def hs_api():
    return hs
