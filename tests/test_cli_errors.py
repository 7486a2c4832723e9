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
"""The hyperspy-chipping command line: every error path.

Each error exits with status 2 and a message on stderr that names the option
and the value (argparse-style, with the usage, when it is a bad argument), no
traceback, nothing written, and the input file unchanged.
"""

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import hyperspy.api as hs
import numpy as np
import pandas as pd
import pytest

from hyperspy_chipping.cli import main

DEMO = ["--demo-shape", "30", "20", "--size", "10"]


def files(folder="."):
    """Every file under `folder`, hidden and temporary ones included."""
    return sorted(
        str(p.relative_to(folder)) for p in Path(folder).rglob("*") if p.is_file()
    )


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def assert_error(capsys, code, pattern, *, usage=False):
    """Exit code 2 (or `code`), `pattern` on stderr, no traceback, no stdout."""
    out, err = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in err and "wrote" not in out
    assert err.startswith("usage: hyperspy-chipping") == usage, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("hyperspy-chipping: error: "), err
    assert re.search(pattern, last), (pattern, last)
    return last


@pytest.fixture
def no_computing(monkeypatch):
    """Fail the test if any data are loaded or made."""
    import hyperspy_chipping.data

    def computed(*args, **kwargs):
        raise AssertionError("data were loaded before the arguments were checked")

    monkeypatch.setattr(hs, "load", computed)
    monkeypatch.setattr(hyperspy_chipping.data, "sto_lfo_cross_section", computed)


@pytest.fixture
def saved_map(make_map):
    """A small map saved as map.hspy, with the sha256 of the file."""
    s = make_map(shape=(12, 9), n_channels=512)
    s.set_signal_type("EDS_TEM")
    s.save("map.hspy")
    return s, digest("map.hspy")


# --- bad arguments: argparse-style, before anything is read or written -----


@pytest.mark.parametrize(
    "argv, pattern",
    [
        (
            ["-o", "chips.txt"],
            r"argument -o/--output: unknown table format '\.txt' "
            r"in 'chips\.txt': the name must end in \.parquet, \.pq, \.csv",
        ),
        (["-o", "chips"], r"argument -o/--output: unknown table format '' in 'chips'"),
        (["-o", "chips.parquet.bak"], r"unknown table format '\.bak'"),
        (["-o", "chips.xlsx"], r"unknown table format '\.xlsx' in 'chips\.xlsx'"),
        (
            ["--png", "chips.jpg"],
            r"argument --png: .*must end in \.png, got "
            r"'chips\.jpg'",
        ),
        (
            ["-o", "missing/chips.parquet"],
            r"argument -o/--output: the folder "
            r"'missing' of 'missing/chips\.parquet' does not exist",
        ),
        (
            ["--png", "missing/c.png"],
            r"argument --png: the folder 'missing' of "
            r"'missing/c\.png' does not exist",
        ),
        (
            ["-o", "a_file/chips.csv"],
            r"argument -o/--output: the folder 'a_file' "
            r"of 'a_file/chips\.csv' is not a folder",
        ),
        (
            ["-o", "a_folder.parquet"],
            r"argument -o/--output: 'a_folder\.parquet' "
            r"is a folder",
        ),
        (
            ["--size", "1", "2", "3"],
            r"argument --size: takes one value \(square "
            r"chips\) or two \(x y\), got 3: 1 2 3",
        ),
        (["--step", "2", "2", "2"], r"argument --step: takes one value"),
        (
            ["--size", "0"],
            r"argument --size: must be a whole number of pixels >= 1, "
            r"got '0'",
        ),
        (["--size", "-3"], r"argument --size: .*got '-3'"),
        (["--size", "ten"], r"argument --size: .*got 'ten'"),
        (["--step", "0"], r"argument --step: .*got '0'"),
        (["--demo-shape", "0", "5"], r"argument --demo-shape: .*got '0'"),
        (["--remainder", "pad"], r"argument --remainder: invalid choice: 'pad'"),
        (["--intensity", "shell"], r"argument --intensity: invalid choice: 'shell'"),
        (["--model", "cl"], r"argument --model: invalid choice: 'cl'"),
        (
            ["--elements", "La", "Xx"],
            r"argument --elements: Xx is not a chemical "
            r"element symbol",
        ),
        (
            ["--kfactors", "La_La:2.5"],
            r"argument --kfactors: takes LINE=K items .*"
            r"such as La_La=2\.5.*, got 'La_La:2\.5'",
        ),
        (["--kfactors", "La_La=-1"], r"argument --kfactors: .*got 'La_La=-1'"),
        (["--kfactors", "La_La=0"], r"argument --kfactors: .*got 'La_La=0'"),
        (["--kfactors", "La_La=nan"], r"argument --kfactors: .*got 'La_La=nan'"),
        (["--kfactors", "La_La=inf"], r"argument --kfactors: .*got 'La_La=inf'"),
        (["--kfactors", "Lala=2"], r"argument --kfactors: .*got 'Lala=2'"),
        (
            ["--kfactors", "La_La=2", "Fe_Ka=1", "La_La=3"],
            r"argument --kfactors: La_La is given twice\.",
        ),
        (
            ["--elements", "Xx", "Fe", "Yy"],
            r"argument --elements: Xx Yy are not chemical element symbols",
        ),
        (["--kfactors", "=2"], r"argument --kfactors: .*got '=2'"),
        (["--kfactors", "La_La="], r"argument --kfactors: .*got 'La_La='"),
        (["nope.hspy"], r"argument FILE: 'nope\.hspy' does not exist"),
        (["--bogus"], r"unrecognized arguments: --bogus"),
    ],
)
def test_bad_arguments_are_refused_before_computing(
    argv, pattern, no_computing, capsys
):
    Path("a_file").write_text("not a folder")
    Path("a_folder.parquet").mkdir()
    assert_error(capsys, main(argv), pattern, usage=True)
    assert files() == ["a_file"]  # nothing written, nothing created
    assert Path("a_file").read_text() == "not a folder"


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder this process cannot write in."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Permission bits do not stop root; /proc refuses new files to anyone.
        if not Path("/proc").is_dir():
            pytest.skip("no folder is read-only for root here")
        yield Path("/proc")
        return
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o500)
    yield folder
    folder.chmod(0o700)


@pytest.mark.parametrize("option", ["-o", "--png"])
def test_read_only_output_folder_is_refused(option, read_only_folder, capsys):
    name = "t.csv" if option == "-o" else "t.png"
    before = sorted(os.listdir(read_only_folder))
    path = str(read_only_folder / name)
    code = main([*DEMO, option, path])
    label = "-o/--output" if option == "-o" else "--png"
    assert_error(
        capsys,
        code,
        rf"argument {label}: cannot write in the folder "
        rf"'{read_only_folder}' of '{path}'",
        usage=True,
    )
    assert sorted(os.listdir(read_only_folder)) == before
    assert files() == []


@pytest.mark.parametrize(
    "existing, argv, label",
    [
        ("chips.parquet", [], "-o/--output"),
        ("chips.png", [], r"--png \(default: -o name\)"),
        ("t.csv", ["-o", "t.csv"], "-o/--output"),
        ("pic.png", ["--png", "pic.png"], "--png"),
    ],
)
def test_existing_outputs_are_not_overwritten(
    existing, argv, label, no_computing, capsys
):
    Path(existing).write_bytes(b"precious")
    assert_error(
        capsys,
        main([*DEMO, *argv]),
        rf"argument {label}: '{existing}' already exists; pass --overwrite to "
        "replace it",
        usage=True,
    )
    assert files() == [existing] and Path(existing).read_bytes() == b"precious"


@pytest.mark.parametrize("option", ["-o", "--png"])
def test_the_input_file_is_never_an_output(option, no_computing, capsys):
    name = "map.pq" if option == "-o" else "map.png"
    Path(name).write_bytes(b"the data")
    code = main([name, option, name, "--overwrite"])
    assert_error(
        capsys, code, rf"'{name}' is the input FILE; choose another name", usage=True
    )
    assert files() == [name] and Path(name).read_bytes() == b"the data"


# --- errors found while computing or writing: a message, nothing written ---


def test_bad_file_is_reported(capsys):
    hs.signals.Signal2D(np.ones((8, 8))).save("image.hspy")
    before = digest("image.hspy")
    assert_error(
        capsys,
        main(["image.hspy"]),
        r"'image\.hspy' holds no EDS spectrum "
        "image",
    )
    assert files() == ["image.hspy"] and digest("image.hspy") == before


def test_unreadable_file_is_reported(capsys):
    Path("map.hspy").write_bytes(b"not hdf5")
    assert_error(capsys, main(["map.hspy"]), r"map\.hspy|HDF5|signature")
    assert files() == ["map.hspy"] and Path("map.hspy").read_bytes() == b"not hdf5"


def test_kfactor_of_a_missing_element_names_the_cli_option(saved_map, capsys):
    _, before = saved_map
    code = main(["map.hspy", "--size", "3", "--kfactors", "Cu_Ka=1", "-o", "t.csv"])
    last = assert_error(
        capsys,
        code,
        r"--kfactors has 'Cu_Ka', but Cu is not in .*: add it with "
        r"--elements\.$",
    )
    assert "add_elements" not in last and "`" not in last
    assert files() == ["map.hspy"] and digest("map.hspy") == before


def test_missing_peak_warning_names_the_cli_option(capsys):
    from hyperspy_chipping.data import sto_lfo_cross_section

    s = sto_lfo_cross_section((30, 20))
    s.metadata.Sample.elements = ["La", "O", "Sr", "Ti"]  # Fe left out
    s.metadata.Sample.xray_lines = ["La_La", "O_Ka", "Sr_Ka", "Ti_Ka"]
    s.save("map.hspy")
    kfactors = ["La_La=2.5", "O_Ka=2.0", "Sr_Ka=1.8", "Ti_Ka=1.1"]
    assert main(["map.hspy", "--size", "10", "--kfactors", *kfactors]) == 0
    err = capsys.readouterr().err
    assert (
        "hyperspy-chipping: warning: The summed spectrum has peaks of elements "
        "not in metadata.Sample.elements: Fe (Fe_Ka)" in err
    )
    assert "name them with --elements" in err
    assert "pass --no-auto-elements" in err
    assert "add_elements" not in err and "auto_elements=" not in err
    # Fe is fitted (its counts go to Fe), not quantified.
    df = pd.read_parquet("chips.parquet")
    assert "at_Fe" not in df and df.attrs["quantification"]["auto_elements"]


def test_line_without_kfactor_is_fitted_not_quantified(capsys):
    from hyperspy_chipping.data import sto_lfo_cross_section

    sto_lfo_cross_section((30, 20)).save("map.hspy")  # its xray_lines hold Fe_Ka
    before = digest("map.hspy")
    code = main(["map.hspy", "--size", "10", "--kfactors", "La_La=2.5", "O_Ka=2"])
    assert code == 0
    df = pd.read_parquet("chips.parquet")
    # Only the lines given k-factors are quantified; La and O sum to 100 %.
    assert [c for c in df if c.startswith("at_") and c.count("_") == 1] == [
        "at_La",
        "at_O",
    ]
    np.testing.assert_allclose(df.at_La + df.at_O, 100)
    assert digest("map.hspy") == before


def test_too_large_eager_map_suggests_lazy(monkeypatch, capsys):
    import psutil

    class Small:
        available = 2**20

    monkeypatch.setattr(psutil, "virtual_memory", lambda: Small())
    last = assert_error(
        capsys,
        main([*DEMO, "--step", "1"]),
        r"would need about .* Chip it lazily: --lazy\.$",
    )
    assert "as_lazy" not in last and "hs.load" not in last
    assert files() == []


def test_missing_reader_package_is_reported(make_map, monkeypatch, capsys):
    # .zspy needs zarr, which only the tests extra installs: without it the
    # user is told which package to install, with no traceback.
    make_map(shape=(4, 4), n_channels=16).save("map.zspy")
    for name in list(sys.modules):
        if name == "zarr" or name.startswith(("zarr.", "rsciio.zspy")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "zarr", None)  # import zarr fails
    assert_error(
        capsys,
        main(["map.zspy", "--size", "2"]),
        r"zarr.*\(a package it needs is not installed: pip install zarr\)$",
    )
    assert "chips.parquet" not in files()


@pytest.mark.parametrize("failing", ["table", "png"])
@pytest.mark.parametrize("overwrite", [False, True])
def test_a_failed_write_leaves_no_partial_output(
    failing, overwrite, monkeypatch, capsys
):
    import matplotlib.figure

    def fail(self_or_df, path, *args, **kwargs):
        Path(path).write_bytes(b"half a fi")  # a partial file, then the failure
        raise OSError(28, "No space left on device")

    target = (
        (pd.DataFrame, "to_parquet")
        if failing == "table"
        else (matplotlib.figure.Figure, "savefig")
    )
    monkeypatch.setattr(*target, fail)
    old = {}
    if overwrite:
        old = {"chips.parquet": b"old table", "chips.png": b"old picture"}
        for name, content in old.items():
            Path(name).write_bytes(content)
    argv = [*DEMO, "--overwrite"] if overwrite else DEMO
    assert_error(capsys, main(argv), r"No space left on device")
    assert files() == sorted(old)  # no new, partial or temporary file
    for name, content in old.items():
        assert Path(name).read_bytes() == content


def test_interrupt_leaves_no_partial_output(monkeypatch, capsys):
    def interrupt(df, path, *args, **kwargs):
        Path(path).write_bytes(b"half a fi")
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_parquet", interrupt)
    assert main(DEMO) == 130
    assert "interrupted; nothing was written" in capsys.readouterr().err
    assert files() == []


@pytest.mark.parametrize(
    "argv, pattern",
    [
        (["-o", "chips.txt"], r"unknown table format '\.txt' in 'chips\.txt'"),
        (
            ["--demo-shape", "30", "20", "--kfactors", "Cu_Ka=1"],
            r"add it with "
            r"--elements",
        ),
    ],
)
def test_console_script_exits_2_without_traceback(argv, pattern):
    import hyperspy_chipping

    # The copy of the package under test, wherever the cwd is.
    root = str(Path(hyperspy_chipping.__file__).parents[1])
    done = subprocess.run(
        [sys.executable, "-m", "hyperspy_chipping.cli", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": root},
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert re.search(pattern, done.stderr) and "Traceback" not in done.stderr
    assert done.stdout == "" and files() == []
