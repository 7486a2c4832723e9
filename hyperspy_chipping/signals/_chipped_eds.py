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
"""The chipped EDS signal classes, registered as ``"EDS_TEM_chipped"``."""

from __future__ import annotations

import copy

from exspy.signals import EDSTEMSpectrum, LazyEDSTEMSpectrum

from hyperspy_chipping.signals._compat import TEMDispatchMixin

_SIGNAL_TYPE = "EDS_TEM_chipped"


class ChippedEDSSpectrum(TEMDispatchMixin, EDSTEMSpectrum):
    """EDS spectrum image (TEM) that can be cut into chips and quantified.

    Every method of :class:`exspy.signals.EDSTEMSpectrum` works as usual.
    A spectrum image becomes a chipped signal with :meth:`chip`; its
    navigation axes are then the chips, and ``metadata.Chipping`` says where
    each came from.

    Examples
    --------
    >>> import hyperspy.api as hs
    >>> import numpy as np
    >>> s = hs.signals.Signal1D(np.ones((4, 6, 32), dtype="uint16"))
    >>> s.set_signal_type("EDS_TEM_chipped")
    >>> s
    <ChippedEDSSpectrum, title: , dimensions: (6, 4|32)>
    >>> s.chip(2)
    <ChippedEDSSpectrum, title: , dimensions: (3, 2|32)>
    """

    _signal_type = _SIGNAL_TYPE

    def _set_default_param(self):
        super()._set_default_param()
        # EDSTEMSpectrum hard-codes "EDS_TEM"; keep the registered type so
        # that copies, as_lazy() and save/load keep this class.
        self.metadata.Signal.signal_type = _SIGNAL_TYPE

    def chip(self, size=None, *, step=None, labels=None, remainder="crop"):
        """Cut the spectrum image into chips and sum the spectra of each.

        Parameters
        ----------
        size : int or tuple of int, optional
            Chip size in pixels: one int for square chips, or a pair in
            HyperSpy's navigation order (x, y), as ``inav`` and ``rebin``
            take it. Required unless `labels` is given.
        step : int or tuple of int, optional
            Distance between the first pixels of neighbouring chips. Default:
            `size` (adjacent chips). A smaller step gives overlapping
            windows; ``step=1`` gives one window centred on (almost) every
            pixel.
        labels : numpy.ndarray or hyperspy.signal.BaseSignal, optional
            Integer image of the navigation shape (data order: rows,
            columns), e.g. from a segmentation: every label > 0 becomes one
            chip; label 0 is ignored.
        remainder : {"crop", "keep"}, default "crop"
            Pixels past the last whole chip: ``"crop"`` drops them (as
            ``rebin`` does), ``"keep"`` makes partial chips of them.

        Returns
        -------
        ChippedEDSSpectrum or LazyChippedEDSSpectrum
            One spectrum per chip, lazy if this signal is lazy. Grid and
            window chips form a 2-D navigation grid (calibrated: scale = step
            x pixel scale, offset at the first chip's centre); label chips a
            1-D ``Chip`` axis. Each spectrum is the sum of its pixels' spectra
            (integers are summed into a wider integer dtype, never
            overflowing); live and real time are scaled by the pixels per
            chip, as ``rebin`` does. The geometry is in
            ``metadata.Chipping``.

        Raises
        ------
        TypeError
            If `size` or `step` are not ints or pairs of ints, or `labels` is
            not an integer image.
        ValueError
            If `size` or `step` is smaller than 1, `size` is larger than the
            map, `remainder` is unknown, `labels` has the wrong shape or no
            label > 0, the signal has no navigation axes, or it is chipped
            already.
        NotImplementedError
            If an axis is not uniform.

        See Also
        --------
        hyperspy.signal.BaseSignal.rebin, to_dataframe, get_source_map

        Notes
        -----
        Chipping is one pass over the data: a reshape and a sum for adjacent
        chips, one slice sum per window row and column for overlapping
        windows, one gather per region for labels. The source signal is not
        changed.

        Examples
        --------
        >>> import numpy as np
        >>> import hyperspy.api as hs
        >>> data = np.random.default_rng(0).poisson(1, (50, 40, 64))
        >>> s = hs.signals.Signal1D(data.astype("uint16"))
        >>> s.set_signal_type("EDS_TEM_chipped")
        >>> chips = s.chip(15)
        >>> chips
        <ChippedEDSSpectrum, title: , dimensions: (2, 3|64)>
        >>> int(chips.data[0, 0].sum()) == int(data[:15, :15].sum())
        True
        >>> s.chip((16, 12), remainder="keep").axes_manager.navigation_shape
        (3, 5)
        >>> s.chip(10, step=5).axes_manager.navigation_shape
        (7, 9)
        >>> labels = np.zeros((50, 40), dtype=int)
        >>> labels[:20], labels[30:] = 1, 2
        >>> s.chip(labels=labels)
        <ChippedEDSSpectrum, title: , dimensions: (2|64)>
        """
        from hyperspy_chipping.chipping._chip import chip_arrays, scale_times

        data, axes, chipping, n_pixels = chip_arrays(
            self, size=size, step=step, labels=labels, remainder=remainder
        )
        metadata = self.metadata.deepcopy()
        scale_times(metadata, chipping, n_pixels)
        metadata.set_item("Chipping", chipping)
        metadata.Signal.signal_type = _SIGNAL_TYPE
        if metadata.has_item("Signal.Noise_properties.variance"):
            # A variance map of the source shape does not fit the chips.
            del metadata.Signal.Noise_properties.variance
        cls = LazyChippedEDSSpectrum if self._lazy else ChippedEDSSpectrum
        out = cls(
            data,
            axes=axes,
            metadata=metadata.as_dictionary(),
            original_metadata=copy.deepcopy(self.original_metadata.as_dictionary()),
        )
        out.axes_manager.signal_axes[0].is_binned = self.axes_manager.signal_axes[
            0
        ].is_binned
        return out


class LazyChippedEDSSpectrum(ChippedEDSSpectrum, LazyEDSTEMSpectrum):
    """Lazy (dask) version of :class:`ChippedEDSSpectrum`."""
