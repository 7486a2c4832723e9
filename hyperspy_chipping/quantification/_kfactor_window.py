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
"""Theoretical k-factors at the detector window that the fit refined.

Theoretical k-factors depend on the detector's efficiency, the low-energy
lines (O K) most: the window thickness that the fit refines on the summed
spectrum (``fitting/_response.py``) is the detector's. The k-factor layer
hands the quantification a *window model* (plain numbers, stored with the
request so that a lazy or saved request is quantified the same way): each
family's detected yield per line at the nominal window and the window's
optical depth at the line's energy. The k-factors are evaluated here once
per solved model (a task of its own in a lazy graph), never per block.
"""

from __future__ import annotations

import math

import dask
import numpy as np

from hyperspy_chipping.fitting._design import as_window, nominal_window, window_factor

#: The refined window is used when it differs from the nominal one (1) by
#: more than this many standard deviations (see :func:`applied_window`).
SIGNIFICANCE = 2.0


def window_kfactors(kfactors, window_model, window) -> dict:
    """k-factors at another detector entrance, from their window model.

    Parameters
    ----------
    kfactors : dict
        Line -> k-factor at the nominal window (``theoretical_kfactors``).
    window_model : dict
        Their ``window_model``: ``{"reference": line, "terms": {line:
        [[yield, depth, energy], ...]}}`` (``[yield, depth]`` pairs, as
        earlier versions wrote them, follow the polymer scale only).
    window : float or tuple of float
        The polymer window's thickness relative to the nominal one, or
        ``(polymer scale, Si3N4 nm, Si dead layer nm)``.

    Returns
    -------
    dict
        Line -> k-factor at `window` (lines without terms unchanged).

    Raises
    ------
    ValueError
        If `window` is not a non-negative number or three of them.

    Examples
    --------
    A one-line O K family whose window depth is 0.7 (the nominal window
    transmits ``exp(-0.7)``) against Fe K (transparent):

    >>> model = {"reference": "Fe_Ka",
    ...          "terms": {"Fe_Ka": [[1.0, 0.0]], "O_Ka": [[1.0, 0.7]]}}
    >>> k = window_kfactors({"Fe_Ka": 1.0, "O_Ka": 1.1}, model, 0.0)
    >>> k["Fe_Ka"], round(k["O_Ka"], 4)   # 1.1 * exp(-0.7): no window, more O
    (1.0, 0.5462)

    With theoretical k-factors (``theoretical_kfactors(...).window_model``),
    see :func:`hyperspy_chipping.kfactors.theoretical_kfactors`.
    """
    window = as_window(window)
    terms = window_model["terms"]

    def relative(line):
        entries = [list(map(float, t)) for t in terms[line]]
        yields = np.array([t[0] for t in entries])
        if all(len(t) == 3 for t in entries):
            factor = window_factor(np.array([t[2] for t in entries]), window)
        else:  # depths of the polymer only
            factor = np.exp(-(window[0] - 1.0) * np.array([t[1] for t in entries]))
        return float(np.sum(yields * factor))

    ref = window_model["reference"]
    ref_ratio = relative(ref) if ref in terms else 1.0
    return {
        line: float(k) * ref_ratio / relative(line) if line in terms else float(k)
        for line, k in kfactors.items()
    }


def applied_window(detector_response) -> tuple:
    """The detector entrance at which theoretical k-factors are evaluated.

    The refined entrance (``window_scale``, ``nitride_nm``,
    ``dead_layer_nm``) if it fits the continuum significantly better than
    the nominal one (``significant``, see
    :func:`~hyperspy_chipping.fitting._response.refine_window`), else the
    nominal one: on a detector that has the nominal entrance the refined
    thicknesses only add their noise (a 0.1 error of the polymer scale moves
    O K's k-factor by ~4 %). Results of earlier versions (a polymer scale
    and its ``window_scale_std`` only): the scale if it differs from 1 by
    more than :data:`SIGNIFICANCE` standard deviations. Not refined: nominal.

    Examples
    --------
    >>> applied_window({"window_scale": 0.0, "nitride_nm": 150.0,
    ...                 "dead_layer_nm": 40.0, "significant": True})
    (0.0, 150.0, 40.0)
    >>> applied_window({"window_scale": 1.06, "window_scale_std": 0.04})
    (1.0, 0.0, 30.0)
    """
    if "significant" in detector_response:
        if not detector_response["significant"]:
            return nominal_window()
        return as_window(
            [
                detector_response["window_scale"],
                detector_response["nitride_nm"],
                detector_response["dead_layer_nm"],
            ]
        )
    window = float(detector_response.get("window_scale", 1.0))
    std = float(detector_response.get("window_scale_std", math.inf))
    if not math.isfinite(window) or abs(window - 1.0) <= SIGNIFICANCE * std:
        return nominal_window()
    return as_window(window)


def with_window_kfactors(solution, params):
    """`solution` with the k-factors of `params` at its detector window.

    Adds ``factors`` (in the order of the quantified lines),
    ``kfactors_applied`` (line -> k-factor) and ``kfactor_window`` (the
    entrance used, :func:`applied_window`) to a copy of `solution`;
    `solution` itself when `params` has no ``window_model`` or the k-factors
    are applied already.
    """
    model = params.get("window_model")
    if model is None or "kfactors_applied" in solution:
        return solution
    window = applied_window(solution.get("detector_response", {}))
    nominal = dict(zip(params["lines"], np.asarray(params["factors"], dtype=float)))
    applied = window_kfactors(nominal, model, window)
    out = dict(solution)
    out["factors"] = np.array([applied[line] for line in params["lines"]])
    out["kfactors_applied"] = applied
    out["kfactor_window"] = window
    return out


def window_kfactors_task(solution, params):
    """:func:`with_window_kfactors` of a solved model, or one task of a lazy
    graph after the task that solves it (a dask Delayed)."""
    if params.get("window_model") is None:
        return solution
    if isinstance(solution, dict):
        return with_window_kfactors(solution, params)
    return dask.delayed(with_window_kfactors)(solution, params)


def applied_kfactors(request, solution) -> dict:
    """What the quantification's metadata says of the k-factors applied.

    Theoretical k-factors evaluated at the fit's window: ``kfactors`` (those
    applied), ``kfactors_nominal`` (at the model's window) and
    ``kfactor_window``; nothing for other k-factors (the request's
    ``kfactors`` are those applied).

    Examples
    --------
    >>> applied_kfactors({"kfactors": {"Fe_Ka": 1.0}}, {"factors": [1.0]})
    {}
    """
    if "kfactors_applied" not in solution:
        return {}
    return {
        "kfactors_nominal": dict(request["kfactors"]),
        "kfactors": dict(solution["kfactors_applied"]),
        "kfactor_window": [float(v) for v in solution["kfactor_window"]],
    }
