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
"""Image tiles under the chips: the image half of a chip-wise data set.

A few-shot image model works on the same chip grid as the spectrum image:
each chip's composition and spectrum join the tile of the HAADF (or any
image of the scan) under it. The tile of a grid or window chip is the
image's pixels inside the chip's bounds; the tile of a label chip is its
bounding box with the pixels outside the label set to NaN. An image taken
with a finer pixel (an integer number of image pixels per map pixel, read
from the calibrations) gives proportionally larger tiles.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hyperspy_chipping.chipping._table import _chipping, chip_table, flat_chip_index

TILE_FORMATS = ("png", "tif")


def _image_data_and_axes(image):
    """2-D float data of `image` and its (x, y) calibration, or None."""
    axes = None
    if hasattr(image, "axes_manager"):
        am = image.axes_manager
        if am.navigation_dimension != 0 or am.signal_dimension != 2:
            raise ValueError(
                "`image` must be a 2-D image (Signal2D with no navigation axes), "
                f"got {image!r}."
            )
        axes = [(a.scale, a.offset, a.size) for a in am.signal_axes]
        image = image.data
    data = image.compute() if hasattr(image, "compute") else image
    data = np.asarray(data)
    if data.ndim != 2 or not (
        np.issubdtype(data.dtype, np.number) or data.dtype == np.bool_
    ):
        raise ValueError(
            "`image` must be a 2-D numeric image (array or Signal2D), got an "
            f"array of shape {data.shape} and dtype {data.dtype}."
        )
    return data.astype(np.float64), axes


def image_factor(signal, image) -> tuple[np.ndarray, tuple[int, int]]:
    """The image as floats, and its pixels per source pixel along (y, x).

    Parameters
    ----------
    signal : ChippedEDSSpectrum
        A chipped signal of a 2-D map.
    image : numpy.ndarray or hyperspy.signals.Signal2D
        An image of the scan: of the source map's navigation shape, or a
        calibrated Signal2D of the same field of view with an integer number
        of image pixels per map pixel.

    Returns
    -------
    data : numpy.ndarray
        The image, float64, data order (rows, columns).
    factor : tuple of int
        Image pixels per source pixel along (y, x).

    Raises
    ------
    ValueError
        If the image cannot be placed on the source pixels.
    """
    meta = _chipping(signal)
    src = meta["Source"]
    if len(src["navigation_shape"]) != 2:
        raise ValueError("Image tiles need chips of a 2-D map, not of a line scan.")
    shape = tuple(src["navigation_shape"][::-1])
    data, axes = _image_data_and_axes(image)
    if data.shape == shape:
        return data, (1, 1)
    if axes is None:
        raise ValueError(
            f"`image` has shape {data.shape}, the map {shape} (data order): an "
            "uncalibrated array must have the map's shape. Give a Signal2D "
            "whose axes are calibrated like the map's to map it through the "
            "calibration."
        )
    factor = []
    for i in range(2):  # x, y
        scale, offset, size = axes[i]
        ratio = src["scale"][i] / scale
        n = int(round(ratio))
        # The image covers the same field of view: its first pixel centre
        # lies (n - 1) / 2 image pixels inside the map's first pixel.
        first = src["offset"][i] - src["scale"][i] / 2 + scale / 2
        if (
            n < 1
            or abs(ratio - n) > 1e-6 * n
            or size != n * src["navigation_shape"][i]
            or abs(offset - first) > scale / 2
        ):
            raise ValueError(
                f"`image` axis {'xy'[i]} (scale {scale:g}, offset {offset:g}, "
                f"{size} px) does not cover the map's pixels (scale "
                f"{src['scale'][i]:g}, offset {src['offset'][i]:g}, "
                f"{src['navigation_shape'][i]} px) with an integer number of "
                "image pixels per map pixel."
            )
        factor.append(n)
    return data, (factor[1], factor[0])


def chip_tiles(signal, image) -> tuple[np.ndarray, tuple[int, int]]:
    """The tile of `image` under every chip of `signal`, NaN outside the chip.

    Parameters
    ----------
    signal : ChippedEDSSpectrum
        A chipped signal of a 2-D map (possibly sliced).
    image : numpy.ndarray or hyperspy.signals.Signal2D
        See :func:`image_factor`.

    Returns
    -------
    tiles : numpy.ndarray
        (n_chips, tile_rows, tile_columns) float64, chips in the order of
        :meth:`to_dataframe`; partial chips and label chips are padded with
        NaN at the bottom and right.
    factor : tuple of int
        Image pixels per source pixel along (y, x).
    """
    data, (fy, fx) = image_factor(signal, image)
    table = chip_table(signal)
    y0, y1 = table["y0"] * fy, table["y1"] * fy
    x0, x1 = table["x0"] * fx, table["x1"] * fx
    ny, nx = int((y1 - y0).max()), int((x1 - x0).max())
    tiles = np.full((y0.size, ny, nx), np.nan)
    meta = _chipping(signal)
    if meta["scheme"] == "labels":
        labels = np.asarray(meta["label_image"])
        labels = np.repeat(np.repeat(labels, fy, axis=0), fx, axis=1)
    for i in range(y0.size):
        tile = data[y0[i] : y1[i], x0[i] : x1[i]]
        if meta["scheme"] == "labels":
            inside = labels[y0[i] : y1[i], x0[i] : x1[i]] == table["label"][i]
            tile = np.where(inside, tile, np.nan)
        tiles[i, : tile.shape[0], : tile.shape[1]] = tile
    return tiles, (fy, fx)


def tile_cells(tiles: np.ndarray) -> list[np.ndarray]:
    """One DataFrame cell per tile: an array of its rows (Parquet-safe).

    Parquet stores nested lists, not 2-D arrays: each cell is a 1-D object
    array of row arrays, which ``numpy.stack`` turns back into the tile and
    which survives ``to_parquet`` / ``read_parquet`` unchanged.

    Examples
    --------
    >>> cells = tile_cells(np.arange(12.0).reshape(2, 2, 3))
    >>> np.stack(cells[1])
    array([[ 6.,  7.,  8.],
           [ 9., 10., 11.]])
    """
    cells = []
    for tile in tiles:
        cell = np.empty(tile.shape[0], dtype=object)
        cell[:] = list(tile)
        cells.append(cell)
    return cells


def chip_image_signal(signal, image):
    """See :meth:`hyperspy_chipping.signals.ChippedEDSSpectrum.chip_image`."""
    import hyperspy.api as hs

    tiles, (fy, fx) = chip_tiles(signal, image)
    nav = signal.axes_manager.navigation_axes
    nav_shape = tuple(a.size for a in nav)[::-1]
    data = tiles.reshape(nav_shape + tiles.shape[1:])
    src = _chipping(signal)["Source"]
    axes = [a.get_axis_dictionary() for a in nav[::-1]]
    for ax in axes:
        ax["navigate"] = True
    for i, n in ((1, tiles.shape[1]), (0, tiles.shape[2])):  # y, then x
        f = (fx, fy)[i]
        axes.append(
            {
                "name": f"tile {src['names'][i]}",
                "units": src["units"][i],
                "scale": src["scale"][i] / f,
                "offset": 0.0,
                "size": n,
                "navigate": False,
            }
        )
    out = hs.signals.Signal2D(data, axes=axes)
    title = getattr(image, "metadata", None)
    title = title.General.title if title is not None else "image"
    out.metadata.General.title = f"{title} tiles"
    out.metadata.set_item("Chipping.tile_factor", [int(fy), int(fx)])
    out.metadata.set_item("Chipping.chip_id", flat_chip_index(signal))
    return out


def save_chip_tiles(signal, folder, image, *, fmt="png", overwrite=False):
    """See :meth:`hyperspy_chipping.signals.ChippedEDSSpectrum.save_tiles`."""
    from PIL import Image

    if fmt not in TILE_FORMATS:
        raise ValueError(f"`format` must be one of {TILE_FORMATS}, got {fmt!r}.")
    if not isinstance(overwrite, (bool, np.bool_)):
        raise TypeError(f"`overwrite` must be True or False, got {overwrite!r}.")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"`folder` {str(folder)!r} exists and is not a folder.")
    tiles, _ = chip_tiles(signal, image)
    ids = flat_chip_index(signal)
    width = max(5, len(str(int(ids.max()) if ids.size else 0)))
    names = [f"chip_{i:0{width}d}.{fmt}" for i in ids]
    table_path = folder / "chips.csv"
    outputs = [*names, table_path.name, "chips.json"]
    existing = [n for n in outputs if (folder / n).exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{len(existing)} file(s) exist in {str(folder)!r} (first: "
            f"{existing[0]!r}); pass overwrite=True to replace them."
        )
    folder.mkdir(parents=True, exist_ok=True)
    data, _ = _image_data_and_axes(image)
    low, high = float(np.nanmin(data)), float(np.nanmax(data))
    for name, tile in zip(names, tiles):
        if fmt == "tif":
            out = tile.astype(np.float32)
        else:  # 16-bit PNG, linear over the whole image's range; NaN -> 0
            span = high - low if high > low else 1.0
            scaled = np.nan_to_num((tile - low) / span * 65535.0, nan=0.0)
            out = np.clip(np.rint(scaled), 0, 65535).astype(np.uint16)
        Image.fromarray(out).save(folder / name)
    df = signal.to_dataframe()
    df.insert(1, "tile_file", names)
    df.attrs["tiles"] = {
        "format": fmt,
        "shape": list(tiles.shape[1:]),
        # PNG grey levels g stand for low + g / 65535 * (high - low).
        "png_scale": {"low": low, "high": high, "levels": 65535},
    }
    df.to_csv(table_path, index=False)
    (folder / "chips.json").write_text(json.dumps(df.attrs, indent=1))
    return df
