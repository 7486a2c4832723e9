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
"""Per-chip results as maps on the source pixel grid.

Every function returns the matplotlib objects it drew, so that a figure can
be finished (titles, limits, saving) by the caller.
"""

from __future__ import annotations

import numpy as np

from hyperspy_chipping.chipping._display import draw_outlines
from hyperspy_chipping.chipping._table import _chipping


def _column_prefix(composition) -> str:
    """``"at"`` or ``"wt"``: the table's column prefix of `composition`."""
    prefix = {"atomic": "at", "weight": "wt"}.get(composition)
    if prefix is None:
        raise ValueError(
            f"`composition` must be 'atomic' or 'weight', got {composition!r}."
        )
    return prefix


def _quantified_table(chips):
    df = chips.to_dataframe()
    if "chi2_red" not in df:
        raise ValueError(
            "These chips have not been quantified: call quantify_chips() first."
        )
    return df


def _extent(chips):
    src = _chipping(chips)["Source"]
    if len(src["navigation_shape"]) != 2:
        raise ValueError("Maps need chips of a 2-D map, not of a line scan.")
    (sx, sy), (ox, oy) = src["scale"], src["offset"]
    nx, ny = src["navigation_shape"]
    return (ox - sx / 2, ox + sx * (nx - 0.5), oy + sy * (ny - 0.5), oy - sy / 2)


def _axis_labels(ax, chips):
    src = _chipping(chips)["Source"]
    ax.set_xlabel(f"{src['names'][0]} ({src['units'][0]})")
    ax.set_ylabel(f"{src['names'][1]} ({src['units'][1]})")


def _show(ax, chips, values, *, cmap, vmin=None, vmax=None, label="", outlines=True):
    """Paint one value per chip (table order) on the source pixels."""
    import matplotlib.pyplot as plt

    nav_shape = tuple(chips.axes_manager.navigation_shape[::-1])
    painted = chips.get_source_map(np.asarray(values, float).reshape(nav_shape))
    im = ax.imshow(
        painted.data,
        extent=_extent(chips),
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        interpolation="nearest",
    )
    cbar = plt.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    cbar.set_label(label)
    if outlines:
        draw_outlines(chips, ax, ids=False, color="w")
    _axis_labels(ax, chips)
    return im


def plot_composition(
    chips, *, elements=None, composition="atomic", outlines=True, axes=None
):
    """Composition maps of quantified chips, on the source pixel grid.

    Parameters
    ----------
    chips : ChippedEDSSpectrum
        Quantified chips (:meth:`quantify_chips`) of a 2-D map.
    elements : list of str, optional
        Elements to show; default every quantified element.
    composition : {"atomic", "weight"}, default "atomic"
        Atomic or weight percent.
    outlines : bool, default True
        Draw the chip outlines (window chips: the outlines of a sparse
        subset, see :meth:`plot_chips`).
    axes : sequence of matplotlib.axes.Axes, optional
        One axes per element; a new figure by default.

    Returns
    -------
    list of matplotlib.image.AxesImage
        One image per element (``im.axes``, ``im.colorbar`` reach the rest).

    Raises
    ------
    ValueError
        If the chips are not quantified, of a line scan, an element is not
        quantified, or `composition` is unknown.

    Examples
    --------
    >>> from hyperspy_chipping.data import sto_lfo_cross_section
    >>> s = sto_lfo_cross_section((60, 60), seed=0)
    >>> s.set_signal_type("EDS_TEM_chipped")
    >>> chips = s.chip(10)
    >>> _ = chips.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())
    >>> images = plot_composition(chips, elements=["La", "Sr"])
    >>> [im.axes.get_title() for im in images]
    ['La (at %)', 'Sr (at %)']
    """
    import matplotlib.pyplot as plt

    prefix = _column_prefix(composition)
    df = _quantified_table(chips)
    available = [c[3:] for c in df if c.startswith(f"{prefix}_") and "_" not in c[3:]]
    elements = available if elements is None else list(elements)
    for element in elements:
        if element not in available:
            raise ValueError(
                f"`elements` has {element!r}, which is not quantified (the chips "
                f"have {available})."
            )
    if axes is None:
        n = len(elements)
        _, axes = plt.subplots(
            1, n, figsize=(3.6 * n, 3.2), squeeze=False, layout="constrained"
        )
        axes = axes[0]
    images = []
    unit = "at %" if prefix == "at" else "wt %"
    for ax, element in zip(axes, elements):
        im = _show(
            ax,
            chips,
            df[f"{prefix}_{element}"],
            cmap="viridis",
            label=unit,
            outlines=outlines,
        )
        ax.set_title(f"{element} ({unit})")
        images.append(im)
    return images


def _chip_values(chips, other, column):
    """`other` as one value per chip of `chips` (table order)."""
    import pandas as pd

    ids = chips.to_dataframe().chip_id.to_numpy()
    if hasattr(other, "to_dataframe"):
        other = other.to_dataframe()
    if isinstance(other, pd.DataFrame):
        if column not in other or "chip_id" not in other:
            raise ValueError(f"`other` must have the columns 'chip_id' and {column!r}.")
        values = other.set_index("chip_id")[column]
        missing = np.setdiff1d(ids, values.index)
        if missing.size:
            raise ValueError(f"`other` has no row for chip_id {missing[:5].tolist()}.")
        return values.loc[ids].to_numpy(float)
    values = np.asarray(getattr(other, "data", other), dtype=float).ravel()
    if values.size != ids.size:
        raise ValueError(
            f"`other` must hold one value per chip ({ids.size}), got {values.size}."
        )
    return values


def plot_difference(chips, other, element, *, composition="atomic", ax=None, vmax=None):
    """Difference map between two quantifications of the same chips.

    ``this - other`` in percentage points, diverging red (this higher) /
    blue (this lower), symmetric about 0: e.g. the family model against
    ``model="exspy"``, or against another program's numbers (as in the
    study's Figs. 2-3).

    Parameters
    ----------
    chips : ChippedEDSSpectrum
        Quantified chips of a 2-D map.
    other : ChippedEDSSpectrum or pandas.DataFrame or array_like
        The other quantification: quantified chips of the same chipping, a
        table with ``chip_id`` and ``at_<El>`` (or ``wt_<El>``) columns (e.g.
        read from another program's export), or one value per chip in the
        chips' navigation shape.
    element : str
        The element to compare.
    composition : {"atomic", "weight"}, default "atomic"
        Atomic or weight percent.
    ax : matplotlib.axes.Axes, optional
        Axes to draw in; a new figure by default.
    vmax : float, optional
        Colour limit (percentage points); default the largest difference.

    Returns
    -------
    matplotlib.image.AxesImage
        The difference image.

    Raises
    ------
    ValueError
        If `other` does not give one value per chip, or the chips are not
        quantified.

    Examples
    --------
    >>> from hyperspy_chipping.data import sto_lfo_cross_section
    >>> s = sto_lfo_cross_section((60, 60), seed=0)
    >>> s.set_signal_type("EDS_TEM_chipped")
    >>> chips = s.chip(10)
    >>> k = s.metadata.Simulation.kfactors.as_dictionary()
    >>> _ = chips.quantify_chips(k)
    >>> stock = s.chip(10)
    >>> _ = stock.quantify_chips(k, model="exspy")
    >>> im = plot_difference(chips, stock, "La")
    >>> im.get_cmap().name, im.get_clim()[0] == -im.get_clim()[1]
    ('RdBu_r', True)
    """
    import matplotlib.pyplot as plt

    prefix = _column_prefix(composition)
    column = f"{prefix}_{element}"
    df = _quantified_table(chips)
    if column not in df:
        raise ValueError(f"`element` {element!r} is not quantified in `chips`.")
    diff = df[column].to_numpy(float) - _chip_values(chips, other, column)
    if vmax is None:
        vmax = float(np.nanmax(np.abs(diff))) if np.isfinite(diff).any() else 1.0
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.4), layout="constrained")
    im = _show(
        ax,
        chips,
        diff,
        cmap="RdBu_r",
        vmin=-vmax,
        vmax=vmax,
        label="difference (pp)",
    )
    ax.set_title(f"{element}: difference ({prefix} %)")
    return im


def plot_chi2(chips, *, ax=None):
    """Map of the reduced chi-squared of every chip's fit.

    About 1 where the model describes the chip within its Poisson noise;
    higher where it misses something (an unmodelled element, a wrong
    calibration, a phase boundary the background cannot follow).

    Parameters
    ----------
    chips : ChippedEDSSpectrum
        Quantified chips of a 2-D map.
    ax : matplotlib.axes.Axes, optional
        Axes to draw in; a new figure by default.

    Returns
    -------
    matplotlib.image.AxesImage
        The map; its colour scale starts at 0.

    Examples
    --------
    >>> from hyperspy_chipping.data import sto_lfo_cross_section
    >>> s = sto_lfo_cross_section((60, 60), seed=0)
    >>> s.set_signal_type("EDS_TEM_chipped")
    >>> chips = s.chip(10)
    >>> _ = chips.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())
    >>> plot_chi2(chips).axes.get_title()
    'reduced chi-squared'
    """
    import matplotlib.pyplot as plt

    df = _quantified_table(chips)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.4), layout="constrained")
    chi2 = df.chi2_red.to_numpy(float)
    vmax = max(2.0, float(np.nanpercentile(chi2, 99))) if np.isfinite(chi2).any() else 2
    im = _show(ax, chips, chi2, cmap="magma", vmin=0, vmax=vmax, label="chi2_red")
    ax.set_title("reduced chi-squared")
    return im
