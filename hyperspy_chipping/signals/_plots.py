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
"""Plot methods of quantified chips (thin wrappers of hyperspy_chipping.plotting)."""

from __future__ import annotations


class ChipPlotMixin:
    """Composition, difference and chi-squared maps; one chip's fit."""

    def plot_composition(
        self, *, elements=None, composition="atomic", outlines=True, axes=None
    ):
        """Composition maps on the source pixel grid, with colour bars.

        See :func:`hyperspy_chipping.plotting.plot_composition`.

        Examples
        --------
        >>> from hyperspy_chipping.data import sto_lfo_cross_section
        >>> s = sto_lfo_cross_section((30, 30), seed=0)
        >>> s.set_signal_type("EDS_TEM_chipped")
        >>> chips = s.chip(10)
        >>> _ = chips.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())
        >>> len(chips.plot_composition())
        5
        """
        from hyperspy_chipping.plotting import plot_composition

        return plot_composition(
            self,
            elements=elements,
            composition=composition,
            outlines=outlines,
            axes=axes,
        )

    def plot_difference(self, other, element, *, composition="atomic", ax=None):
        """Map of this quantification minus another (diverging red/blue).

        See :func:`hyperspy_chipping.plotting.plot_difference`.

        Examples
        --------
        >>> from hyperspy_chipping.data import sto_lfo_cross_section
        >>> s = sto_lfo_cross_section((30, 30), seed=0)
        >>> s.set_signal_type("EDS_TEM_chipped")
        >>> chips = s.chip(10)
        >>> _ = chips.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())
        >>> df = chips.to_dataframe()
        >>> im = chips.plot_difference(df.assign(at_La=df.at_La - 1), "La")
        >>> float(im.get_array().mean())
        1.0
        """
        from hyperspy_chipping.plotting import plot_difference

        return plot_difference(self, other, element, composition=composition, ax=ax)

    def plot_chi2(self, *, ax=None):
        """Map of the reduced chi-squared of every chip.

        See :func:`hyperspy_chipping.plotting.plot_chi2`.

        Examples
        --------
        >>> from hyperspy_chipping.data import sto_lfo_cross_section
        >>> s = sto_lfo_cross_section((30, 30), seed=0)
        >>> s.set_signal_type("EDS_TEM_chipped")
        >>> chips = s.chip(10)
        >>> _ = chips.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())
        >>> chips.plot_chi2().get_clim()[0]
        0.0
        """
        from hyperspy_chipping.plotting import plot_chi2

        return plot_chi2(self, ax=ax)

    def plot_chip_fit(self, chip_id, *, axes=None):
        """One chip's spectrum, fit and residual.

        See :func:`hyperspy_chipping.plotting.plot_chip_fit`.

        Examples
        --------
        >>> from hyperspy_chipping.data import sto_lfo_cross_section
        >>> s = sto_lfo_cross_section((30, 30), seed=0)
        >>> s.set_signal_type("EDS_TEM_chipped")
        >>> chips = s.chip(10)
        >>> _ = chips.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())
        >>> sorted(chips.plot_chip_fit(0))
        ['axes', 'data', 'model', 'residual']
        """
        from hyperspy_chipping.plotting import plot_chip_fit

        return plot_chip_fit(self, chip_id, axes=axes)
