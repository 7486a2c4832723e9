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
"""The files of a run: checked before computing, written whole or not at all."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: Table formats by file-name extension.
TABLE_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


class UsageError(ValueError):
    """A bad command-line argument, found before anything is computed."""


@dataclass(frozen=True)
class Outputs:
    """The files a run writes.

    Attributes
    ----------
    table : pathlib.Path
        The per-chip table.
    table_format : str
        ``"parquet"`` or ``"csv"``.
    png : pathlib.Path
        The picture of the chips.
    """

    table: Path
    table_format: str
    png: Path


def check_outputs(
    output: str, png: str | None, *, overwrite: bool = False, source: str | None = None
) -> Outputs:
    """Check the output names, folders and existing files before computing.

    Parameters
    ----------
    output : str
        Table name (``-o/--output``); its extension sets the format:
        ``.parquet`` or ``.pq`` (Parquet) or ``.csv``.
    png : str or None
        Picture name (``--png``), ending in ``.png``; None for the table name
        with ``.png``.
    overwrite : bool
        Whether existing files may be replaced (``--overwrite``).
    source : str or None
        The input file, which is never an output.

    Returns
    -------
    Outputs
        The paths and the table format.

    Raises
    ------
    UsageError
        For an unknown table format, a picture name not ending in ``.png``,
        a missing or read-only folder, an output that exists (without
        `overwrite`), is a folder or is the input file.

    Examples
    --------
    >>> outputs = check_outputs("chips.csv", None)
    >>> str(outputs.table), outputs.table_format, str(outputs.png)
    ('chips.csv', 'csv', 'chips.png')
    >>> check_outputs("chips.txt", None)
    Traceback (most recent call last):
    UsageError: argument -o/--output: unknown table format '.txt' in 'chips.txt': ...
    """
    table = Path(output)
    table_format = TABLE_FORMATS.get(table.suffix.lower())
    if table_format is None:
        known = ", ".join(TABLE_FORMATS)
        raise UsageError(
            f"argument -o/--output: unknown table format {table.suffix!r} in "
            f"{output!r}: the name must end in {known}."
        )
    if png is None:
        picture, png_option = table.with_suffix(".png"), "--png (default: -o name)"
    else:
        picture, png_option = Path(png), "--png"
        if picture.suffix.lower() != ".png":
            raise UsageError(
                f"argument --png: the picture name must end in .png, got {png!r}."
            )
    for path, option in ((table, "-o/--output"), (picture, png_option)):
        _check_folder(path, option)
        if source is not None and path.resolve() == Path(source).resolve():
            raise UsageError(
                f"argument {option}: {str(path)!r} is the input FILE; choose "
                "another name."
            )
        if path.is_dir():
            raise UsageError(f"argument {option}: {str(path)!r} is a folder.")
        if path.exists() and not overwrite:
            raise UsageError(
                f"argument {option}: {str(path)!r} already exists; pass "
                "--overwrite to replace it, or choose another name."
            )
    return Outputs(table, table_format, picture)


def _check_folder(path: Path, option: str) -> None:
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise UsageError(
            f"argument {option}: the folder {str(folder)!r} of {str(path)!r} {what}."
        )
    # Try it rather than trust permission bits (root, ACLs, read-only mounts).
    probe = folder / f".{path.name}.{uuid.uuid4().hex[:8]}.probe"
    try:
        probe.touch(exist_ok=False)
    except OSError as err:
        raise UsageError(
            f"argument {option}: cannot write in the folder {str(folder)!r} of "
            f"{str(path)!r} ({err.strerror or err})."
        ) from err
    probe.unlink()


def write_all(
    writers: list[tuple[Path, Callable[[Path], object]]], *, overwrite: bool = True
) -> None:
    """Write files whole or not at all.

    Each writer writes to a temporary file in the folder of its target; the
    targets are replaced only once every writer has succeeded, so a failure
    leaves no partial file and no half of the outputs.

    Parameters
    ----------
    writers : list of (pathlib.Path, callable)
        Target paths and functions that write a file at the path they are
        given.
    overwrite : bool
        Whether existing targets may be replaced.

    Raises
    ------
    FileExistsError
        If a target exists and `overwrite` is False (a file that appeared
        after :func:`check_outputs`); nothing is written then.

    Examples
    --------
    >>> from pathlib import Path
    >>> write_all([(Path("a.txt"), lambda p: p.write_text("a"))])
    >>> Path("a.txt").read_text()
    'a'
    """
    temporary = []
    try:
        for path, write in writers:
            tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.part"
            temporary.append(tmp)
            write(tmp)
        existing = [str(path) for path, _ in writers if path.exists()]
        if existing and not overwrite:
            raise FileExistsError(
                f"{existing[0]!r} appeared while computing; pass --overwrite to "
                "replace it, or choose another name. Nothing was written."
            )
        for (path, _), tmp in zip(writers, temporary):
            os.replace(tmp, path)
    finally:
        for tmp in temporary:
            tmp.unlink(missing_ok=True)
