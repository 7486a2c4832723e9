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
"""Check a ``quantify_chips`` request before anything is computed.

Every error names the argument (or the metadata item) and the value it got,
so that a bad request fails at once with a message that says what to change,
never deep inside numpy or as a number nobody asked for.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

#: Beam energy assumed when the metadata have none (kV).
DEFAULT_BEAM_ENERGY = 300.0
_BEAM_ITEM = "Acquisition_instrument.TEM.beam_energy"


def _is_bool(value) -> bool:
    return isinstance(value, (bool, np.bool_))


def check_bool(name: str, value) -> bool:
    """Return `value` if it is a bool; raise TypeError naming `name` otherwise.

    Examples
    --------
    >>> check_bool("refine", True)
    True
    >>> check_bool("refine", "yes")
    Traceback (most recent call last):
    ...
    TypeError: `refine` must be True or False, got 'yes'.
    """
    if not _is_bool(value):
        raise TypeError(f"`{name}` must be True or False, got {value!r}.")
    return bool(value)


def check_real(name: str, value, *, positive=False, allow_zero=True) -> float:
    """A finite real number (not a bool), optionally positive.

    Examples
    --------
    >>> check_real("thickness", 50)
    50.0
    >>> check_real("thickness", -5, positive=True)
    Traceback (most recent call last):
    ...
    ValueError: `thickness` must be a positive number, got -5.
    """
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number, got {value!r}.")
    if not np.isfinite(value):
        raise ValueError(f"`{name}` must be finite, got {value!r}.")
    if positive and (value < 0 or (value == 0 and not allow_zero)):
        raise ValueError(f"`{name}` must be a positive number, got {value!r}.")
    return float(value)


def check_background_order(value) -> int | None:
    """None or a non-negative int.

    Examples
    --------
    >>> check_background_order(3)
    3
    >>> check_background_order(-1)
    Traceback (most recent call last):
    ...
    ValueError: `background_order` must be >= 0, got -1.
    """
    if value is None:
        return None
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`background_order` must be an int, got {value!r}.")
    if value < 0:
        raise ValueError(f"`background_order` must be >= 0, got {value!r}.")
    if value > 20:
        raise ValueError(
            f"`background_order` must be at most 20 (a higher degree fits peaks, "
            f"not a background), got {value!r}."
        )
    return int(value)


def check_energy_range(value) -> tuple[float, float] | None:
    """None or a pair (low, high) of finite numbers with low < high, in keV.

    Examples
    --------
    >>> check_energy_range((0.5, 10))
    (0.5, 10.0)
    >>> check_energy_range(5)
    Traceback (most recent call last):
    ...
    TypeError: `energy_range` must be a pair (low, high) in keV, got 5.
    """
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not np.iterable(value) or len(value) != 2:
        raise TypeError(
            f"`energy_range` must be a pair (low, high) in keV, got {value!r}."
        )
    low, high = (check_real("energy_range", v) for v in value)
    if not low < high:
        raise ValueError(
            f"`energy_range` must be (low, high) with low < high, got {value!r}."
        )
    return low, high


def beam_energy(signal) -> float:
    """The beam energy of `signal` in kV, checked; warns if it is missing.

    Raises
    ------
    ValueError
        If the metadata hold a beam energy that is not a positive number.
    """
    value = signal.metadata.get_item(_BEAM_ITEM)
    if value is None:
        warnings.warn(
            f"metadata.{_BEAM_ITEM} is not set: {DEFAULT_BEAM_ENERGY:g} kV is "
            "assumed. Set it with s.set_microscope_parameters(beam_energy=...).",
            UserWarning,
            stacklevel=4,
        )
        return DEFAULT_BEAM_ENERGY
    try:
        energy = float(value)
    except (TypeError, ValueError):
        energy = np.nan
    if not np.isfinite(energy) or energy <= 0:
        raise ValueError(
            f"metadata.{_BEAM_ITEM} must be a positive number of kV, got "
            f"{value!r}: set it with s.set_microscope_parameters(beam_energy=...)."
        )
    return energy


def check_energy_axis(signal) -> None:
    """The energy axis must be uniform; raise NotImplementedError otherwise."""
    axis = signal.axes_manager.signal_axes[0]
    if not axis.is_uniform:
        raise NotImplementedError(
            f"The energy axis {axis.name!r} is not uniform; quantify_chips "
            "needs a uniform axis (offset and scale)."
        )


def check_options(signal, options: dict) -> dict:
    """Validate the keyword arguments of ``quantify_chips``.

    Parameters
    ----------
    signal : ChippedEDSSpectrum
        The chipped signal.
    options : dict
        The keyword arguments.

    Returns
    -------
    dict
        The options, normalised (floats, ints, tuples).

    Raises
    ------
    TypeError, ValueError, NotImplementedError
        Naming the argument and the value.
    """
    check_energy_axis(signal)
    out = dict(options)
    out["background_order"] = check_background_order(options["background_order"])
    out["energy_range"] = check_energy_range(options["energy_range"])
    out["refine"] = check_bool("refine", options["refine"])
    out["absorption_correction"] = check_bool(
        "absorption_correction", options["absorption_correction"]
    )
    thickness = options["thickness"]
    if thickness is not None:
        thickness = check_real("thickness", thickness, positive=True, allow_zero=False)
        if not out["absorption_correction"]:
            raise ValueError(
                f"`thickness`={options['thickness']!r} is only used by the "
                "absorption correction: pass absorption_correction=True too, or "
                "leave thickness out."
            )
        if options["method"] != "CL":
            raise ValueError(
                f"`thickness`={options['thickness']!r} is for method='CL'; "
                f"method={options['method']!r} measures the mass thickness itself."
            )
    out["thickness"] = thickness
    return out
