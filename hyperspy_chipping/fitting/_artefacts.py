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
"""Detector artefacts as model shapes tied to their parent lines.

A silicon drift detector records, besides the lines themselves:

- a **Si escape peak** of every line above the Si K edge (1.839 keV), at
  ``E - 1.740 keV``: the photon ionises a Si K shell near the crystal's
  surface and the Si Kα photon leaves the crystal. Its fraction of the
  parent line follows Reed & Ware (1972) [1]_ with the Si K fluorescence yield
  and jump ratio and the Elam attenuation coefficients of xraydb
  (:func:`escape_probability`: ~1.5 % just above the edge, ~0.1 % at 10 keV);
- a **pile-up (sum) peak** at ``E_i + E_j`` where two photons arrive within
  the pulse-pair resolution, largest for the strongest lines.

An artefact found in the summed residual is added to the model as an
:class:`ArtefactFamily`: the parent's lines at the artefact's energies (its
shape is tied to the parent), with its own linear amplitude, fitted and not
quantified; the model view draws it as a
:class:`~hyperspy_chipping.fitting.DetectorArtefact` component.

References
----------
.. [1] S. J. B. Reed and N. G. Ware, J. Phys. E 5 (1972) 582.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hyperspy_chipping.fitting import _xray_families as physics
from hyperspy_chipping.fitting._families import Family

#: Si Kα and the Si K edge (keV).
SI_KA = 1.740
SI_K_EDGE = 1.839


def escape_probability(energy) -> np.ndarray:
    """Fraction of the photons of `energy` (keV) counted in the Si escape peak.

    ``P = ω/2 (1 - 1/r) [1 - (μ_Kα/μ_E) ln(1 + μ_E/μ_Kα)]`` (Reed & Ware)
    with ``ω`` and ``r`` the Si K fluorescence yield and jump ratio, ``μ``
    the mass attenuation of Si at its own Kα and at ``E``; 0 below the edge.

    Examples
    --------
    >>> escape_probability(np.array([1.5, 2.0, 4.51, 10.0])).round(4)
    array([0.    , 0.014 , 0.0056, 0.0009])
    """
    e = np.asarray(energy, dtype=float)
    above = e > SI_K_EDGE
    edge = physics.xraydb.xray_edge("Si", "K")
    mu_ka = physics.xraydb.mu_elam("Si", SI_KA * 1000.0)
    mu_e = physics.xraydb.mu_elam("Si", np.where(above, e, 2.0) * 1000.0)
    ratio = mu_e / mu_ka
    p = 0.5 * edge.fyield * (1 - 1 / edge.jump_ratio) * (1 - np.log1p(ratio) / ratio)
    return np.where(above, p, 0.0)


@dataclass(frozen=True, eq=False)
class ArtefactFamily(Family):
    """A detector artefact of one or two fitted lines, as a model shape.

    Attributes
    ----------
    kind : str
        ``"escape"`` or ``"pile-up"``.
    parents : tuple of str
        The parent lines, e.g. ``("Ti_Ka",)`` or ``("Pt_La", "Pt_Ma")``.
    """

    kind: str = "escape"
    parents: tuple = ()

    @property
    def key(self) -> str:
        """E.g. ``"Ti_Ka_escape"``, ``"Pt_La_Pt_Ma_pileup"``."""
        suffix = "escape" if self.kind == "escape" else "pileup"
        return "_".join(self.parents) + f"_{suffix}"

    @property
    def line(self) -> str:
        return self.key


def escape_family(parent: Family) -> ArtefactFamily | None:
    """The Si escape peaks of `parent`'s lines above the Si K edge, or None.

    Examples
    --------
    >>> from hyperspy_chipping.fitting._families import physics_families
    >>> ti = physics_families(["Ti"], 300.0, (0.2, 20.0))[0]
    >>> esc = escape_family(ti)
    >>> esc.key, round(float(esc.energies[esc.weights.argmax()]), 2)  # 4.51 - 1.74
    ('Ti_Ka_escape', 2.77)
    """
    e = np.asarray(parent.energies, dtype=float)
    p = escape_probability(e) * np.asarray(parent.weights, dtype=float)
    keep = p > 0
    if not keep.any():
        return None
    return ArtefactFamily(
        parent.element,
        parent.shell,
        tuple(f"esc_{n}" for n, k in zip(parent.names, keep) if k),
        e[keep] - SI_KA,
        p[keep] / p[keep].sum(),
        np.ones(int(keep.sum()), dtype=bool),
        kind="escape",
        parents=(parent.line,),
    )


def pile_up_family(first: Family, second: Family) -> ArtefactFamily:
    """The sum peak of the main lines of two families (one line).

    Examples
    --------
    >>> from hyperspy_chipping.fitting._families import physics_families
    >>> cu = physics_families(["Cu"], 200.0, (0.2, 20.0))[0]
    >>> pile = pile_up_family(cu, cu)
    >>> pile.key, round(float(pile.main_energy), 2)
    ('Cu_Ka_Cu_Ka_pileup', 16.08)
    """
    first, second = sorted((first, second), key=lambda f: f.line)
    return ArtefactFamily(
        first.element,
        first.shell,
        ("sum",),
        np.array([first.main_energy + second.main_energy]),
        np.array([1.0]),
        np.array([True]),
        kind="pile-up",
        parents=(first.line, second.line),
    )


def artefact_for(description: str, families) -> ArtefactFamily | None:
    """The artefact named by a peak identification, e.g. ``"Si escape peak of
    Ti_Ka"`` or ``"pile-up peak of Pt_La + Pt_Ma"``, from the model's families.
    """
    by_line = {f.line: f for f in families if not isinstance(f, ArtefactFamily)}
    if description.startswith("Si escape peak of "):
        parent = by_line.get(description.removeprefix("Si escape peak of "))
        return None if parent is None else escape_family(parent)
    if description.startswith("pile-up peak of "):
        names = description.removeprefix("pile-up peak of ").split(" + ")
        parents = [by_line.get(n) for n in names]
        if None in parents:
            return None
        return pile_up_family(parents[0], parents[-1])
    return None
