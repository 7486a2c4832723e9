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
"""k-factor calibration on chips of known composition (a thin method)."""

from __future__ import annotations


class ChipKFactorsMixin:
    """k-factors from reference regions of the chips."""

    def calibrate_kfactors(self, composition, where, *, reference=None):
        """Family k-factors from chips of known composition.

        Parameters
        ----------
        composition : dict or list of dict
            Element -> at % of each region (normalised: fractions work too),
            e.g. ``{"Sr": 20, "Ti": 20, "O": 60}`` for a SrTiO3 substrate.
        where : numpy.ndarray or list of int or int or list
            The chips of the region: a boolean mask of the chips' navigation
            shape in data order (rows, columns), like ``labels``; a list of
            chip ids (the ``chip_id`` column of :meth:`to_dataframe`: index in
            the complete chip set); or a label (label chips; for grid chips an
            int is one chip id). With a list of compositions, a list of these,
            one per composition.
        reference : str, optional
            The line (or element) whose k-factor is 1. Default ``"Fe_Ka"``
            when Fe is calibrated (the usual reference of published and
            vendor tables), else the calibrated line with the most counts
            (the most precise).

        Returns
        -------
        hyperspy_chipping.kfactors.KFactors
            A dict line -> weight-based family k-factor for every element of
            the compositions, to pass to :meth:`quantify_chips` as it is;
            ``relative_uncertainty`` holds the counting uncertainty of each
            (relative to the reference). The provenance — compositions,
            chip ids of each region, intensities, counts — is stored in
            ``metadata.Chipping.KFactors``.

        Raises
        ------
        TypeError
            If `composition` or `where` has the wrong type.
        ValueError
            For an empty or non-positive composition, an unknown element or
            one not in ``metadata.Sample.elements``, a mask of the wrong
            shape, a chip id or label that is not a chip, an empty region,
            a reference in no composition, a region with no counts in one of
            its elements, or regions that do not link every element to the
            reference.

        See Also
        --------
        quantify_chips, hyperspy_chipping.kfactors.theoretical_kfactors,
        hyperspy_chipping.kfactors.save_kfactors

        Notes
        -----
        Each region's summed spectrum is fitted with the model of
        :meth:`quantify_chips` (same calibration, same projector), and
        ``k_A I_A / (k_B I_B) = w_A / w_B`` (weight fractions) is solved for
        the k-factors of all regions together by least squares weighted with
        the Poisson covariance of the intensities (in log space; one unknown
        scale per region). With as many equations as unknowns (one region,
        or two sharing one element) the k-factors reproduce every region's
        composition exactly. A lazy signal is computed (its chunks read
        once): the k-factors are numbers.

        Examples
        --------
        >>> from hyperspy_chipping.data import sto_lfo_cross_section
        >>> s = sto_lfo_cross_section((60, 60), seed=1)
        >>> s.set_signal_type("EDS_TEM_chipped")
        >>> chips = s.chip(15)
        >>> sto = s.metadata.Simulation.phase_map[::15, ::15] == 2
        >>> lfo = s.metadata.Simulation.phase_map[14::15, 14::15] == 1
        >>> k = chips.calibrate_kfactors(
        ...     [{"Sr": 20, "Ti": 20, "O": 60}, {"La": 20, "Fe": 20, "O": 60}],
        ...     [sto, lfo])
        >>> {line: round(v, 1) for line, v in k.items()}   # truth 1, 2.5, 2, 1.8, 1.1
        {'Fe_Ka': 1.0, 'La_La': 2.5, 'O_Ka': 2.0, 'Sr_Ka': 1.8, 'Ti_Ka': 1.1}
        >>> maps = chips.quantify_chips(k)
        >>> round(float(maps[1].data[0, 0]))   # La in LaFeO3
        20
        """
        from hyperspy_chipping.kfactors import calibrate

        return calibrate(self, composition, where, reference=reference)
