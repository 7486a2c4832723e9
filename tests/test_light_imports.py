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
"""Subpackage exports load on first use; task modules import no exspy."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hyperspy_chipping.fitting as fitting
import hyperspy_chipping.quantification as quantification
from hyperspy_chipping.quantification._composition import atomic_masses, quantify


def test_lazy_exports_resolve_to_their_modules():
    from hyperspy_chipping.fitting._components import XrayLineFamily
    from hyperspy_chipping.fitting._families import physics_families
    from hyperspy_chipping.quantification._composition import quantify as q

    assert fitting.XrayLineFamily is XrayLineFamily
    assert fitting.physics_families is physics_families
    assert quantification.quantify is q
    for module in (fitting, quantification):
        assert set(module.__all__) <= set(dir(module))


@pytest.mark.parametrize("module", [fitting, quantification])
def test_unknown_export_raises_attribute_error(module):
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchThing'"):
        module.NoSuchThing  # noqa: B018


def test_task_modules_import_no_exspy_or_hyperspy():
    # What a dask worker unpickles for the chip tasks (window sums, fit,
    # chi-squared, composition): exspy and HyperSpy (with matplotlib and
    # sympy, ~120 MB a worker) stay out.
    code = (
        "import sys\n"
        "import hyperspy_chipping.quantification._stream\n"
        "import hyperspy_chipping.quantification._block\n"
        "import hyperspy_chipping.fitting._linear\n"
        "print(sorted(m for m in ('exspy', 'hyperspy', 'matplotlib', 'sympy')"
        " if m in sys.modules))\n"
    )
    # The copy of the package under test, wherever the cwd is (as the CLI
    # tests do: a regular install replaced by an editable one leaves the
    # numba caches it wrote in site-packages, a namespace package that a new
    # interpreter would otherwise find first).
    root = str(Path(fitting.__file__).parents[2])
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": root},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("method", ["CL", "cross_section"])
def test_quantify_with_given_masses_equals_the_database_lookup(method):
    rng = np.random.default_rng(0)
    intensities = rng.uniform(100, 1000, (4, 2))
    cov = np.stack([np.diag(i) for i in intensities])
    factors = np.array([1.2, 3.4])
    kwargs = {"dose": np.full(4, 1e20)} if method == "cross_section" else {}
    looked_up = quantify(intensities, cov, method, factors, ["Fe", "Pt"], **kwargs)
    given = quantify(
        intensities,
        cov,
        method,
        factors,
        ["Fe", "Pt"],
        masses=atomic_masses(["Fe", "Pt"]),
        **kwargs,
    )
    for key in ("weight", "atomic", "weight_cov", "atomic_cov"):
        np.testing.assert_array_equal(given[key], looked_up[key])
    # Fe and Pt masses (55.845, 195.08 g/mol) turn weight into atomic
    # fractions: x_Fe / x_Pt = (w_Fe / 55.845) / (w_Pt / 195.08).
    w, x = given["weight"][0], given["atomic"][0]
    assert x[0] / x[1] == pytest.approx((w[0] / 55.845) / (w[1] / 195.08), rel=1e-4)
