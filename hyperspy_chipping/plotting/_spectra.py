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
"""One chip's spectrum and fit; precision against chip size."""

from __future__ import annotations

import numpy as np


def _position(chips, chip_id: int) -> tuple[int, ...]:
    """Navigation index (x, y) of the chip whose ``chip_id`` is given."""
    from hyperspy_chipping.chipping._table import flat_chip_index

    ids = flat_chip_index(chips)
    where = np.flatnonzero(ids == chip_id)
    if where.size == 0:
        raise ValueError(
            f"`chip_id` {chip_id!r} is not a chip of this signal (its chip ids "
            f"run from {int(ids.min())} to {int(ids.max())})."
        )
    nav_shape = tuple(chips.axes_manager.navigation_shape[::-1])
    return tuple(int(i) for i in np.unravel_index(where[0], nav_shape))[::-1]


def plot_chip_fit(chips, chip_id, *, axes=None):
    """One chip's spectrum, its fitted model and the residual.

    Parameters
    ----------
    chips : ChippedEDSSpectrum
        Quantified chips.
    chip_id : int
        The chip (``chip_id`` of :meth:`to_dataframe`).
    axes : tuple of matplotlib.axes.Axes, optional
        Two axes, spectrum and residual; a new figure by default.

    Returns
    -------
    dict
        ``"data"``, ``"model"`` (matplotlib lines) and ``"residual"`` (the
        line of the residual in units of the Poisson standard deviation,
        (data - model) / sqrt(model)), and ``"axes"``.

    Raises
    ------
    ValueError
        If the chips are not quantified or `chip_id` is not one of them.

    Examples
    --------
    >>> from hyperspy_chipping.data import sto_lfo_cross_section
    >>> s = sto_lfo_cross_section((30, 30), seed=0)
    >>> s.set_signal_type("EDS_TEM_chipped")
    >>> chips = s.chip(10)
    >>> _ = chips.quantify_chips(s.metadata.Simulation.kfactors.as_dictionary())
    >>> lines = plot_chip_fit(chips, 4)
    >>> lines["axes"][0].get_title()
    'chip 4: chi2_red = 1.0'
    """
    import matplotlib.pyplot as plt

    if isinstance(chip_id, (bool, np.bool_)) or not isinstance(
        chip_id, (int, np.integer)
    ):
        raise TypeError(f"`chip_id` must be an int, got {chip_id!r}.")
    position = _position(chips, int(chip_id))
    model = chips.get_fit_model()
    nav = tuple(slice(i, i + 1) for i in position)
    fit = np.asarray(model.inav[nav].as_signal(show_progressbar=False).data)
    fit = fit.reshape(-1)
    data = chips.inav[nav].data
    data = np.asarray(data.compute() if hasattr(data, "compute") else data)
    data = data.reshape(-1).astype(float)
    axis = chips.axes_manager.signal_axes[0]
    energy = axis.axis
    lo, hi = chips.metadata.Chipping.Quantification.energy_range
    factor = 1e3 if str(axis.units) == "eV" else 1.0
    inside = (energy >= lo * factor) & (energy <= hi * factor) & np.isfinite(fit)
    if axes is None:
        _, axes = plt.subplots(
            2,
            1,
            sharex=True,
            figsize=(6.4, 4.2),
            gridspec_kw={"height_ratios": (3, 1)},
            layout="constrained",
        )
    top, bottom = axes
    (data_line,) = top.plot(energy, data, color="0.5", lw=0.8, label="chip")
    (model_line,) = top.plot(
        energy[inside], fit[inside], color="C3", lw=1.0, label="fit"
    )
    top.set_ylabel("counts")
    top.legend(loc="upper right")
    df = chips.to_dataframe()
    chi2 = float(df.loc[df.chip_id == chip_id, "chi2_red"].iloc[0])
    top.set_title(f"chip {int(chip_id)}: chi2_red = {chi2:.1f}")
    with np.errstate(divide="ignore", invalid="ignore"):
        residual = (data[inside] - fit[inside]) / np.sqrt(fit[inside])
    (res_line,) = bottom.plot(energy[inside], residual, color="k", lw=0.6)
    bottom.axhline(0, color="C3", lw=0.8)
    bottom.set_ylabel("residual (σ)")
    bottom.set_xlabel(f"{axis.name} ({axis.units})")
    return {"data": data_line, "model": model_line, "residual": res_line, "axes": axes}


def plot_chip_precision(df, *, elements=None, target=None, ax=None):
    """Predicted composition uncertainty against chip size.

    Parameters
    ----------
    df : pandas.DataFrame
        From :meth:`estimate_chip_precision`.
    elements : list of str, optional
        Elements to draw; default all.
    target : float, optional
        A precision goal (at %), drawn as a horizontal line.
    ax : matplotlib.axes.Axes, optional
        Axes to draw in; a new figure by default.

    Returns
    -------
    list of matplotlib.lines.Line2D
        One line per element (and the target line last).

    Raises
    ------
    ValueError
        If `df` has no ``n_pixels`` and ``at_<El>_std`` columns.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"size": [5, 10], "n_pixels": [25, 100],
    ...                    "at_La_std": [2.0, 1.0]})
    >>> lines = plot_chip_precision(df, target=1.5)
    >>> [line.get_label() for line in lines]
    ['La', 'target 1.5 at %']
    """
    import matplotlib.pyplot as plt

    available = [c[3:-4] for c in df if c.startswith("at_") and c.endswith("_std")]
    if "size" not in df or "n_pixels" not in df or not available:
        raise ValueError(
            "`df` must come from estimate_chip_precision (columns size, n_pixels, "
            "at_<El>_std)."
        )
    elements = available if elements is None else list(elements)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.8, 3.4), layout="constrained")
    lines = []
    for element in elements:
        if element not in available:
            raise ValueError(f"`elements` has {element!r}, not in `df`.")
        (line,) = ax.plot(df["n_pixels"], df[f"at_{element}_std"], "o-", label=element)
        lines.append(line)
    if target is not None:
        lines.append(
            ax.axhline(target, color="k", ls="--", label=f"target {target:g} at %")
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("pixels per chip")
    ax.set_ylabel("predicted std (at %)")
    ax.legend()
    return lines
