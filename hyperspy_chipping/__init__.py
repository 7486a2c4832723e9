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
"""Chip STEM-EDS spectrum images, quantify every chip, export a DataFrame.

A HyperSpy/exspy extension: ``s.set_signal_type("EDS_TEM_chipped")`` turns an
EDS spectrum image into a :class:`~hyperspy_chipping.signals.ChippedEDSSpectrum`
with :meth:`~hyperspy_chipping.signals.ChippedEDSSpectrum.chip` and
:meth:`~hyperspy_chipping.signals.ChippedEDSSpectrum.to_dataframe`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hyperspy_chipping")
except PackageNotFoundError:  # pragma: no cover - only without installation
    __version__ = "0.0.0"

__all__ = ["__version__"]
