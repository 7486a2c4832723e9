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
"""Pile-up and Si internal-fluorescence peaks."""

import dataclasses
import warnings

import exspy
import numpy as np
import pytest
import xraydb

from hyperspy_chipping.fitting import DetectorArtefact, SiInternalFluorescence
from hyperspy_chipping.fitting._artefacts import (
    DEAD_LAYER_MAX_NM,
    expected_internal_fluorescence,
    internal_fluorescence_family,
    internal_fluorescence_fraction,
    pile_up_detectable,
)
from hyperspy_chipping.fitting._design import (
    Calibration,
    peak_columns,
    tabulated_efficiency,
)
from hyperspy_chipping.fitting._families import physics_families

BEAM = 200.0
CAL = Calibration(-0.2, 0.01, 130.0)
CHANNELS = np.arange(2048)
ENERGY = CAL.centres(CHANNELS)


def _expected(counts, continuum=400.0, extra=None):
    """Expected counts per pixel: Kramers' continuum through the detector
    window plus the lines of `counts` ({element: family counts, first
    family}), plus `extra` (counts per channel)."""
    elements = sorted(counts)
    fams = [physics_families([el], BEAM, (0.2, 20.0))[0] for el in elements]
    lines = peak_columns(fams, CAL, CHANNELS) @ np.array([counts[e] for e in elements])
    safe = np.clip(ENERGY, 0.1, None)
    kramers = continuum * (BEAM - safe) / safe * tabulated_efficiency(safe)
    out = np.where(ENERGY > 0.1, kramers, 0.0) + lines
    return out if extra is None else out + extra


def _chips(expected, elements, seed=0, lazy=False):
    """A 4 x 4 map of Poisson draws of `expected`, cut into 2 x 2 chips."""
    data = np.random.default_rng(seed).poisson(np.tile(expected, (4, 4, 1)))
    s = exspy.signals.EDSTEMSpectrum(data.astype("uint32"))
    ax = s.axes_manager.signal_axes[0]
    ax.offset, ax.scale, ax.units, ax.name = CAL.offset, CAL.scale, "keV", "Energy"
    s.set_microscope_parameters(beam_energy=BEAM, energy_resolution_MnKa=130.0)
    s.add_elements(elements)
    s.set_signal_type("EDS_TEM_chipped")
    return (s.as_lazy() if lazy else s).chip(2)


def _quantify(chips, kfactors):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # (The simulated continuum has no zero peak or threshold to start at.)
        chips.quantify_chips(kfactors, energy_range=(0.5, 19.5))
    q = chips.metadata.Chipping.Quantification
    return q, [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def _line_profile(family, counts):
    return peak_columns([family], CAL, CHANNELS)[:, 0] * counts


# --- pile-up --------------------------------------------------------------


def test_pile_up_detectable_is_currie_limit_of_the_largest_pile_up():
    # At most 2 % of a line piles up (2 tau R, tau ~ 100 ns, R <= 1e5 /s):
    # 2 % of 1e5 = 2000 counts against L_D = 2.71 + 4.65 sqrt(1e4) = 467.7.
    assert pile_up_detectable((1e5, 1e5), 1e4)
    # 2 % of 2e4 = 400 counts < 467.7: it could never be seen.
    assert not pile_up_detectable((2e4, 2e4), 1e4)
    # The geometric mean of the parents: 2 % of sqrt(1e6 x 1e2) = 200 counts.
    assert not pile_up_detectable((1e6, 1e2), 1e4)


def test_pile_up_detectable_needs_two_parents():
    with pytest.raises(ValueError, match="two lines"):
        pile_up_detectable((1e5,), 1e4)


@pytest.fixture(scope="module")
def cu_pile_up():
    """Cu and Fe, with and without Cu K self pile-up of 0.5 % of Cu K.

    Two Cu K photons counted as one: every ordered pair of Cu K lines
    (i, j) at ``E_i + E_j`` with probability ``w_i w_j`` (Kα + Kα at 16.08
    keV, Kα + Kβ at 16.96 keV, Kβ + Kβ at 17.81 keV).
    """
    counts = {"Cu": 2.5e6, "Fe": 1e6}
    cu = physics_families(["Cu"], BEAM, (0.2, 20.0))[0]
    w = cu.weights / cu.weights.sum()
    pile = dataclasses.replace(
        cu,
        names=tuple(f"sum{k}" for k in range(w.size**2)),
        energies=np.add.outer(cu.energies, cu.energies).ravel(),
        weights=np.outer(w, w).ravel(),
        main=np.outer(cu.main, cu.main).ravel(),
    )
    injected = 0.005 * counts["Cu"]  # per pixel
    base = _expected(counts)
    with_pile = _expected(counts, extra=_line_profile(pile, injected))
    k = {"Cu_Ka": 1.0, "Fe_Ka": 1.0}
    out = {}
    for name, expected in (("absent", base), ("present", with_pile)):
        chips = _chips(expected, ["Cu", "Fe"])
        q, caught = _quantify(chips, k)
        out[name] = (chips, q, caught)
    lazy = _chips(with_pile, ["Cu", "Fe"], lazy=True)
    _quantify(lazy, k)
    with pytest.warns(UserWarning, match="Cu_Ka_Cu_Ka_pileup"):
        lazy.to_dataframe()  # computes (and warns) and stores the results
    out["lazy"] = (lazy, lazy.metadata.Chipping.Quantification, [])
    return out, injected * 16  # 16 pixels


def test_pile_up_peak_is_fitted_and_tied_to_its_line(cu_pile_up):
    runs, injected = cu_pile_up
    chips, q, caught = runs["present"]
    key = "Cu_Ka_Cu_Ka_pileup"
    assert key in list(q.families)
    assert key in list(q.Summed_fit.auto_artefacts)
    assert q.Families[key].kind == "pile-up"
    # Its counts, summed over the chips, are the injected ones (Poisson of
    # the peak and the continuum under it, +- 4 sigma).
    j = list(q.families).index(key)
    fitted = float(np.asarray(q.amplitudes)[:, j].sum())
    under = _expected({"Cu": 2.5e6, "Fe": 1e6})[np.abs(ENERGY - 16.08) < 0.25]
    assert fitted == pytest.approx(
        injected, abs=4 * np.sqrt(injected + 16 * under.sum())
    )
    model = chips.get_fit_model()
    assert isinstance(model[key], DetectorArtefact)
    assert model[key].parents == ["Cu_Ka", "Cu_Ka"]


def test_pile_up_of_lazy_input_equals_eager(cu_pile_up):
    runs, _ = cu_pile_up
    _, eager, _ = runs["present"]
    _, lazy, _ = runs["lazy"]
    assert list(lazy.families) == list(eager.families)
    np.testing.assert_allclose(
        np.asarray(lazy.atomic_percent), np.asarray(eager.atomic_percent), rtol=1e-9
    )


def test_absent_pile_up_is_not_added_and_steals_nothing(cu_pile_up):
    runs, _ = cu_pile_up
    _, absent, _ = runs["absent"]
    _, present, _ = runs["present"]
    assert not any("pileup" in f for f in absent.families)
    # The composition of Cu and Fe is that of the map without the sum peak
    # (16.08 keV is 7 keV from either line: the peak takes nothing of them).
    a = np.asarray(absent.atomic_percent)
    b = np.asarray(present.atomic_percent)
    assert b.mean(axis=0) == pytest.approx(a.mean(axis=0), rel=2e-3)


# --- Si internal fluorescence ---------------------------------------------


def test_internal_fluorescence_fraction_physics():
    q = internal_fluorescence_fraction(np.array([1.80, 1.85, 2.0, 4.0]))
    assert q[0] == 0  # below the Si K edge
    # Just above the edge a 30 nm dead layer absorbs ~2 % (mu/rho = 3190
    # cm2/g at 1.85 keV); K shell 1 - 1/10.4, fluorescence yield ~0.043,
    # half forward: ~4e-4.
    assert 3e-4 < q[1] < 6e-4
    # The absorption falls as mu(E): mu(4 keV) / mu(2 keV) = 0.15 in Si.
    mu = xraydb.mu_elam("Si", np.array([2000.0, 4000.0]))
    assert q[3] / q[2] == pytest.approx(mu[1] / mu[0], rel=0.02)
    # Thin layer: proportional to the thickness.
    q60 = internal_fluorescence_fraction(np.array([4.0]), 60.0)[0]
    assert q60 / q[3] == pytest.approx(2.0, rel=0.01)


def test_internal_fluorescence_fraction_rejects_a_negative_layer():
    with pytest.raises(ValueError, match="dead_layer_nm must be >= 0"):
        internal_fluorescence_fraction(np.array([2.0]), -5.0)


def _si_peak_map(factor, name_si=False):
    """CuS with a Si K peak `factor` x the nominal internal fluorescence.

    S Kα (2.31 keV), just above the Si K edge, makes the most of it.
    """
    counts = {"Cu": 1e6, "S": 1e7}
    base = _expected(counts, continuum=40.0)
    nominal = expected_internal_fluorescence(base, ENERGY)  # per pixel
    peak = _line_profile(internal_fluorescence_family(), factor * nominal)
    elements = ["Cu", "S"] + (["Si"] if name_si else [])
    chips = _chips(base + peak, elements)
    q, caught = _quantify(chips, {"Cu_Ka": 1.0, "S_Ka": 1.0})
    return chips, q, caught, factor * nominal * 16, base


def test_small_si_peak_is_the_detectors_internal_fluorescence():
    # Twice the nominal (a 60 nm dead layer): within the 100 nm bound.
    chips, q, caught, injected, _ = _si_peak_map(2.0)
    key = "Si_internal_fluorescence"
    assert key in list(q.families)
    assert "Si" not in list(q.auto_elements)
    assert any(key in w for w in caught)
    j = list(q.families).index(key)
    fitted = float(np.asarray(q.amplitudes)[:, j].sum())
    assert fitted == pytest.approx(injected, rel=0.15)
    model = chips.get_fit_model()
    assert type(model[key]) is SiInternalFluorescence


def test_large_si_peak_is_si_of_the_specimen():
    # Ten times the nominal: more than a 100 nm dead layer could make.
    _, q, _, injected, base = _si_peak_map(10.0)
    bound = 16 * expected_internal_fluorescence(base, ENERGY, DEAD_LAYER_MAX_NM)
    assert injected > bound
    assert "Si" in list(q.auto_elements)
    assert "Si_internal_fluorescence" not in list(q.families)


def test_named_si_includes_the_internal_fluorescence():
    # Convention: the two have one shape; with Si named no artefact is added.
    _, q, _, _, _ = _si_peak_map(2.0, name_si=True)
    assert "Si_internal_fluorescence" not in list(q.families)
    assert "Si_K" in list(q.families)


def test_si_internal_fluorescence_store_save_restore():
    import hyperspy.api as hs

    chips, *_ = _si_peak_map(2.0)
    m = chips.get_fit_model()
    m.store("chips")
    chips.save("chips.hspy")
    back = hs.load("chips.hspy")
    restored = back.models.restore("chips")
    key = "Si_internal_fluorescence"
    assert type(restored[key]) is SiInternalFluorescence
    assert restored[key].kind == "internal-fluorescence"
