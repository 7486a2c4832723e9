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
"""Image tiles under the chips: equal to the image, Parquet-safe, on disk."""

import hyperspy.api as hs
import numpy as np
import pandas as pd
import pytest
from PIL import Image


@pytest.fixture
def image():
    # A HAADF-like image of the (23, 17) map of make_map, in data order.
    return np.random.default_rng(5).random((23, 17)) * 1000


def _calibrated(image, s, factor):
    """The image at `factor` x the map's resolution, calibrated like it."""
    fine = np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)
    fine = fine + np.arange(fine.shape[1])  # not a plain upsampling
    sig = hs.signals.Signal2D(fine)
    for ax, src in zip(sig.axes_manager.signal_axes, s.axes_manager.navigation_axes):
        ax.scale = src.scale / factor
        ax.offset = src.offset - src.scale / 2 + ax.scale / 2
    return sig


@pytest.mark.parametrize(
    "kwargs", [dict(size=5), dict(size=(4, 6), step=3), dict(size=5, remainder="keep")]
)
def test_tiles_equal_the_image_under_each_chip(make_map, image, lazy, kwargs):
    chips = make_map(lazy=lazy).chip(**kwargs)
    tiles = chips.chip_image(image)
    df = chips.to_dataframe()
    flat = tiles.data.reshape((-1,) + tiles.data.shape[-2:])
    assert flat.shape[0] == len(df)
    for tile, row in zip(flat, df.itertuples()):
        expected = image[row.y0 : row.y1, row.x0 : row.x1]
        h, w = expected.shape
        np.testing.assert_array_equal(tile[:h, :w], expected)
        assert np.isnan(tile[h:]).all() and np.isnan(tile[:, w:]).all()
    assert tiles.axes_manager.navigation_shape == chips.axes_manager.navigation_shape


def test_label_tiles_mask_the_outside(make_map, image):
    labels = np.zeros((23, 17), int)
    labels[2:9, 3:12] = 1
    labels[12:20, 1:4] = 2
    labels[15, 10] = 2  # a disjoint pixel widens the bounding box
    tiles = make_map().chip(labels=labels).chip_image(image).data
    assert tiles.shape == (2, 8, 10)
    np.testing.assert_array_equal(tiles[0, :7, :9], image[2:9, 3:12])
    box = image[12:20, 1:11]
    inside = labels[12:20, 1:11] == 2
    np.testing.assert_array_equal(tiles[1][inside], box[inside])
    assert np.isnan(tiles[1][~inside]).all()


def test_finer_image_is_mapped_through_the_calibration(make_map, image):
    s = make_map()
    fine = _calibrated(image, s, 3)
    chips = s.chip(5)
    tiles = chips.chip_image(fine)
    assert tiles.data.shape[-2:] == (15, 15)
    assert tiles.axes_manager.signal_axes[0].scale == pytest.approx(0.5 / 3)
    y0, y1, x0, x1 = chips.to_dataframe()[["y0", "y1", "x0", "x1"]].iloc[4]
    np.testing.assert_array_equal(
        tiles.data.reshape(-1, 15, 15)[4], fine.data[y0 * 3 : y1 * 3, x0 * 3 : x1 * 3]
    )


def test_sliced_chips_keep_their_tiles(make_map, image):
    chips = make_map().chip(5)
    full = chips.chip_image(image).data.reshape(-1, 5, 5)
    part = chips.inav[1:3, 2]
    tiles = part.chip_image(image)
    ids = tiles.metadata.Chipping.chip_id
    np.testing.assert_array_equal(ids, part.to_dataframe().chip_id)
    np.testing.assert_array_equal(tiles.data.reshape(-1, 5, 5), full[ids])


def test_dataframe_image_column_survives_parquet(make_map, image, tmp_path):
    chips = make_map().chip(5, remainder="keep")
    df = chips.to_dataframe(images={"HAADF": image})
    tiles = chips.chip_image(image).data.reshape(len(df), 5, 5)
    np.testing.assert_array_equal(np.stack(df.image_HAADF[7]), tiles[7])
    assert df.attrs["images"]["HAADF"]["tile_shape"] == [5, 5]
    df.to_parquet(tmp_path / "chips.parquet")
    back = pd.read_parquet(tmp_path / "chips.parquet")
    for i in (0, 7, len(df) - 1):  # the last chip is partial: NaN padding
        np.testing.assert_array_equal(np.stack(back.image_HAADF[i]), tiles[i])
    assert back.attrs["images"] == df.attrs["images"]


@pytest.mark.parametrize("fmt", ["png", "tif"])
def test_save_tiles(make_map, image, tmp_path, fmt):
    chips = make_map().chip(5)
    df = chips.save_tiles(tmp_path / "tiles", image, format=fmt)
    assert len(list((tmp_path / "tiles").glob(f"*.{fmt}"))) == len(df)
    table = pd.read_csv(tmp_path / "tiles" / "chips.csv")
    assert list(table.tile_file) == [f"chip_{i:05d}.{fmt}" for i in table.chip_id]
    row = table.iloc[5]
    tile = np.asarray(Image.open(tmp_path / "tiles" / row.tile_file), dtype=float)
    expected = image[row.y0 : row.y1, row.x0 : row.x1]
    if fmt == "tif":
        np.testing.assert_allclose(tile, expected, rtol=1e-6)
    else:  # 16-bit grey levels over the image's range: within half a level
        low, high = image.min(), image.max()
        np.testing.assert_allclose(
            low + tile / 65535 * (high - low), expected, atol=(high - low) / 65535
        )


def test_save_tiles_does_not_overwrite(make_map, image, tmp_path):
    chips = make_map().chip(5)
    chips.save_tiles(tmp_path, image)
    stamp = (tmp_path / "chip_00000.png").stat().st_mtime_ns
    with pytest.raises(FileExistsError, match=r"exist in .* overwrite=True"):
        chips.save_tiles(tmp_path, image * 2)
    assert (tmp_path / "chip_00000.png").stat().st_mtime_ns == stamp
    chips.save_tiles(tmp_path, image * 2, overwrite=True)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda c, im: c.chip_image(im[:20]), ValueError, r"shape \(20, 17\), the map"),
        (lambda c, im: c.chip_image(im[None]), ValueError, r"2-D numeric image"),
        (lambda c, im: c.chip_image(im.astype(str)), ValueError, r"dtype <U"),
        (
            lambda c, im: c.chip_image(hs.signals.Signal2D(np.ones((40, 30)))),
            ValueError,
            r"does not cover the map's pixels",
        ),
        (
            lambda c, im: c.chip_image(hs.signals.Signal1D(np.ones((23, 17)))),
            ValueError,
            r"must be a 2-D image",
        ),
        (
            lambda c, im: c.to_dataframe(images=im),
            TypeError,
            r"`images` must be a dict",
        ),
        (
            lambda c, im: c.to_dataframe(images={"HAADF image": im}),
            ValueError,
            r"identifier .* 'HAADF image'",
        ),
        (
            lambda c, im: c.save_tiles("t", im, format="jpg"),
            ValueError,
            r"`format` must be one of .* 'jpg'",
        ),
        (
            lambda c, im: c.save_tiles("t", im, overwrite="yes"),
            TypeError,
            r"`overwrite` must be True or False",
        ),
    ],
)
def test_bad_images(make_map, image, call, exc, match):
    chips = make_map().chip(5)
    with pytest.raises(exc, match=match):
        call(chips, image)


def test_line_scan_has_no_tiles(make_map):
    chips = make_map().inav[:, 0].chip(5)
    with pytest.raises(ValueError, match="line scan"):
        chips.chip_image(np.ones(17))
