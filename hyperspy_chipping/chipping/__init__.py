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
"""Chipping: geometry, one-pass aggregation and per-chip tables."""

from hyperspy_chipping.chipping._chip import chip
from hyperspy_chipping.chipping._source import GuardedZarrArray
from hyperspy_chipping.chipping._table import chip_table, source_index_image

__all__ = ["GuardedZarrArray", "chip", "chip_table", "source_index_image"]
