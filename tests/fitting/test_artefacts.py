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
"""Detector artefacts: Si escape peaks as model shapes tied to their lines."""

import warnings

import numpy as np
import pytest

from hyperspy_chipping.data import sto_lfo_cross_section
from hyperspy_chipping.fitting import DetectorArtefact
from hyperspy_chipping.fitting._artefacts import escape_probability


def test_escape_probability_follows_the_literature():
    # Si detectors: ~1-2 % just above the Si K edge, falling to ~0.1 % at
    # 10 keV (Reed & Ware 1972); nothing below the edge (1.839 keV).
    p = escape_probability(np.array([1.8, 2.0, 10.0]))
    assert p[0] == 0
    assert 0.01 < p[1] < 0.02
    assert 0.0005 < p[2] < 0.0015


def _sto_with_escape(fraction=0.01, lazy=False):
    """SrTiO3 with a Ti Ka escape peak of `fraction` of the Ti K counts."""
    s = sto_lfo_cross_section((40, 40), seed=3, film_fraction=0.0)
    s.set_signal_type("EDS_TEM_chipped")
    k = s.metadata.Simulation.kfactors.as_dictionary()
    first = s.chip(40)  # the Ti K counts, to size the escape peak
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        first.quantify_chips(k)
    ti = float(first.to_dataframe()["I_Ti_Ka"][0]) / s.axes_manager.navigation_size
    axis = s.axes_manager.signal_axes[0]
    e = axis.offset + axis.scale * np.arange(axis.size)
    sigma = 0.090 / 2.3548  # the detector width at 2.77 keV (Fiori-Newbury)
    profile = np.exp(-0.5 * ((e - (4.511 - 1.740)) / sigma) ** 2)
    rng = np.random.default_rng(0)
    extra = rng.poisson(fraction * ti * profile / profile.sum(), s.data.shape)
    s.data += extra.astype(s.data.dtype)
    injected = extra.sum()
    return (s.as_lazy() if lazy else s), k, injected


@pytest.mark.parametrize("lazy", [False, True])
def test_escape_peak_is_modelled_tied_to_its_line(lazy):
    s, k, injected = _sto_with_escape(lazy=lazy)
    chips = s.chip(40)
    with pytest.warns(UserWarning, match="Ti_Ka_escape"):
        chips.quantify_chips(k)
        chips.to_dataframe()
    q = chips.metadata.Chipping.Quantification
    assert list(q.Summed_fit.auto_artefacts) == ["Ti_Ka_escape"]
    assert q.Families.Ti_Ka_escape.kind == "escape"
    # Its counts are the injected ones (Poisson: +- 4 sqrt(n + background)).
    j = list(q.families).index("Ti_Ka_escape")
    counts = float(np.asarray(q.amplitudes)[0, j])
    assert counts == pytest.approx(injected, abs=4 * np.sqrt(injected + 3e4))
    model = chips.get_fit_model()
    assert isinstance(model["Ti_Ka_escape"], DetectorArtefact)
    assert model["Ti_Ka_escape"].parents == ["Ti_Ka"]


def test_detector_artefact_store_save_restore():
    s, k, _ = _sto_with_escape()
    chips = s.chip(40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        chips.quantify_chips(k)
    m = chips.get_fit_model()
    m.store("chips")
    chips.save("chips.hspy")
    import hyperspy.api as hs

    back = hs.load("chips.hspy")
    restored = back.models.restore("chips")
    assert type(restored["Ti_Ka_escape"]) is DetectorArtefact
    assert restored["Ti_Ka_escape"].kind == "escape"
