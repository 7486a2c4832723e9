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
"""Plots of chips and their quantification (matplotlib)."""

from hyperspy_chipping.plotting._maps import (
    plot_chi2,
    plot_composition,
    plot_difference,
)
from hyperspy_chipping.plotting._spectra import plot_chip_fit, plot_chip_precision

__all__ = [
    "plot_chi2",
    "plot_chip_fit",
    "plot_chip_precision",
    "plot_composition",
    "plot_difference",
]
