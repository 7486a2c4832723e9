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
"""HyperSpy operations on chipped signals keep ``metadata.Chipping`` true.

HyperSpy copies the metadata of a signal into the result of every operation.
For a chipped signal that would be wrong where the operation changes what a
chip is: ``rebin`` and reductions over the navigation axes merge chips, and
changing the energy axis (``isig``, ``rebin``) invalidates a stored fit. The
mixin below follows the three HyperSpy hooks that such operations go
through: where the chips stay the chips it keeps (and, for integer indexing,
completes) the metadata; where they do not, it removes what is no longer
true and says so in one warning. What no hook sees (``data`` written in
place, an axis re-calibrated by hand) is caught where the metadata is read
(:func:`hyperspy_chipping.quantification._stored.ensure_results` and
:func:`hyperspy_chipping.chipping._table.chip_indices`).
"""

from __future__ import annotations

import warnings

from hyperspy.signal import BaseSignal

from hyperspy_chipping.chipping._table import sliced_fixed_index


def _drop(signal, item: str, why: str, stacklevel: int) -> None:
    """Remove ``metadata.<item>`` from `signal`, with one warning saying why."""
    if not signal.metadata.has_item(item):
        return
    parent, _, name = item.rpartition(".")
    node = signal.metadata.get_item(parent) if parent else signal.metadata
    delattr(node, name)
    warnings.warn(
        f"{why}: metadata.{item} was removed, as it no longer describes the result.",
        UserWarning,
        stacklevel=stacklevel + 1,
    )


def _energy_axis_changed(before, after) -> bool:
    a = before.axes_manager.signal_axes
    b = after.axes_manager.signal_axes
    if len(a) != len(b):
        return True
    return any(
        x.size != y.size
        or not (abs(x.offset - y.offset) <= 1e-9 * max(abs(x.scale), 1e-12))
        or not (abs(x.scale - y.scale) <= 1e-9 * abs(x.scale))
        for x, y in zip(a, b)
    )


class ChipOperationsMixin:
    """Keep ``metadata.Chipping`` true through HyperSpy's operations."""

    def _slicer(self, slices, isNavigation=None, out=None):
        fixed = None
        if "Chipping" in self.metadata and isNavigation is not False:
            fixed = sliced_fixed_index(
                self, self._get_array_slices(slices, isNavigation)
            )
        result = super()._slicer(slices, isNavigation, out)
        target = out if out is not None else result
        if fixed is not None and "Chipping" in target.metadata:
            if any(f >= 0 for f in fixed):
                target.metadata.Chipping.fixed_index = fixed
        if _energy_axis_changed(self, target):
            _drop(
                target,
                "Chipping.Quantification",
                "The energy axis was sliced after quantify_chips()",
                stacklevel=3,
            )
        return result

    def rebin(self, new_shape=None, scale=None, crop=True, dtype=None, out=None):
        result = super().rebin(
            new_shape=new_shape, scale=scale, crop=crop, dtype=dtype, out=out
        )
        target = out if out is not None else result
        nav_before = self.axes_manager.navigation_shape
        if target.axes_manager.navigation_shape != nav_before:
            _drop(
                target,
                "Chipping",
                "rebin() merged chips into larger ones, whose pixels "
                "metadata.Chipping does not record (chip the source map with "
                "larger chips instead)",
                stacklevel=2,
            )
        elif _energy_axis_changed(self, target):
            _drop(
                target,
                "Chipping.Quantification",
                "rebin() changed the energy axis after quantify_chips()",
                stacklevel=2,
            )
        return result

    rebin.__doc__ = BaseSignal.rebin.__doc__

    def _apply_function_on_data_and_remove_axis(
        self, function, axes, out=None, **kwargs
    ):
        removed = self.axes_manager[axes]
        if not isinstance(removed, (tuple, list)):
            removed = (removed,)
        result = super()._apply_function_on_data_and_remove_axis(
            function, axes, out=out, **kwargs
        )
        target = out if out is not None else result
        if target is self or target is None:
            return result
        if any(axis.navigate for axis in removed):
            _drop(
                target,
                "Chipping",
                f"{getattr(function, '__name__', 'The reduction')}() over the "
                "navigation axes merged the chips",
                stacklevel=4,
            )
        return result
