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
"""What the command line shows: the composition figure and a summary."""

from __future__ import annotations

import numpy as np


def quantified_elements(df) -> list[str]:
    """Elements with an ``at_<El>`` column in the table, in its order.

    Examples
    --------
    >>> import pandas as pd
    >>> quantified_elements(pd.DataFrame(columns=["at_La", "at_La_std", "wt_La"]))
    ['La']
    """
    return [c[3:] for c in df.columns if c.startswith("at_") and "_" not in c[3:]]


def figure(chips, image, df, title: str):
    """The picture of a run: the image with the chips, and composition maps.

    Parameters
    ----------
    chips : ChippedEDSSpectrum
        The chips (quantified or not).
    image : numpy.ndarray or hyperspy.signals.Signal2D
        HAADF or summed-count image of the source map.
    df : pandas.DataFrame
        The chips' table.
    title : str
        Title of the whole figure.

    Returns
    -------
    matplotlib.figure.Figure
        The image with outlines, then one composition map (at %) per
        quantified element, with colour bars.
    """
    import matplotlib.pyplot as plt

    elements = quantified_elements(df)
    n = 1 + len(elements)
    ncols = min(n, 3)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4.2 * ncols, 3.6 * nrows), squeeze=False
    )
    axes = axes.ravel()
    chips.plot_chips(image, ids=len(df) <= 100, ax=axes[0], title="chips")
    if elements:
        chips.plot_composition(elements=elements, axes=axes[1:n], outlines=False)
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def summary(df, chips) -> str:
    """A few lines on the quantified chips, for the terminal.

    Per element the mean and standard deviation over the chips (at %), the
    chips too weak to quantify, the median reduced chi-squared, and the
    elements the fit added by itself.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"at_O": [60.0, 62.0], "at_O_std": [1.0, 1.0],
    ...                    "chi2_red": [1.0, 1.2], "low_counts": [False, True]})
    >>> print(summary(df, None))
    O: 61.0 +- 1.4 at % over 2 chips
    chips too weak to quantify (low_counts): 1 of 2
    median chi2_red: 1.10
    """
    elements = quantified_elements(df)
    if not elements:
        return f"{len(df)} chips (not quantified: give --kfactors)"
    lines = []
    for element in elements:
        values = df[f"at_{element}"].to_numpy(float)
        finite = values[np.isfinite(values)]
        if finite.size:
            std = finite.std(ddof=1) if finite.size > 1 else float("nan")
            lines.append(
                f"{element}: {finite.mean():.1f} +- {std:.1f} at % over "
                f"{finite.size} chips"
            )
        else:
            lines.append(f"{element}: no chip quantified")
    if "low_counts" in df:
        weak = int(np.asarray(df.low_counts, bool).sum())
        lines.append(f"chips too weak to quantify (low_counts): {weak} of {len(df)}")
    lines.append(f"median chi2_red: {np.nanmedian(df.chi2_red):.2f}")
    q = None if chips is None else chips.metadata.get_item("Chipping.Quantification")
    added = [] if q is None else list(q.get_item("auto_elements", []) or [])
    if added:
        lines.append(
            "elements added by the fit (peaks nobody named; add them with "
            f"--elements to quantify them): {', '.join(added)}"
        )
    return "\n".join(lines)
