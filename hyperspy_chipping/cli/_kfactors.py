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
"""Where the command line's k-factors come from: items, theory, a file, a region."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from hyperspy_chipping.cli._outputs import UsageError

TABLE_SUFFIXES = (".json", ".csv")


def _key_value(item: str, valid_key) -> tuple[str, float] | None:
    """``KEY=VALUE`` with a valid key and a finite positive number, else None.

    Examples
    --------
    >>> _key_value("Sr = 20", str.isalpha), _key_value("Sr=-1", str.isalpha)
    (('Sr', 20.0), None)
    """
    key, sep, value = (part.strip() for part in item.partition("="))
    try:
        number = float(value)
    except ValueError:
        return None
    if not sep or not valid_key(key) or not math.isfinite(number) or number <= 0:
        return None
    return key, number


def parse_kfactors(items: list[str]) -> dict[str, float]:
    """``["La_La=2.5", "Fe_Ka=1"]`` -> ``{"La_La": 2.5, "Fe_Ka": 1.0}``.

    Parameters
    ----------
    items : list of str
        ``LINE=K`` items, as ``--kfactors`` takes them.

    Returns
    -------
    dict
        K-factor by X-ray line.

    Raises
    ------
    UsageError
        For an item that is not ``LINE=K`` with an X-ray line such as
        ``La_La`` or ``La_L`` and a positive number K, or a line given twice.

    Examples
    --------
    >>> parse_kfactors(["La_La=2.5", "Fe_Ka=1"])
    {'La_La': 2.5, 'Fe_Ka': 1.0}
    """
    from hyperspy_chipping.fitting import split_xray_line

    def is_line(key):
        try:
            split_xray_line(key)
        except ValueError:
            return False
        return True

    out = {}
    for item in items:
        pair = _key_value(item, is_line)
        if pair is None:
            raise UsageError(
                "argument --kfactors: takes LINE=K items with an X-ray line and "
                "a positive number (such as La_La=2.5), the word 'theoretical' "
                f"or a .json/.csv k-factor table, got {item!r}."
            )
        line, k = pair
        if line in out:
            raise UsageError(f"argument --kfactors: {line} is given twice.")
        out[line] = k
    return out


def kfactor_source(items: list[str] | None):
    """What ``--kfactors`` names: a dict, ``"theoretical"``, a table path or None.

    Examples
    --------
    >>> kfactor_source(["theoretical"])
    'theoretical'
    >>> kfactor_source(["Fe_Ka=1", "O_Ka=2"])
    {'Fe_Ka': 1.0, 'O_Ka': 2.0}
    """
    if items is None:
        return None
    if len(items) == 1 and items[0] == "theoretical":
        return "theoretical"
    if len(items) == 1 and Path(items[0]).suffix.lower() in TABLE_SUFFIXES:
        path = Path(items[0])
        if not path.is_file():
            raise UsageError(
                f"argument --kfactors: the k-factor table {items[0]!r} does not exist."
            )
        return str(path)
    return parse_kfactors(items)


def parse_composition(items: list[str]) -> dict[str, float]:
    """``["Sr=20", "Ti=20", "O=60"]`` -> at % by element.

    Raises
    ------
    UsageError
        For an item that is not ``EL=AT`` with an element symbol and a
        positive number.

    Examples
    --------
    >>> parse_composition(["Sr=20", "Ti=20", "O=60"])
    {'Sr': 20.0, 'Ti': 20.0, 'O': 60.0}
    """
    from exspy.material import elements as elements_db

    out = {}
    for item in items:
        pair = _key_value(item, lambda key: key in elements_db)
        if pair is None:
            raise UsageError(
                "argument --calibrate: takes EL=AT items with an element symbol "
                f"and its atomic percent, such as Sr=20 Ti=20 O=60, got {item!r}."
            )
        element, at = pair
        out[element] = at
    return out


def check_kfactor_file(path: str | None, *, overwrite: bool) -> Path | None:
    """Check the --save-kfactors name before reading data."""
    from hyperspy_chipping.cli._outputs import _check_folder

    if path is None:
        return None
    target = Path(path)
    if target.suffix.lower() not in TABLE_SUFFIXES:
        raise UsageError(
            "argument --save-kfactors: the k-factor table must end in .json or "
            f".csv, got {path!r}."
        )
    _check_folder(target, "--save-kfactors")
    if target.exists() and not overwrite:
        raise UsageError(
            f"argument --save-kfactors: {path!r} already exists; pass "
            "--overwrite to replace it, or choose another name."
        )
    return target


def writer(kfactors, target: Path, **header):
    """A write_all writer of a k-factor table (format from `target`'s name)."""
    import shutil
    import tempfile

    from hyperspy_chipping.kfactors import save_kfactors

    def write(path):
        with tempfile.TemporaryDirectory() as folder:
            named = Path(folder) / target.name
            save_kfactors(named, kfactors, **header)
            shutil.copyfile(named, path)

    return write


def check_calibration(args) -> None:
    """Check --calibrate and --region before reading data.

    Every ``--calibrate`` composition needs one ``--region`` (in the same
    order), and ``--calibrate`` excludes ``--kfactors``.
    """
    calibrate = args.calibrate or []
    regions = args.region or []
    if not calibrate:
        if regions:
            raise UsageError("argument --region: needs --calibrate EL=AT ...")
        return
    for items in calibrate:
        parse_composition(items)
    if args.kfactors is not None:
        raise UsageError(
            "argument --calibrate: calibrates the k-factors; give it or "
            "--kfactors, not both."
        )
    if len(regions) != len(calibrate):
        raise UsageError(
            f"argument --calibrate: each composition needs its --region X0 Y0 "
            f"X1 Y1 (source-map pixels); got {len(calibrate)} --calibrate and "
            f"{len(regions)} --region."
        )
    for x0, y0, x1, y1 in regions:
        if not (x1 > x0 and y1 > y0):
            raise UsageError(
                "argument --region: takes X0 Y0 X1 Y1 with X1 > X0 and Y1 > Y0 "
                f"(half-open pixel bounds), got {x0} {y0} {x1} {y1}."
            )


def region_chips(chips, region) -> np.ndarray:
    """Boolean image over the chips: those lying entirely in `region`.

    Parameters
    ----------
    chips : ChippedEDSSpectrum
        The chips.
    region : sequence of int
        ``X0 Y0 X1 Y1``, half-open source-map pixel bounds.

    Returns
    -------
    numpy.ndarray
        In the chips' navigation shape (data order), as ``calibrate_kfactors``
        takes ``where``.

    Raises
    ------
    ValueError
        If no chip lies entirely inside the region.
    """
    x0, y0, x1, y1 = region
    df = chips.to_dataframe()
    inside = (df.x0 >= x0) & (df.x1 <= x1) & (df.y0 >= y0) & (df.y1 <= y1)
    if not inside.any():
        raise ValueError(
            f"--region {x0} {y0} {x1} {y1} holds no whole chip: make it larger "
            "or the chips (--size) smaller."
        )
    return inside.to_numpy().reshape(chips.axes_manager.navigation_shape[::-1])
