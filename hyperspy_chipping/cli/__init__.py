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
"""Command line: ``hyperspy-chipping``.

Chip an EDS spectrum image (any file rosettasciio reads, or the embedded
demo data), and write the per-chip table and a picture of the chips.
"""

from hyperspy_chipping.cli._kfactors import parse_kfactors
from hyperspy_chipping.cli._main import (
    build_parser,
    check_arguments,
    main,
    run,
    select_spectrum_image,
)
from hyperspy_chipping.cli._outputs import UsageError, check_outputs
from hyperspy_chipping.cli._wording import cli_wording

__all__ = [
    "UsageError",
    "build_parser",
    "check_arguments",
    "check_outputs",
    "cli_wording",
    "main",
    "parse_kfactors",
    "run",
    "select_spectrum_image",
]
