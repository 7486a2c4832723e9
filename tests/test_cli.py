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
"""The hyperspy-chipping command line: runs that work, and its helpers."""

import os
import subprocess
import sys
from pathlib import Path

import hyperspy.api as hs
import numpy as np
import pandas as pd
import pytest

from hyperspy_chipping.cli import (
    UsageError,
    check_outputs,
    cli_wording,
    main,
    parse_kfactors,
    select_spectrum_image,
)
from hyperspy_chipping.cli._outputs import write_all

DEMO = ["--demo-shape", "30", "20", "--size", "10"]


def files(folder="."):
    """Every file under `folder`, hidden and temporary ones included."""
    return sorted(
        str(p.relative_to(folder)) for p in Path(folder).rglob("*") if p.is_file()
    )


# --- runs that work -------------------------------------------------------


def test_demo_run_writes_table_and_png(capsys):
    assert main(DEMO) == 0
    assert "wrote 6 chips to chips.parquet and chips.png" in capsys.readouterr().out
    df = pd.read_parquet("chips.parquet")
    assert len(df) == 6 and df["n_pixels"].eq(100).all()
    assert np.stack(df["spectrum"]).shape == (6, 2000)
    assert df.attrs["elements"] == ["Fe", "La", "O", "Sr", "Ti"]
    # The demo is quantified with its own k-factors: compositions sum to 100.
    at = df.filter(regex=r"^at_[A-Z][a-z]?$")
    assert list(at.columns) == ["at_Fe", "at_La", "at_O", "at_Sr", "at_Ti"]
    np.testing.assert_allclose(at.sum(axis=1), 100)
    assert df.attrs["quantification"]["intensity"] == "family"
    with open("chips.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert files() == ["chips.parquet", "chips.png"]  # no temporary files left


def test_demo_run_prints_a_summary_and_draws_the_composition(capsys):
    assert main(DEMO) == 0
    out = capsys.readouterr().out
    df = pd.read_parquet("chips.parquet")
    for element in ("Fe", "La", "O", "Sr", "Ti"):
        values = df[f"at_{element}"]
        expected = f"{element}: {values.mean():.1f} +- {values.std():.1f} at % over 6"
        assert expected in out
    assert f"median chi2_red: {df.chi2_red.median():.2f}" in out
    assert "chips too weak to quantify (low_counts): 0 of 6" in out
    # The picture holds the chips and one map per element: six panels in a
    # 3 x 2 grid, wider than high.
    from PIL import Image

    width, height = Image.open("chips.png").size
    assert width > 1.5 * height


def test_unquantified_run_says_so(make_map, capsys):
    make_map().save("map.hspy")
    assert main(["map.hspy", "--size", "5"]) == 0
    assert "not quantified: give --kfactors" in capsys.readouterr().out


@pytest.mark.parametrize("ext", ["hspy", "rpl"])
def test_file_run_csv(make_map, ext, capsys):
    s = make_map(shape=(12, 9), n_channels=64)
    s.set_signal_type("EDS_TEM")
    if ext == "rpl":
        # Ripple (.rpl/.raw): the export format of Bruker Esprit and Oxford INCA.
        s.change_dtype("uint16")
    s.save(f"map.{ext}")
    code = main(
        [f"map.{ext}", "--size", "4", "3", "--remainder", "keep", "-o", "t.csv"]
    )
    assert code == 0
    df = pd.read_csv("t.csv")
    assert len(df) == 3 * 4
    assert df["counts"].sum() == s.data.sum()
    assert df.filter(like="ch_").to_numpy().sum() == s.data.sum()
    assert "t.png" in capsys.readouterr().out


@pytest.mark.parametrize(
    "name, reader",
    [
        ("out.parquet", pd.read_parquet),
        ("out.pq", pd.read_parquet),
        ("OUT.PARQUET", pd.read_parquet),
        ("out.csv", pd.read_csv),
        ("out.CSV", pd.read_csv),
    ],
)
def test_table_format_follows_the_extension(name, reader):
    assert main([*DEMO, "-o", name]) == 0
    with open(name, "rb") as f:
        is_parquet = f.read(4) == b"PAR1"
    assert is_parquet == (reader is pd.read_parquet)
    df = reader(name)
    assert len(df) == 6
    # Parquet keeps the spectrum as one array column, CSV one column per channel.
    assert ("spectrum" in df.columns) == is_parquet
    assert ("ch_0000" in df.columns) == (not is_parquet)


def test_lazy_run_and_elements(make_map):
    s = make_map(shape=(12, 9), n_channels=64)
    s.save("map.hspy")
    assert main(["map.hspy", "--lazy", "--size", "3", "--elements", "Cu"]) == 0
    df = pd.read_parquet("chips.parquet")
    assert df.attrs["elements"] == ["Cu", "Fe", "O"]
    assert df["counts"].sum() == s.data[:12, :9].sum()


@pytest.mark.parametrize("ext", ["hspy", "zspy"])
def test_lazy_run_equals_eager(ext):
    from hyperspy_chipping.data import sto_lfo_cross_section

    s = sto_lfo_cross_section((30, 20))
    s.save(f"map.{ext}")
    kfactors = ["--kfactors", "Fe_Ka=1.0", "La_La=2.5", "O_Ka=2.0", "Sr_Ka=1.8"]
    args = [f"map.{ext}", "--size", "10", *kfactors, "Ti_Ka=1.1"]
    assert main([*args, "-o", "eager.parquet"]) == 0
    assert main([*args, "--lazy", "-o", "lazy.parquet"]) == 0
    eager, lazy = pd.read_parquet("eager.parquet"), pd.read_parquet("lazy.parquet")
    assert len(eager) == 6 and eager["at_La"].notna().all()
    pd.testing.assert_frame_equal(lazy, eager)


def test_demo_lazy():
    assert main([*DEMO, "--lazy"]) == 0
    assert len(pd.read_parquet("chips.parquet")) == 6


def test_overwrite_replaces_both_outputs(capsys):
    Path("chips.parquet").write_bytes(b"old table")
    Path("chips.png").write_bytes(b"old picture")
    assert main([*DEMO, "--overwrite"]) == 0
    assert len(pd.read_parquet("chips.parquet")) == 6
    assert Path("chips.png").read_bytes()[:4] == b"\x89PNG"
    assert files() == ["chips.parquet", "chips.png"]


def test_picks_largest_spectrum_image_and_matching_image(make_map):
    si = make_map(shape=(6, 5), n_channels=32)
    si.set_signal_type("EDS_TEM")
    detector_sum = si.sum(axis=(0, 1))  # Velox also gives summed spectra
    other = hs.signals.Signal2D(np.ones((4, 4)))
    haadf = hs.signals.Signal2D(np.arange(30.0).reshape(6, 5))
    picked, image = select_spectrum_image([other, detector_sum, haadf, si])
    assert picked is si and image is haadf
    assert picked.metadata.Signal.signal_type == "EDS_TEM_chipped"
    assert select_spectrum_image([si])[1] is None


def test_help_runs():
    import hyperspy_chipping

    # The copy of the package under test, wherever the cwd is.
    root = str(Path(hyperspy_chipping.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": root}
    out = subprocess.run(
        [sys.executable, "-m", "hyperspy_chipping.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    assert "--size" in out and "demo" in out and "--overwrite" in out


def test_file_run_with_kfactors(make_map):
    s = make_map(shape=(12, 9), n_channels=512)
    s.save("map.hspy")
    args = ["map.hspy", "--size", "3", "--kfactors", "Fe_Ka=1.0", "O_Ka=2.0"]
    assert main(args + ["--intensity", "line", "--model", "exspy"]) == 0
    df = pd.read_parquet("chips.parquet")
    assert df.attrs["quantification"]["model"] == "exspy"
    assert df.attrs["quantification"]["kfactors"] == {"Fe_Ka": 1.0, "O_Ka": 2.0}
    assert {"at_Fe", "wt_O_std", "I_Fe_Ka", "chi2_red"} <= set(df.columns)


# --- the helpers ----------------------------------------------------------


@pytest.mark.parametrize(
    "message, expected",
    [
        ("add it with add_elements.", "add it with --elements."),
        (
            "add the element with add_elements(), or",
            "add the element with --elements, or",
        ),
        ("set them with s.add_elements([...]) (they", "set them with --elements (they"),
        (
            "Chip it lazily: s.as_lazy().chip(...) or hs.load(..., lazy=True).",
            "Chip it lazily: --lazy.",
        ),
        ("Chip it lazily: chip(..., lazy_output=True).", "Chip it lazily: --lazy."),
        (
            "`kfactors['La_La']` must be a positive number",
            "--kfactors La_La must be a positive number",
        ),
        ("`intensity='line'` asks for", "--intensity line asks for"),
        ("Use intensity='family' or", "Use --intensity family or"),
        ("`size` must be at least 1 pixel", "--size must be at least 1 pixel"),
        (
            "give one each, or remove them from xray_lines.",
            "give one each with --kfactors.",
        ),
        ("nothing to reword", "nothing to reword"),
    ],
)
def test_cli_wording(message, expected):
    assert cli_wording(message) == expected


def test_parse_kfactors():
    assert parse_kfactors([" La_L = 2.5", "Fe_Ka=1"]) == {"La_L": 2.5, "Fe_Ka": 1.0}
    with pytest.raises(UsageError, match=r"--kfactors: .*got 'Fe_Ka=-2'"):
        parse_kfactors(["La_La=1", "Fe_Ka=-2"])


def test_check_outputs():
    Path("out").mkdir()
    outputs = check_outputs("out/t.PQ", None)
    assert outputs.table == Path("out/t.PQ") and outputs.table_format == "parquet"
    assert outputs.png == Path("out/t.png")
    assert files() == []  # the writability probe is removed
    Path("out/t.png").write_bytes(b"x")
    with pytest.raises(
        UsageError,
        match=r"'out/t\.png' already exists; pass "
        "--overwrite",
    ):
        check_outputs("out/t.PQ", None)
    assert check_outputs("out/t.PQ", None, overwrite=True).png == Path("out/t.png")


def test_write_all_is_all_or_nothing():
    def broken(path):
        raise OSError("boom")

    with pytest.raises(OSError, match="boom"):
        write_all(
            [(Path("a.txt"), lambda p: p.write_text("a")), (Path("b.txt"), broken)]
        )
    assert files() == []
    write_all(
        [
            (Path("a.txt"), lambda p: p.write_text("a")),
            (Path("b.txt"), lambda p: p.write_text("b")),
        ]
    )
    assert files() == ["a.txt", "b.txt"] and Path("b.txt").read_text() == "b"


@pytest.mark.parametrize("deprecations", [False, True])
def test_cli_warnings_hide_deprecations_unless_verbose(deprecations, capsys):
    import warnings

    from hyperspy.exceptions import VisibleDeprecationWarning

    from hyperspy_chipping.cli._wording import cli_warnings

    with cli_warnings(deprecations=deprecations):
        warnings.warn("old API", VisibleDeprecationWarning)
        warnings.warn("older API", DeprecationWarning)
        warnings.warn("add it with add_elements()", UserWarning)
    err = capsys.readouterr().err.splitlines()
    expected = ["hyperspy-chipping: warning: add it with --elements"]
    if deprecations:
        expected = [
            "hyperspy-chipping: warning: old API",
            "hyperspy-chipping: warning: older API",
            *expected,
        ]
    assert err == expected


def test_write_all_keeps_a_file_that_appeared():
    Path("b.txt").write_text("someone else's")
    writers = [(Path(name), lambda p: p.write_text("new")) for name in ("a", "b.txt")]
    with pytest.raises(
        FileExistsError,
        match=r"'b\.txt' appeared while computing; "
        "pass --overwrite",
    ):
        write_all(writers, overwrite=False)
    assert files() == ["b.txt"] and Path("b.txt").read_text() == "someone else's"
    write_all(writers, overwrite=True)
    assert files() == ["a", "b.txt"] and Path("b.txt").read_text() == "new"
