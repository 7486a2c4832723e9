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
"""k-factors a user can get: calibration, theory, tables.

- :meth:`~hyperspy_chipping.signals.ChippedEDSSpectrum.calibrate_kfactors`
  (here :func:`calibrate`): family k-factors from chips of known composition.
- :func:`theoretical_kfactors`: standardless family k-factors from physics
  tables; ``quantify_chips("theoretical")`` uses them, at the detector
  window its fit refines (:func:`window_kfactors`).
- :class:`KFactors`, :func:`save_kfactors`, :func:`load_kfactors`,
  :func:`convert_kfactors`: tables that state their convention, in and out.
"""

from hyperspy_chipping.kfactors._calibrate import calibrate
from hyperspy_chipping.kfactors._named import resolve_kfactors
from hyperspy_chipping.kfactors._tables import (
    KFactors,
    convert_kfactors,
    load_kfactors,
    save_kfactors,
)
from hyperspy_chipping.kfactors._theory import theoretical_kfactors
from hyperspy_chipping.quantification._kfactor_window import window_kfactors

__all__ = [
    "KFactors",
    "calibrate",
    "convert_kfactors",
    "load_kfactors",
    "resolve_kfactors",
    "save_kfactors",
    "theoretical_kfactors",
    "window_kfactors",
]
