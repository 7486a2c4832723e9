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
"""The chip model: X-ray line families, design matrices and linear fits.

The exports load on first use (PEP 562, as ``hyperspy.api`` does): a dask
worker that fits chips unpickles functions of ``_linear`` and
``_chi2_kernel`` and needs neither HyperSpy's component machinery
(``XrayLineFamily`` and the other components) nor the line tables.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from hyperspy_chipping.fitting._components import (
        Bremsstrahlung,
        DetectorArtefact,
        SiInternalFluorescence,
        XrayLineFamily,
    )
    from hyperspy_chipping.fitting._families import (
        Family,
        exspy_families,
        physics_families,
        split_xray_line,
    )

_EXPORTS = {
    "Bremsstrahlung": "_components",
    "DetectorArtefact": "_components",
    "SiInternalFluorescence": "_components",
    "XrayLineFamily": "_components",
    "Family": "_families",
    "exspy_families": "_families",
    "physics_families": "_families",
    "split_xray_line": "_families",
}

__all__ = [
    "Bremsstrahlung",
    "DetectorArtefact",
    "SiInternalFluorescence",
    "XrayLineFamily",
    "Family",
    "exspy_families",
    "physics_families",
    "split_xray_line",
]


def __getattr__(name: str):
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        value = getattr(module, name)
        globals()[name] = value  # looked up once
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
