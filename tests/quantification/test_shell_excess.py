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

"""A family fitted far above what its element's other family implies."""

import warnings

import numpy as np
import pytest

from hyperspy_chipping.data import sto_lfo_cross_section
from hyperspy_chipping.fitting._design import Calibration
from hyperspy_chipping.fitting._families import physics_families, split_xray_line
from hyperspy_chipping.quantification._summed_fit import shell_excess
from tests.quantification.test_real_spectra import fept_map, quantify

CAL = Calibration(0.0, 0.01, 130.0)
CR = physics_families(["Cr"], 200.0, (0.2, 20.0))  # Cr_K, Cr_L


def test_a_family_far_above_its_sibling_names_the_lines_under_it():
    # Cr L (0.50-0.65 keV) holding an unnamed O Ka: O is named first (a
    # common element, nearest the family's centre).
    (found,) = shell_excess(CR, [1000.0, 11000.0], 200.0, 1.0, CAL)
    assert found.startswith("Cr_L at ")
    assert found.index("O_Ka") < found.index("V_La")


@pytest.mark.parametrize(
    "counts",
    [
        [1000.0, 700.0],  # as the theory says (0.6-0.8 of Cr K)
        [1000.0, 30.0],  # a deficit: absorption lowers Cr L
        [-5.0, 11000.0],  # no Cr K to scale from
        [1.0, 20.0],  # 20 x, but 20 counts: not significant
    ],
    ids=["expected", "absorbed", "no-reference", "noise"],
)
def test_no_excess_reported_without_evidence(counts):
    assert shell_excess(CR, counts, 200.0, 1.0, CAL) == []


def _demo(elements):
    s = sto_lfo_cross_section((40, 40), 50.0, seed=1)
    s.set_signal_type("EDS_TEM_chipped")
    s.metadata.Sample.elements = list(elements)
    del s.metadata.Sample.xray_lines
    k = s.metadata.Simulation.kfactors.as_dictionary()
    named = {line: k[line] for line in k if split_xray_line(line)[0] in elements}
    return s.chip(20), named


def _intensities(chips, k, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chips.quantify_chips(k, **kwargs)
        chips.to_dataframe()  # (a lazy signal computes here)
    q = chips.metadata.Chipping.Quantification
    return q, np.asarray(q.intensities).sum(axis=0), caught


@pytest.mark.parametrize("lazy", [False, True])
def test_unnamed_oxygen_under_ti_l_is_found_and_fitted(lazy):
    # SrTiO3/LaFeO3 without O named: Ti L's free amplitude takes O Ka (4 eV
    # from Ti Lb3) and leaves no residual; its excess over what Ti K implies
    # (the simulation follows the thin-film theory within 0.74-1.02 for every
    # family pair) calls for O, added as a fit-only element. The intensities
    # then agree with those of the fit with O named.
    chips, k = _demo(["Fe", "La", "Sr", "Ti"])
    if lazy:
        chips = chips.as_lazy()
    q, found, caught = _intensities(chips, k)
    assert "O" in list(q.auto_elements) and list(q.Summed_fit.shell_excess) == []
    told = [w for w in caught if "O (O_Ka)" in str(w.message)]
    assert len(told) == 1
    full, _ = _demo(["Fe", "La", "O", "Sr", "Ti"])
    q_full, reference, _ = _intensities(full, {**k, "O_Ka": 2.0})
    assert list(q.xray_lines) == ["Fe_Ka", "La_La", "Sr_Ka", "Ti_Ka"]
    keep = [line != "O_Ka" for line in q_full.xray_lines]
    np.testing.assert_allclose(found, reference[keep], rtol=0.005)


def test_without_the_search_the_excess_is_left_to_the_residual():
    # auto_elements=False adds nothing; the O peak is then in the report.
    chips, k = _demo(["Fe", "La", "Sr", "Ti"])
    q, _, _ = _intensities(chips, k, auto_elements=False)
    assert list(q.auto_elements) == []
    assert "O_K" not in list(q.families)


@pytest.mark.parametrize("case", ["demo", "FePt"])
def test_consistent_families_report_nothing(case):
    if case == "demo":
        chips, k = _demo(["Fe", "La", "O", "Sr", "Ti"])
        chips.quantify_chips(k)
        q = chips.metadata.Chipping.Quantification
    else:  # real: Fe L and Cu L below the theory (absorbed), Pt M at 0.84
        q, _ = quantify(fept_map(["Cu", "Fe", "Pt"]))
    assert list(q.Summed_fit.shell_excess) == []
    assert np.isfinite(q.Summed_fit.chi2_red)
