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
"""Workarounds for exspy's dispatch on the signal-type *string*.

exspy 0.3 selects the ``Acquisition_instrument`` branch with checks such as
``signal_type == "EDS_TEM"``. Any subclass registered under another signal
type (``"EDS_TEM_chipped"`` here) falls through those checks:
``_get_line_energy(..., FWHM_MnKa="auto")`` raises ``NotImplementedError``
(so ``create_model`` fails) and ``get_take_off_angle`` raises
``UnboundLocalError`` (so absorption-corrected quantification fails).

The mixin below answers both from the TEM branch of the metadata, which is
where :class:`exspy.signals.EDSTEMSpectrum` keeps them. It is kept in one
place so that it can be deleted once exspy dispatches on the class.
"""

from __future__ import annotations

from exspy.utils.eds import take_off_angle


class TEMDispatchMixin:
    """Answer exspy's string-dispatched queries from the TEM metadata."""

    def _get_line_energy(self, Xray_line, FWHM_MnKa=None):
        if isinstance(FWHM_MnKa, str) and FWHM_MnKa == "auto":
            FWHM_MnKa = self.metadata.get_item(
                "Acquisition_instrument.TEM.Detector.EDS.energy_resolution_MnKa"
            )
        return super()._get_line_energy(Xray_line, FWHM_MnKa=FWHM_MnKa)

    def get_take_off_angle(self):
        """Calculate the take-off angle of the detector (in degrees).

        The angles are read from ``Acquisition_instrument.TEM``:
        ``Stage.tilt_alpha``, ``Stage.tilt_beta`` (default 0),
        ``Detector.EDS.azimuth_angle`` and ``Detector.EDS.elevation_angle``.

        Returns
        -------
        float
            The take-off angle in degrees.

        See Also
        --------
        exspy.utils.eds.take_off_angle

        Examples
        --------
        >>> import exspy
        >>> s = exspy.data.EDS_TEM_FePt_nanoparticles()
        >>> s.set_signal_type("EDS_TEM_chipped")
        >>> float(s.get_take_off_angle())
        22.0
        """
        mp = self.metadata.Acquisition_instrument.TEM
        return take_off_angle(
            mp.get_item("Stage.tilt_alpha", None),
            mp.get_item("Detector.EDS.azimuth_angle", None),
            mp.get_item("Detector.EDS.elevation_angle", None),
            mp.get_item("Stage.tilt_beta", 0.0),
        )
