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
"""Methods of chipped signals that join the chips to images of the scan."""

from __future__ import annotations


class ChipImageMixin:
    """Image tiles under the chips (HAADF, BF, ...), for chip-wise models."""

    def chip_image(self, image):
        """The tile of an image of the scan under every chip.

        Parameters
        ----------
        image : numpy.ndarray or hyperspy.signals.Signal2D
            An image of the same scan as the source map (HAADF, BF, a
            segmentation, ...): of the map's navigation shape (data order:
            rows, columns), or a Signal2D calibrated like the map with an
            integer number of image pixels per map pixel (e.g. a HAADF at
            twice the map's resolution), which is mapped through the
            calibrations.

        Returns
        -------
        hyperspy.signals.Signal2D
            Navigation axes: the chips' (as :meth:`get_source_map` takes
            them); signal axes: the tile, in the image's calibration. Tiles
            of grid and window chips are the image inside the chip's bounds;
            tiles of label chips are the label's bounding box with the
            pixels outside the label set to NaN; partial chips
            (``remainder="keep"``) are padded with NaN. ``metadata.Chipping``
            holds the ``chip_id`` of every tile.

        Raises
        ------
        ValueError
            If the image is not 2-D, cannot be placed on the map's pixels,
            the chips are of a line scan, or the signal has not been chipped.

        See Also
        --------
        to_dataframe, save_tiles

        Examples
        --------
        >>> import numpy as np
        >>> import hyperspy.api as hs
        >>> s = hs.signals.Signal1D(np.ones((6, 4, 8), dtype="uint16"))
        >>> s.set_signal_type("EDS_TEM_chipped")
        >>> haadf = np.arange(24.0).reshape(6, 4)
        >>> tiles = s.chip(2).chip_image(haadf)
        >>> tiles
        <Signal2D, title: image tiles, dimensions: (2, 3|2, 2)>
        >>> tiles.inav[1, 0].data
        array([[2., 3.],
               [6., 7.]])
        """
        from hyperspy_chipping.export._tiles import chip_image_signal

        return chip_image_signal(self, image)

    def save_tiles(self, folder, image, *, format="png", overwrite=False):
        """Write one image file per chip and the chip table: a tile data set.

        Parameters
        ----------
        folder : str or pathlib.Path
            Folder to write to (created if needed).
        image : numpy.ndarray or hyperspy.signals.Signal2D
            Image of the scan, as :meth:`chip_image` takes it.
        format : {"png", "tif"}, default "png"
            ``"png"``: 16-bit grey levels, linear over the whole image's
            range (the scale is in ``chips.json``), NaN as 0 — what image
            classifiers read; ``"tif"``: float32 values, NaN kept.
        overwrite : bool, default False
            Replace files that exist; otherwise an existing file is an error
            and nothing is written.

        Returns
        -------
        pandas.DataFrame
            The table written to ``chips.csv``: :meth:`to_dataframe` with a
            ``tile_file`` column naming each chip's file
            (``chip_<chip_id>.<format>``); its ``attrs`` are written to
            ``chips.json``.

        Raises
        ------
        ValueError
            For an unknown `format`, a `folder` that is a file, or an image
            that does not fit the map.
        FileExistsError
            If an output exists and `overwrite` is False.

        Examples
        --------
        >>> import numpy as np
        >>> import hyperspy.api as hs
        >>> s = hs.signals.Signal1D(np.ones((6, 4, 8), dtype="uint16"))
        >>> s.set_signal_type("EDS_TEM_chipped")
        >>> df = s.chip(2).save_tiles("tiles", np.arange(24.0).reshape(6, 4))
        >>> df[["chip_id", "tile_file"]].head(2)
           chip_id        tile_file
        0        0  chip_00000.png
        1        1  chip_00001.png
        >>> from PIL import Image
        >>> Image.open("tiles/chip_00001.png").size
        (2, 2)
        """
        from hyperspy_chipping.export._tiles import save_chip_tiles

        return save_chip_tiles(self, folder, image, fmt=format, overwrite=overwrite)
