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
"""How precise chips of a given size will be, before cutting the map.

Smaller chips resolve more, but hold fewer counts. For a region of uniform
composition the expected spectrum of a chip of ``n`` pixels is ``n / N``
times the region's summed spectrum (``N`` pixels). The chip fit is linear
with weights from the model, so its Poisson covariance at that expected
spectrum is the chip-to-chip covariance of the fitted intensities: the
predicted standard deviations follow without cutting, fitting or
simulating a single chip.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd


def _parse_sizes(sizes, ndim: int) -> list[tuple[int, ...]]:
    from hyperspy_chipping.chipping._geometry import parse_pair

    if isinstance(sizes, (numbers.Integral, tuple)) or not np.iterable(sizes):
        raise TypeError(
            f"`sizes` must be a list of chip sizes (ints or (x, y) pairs), got "
            f"{sizes!r}."
        )
    sizes = list(sizes)
    if not sizes:
        raise ValueError("`sizes` is empty: give at least one chip size.")
    return [parse_pair(size, "sizes", ndim) for size in sizes]


def estimate_precision(signal, kfactors, sizes, *, where=None, **options):
    """See ``ChippedEDSSpectrum.estimate_chip_precision``."""
    from hyperspy_chipping.chipping._chip import check_source
    from hyperspy_chipping.quantification._block import layout, quantify_block
    from hyperspy_chipping.quantification._fit import solve_model
    from hyperspy_chipping.quantification._run import _n_components, parse_request

    check_source(signal)
    nav_shape = tuple(signal.axes_manager.navigation_shape[::-1])
    parsed = _parse_sizes(sizes, len(nav_shape))
    if where is None:
        mask = np.ones(nav_shape, dtype=bool)
    else:
        mask = np.asarray(getattr(where, "data", where))
        if mask.shape != nav_shape or mask.dtype != np.bool_:
            raise ValueError(
                f"`where` must be a boolean image of the navigation shape "
                f"{nav_shape} (data order), got {mask.dtype} of shape {mask.shape}."
            )
        if not mask.any():
            raise ValueError("`where` selects no pixel.")
    region = signal.chip(labels=mask.astype(np.int64))  # one chip: the region
    request, prep, params = parse_request(region, kfactors, **options)
    channels = prep["channels"]
    fit = slice(int(channels[0]), int(channels[-1]) + 1)
    total = region.data[0]
    total = np.asarray(total.compute() if hasattr(total, "compute") else total)
    total = total.astype(np.float64)
    n_region = int(mask.sum())
    if total[fit].sum() <= 0:
        raise ValueError("The region holds no counts in the fit range.")
    solution = solve_model(total[fit], prep, request["refine"])
    # Expected spectra, not observed ones: the exact Poisson covariance,
    # without the one count a chip's observed N counts add (N + 1).
    for key in ("prior_covariance", "prior_variance"):
        solution[key] = np.zeros_like(solution[key])
    n_pixels = np.array([np.prod(s) for s in parsed], dtype=float)
    expected = total[None, fit] * (n_pixels / n_region)[:, None]
    packed = quantify_block(expected, n_pixels, solution, params)
    lay = layout(
        len(request["xray_lines"]), _n_components(solution), params["method"] == "zeta"
    )
    columns = {
        "size": [s[0] if len(set(s)) == 1 else tuple(s) for s in parsed],
        "n_pixels": n_pixels.astype(np.int64),
        "counts": expected.sum(axis=1),
    }
    for prefix, key in (("at", "atomic_percent"), ("wt", "weight_percent")):
        values = packed[:, lay[key]]
        std = packed[:, lay[f"{key}_std"]]
        for i, element in enumerate(request["elements"]):
            columns[f"{prefix}_{element}"] = values[:, i]
            columns[f"{prefix}_{element}_std"] = std[:, i]
    df = pd.DataFrame(columns)
    df.attrs = {
        "region_pixels": n_region,
        "xray_lines": list(request["xray_lines"]),
        "kfactors": dict(request["kfactors"]),
        "method": request["method"],
        "intensity": request["intensity"],
        "model": request["model"],
    }
    return df
