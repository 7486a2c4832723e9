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


def test_unnamed_oxygen_under_ti_l_is_reported_once():
    # SrTiO3/LaFeO3 without O named: Ti L's free amplitude takes O Ka (4 eV
    # from Ti Lb3), ~5x what Ti K implies (the simulation follows the
    # thin-film theory within 0.74-1.02 for every family pair).
    chips, k = _demo(["Fe", "La", "Sr", "Ti"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chips.quantify_chips(k)
    (excess,) = chips.metadata.Chipping.Quantification.Summed_fit.shell_excess
    assert excess.startswith("Ti_L at ") and "O_Ka" in excess
    told = [w for w in caught if "implies" in str(w.message)]
    assert len(told) == 1 and "add_elements()" in str(told[0].message)


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
