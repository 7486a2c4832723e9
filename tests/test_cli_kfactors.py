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
"""Command line k-factors: theoretical, from a table, calibrated on regions."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hyperspy_chipping.cli import main
from hyperspy_chipping.data import sto_lfo_cross_section
from hyperspy_chipping.kfactors import load_kfactors, save_kfactors

DEMO = ["--demo-shape", "60", "60", "--size", "10"]
# The demo's film is the top 40 % of the rows (24 of 60), the substrate below.
LFO = ["--calibrate", "La=20", "Fe=20", "O=60", "--region", "0", "0", "60", "20"]
STO = ["--calibrate", "Sr=20", "Ti=20", "O=60", "--region", "0", "30", "60", "60"]


def _files():
    return sorted(str(p) for p in Path(".").rglob("*") if p.is_file())


def test_calibrate_on_both_phases_and_save(capsys):
    assert main(DEMO + LFO + STO + ["--save-kfactors", "k.json"]) == 0
    k = load_kfactors("k.json")
    truth = sto_lfo_cross_section((10, 10)).metadata.Simulation.kfactors
    for line in ("La_La", "O_Ka", "Sr_Ka", "Ti_Ka"):
        # Relative to Fe_Ka, within the counts' precision of the truth.
        ratio = k[line] / truth.get_item(line) * truth.get_item("Fe_Ka")
        assert abs(ratio - 1) < 0.06, (line, ratio)
        assert k.relative_uncertainty[line] > 0
    assert "calibrated on pixels 0 0 60 20; 0 30 60 60" in k.source
    df = pd.read_parquet("chips.parquet")
    # Chips wholly inside the calibration regions come out at 20:20:60.
    sto = df[df.y0 >= 30]
    np.testing.assert_allclose(sto.at_Sr.mean(), 20, atol=0.5)
    np.testing.assert_allclose(sto.at_O.mean(), 60, atol=0.8)


def test_kfactors_from_a_table_equal_the_same_dict(capsys):
    truth = sto_lfo_cross_section((10, 10)).metadata.Simulation.kfactors
    save_kfactors("k.csv", truth.as_dictionary())
    assert main(DEMO + ["--kfactors", "k.csv", "-o", "a.parquet"]) == 0
    items = [f"{line}={k}" for line, k in truth.as_dictionary().items()]
    assert main(DEMO + ["--kfactors", *items, "-o", "b.parquet"]) == 0
    a, b = pd.read_parquet("a.parquet"), pd.read_parquet("b.parquet")
    np.testing.assert_allclose(a.at_La, b.at_La, rtol=1e-12)


def test_theoretical_kfactors_say_so(capsys):
    code = main(DEMO + ["--kfactors", "theoretical", "--save-kfactors", "t.csv"])
    assert code == 0
    err = capsys.readouterr().err
    assert err.count("standardless") == 1
    df = pd.read_parquet("chips.parquet")
    assert df.attrs["quantification"]["kfactor_source"] == "theoretical"
    k = load_kfactors("t.csv")
    assert k["Fe_Ka"] == 1.0 and k.relative_uncertainty["La_La"] > 0.05


@pytest.mark.parametrize(
    "extra, match",
    [
        (["--calibrate", "Sr=20"], r"--calibrate: each composition needs its --region"),
        (["--region", "0", "0", "5", "5"], r"--region: needs --calibrate"),
        (LFO + ["--calibrate", "Sr=20"], r"got 2 --calibrate and 1 --region"),
        (
            ["--calibrate", "Sr=twenty", "--region", "0", "0", "9", "9"],
            r"EL=AT items .* 'Sr=twenty'",
        ),
        (
            ["--calibrate", "Xx=20", "--region", "0", "0", "9", "9"],
            r"EL=AT items .* 'Xx=20'",
        ),
        (LFO + ["--kfactors", "Fe_Ka=1"], r"give it or --kfactors, not both"),
        (
            ["--calibrate", "Sr=20", "--region", "5", "0", "5", "9"],
            r"X1 > X0 and Y1 > Y0 .* got 5 0 5 9",
        ),
        (["--region", "-1", "0", "5", "5"], r"pixel index >= 0, got '-1'"),
        (["--save-kfactors", "k.txt"], r"--save-kfactors: .* \.json or \.csv, got"),
        (["--kfactors", "missing.json"], r"table 'missing.json' does not exist"),
        (["--kfactors", "theoretical", "Fe_Ka=1"], r"'theoretical'"),
    ],
)
def test_bad_kfactor_options(extra, match, capsys):
    assert main(DEMO + extra) == 2
    assert re.search(match, capsys.readouterr().err)
    assert _files() == []


def test_region_without_a_whole_chip(capsys):
    extra = ["--calibrate", "Sr=20", "Ti=20", "O=60", "--region", "0", "0", "5", "5"]
    assert main(DEMO + extra) == 2
    assert "holds no whole chip" in capsys.readouterr().err
    assert _files() == []


def test_existing_kfactor_file_is_kept(capsys):
    Path("k.json").write_text(json.dumps({"keep": True}))
    assert main(DEMO + LFO + STO + ["--save-kfactors", "k.json"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert json.loads(Path("k.json").read_text()) == {"keep": True}
    assert main(DEMO + LFO + STO + ["--save-kfactors", "k.json", "--overwrite"]) == 0
    assert "kfactors" in json.loads(Path("k.json").read_text())
