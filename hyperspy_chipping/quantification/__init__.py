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
"""Quantification of chips: Cliff-Lorimer, zeta factors, cross sections.

``quantify`` loads on first use (PEP 562): a dask worker that quantifies
blocks of chips unpickles functions of ``_block`` and ``_stream`` without
importing this package's signal-facing modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from hyperspy_chipping.quantification._composition import quantify

__all__ = ["quantify"]


def __getattr__(name: str):
    if name == "quantify":
        from hyperspy_chipping.quantification._composition import quantify

        globals()[name] = quantify
        return quantify
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
