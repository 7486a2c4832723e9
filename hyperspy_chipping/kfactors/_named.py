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
"""k-factors named by a string: ``"theoretical"`` or a table file."""

from __future__ import annotations

import os

from hyperspy_chipping.kfactors._tables import KFactors, load_kfactors


def resolve_kfactors(
    signal, kfactors, *, intensity=None, energy_range=None, method="CL"
):
    """Turn ``"theoretical"`` or a table file name into a :class:`KFactors`.

    What ``quantify_chips`` does with its `kfactors` before anything else
    (and what a command line can call).

    Parameters
    ----------
    signal : ChippedEDSSpectrum
        The chipped signal (elements, X-ray lines, beam energy, energy axis).
    kfactors : str or os.PathLike or KFactors or dict or list
        ``"theoretical"``: :func:`theoretical_kfactors` of the quantified
        lines (``metadata.Sample.xray_lines``, else the main line of every
        element inside the fit range) at the beam energy; the path of a
        ``.json`` or ``.csv`` table (:func:`load_kfactors`); anything else is
        returned unchanged.
    intensity : {"family", "line"}, optional
        The requested convention; default: the table's.
    energy_range : tuple of float, optional
        The fit range (keV), for the default lines.
    method : str, default "CL"
        The quantification method: named and table k-factors are
        Cliff-Lorimer k-factors.

    Returns
    -------
    kfactors : KFactors or the input
        The k-factors.
    intensity : str or None
        The convention to quantify in.

    Raises
    ------
    TypeError
        If a string is neither ``"theoretical"`` nor an existing table file.
    ValueError
        If a table's convention conflicts with `intensity`, or `method` is
        not ``"CL"``.

    Examples
    --------
    >>> from hyperspy_chipping.data import sto_lfo_cross_section
    >>> s = sto_lfo_cross_section((4, 4))
    >>> s.set_signal_type("EDS_TEM_chipped")
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     k, intensity = resolve_kfactors(s.chip(2), "theoretical")
    >>> k.source, sorted(k), intensity
    ('theoretical', ['Fe_Ka', 'La_La', 'O_Ka', 'Sr_Ka', 'Ti_Ka'], None)
    """
    if isinstance(kfactors, (str, os.PathLike, KFactors)) and method != "CL":
        raise ValueError(
            f"`kfactors` {kfactors if isinstance(kfactors, str) else 'table'!r} "
            f"are Cliff-Lorimer k-factors, but `method={method!r}` needs zeta "
            "factors or cross sections: use method='CL'."
        )
    if isinstance(kfactors, (str, os.PathLike)):
        kfactors = _named(signal, kfactors, energy_range)
    if isinstance(kfactors, KFactors):
        if intensity is None and kfactors.convention == "line":
            intensity = "line"
        elif intensity is not None and intensity != kfactors.convention:
            raise ValueError(
                f"`kfactors` are {kfactors.convention} k-factors but "
                f"`intensity={intensity!r}`: they do not pair. Convert them with "
                "hyperspy_chipping.kfactors.convert_kfactors."
            )
    return kfactors, intensity


def _named(signal, name, energy_range):
    from hyperspy_chipping.fitting._families import default_line
    from hyperspy_chipping.quantification._fit import (
        DEFAULT_LOW_ENERGY,
        energy_axis_kev,
    )
    from hyperspy_chipping.quantification._validate import beam_energy

    if name == "theoretical":
        from hyperspy_chipping.kfactors._theory import (
            theoretical_kfactors,
            warn_standardless,
        )

        md = signal.metadata
        beam = beam_energy(signal)
        lines = list(md.get_item("Sample.xray_lines", []))
        if not lines:
            offset, scale, size = energy_axis_kev(signal)
            low, high = energy_range or (
                DEFAULT_LOW_ENERGY,
                offset + scale * (size - 1),
            )
            lines = [
                default_line(el, beam, (low, high))
                for el in md.get_item("Sample.elements", [])
            ]
        if not lines:
            raise ValueError(
                "kfactors='theoretical': no elements to quantify; set them with "
                "s.add_elements([...])."
            )
        table = theoretical_kfactors(lines, beam)
        warn_standardless()
        return table
    if not os.path.isfile(name):
        raise TypeError(
            "`kfactors` must be a dict {line: k}, a list, 'theoretical' or the "
            "path of an existing k-factor table (.json or .csv), got "
            f"{type(name).__name__} {str(name)!r}."
        )
    return load_kfactors(name)


def kfactor_source(kfactors) -> str:
    """Where k-factors come from, for the quantification's metadata."""
    if isinstance(kfactors, KFactors) and kfactors.source:
        return str(kfactors.source)
    return "user"
