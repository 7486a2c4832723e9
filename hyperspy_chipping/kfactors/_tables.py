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
"""k-factor tables: a dict that knows its convention, saved as JSON or CSV.

A :class:`KFactors` is a plain ``dict`` (X-ray line -> weight-based
Cliff-Lorimer k-factor), so that ``quantify_chips`` takes it as it is, with
what a table must say besides the numbers: the intensity convention
(``"family"``: the whole shell family; ``"line"``: the main line alone, as
exspy's ``get_lines_intensity``), the beam energy, the detector, the source
and the relative uncertainty of each value.

The JSON format (``save_kfactors(path.json)``)::

    {"format": "hyperspy_chipping.kfactors", "version": 1,
     "convention": "family", "reference": "Fe_Ka", "beam_energy": 300.0,
     "detector": "...", "source": "theoretical", "notes": "...",
     "kfactors": {"Fe_Ka": 1.0, "La_La": 2.47, ...},
     "relative_uncertainty": {"Fe_Ka": 0.0, "La_La": 0.15, ...}}

The CSV format (``save_kfactors(path.csv)``): ``#``-prefixed ``key: value``
header lines for the same fields, then the columns ``line,kfactor,
relative_uncertainty``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import numbers
import os

from hyperspy_chipping.fitting._families import SHELLS, split_xray_line

CONVENTIONS = ("family", "line")
FORMAT = "hyperspy_chipping.kfactors"
_FIELDS = ("convention", "reference", "beam_energy", "detector", "source", "notes")


class KFactors(dict):
    """Weight-based Cliff-Lorimer k-factors with their convention and source.

    A ``dict`` X-ray line -> k-factor (pass it to ``quantify_chips`` as it
    is), plus the facts a k-factor table must state.

    Parameters
    ----------
    kfactors : dict
        X-ray line (``"La_La"``) -> k-factor, positive.
    convention : {"family", "line"}, default "family"
        What the k-factors pair with: the intensity of the whole shell family
        or of the main line (Kα, Lα, Mα) alone.
    relative_uncertainty : dict, optional
        Line -> relative standard uncertainty (0.05 for 5 %).
    reference : str, optional
        The line whose k-factor the others are relative to.
    beam_energy : float, optional
        keV.
    detector : str, optional
        Free text: the detector (and window) the values hold for.
    source : str, optional
        Where the values come from: ``"theoretical"``, ``"calibrated"``,
        ``"Velox"``, a file name...
    notes : str, optional
        Free text.

    Raises
    ------
    ValueError
        If a line is malformed, a k-factor is not a positive number, or
        `convention` is unknown.

    Examples
    --------
    >>> k = KFactors({"Fe_Ka": 1.0, "O_Ka": 2.0}, source="Velox")
    >>> k
    KFactors({'Fe_Ka': 1.0, 'O_Ka': 2.0}, convention='family', source='Velox')
    >>> isinstance(k, dict), k["O_Ka"]
    (True, 2.0)
    """

    def __init__(
        self,
        kfactors,
        *,
        convention: str = "family",
        relative_uncertainty=None,
        reference: str | None = None,
        beam_energy: float | None = None,
        detector: str | None = None,
        source: str | None = None,
        notes: str | None = None,
    ):
        if not isinstance(kfactors, dict):
            raise TypeError(
                f"`kfactors` must be a dict {{line: k}}, got {type(kfactors).__name__}."
            )
        if convention not in CONVENTIONS:
            raise ValueError(
                f"`convention` must be one of {CONVENTIONS}, got {convention!r}."
            )
        clean = {}
        for line, value in kfactors.items():
            split_xray_line(line)  # raises ValueError for a malformed line
            clean[str(line)] = _positive(f"kfactors[{line!r}]", value)
        super().__init__(clean)
        unc = dict(relative_uncertainty or {})
        unknown = sorted(set(unc) - set(clean))
        if unknown:
            raise ValueError(
                f"`relative_uncertainty` has lines {unknown} that have no k-factor."
            )
        self.relative_uncertainty = {k: float(v) for k, v in unc.items()}
        self.convention = convention
        self.reference = reference
        self.beam_energy = None if beam_energy is None else float(beam_energy)
        self.detector = detector
        self.source = source
        self.notes = notes

    def __repr__(self) -> str:
        extra = f", convention={self.convention!r}"
        if self.source is not None:
            extra += f", source={self.source!r}"
        return f"KFactors({dict(self)!r}{extra})"

    def header(self) -> dict:
        """The table's facts besides the values, as a JSON-ready dict.

        Examples
        --------
        >>> KFactors({"Fe_Ka": 1.0}, beam_energy=300).header()["beam_energy"]
        300.0
        """
        return {name: getattr(self, name) for name in _FIELDS}

    def copy(self) -> KFactors:
        """A copy with the same header and uncertainties."""
        return KFactors(
            dict(self), relative_uncertainty=self.relative_uncertainty, **self.header()
        )


def _positive(name, value) -> float:
    if isinstance(value, (bool,)) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a positive number, got {value!r}.")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"`{name}` must be a positive number, got {value!r}.")
    return float(value)


def _kind(path) -> str:
    ext = os.path.splitext(str(path))[1].lower()
    if ext not in (".json", ".csv"):
        raise ValueError(
            f"`path` must end in .json or .csv (the format is chosen by the "
            f"extension), got {str(path)!r}."
        )
    return ext[1:]


def save_kfactors(path, kfactors, **header) -> None:
    """Write a k-factor table as JSON or CSV (chosen by the extension).

    Parameters
    ----------
    path : str or os.PathLike
        File name ending in ``.json`` or ``.csv``.
    kfactors : KFactors or dict
        The k-factors; a plain dict is taken as family k-factors.
    **header
        Overrides of the table's facts: ``convention``, ``reference``,
        ``beam_energy``, ``detector``, ``source``, ``notes``.

    Raises
    ------
    ValueError
        If the extension is neither ``.json`` nor ``.csv``, or a value is bad.
    TypeError
        If `header` has an unknown key.

    See Also
    --------
    load_kfactors

    Examples
    --------
    >>> k = KFactors({"Fe_Ka": 1.0, "La_La": 2.5}, beam_energy=300.0,
    ...              relative_uncertainty={"La_La": 0.02})
    >>> save_kfactors("k.json", k, source="SrTiO3 region")
    >>> load_kfactors("k.json")
    KFactors({'Fe_Ka': 1.0, 'La_La': 2.5}, convention='family', source='SrTiO3 region')
    """
    kind = _kind(path)
    unknown = sorted(set(header) - set(_FIELDS))
    if unknown:
        raise TypeError(f"save_kfactors() got unknown header fields {unknown}.")
    if isinstance(kfactors, KFactors):
        fields = kfactors.header()
        unc = kfactors.relative_uncertainty
    else:
        fields, unc = {name: None for name in _FIELDS}, {}
        fields["convention"] = "family"
    fields.update(header)
    table = KFactors(dict(kfactors), relative_uncertainty=unc, **fields)
    if kind == "json":
        content = {"format": FORMAT, "version": 1, **table.header()}
        content["kfactors"] = dict(table)
        content["relative_uncertainty"] = table.relative_uncertainty
        text = json.dumps(content, indent=2) + "\n"
    else:
        out = io.StringIO()
        out.write(f"# format: {FORMAT}\n# version: 1\n")
        for name, value in table.header().items():
            if value is not None:
                out.write(f"# {name}: {value}\n")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["line", "kfactor", "relative_uncertainty"])
        for line, value in table.items():
            u = table.relative_uncertainty.get(line)
            writer.writerow([line, repr(value), "" if u is None else repr(u)])
        text = out.getvalue()
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def load_kfactors(path) -> KFactors:
    """Read a k-factor table written by :func:`save_kfactors` (JSON or CSV).

    A CSV file with just ``line,kfactor`` columns (and no header lines) is
    read too, as family k-factors of unknown source.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.json`` or ``.csv`` file.

    Returns
    -------
    KFactors
        The table, ready for ``quantify_chips``.

    Raises
    ------
    ValueError
        If the file is not a k-factor table (wrong format, missing columns,
        bad values).

    See Also
    --------
    save_kfactors

    Examples
    --------
    >>> with open("velox.csv", "w") as f:
    ...     _ = f.write("line,kfactor\\nFe_Ka,1.0\\nO_Ka,1.9\\n")
    >>> load_kfactors("velox.csv")
    KFactors({'Fe_Ka': 1.0, 'O_Ka': 1.9}, convention='family', source='velox.csv')
    """
    kind = _kind(path)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    name = os.path.basename(str(path))
    if kind == "json":
        try:
            content = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{name} is not valid JSON: {err}.") from err
        if not isinstance(content, dict) or content.get("format") != FORMAT:
            raise ValueError(
                f"{name} is not a k-factor table: it needs "
                f'"format": "{FORMAT}" and a "kfactors" object.'
            )
        header = {k: content.get(k) for k in _FIELDS}
        values = content.get("kfactors")
        unc = content.get("relative_uncertainty") or {}
    else:
        header, rows = {}, []
        for raw in text.splitlines():
            if raw.startswith("#"):
                key, _, value = raw[1:].partition(":")
                header[key.strip()] = value.strip()
            elif raw.strip():
                rows.append(raw)
        reader = csv.DictReader(rows)
        if reader.fieldnames is None or not {"line", "kfactor"} <= set(
            reader.fieldnames
        ):
            raise ValueError(
                f"{name}: a k-factor CSV needs the columns 'line' and 'kfactor', "
                f"got {reader.fieldnames}."
            )
        values, unc = {}, {}
        for row in reader:
            try:
                values[row["line"]] = float(row["kfactor"])
                if row.get("relative_uncertainty"):
                    unc[row["line"]] = float(row["relative_uncertainty"])
            except ValueError as err:
                raise ValueError(f"{name}: bad number in row {row}: {err}.") from err
        header = {k: header.get(k) for k in _FIELDS}
        if header["beam_energy"] is not None:
            header["beam_energy"] = float(header["beam_energy"])
    if not isinstance(values, dict) or not values:
        raise ValueError(f"{name} holds no k-factors.")
    header["convention"] = header["convention"] or "family"
    header["source"] = header["source"] or name
    return KFactors(values, relative_uncertainty=unc, **header)


def convert_kfactors(kfactors, to: str, *, beam_energy: float | None = None):
    """Convert k-factors between the family and the main-line convention.

    ``k_family = k_line * f``, with ``f`` the fraction of the family's detected
    intensity in its main line (Kα1 + Kα2, Lα1 + Lα2, Mα), from the package's
    line families (Elam radiative rates, Coster-Kronig transfer, fluorescence
    yields, detector efficiency) at the beam energy: so that an exspy user's
    main-line k-factors pair with the package's family intensities.

    Parameters
    ----------
    kfactors : KFactors or dict
        The k-factors; a plain dict is taken to be in the other convention
        than `to`.
    to : {"family", "line"}
        The convention wanted.
    beam_energy : float, optional
        keV; default the table's, else 300.

    Returns
    -------
    KFactors
        The converted table (unchanged values if already in `to`).

    Raises
    ------
    ValueError
        If `to` is unknown or a line is not a main line.

    Notes
    -----
    The main fractions are the model's before refinement: ``quantify_chips``
    refines the sub-line weights on the summed spectrum, which moves them by
    a few per cent for L families. Family k-factors do not depend on them.

    Examples
    --------
    >>> k_line = KFactors({"Fe_Ka": 1.0, "La_La": 5.0}, convention="line")
    >>> k = convert_kfactors(k_line, "family", beam_energy=300.0)
    >>> k.convention, round(k["La_La"] / k["Fe_Ka"], 2)
    ('family', 2.85)
    """
    from hyperspy_chipping.fitting._families import physics_families

    if to not in CONVENTIONS:
        raise ValueError(f"`to` must be one of {CONVENTIONS}, got {to!r}.")
    if isinstance(kfactors, KFactors):
        table = kfactors.copy()
    else:
        other = "line" if to == "family" else "family"
        table = KFactors(dict(kfactors), convention=other)
    if table.convention == to:
        return table
    energy = beam_energy or table.beam_energy or 300.0
    out = {}
    for line, value in table.items():
        element, name = split_xray_line(line)
        shell = name[0]
        if name not in (shell, f"{shell}a") or shell not in SHELLS:
            raise ValueError(
                f"`kfactors` line {line!r}: only main lines (Ka, La, Ma) convert."
            )
        family = [
            f
            for f in physics_families([element], energy, (0.0, energy))
            if f.shell == shell
        ]
        if not family:
            raise ValueError(
                f"`kfactors` line {line!r}: {element} has no {shell} family at "
                f"{energy} kV."
            )
        f = family[0].main_fraction
        out[f"{element}_{shell}a"] = value * f if to == "family" else value / f
    header = table.header()
    header["convention"] = to
    header["beam_energy"] = energy
    unc = {
        f"{split_xray_line(k)[0]}_{split_xray_line(k)[1][0]}a": v
        for k, v in table.relative_uncertainty.items()
    }
    return KFactors(out, relative_uncertainty=unc, **header)
