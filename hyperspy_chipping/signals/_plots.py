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
"""Plot methods of chips (thin wrappers of hyperspy_chipping.plotting)."""

from __future__ import annotations


class ChipPlotMixin:
    """Chips and source maps; composition, difference and chi-squared maps; fits."""

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

    def get_source_map(self, values):
        """Paint one value per chip back onto the pixels of the source map.

        Parameters
        ----------
        values : numpy.ndarray or hyperspy.signal.BaseSignal or pandas.Series
            One value per chip, in the chips' navigation shape (data order),
            e.g. a composition map returned by quantification; or a column
            of :meth:`to_dataframe` (one value per row, in the table's
            order), e.g. ``df["at_La"]``.

        Returns
        -------
        hyperspy.signal.BaseSignal
            A :class:`~hyperspy.signals.Signal2D` (map) or
            :class:`~hyperspy.signals.Signal1D` (line scan) of the source
            navigation shape and calibration; each pixel holds its chip's
            value, NaN where no chip covers it (cropped remainder, label 0).
            Where window chips overlap, a pixel takes the value of the chip
            whose centre is nearest.

        Raises
        ------
        ValueError
            If `values` does not have the chips' navigation shape or the
            signal has not been chipped.

        Examples
        --------
        >>> import numpy as np
        >>> import hyperspy.api as hs
        >>> s = hs.signals.Signal1D(np.ones((5, 4, 8), dtype="uint16"))
        >>> s.set_signal_type("EDS_TEM_chipped")
        >>> chips = s.chip(2)
        >>> chips.axes_manager.navigation_shape
        (2, 2)
        >>> m = chips.get_source_map(np.array([[1, 2], [3, 4]]))
        >>> m
        <Signal2D, title: , dimensions: (|4, 5)>
        >>> m.data
        array([[ 1.,  1.,  2.,  2.],
               [ 1.,  1.,  2.,  2.],
               [ 3.,  3.,  4.,  4.],
               [ 3.,  3.,  4.,  4.],
               [nan, nan, nan, nan]])
        """
        from hyperspy_chipping.chipping._display import source_map

        return source_map(self, values)

    def plot_chips(
        self, image=None, *, ids=True, ax=None, color="w", cmap="gray", title=None
    ):
        """Draw the chip outlines and ids over an image of the source map.

        Parameters
        ----------
        image : numpy.ndarray or hyperspy.signal.BaseSignal, optional
            Image of the source navigation shape, e.g. the summed intensity
            ``s.sum(-1).T`` of the source map or a HAADF image; or one value
            per chip in the chips' navigation shape (e.g. a composition map
            returned by :meth:`quantify_chips`), painted on the source
            pixels. Default: the chip counts.
        ids : bool, default True
            Write each chip's id (``chip_id`` of :meth:`to_dataframe`, or the
            label) at its centre. With more than 400 chips (per-pixel
            windows) only an evenly spread subset is outlined, without ids.
        ax : matplotlib.axes.Axes, optional
            Axes to draw in; a new figure by default.
        color : str, default "w"
            Colour of outlines and ids.
        cmap : str, default "gray"
            Colour map of the image (it gets a colour bar).
        title : str, optional
            Title; default the image signal's title.

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn in, calibrated in the source units.

        Raises
        ------
        ValueError
            If `image` has neither the source nor the chips' navigation
            shape, the source was a line scan, or the signal has not been
            chipped.

        Examples
        --------
        >>> import numpy as np
        >>> import hyperspy.api as hs
        >>> s = hs.signals.Signal1D(np.ones((30, 30, 8), dtype="uint16"))
        >>> s.set_signal_type("EDS_TEM_chipped")
        >>> ax = s.chip(10).plot_chips(s.sum(-1).T)
        >>> len(ax.patches) + len(ax.collections), len(ax.texts)
        (1, 9)
        """
        from hyperspy_chipping.chipping._display import plot_chip_outlines

        return plot_chip_outlines(
            self, image, ids=ids, ax=ax, color=color, cmap=cmap, title=title
        )
