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

from exspy.signals import EDSTEMSpectrum, LazyEDSTEMSpectrum

from hyperspy_chipping.chipping._source import guard_lazy_data
from hyperspy_chipping.signals._compat import TEMDispatchMixin
from hyperspy_chipping.signals._images import ChipImageMixin
from hyperspy_chipping.signals._kfactors import ChipKFactorsMixin
from hyperspy_chipping.signals._operations import ChipOperationsMixin
from hyperspy_chipping.signals._plots import ChipPlotMixin
from hyperspy_chipping.signals._precision import ChipPrecisionMixin

_SIGNAL_TYPE = "EDS_TEM_chipped"


class ChippedEDSSpectrum(
    ChipOperationsMixin,
    ChipImageMixin,
    ChipKFactorsMixin,
    ChipPlotMixin,
    ChipPrecisionMixin,
    TEMDispatchMixin,
    EDSTEMSpectrum,
):
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

    def chip(
        self,
        size=None,
        *,
        step=None,
        labels=None,
        remainder="crop",
        kernel=None,
        lazy_output=None,
    ):
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
        kernel : {"box", "gaussian"}, optional
            How the pixels of a grid or window chip are summed: ``"box"``
            (default) adds them; ``"gaussian"`` weights them with a Gaussian
            of sigma = size / 4 centred on the window, scaled so that the
            weighted sums have Poisson-like variance (variance = mean). With
            ``step=1`` either gives per-pixel ("semantic") quantification,
            each pixel from its neighbourhood.
        lazy_output : bool, optional
            Whether the chips are a lazy signal, computed on demand chunk by
            chunk. Default (None): lazy if this signal is lazy, and for
            overlapping windows of an in-memory map whose spectra would take
            more than 256 MiB and more than the map itself (``step=1``
            windows hold every pixel ``size**2`` times): their spectra are
            then never all held at once, and ``quantify_chips`` and
            ``to_dataframe`` stream them. ``True`` on an in-memory map reads
            it without copying it (later changes to the map show in the
            chips, as with ``inav``); ``False`` holds the chips in memory.

        Returns
        -------
        ChippedEDSSpectrum or LazyChippedEDSSpectrum
            One spectrum per chip, lazy as `lazy_output` says. Grid and
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
            If `size` or `step` are not ints or pairs of ints, `labels` is
            not an integer image, or `lazy_output` is not None or a bool.
        ValueError
            If `size` or `step` is smaller than 1, `size` is larger than the
            map, `remainder` is unknown, `labels` has the wrong shape or no
            label > 0, the signal has no navigation axes, or it is chipped
            already; for NaN, infinite or negative counts (at once for an
            eager signal, when each chunk is read for a lazy one).
        OverflowError
            If 64-bit integer counts could overflow their chip sums.
        FileNotFoundError
            If the ``.zspy`` file of a lazy signal, or one of its chunks, is
            missing (zarr would read zeros).
        NotImplementedError
            If an axis is not uniform.
        MemoryError
            If chips held in memory (``lazy_output=False``) would need more
            than half the free memory.

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
        >>> windows = s.chip(5, step=1, lazy_output=True)
        >>> windows
        <LazyChippedEDSSpectrum, title: , dimensions: (36, 46|64)>
        >>> int(windows.data[0, 0].sum().compute()) == int(data[:5, :5].sum())
        True
        """
        from hyperspy_chipping.chipping import chip

        return chip(
            self,
            size,
            step=step,
            labels=labels,
            remainder=remainder,
            kernel=kernel,
            lazy_output=lazy_output,
        )

    def to_dataframe(
        self,
        *,
        spectra=False,
        spectrum_format="array",
        images=None,
        show_progressbar=None,
    ):
        """Export the chips as a table, one row per chip.

        Parameters
        ----------
        spectra : bool, default False
            Add the raw chip spectra.
        spectrum_format : {"array", "wide"}, default "array"
            With `spectra`: one ``spectrum`` column holding a 1-D array per
            chip, or one column per channel, ``ch_0000``, ``ch_0001``, ...
        images : dict, optional
            ``{name: image}``: add a column ``image_<name>`` holding the tile
            of each image under each chip (see :meth:`chip_image`), e.g.
            ``images={"HAADF": haadf}``. Each cell is a 1-D array of the
            tile's rows (``numpy.stack(cell)`` gives the 2-D tile), the form
            in which Parquet stores it; ``df.attrs["images"]`` gives the tile
            shapes.
        show_progressbar : bool, optional
            Show a progress bar while a lazy signal is computed; default
            ``hs.preferences.General.show_progressbar``.

        Returns
        -------
        pandas.DataFrame
            Columns ``chip_id``; ``row``, ``col`` (grid and window chips) or
            ``label`` (label chips); ``y0``, ``y1``, ``x0``, ``x1`` (pixel
            bounds in the source image, half-open); ``y``, ``x`` (chip centre
            in calibrated units); ``n_pixels``; ``counts`` (total counts); the
            spectra on request. ``df.attrs`` holds the energy axis, elements,
            X-ray lines, beam energy, chipping parameters and package version,
            JSON-serialisable so that they survive ``to_parquet``.

        Raises
        ------
        TypeError
            If `spectra` is not a bool or `images` not a dict.
        ValueError
            If the signal has not been chipped, `spectrum_format` is
            unknown, or an image does not fit the map (see
            :meth:`chip_image`).

        Notes
        -----
        A lazy signal is computed: the table holds numbers, not tasks. Chips
        run with x fastest, as in ``signal.data.reshape(-1, n_channels)``.

        Examples
        --------
        >>> import numpy as np
        >>> import hyperspy.api as hs
        >>> data = np.random.default_rng(0).poisson(2, (30, 30, 16))
        >>> s = hs.signals.Signal1D(data.astype("uint16"))
        >>> s.set_signal_type("EDS_TEM_chipped")
        >>> df = s.chip(15).to_dataframe(spectra=True)
        >>> df[["chip_id", "row", "col", "y0", "y1", "x0", "x1", "n_pixels"]]
           chip_id  row  col  y0  y1  x0  x1  n_pixels
        0        0    0    0   0  15   0  15       225
        1        1    0    1   0  15  15  30       225
        2        2    1    0  15  30   0  15       225
        3        3    1    1  15  30  15  30       225
        >>> bool(df["counts"].sum() == data.sum())
        True
        >>> df.attrs["chipping"]["size"]
        [15, 15]
        """
        from hyperspy_chipping.export import chips_to_dataframe

        return chips_to_dataframe(
            self,
            spectra=spectra,
            spectrum_format=spectrum_format,
            images=images,
            show_progressbar=show_progressbar,
        )

    def quantify_chips(
        self,
        kfactors,
        *,
        method="CL",
        intensity=None,
        model="family",
        composition="atomic",
        background=None,
        background_order=None,
        energy_range=None,
        thickness=None,
        absorption_correction=False,
        refine=True,
        auto_elements=True,
    ):
        """Fit and quantify every chip; store the results; return the maps.

        Parameters
        ----------
        kfactors : dict or list of float or str
            Factors of the quantified lines: ``{"La_La": 2.5, "Fe_Ka": 1.0,
            ...}`` (or keyed by shell, ``{"La_L": 2.5, ...}``: family
            k-factors by definition), or a list in the alphabetical order of
            ``metadata.Sample.xray_lines``, as exspy takes them;
            ``"theoretical"`` for standardless family k-factors
            (:func:`hyperspy_chipping.kfactors.theoretical_kfactors`, marked
            ``kfactor_source="theoretical"`` in the metadata, with one
            warning; evaluated at the detector window the fit refines when
            it differs significantly from the model's, the values applied
            stored as ``kfactors`` with ``kfactors_nominal`` and
            ``kfactor_window``); the path of a k-factor table (``.json`` or ``.csv``,
            :func:`hyperspy_chipping.kfactors.load_kfactors`); or the result
            of :meth:`calibrate_kfactors`. Weight-based
            k-factors for ``"CL"``, zeta factors (kg/m²) for ``"zeta"``,
            cross sections (barn) for ``"cross_section"``. Every element of
            ``metadata.Sample.elements`` is fitted; only the lines given here
            are quantified (a system peak such as the Cu grid is fitted so
            that it steals nothing, and left out of the composition).
        method : {"CL", "zeta", "cross_section"}, default "CL"
            Quantification method, as in exspy.
        intensity : {"family", "line"}, optional
            What the k-factors were calibrated against: the whole shell
            family (Velox, Bruker and theoretical tables; the default) or the
            main line alone (exspy's examples). The intensities are reported
            in the same convention, so that they pair with the k-factors.
        model : {"family", "exspy"}, default "family"
            ``"family"``: every shell family fitted as one shape (all its
            sub-lines, Kα1 and Kα2 apart, with physics-based weights), a
            bremsstrahlung background, the energy calibration and resolution
            refined on the summed spectrum. ``"exspy"``: exspy's stock
            ``EDSModel`` (main lines with twinned sub-lines, 6th-order
            polynomial, whole energy axis, unweighted), to reproduce a stock
            HyperSpy result side by side.
        composition : {"atomic", "weight"}, default "atomic"
            Which maps to return (both are stored).
        background : {"bremsstrahlung", "polynomial"}, optional
            Background shape; default bremsstrahlung (``model="family"``) or
            polynomial (``model="exspy"``).
        background_order : int, optional
            Degree of the background polynomial (default 5 for the
            bremsstrahlung multiplier, 6 for the polynomial).
        energy_range : tuple of float, optional
            Fit range in keV; it wins over the default. Default
            (``model="family"``): from where the summed spectrum starts —
            above the zero (strobe) peak, the detector threshold and the
            low-energy noise found in it (0.2 keV on an axis that starts
            above 0 keV) — to the end of the axis or the beam energy; the
            range used is stored in ``metadata.Chipping.Quantification``.
            ``model="exspy"``: the whole axis.
        thickness : float, optional
            Specimen thickness in nm, for the CL absorption correction.
        absorption_correction : bool, default False
            Correct for absorption in a thin film (iterated with the
            composition; CL needs `thickness`, zeta and cross section use the
            mass thickness they measure).
        refine : bool, default True
            Refine the energy offset, gain and resolution on the summed
            spectrum (``model="family"``); needs 1000 counts in it, else the
            metadata's are used and no composition is reported. False: use
            (and vouch for) the metadata calibration.
        auto_elements : bool, default True
            Peaks of the summed spectrum that the named elements do not
            explain (significant against its Poisson noise) are identified
            against the line table — a line of a fitted element first, then
            a detector artefact, then elements ranked by how well all their
            lines explain the residual, common system elements (C, O, Si,
            Cu, ...) preferred — and the elements found are fitted too, not
            quantified (``model="family"``). They are listed in
            ``metadata.Chipping.Quantification.auto_elements`` and named in
            one warning. False: fit only the named elements (the warning
            still names the peaks).

        Returns
        -------
        list of hyperspy.signal.BaseSignal
            One composition map per quantified element, in %
            (:class:`~hyperspy.signals.Signal2D` for a chip grid,
            :class:`~hyperspy.signals.Signal1D` for label chips). Everything
            else — intensities, standard deviations, weight and atomic %,
            reduced chi-squared, low-count flags, the calibration — is in
            ``metadata.Chipping.Quantification`` and in
            :meth:`to_dataframe`.

        Raises
        ------
        ValueError
            For an unknown `method`, `intensity`, `model`, `composition` or
            `background`; no elements set; a missing, non-positive or
            unknown k-factor; k-factors whose convention conflicts with
            `intensity`; a quantified line outside the fit range; an element
            with no line in the fit range; NaN or negative counts; a signal
            that has not been chipped.
        TypeError
            If `kfactors` is neither a dict nor a list.

        See Also
        --------
        exspy.signals.EDSTEMSpectrum.quantification, to_dataframe

        Notes
        -----
        The calibration (energy offset, gain, resolution, sub-line ratios) is
        refined on the summed spectrum of all chips — of an evenly spread subset
        of about 8000 chips when there are more, e.g. per-pixel windows, which
        overlap. Once the calibration, widths and sub-line weights are fixed,
        the model is linear in its amplitudes: every chip is fitted by one
        matrix product with a weighted least-squares projector whose Poisson
        weights come from the model of the summed spectrum, never from the
        chip's own noisy counts (so low-count chips stay unbiased). The standard
        deviations are the Poisson covariance of that estimator, propagated to
        the composition. A negative intensity (noise on an absent element)
        counts as 0 in the composition; the signed value is kept in the
        intensities. Every intensity gets Currie's decision threshold and
        detection limit (95 %) from the same covariance; chips in which no
        quantified line is above its detection limit are too weak to
        quantify: their composition is NaN and they are flagged
        ``low_counts`` (one warning says how many). Below 1000 counts in the
        summed spectrum the calibration is not refined: the metadata's is
        used, with a warning, and as the data cannot check it, no
        composition is reported unless ``refine=False`` vouches for it.

        A lazy signal stays lazy: the maps returned are lazy, and computing
        them runs one dask graph (the summed spectrum, the model solved on it,
        every chunk quantified with that model), on a ``dask.distributed``
        cluster too; ``metadata.Chipping.Quantification`` then holds the
        request, and :meth:`to_dataframe` computes the results with the table,
        reading each chunk of the source once.

        Examples
        --------
        >>> from hyperspy_chipping.data import sto_lfo_cross_section
        >>> s = sto_lfo_cross_section((60, 60), seed=1)
        >>> s.set_signal_type("EDS_TEM_chipped")
        >>> chips = s.chip(15)
        >>> k = s.metadata.Simulation.kfactors.as_dictionary()
        >>> maps = chips.quantify_chips(k)
        >>> [m.metadata.Sample.elements[0] for m in maps]
        ['Fe', 'La', 'O', 'Sr', 'Ti']
        >>> maps[1]
        <Signal2D, title: atomic percent of La, dimensions: (|4, 4)>
        >>> round(float(maps[1].data[0, 0]))   # La in LaFeO3: 20 at.%
        20
        """
        from hyperspy_chipping.kfactors._named import resolve_kfactors
        from hyperspy_chipping.quantification._maps import composition_maps
        from hyperspy_chipping.quantification._run import quantify_chipped

        kfactors, intensity = resolve_kfactors(
            self,
            kfactors,
            intensity=intensity,
            energy_range=energy_range,
            method=method,
        )
        results = quantify_chipped(
            self,
            kfactors,
            method=method,
            intensity=intensity,
            model=model,
            composition=composition,
            background=background,
            background_order=background_order,
            energy_range=energy_range,
            thickness=thickness,
            absorption_correction=absorption_correction,
            refine=refine,
            auto_elements=auto_elements,
        )
        return composition_maps(self, results, composition)

    def get_fit_model(self):
        """The stored fit of every chip as a HyperSpy model.

        Returns
        -------
        exspy.models.EDSTEMModel
            A model of this signal holding, for every chip, the amplitudes
            fitted by :meth:`quantify_chips`: one
            :class:`~hyperspy_chipping.fitting.XrayLineFamily` per line family
            and a :class:`~hyperspy_chipping.fitting.Bremsstrahlung` (or
            polynomial) background, over the fit range. Look at it with the
            usual tools: ``m.plot()``, ``m.print_current_values()``,
            ``m.as_signal()``, ``m.store()``.

        Raises
        ------
        ValueError
            If the signal has not been quantified.

        Examples
        --------
        >>> from hyperspy_chipping.data import sto_lfo_cross_section
        >>> s = sto_lfo_cross_section((30, 30), seed=2)
        >>> s.set_signal_type("EDS_TEM_chipped")
        >>> chips = s.chip(15)
        >>> maps = chips.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())
        >>> m = chips.get_fit_model()
        >>> [c.name for c in m][:3]
        ['Fe_K', 'Fe_L', 'La_L']
        >>> m.plot()  # doctest: +SKIP
        """
        from hyperspy_chipping.fitting._model import fit_model

        return fit_model(self)


class LazyChippedEDSSpectrum(ChippedEDSSpectrum, LazyEDSTEMSpectrum):
    """Lazy (dask) version of :class:`ChippedEDSSpectrum`.

    Data read from a chunked file (``.zspy``) are read through
    :class:`~hyperspy_chipping.chipping.GuardedZarrArray`: a file or chunk
    that has gone missing raises instead of being read as zeros.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        data, _ = guard_lazy_data(self.data)
        if data is not self.data:
            self.data = data
