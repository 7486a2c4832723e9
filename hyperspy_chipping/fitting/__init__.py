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
"""The chip model: X-ray line families, design matrices and linear fits."""

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
