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
"""Choosing the chip size: predicted precision of chips on the uncut map."""

from __future__ import annotations


class ChipPrecisionMixin:
    """Advice on chip size, from the uncut map's counts."""

    def estimate_chip_precision(
        self,
        kfactors,
        sizes,
        *,
        where=None,
        method="CL",
        intensity=None,
        model="family",
        background=None,
        background_order=None,
        energy_range=None,
        refine=True,
    ):
        """Predict the composition uncertainty of chips of several sizes.

        Smaller chips resolve more but hold fewer counts (the question the
        study left to the user). On the uncut map, the summed spectrum of a
        region of uniform composition is fitted once; a chip of ``n`` pixels
        is expected to hold ``n / N`` of its ``N`` pixels' counts, and the
        Poisson covariance of the chip fit at that expected spectrum gives
        the chip-to-chip standard deviation of every element — without
        cutting the map.

        Parameters
        ----------
        kfactors : dict, list of float, str or os.PathLike
            As :meth:`quantify_chips` takes them: a dict or list,
            ``"theoretical"`` or the path of a k-factor table.
        sizes : list of int or list of tuple of int
            Chip sizes to compare, in pixels: ints for square chips, or
            pairs (x, y).
        where : numpy.ndarray, optional
            Boolean image of the navigation shape (data order): the region
            of uniform composition to predict for (e.g. one phase). Default
            the whole map (its mean composition).
        method, intensity, model, background, background_order, energy_range, refine
            As in :meth:`quantify_chips`.

        Returns
        -------
        pandas.DataFrame
            One row per size: ``size``, ``n_pixels``, ``counts`` (expected
            counts per chip in the fit range), and per quantified element
            ``at_<El>``, ``at_<El>_std``, ``wt_<El>``, ``wt_<El>_std``.
            Plot it with
            :func:`hyperspy_chipping.plotting.plot_chip_precision`.

        Raises
        ------
        TypeError
            If `sizes` is not a list of sizes.
        ValueError
            For an empty `sizes`, a size below 1, a `where` of the wrong
            shape or selecting nothing, a region without counts, or any
            error of :meth:`quantify_chips`.

        See Also
        --------
        chip, quantify_chips

        Notes
        -----
        The prediction is exact for a linear fit with model weights when
        the chips of the region differ only by Poisson noise; real
        composition variations add to the observed spread. A lazy map is
        summed (one pass over the data) to compute the prediction.

        Examples
        --------
        >>> from hyperspy_chipping.data import sto_lfo_cross_section
        >>> s = sto_lfo_cross_section((60, 60), seed=0)
        >>> s.set_signal_type("EDS_TEM_chipped")
        >>> k = s.metadata.Simulation.kfactors.as_dictionary()
        >>> lfo = s.metadata.Simulation.phase_map == 1
        >>> df = s.estimate_chip_precision(k, [5, 10, 20], where=lfo)
        >>> df[["size", "n_pixels", "at_La", "at_La_std"]].round(1)
           size  n_pixels  at_La  at_La_std
        0     5        25   19.6        1.8
        1    10       100   19.6        0.9
        2    20       400   19.6        0.5
        >>> # Four times the pixels, half the standard deviation:
        >>> bool(abs(df.at_La_std[0] / df.at_La_std[1] - 2) < 0.05)
        True
        """
        from hyperspy_chipping.kfactors._named import resolve_kfactors
        from hyperspy_chipping.quantification._precision import estimate_precision

        kfactors, intensity = resolve_kfactors(
            self,
            kfactors,
            intensity=intensity,
            energy_range=energy_range,
            method=method,
        )
        return estimate_precision(
            self,
            kfactors,
            sizes,
            where=where,
            method=method,
            intensity=intensity,
            model=model,
            composition="atomic",
            background=background,
            background_order=background_order,
            energy_range=energy_range,
            thickness=None,
            absorption_correction=False,
            refine=refine,
        )
