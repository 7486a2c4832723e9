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
"""Model components of the chip model, registered with HyperSpy.

:class:`XrayLineFamily` is a whole shell family as one shape (amplitude =
family intensity); :class:`Bremsstrahlung` is Kramers' continuum times the
detector efficiency times a polynomial. Both are registered as
``components1D`` in ``hyperspy_extension.yaml`` (keyed by their ``_id_name``),
so a stored model restores wherever the package is installed.
"""

from __future__ import annotations

import numpy as np
from hyperspy.component import Component

from hyperspy_chipping.fitting._design import background_basis
from hyperspy_chipping.fitting._peak_shape import TAIL_SLOPE_START, tail_excess
from hyperspy_chipping.fitting._xray_families import SIGMA_PER_FWHM

_SQRT2PI = np.sqrt(2 * np.pi)


class XrayLineFamily(Component):
    """A shell family of X-ray lines (e.g. La L) as one peak shape.

    ``f(E) = A * sum_l w_l * P(E; E_l, sigma_l)`` with normalised line
    shapes and weights summing to 1, so that ``A`` is the intensity of the
    whole family in counts. ``P`` is a Gaussian, with the detector's
    low-energy tail where the summed spectrum showed one (see
    :mod:`hyperspy_chipping.fitting._peak_shape`). The line energies,
    weights, widths and tail are fixed attributes; only ``A`` is a (linear)
    parameter.

    Parameters
    ----------
    energies : list of float
        Line energies, in the units of the signal axis.
    weights : list of float
        Relative intensities (normalised to sum to 1).
    fwhm : list of float
        Line widths (FWHM), in the units of the signal axis.
    element : str
        Chemical symbol.
    shell : str
        ``"K"``, ``"L"`` or ``"M"``.
    tail_fraction : float, default 0
        Fraction of each line's counts in its low-energy tail.
    tail_slope : float, default 0.7
        Decay length of the tail in units of the line's Gaussian sigma.

    Examples
    --------
    >>> c = XrayLineFamily([6.391, 6.404, 7.058], [0.3, 0.58, 0.12],
    ...                    [0.128, 0.128, 0.135], "Fe", "K")
    >>> c.A.value = 1000.0
    >>> x = np.linspace(0, 20, 20001)
    >>> round(float(c.function(x).sum() * (x[1] - x[0])), 1)
    1000.0
    """

    _id_name = "19bbfcbd-e5de-4981-b567-05e1fb54316a"

    def __init__(
        self,
        energies=(1.0,),
        weights=(1.0,),
        fwhm=(0.1,),
        element="",
        shell="K",
        tail_fraction=0.0,
        tail_slope=TAIL_SLOPE_START,
    ):
        super().__init__(["A"], linear_parameter_list=["A"])
        weights = np.asarray(weights, dtype=float)
        self.energies = np.asarray(energies, dtype=float)
        self.weights = weights / weights.sum()
        self.fwhm = np.broadcast_to(np.asarray(fwhm, dtype=float), self.energies.shape)
        self.element = str(element)
        self.shell = str(shell)
        self.tail_fraction = float(tail_fraction)
        self.tail_slope = float(tail_slope)
        self.A.value = 1.0
        self.A.free = True
        for key, value in (
            ("energies", self.energies.tolist()),
            ("weights", self.weights.tolist()),
            ("fwhm", self.fwhm.tolist()),
            ("element", self.element),
            ("shell", self.shell),
            ("tail_fraction", self.tail_fraction),
            ("tail_slope", self.tail_slope),
        ):
            self._whitelist[key] = ("init", value)

    def function(self, x):
        return self._shape(np.asarray(x, dtype=float)) * self.A.value

    def function_nd(self, axis, parameters_values=None):
        """Vectorised over the navigation dimensions (``A.map``)."""
        (a,) = parameters_values or [self.A.map["values"]]
        shape = self._shape(np.asarray(axis, dtype=float))
        return np.asarray(a)[..., None] * shape

    def _shape(self, x):
        sigma = self.fwhm * SIGMA_PER_FWHM
        z = (x[..., None] - self.energies) / sigma
        shape = np.exp(-0.5 * z**2) / _SQRT2PI
        if self.tail_fraction > 0:
            tail = tail_excess(z, self.tail_slope) / self.tail_slope
            shape = (1 - self.tail_fraction) * shape + self.tail_fraction * tail
        return (shape / sigma) @ self.weights


class DetectorArtefact(XrayLineFamily):
    """A detector artefact (Si escape or pile-up peak) of fitted lines.

    (The Si internal-fluorescence peak has a class of its own,
    :class:`SiInternalFluorescence`.)

    The parent lines' shape at the artefact's energies (``E - 1.740 keV``
    for a Si escape peak, ``E_i + E_j`` for a pile-up peak), with its own
    amplitude ``A`` (counts in the artefact).

    Parameters
    ----------
    energies, weights, fwhm : list of float
        As :class:`XrayLineFamily`, at the artefact's energies.
    kind : str
        ``"escape"`` or ``"pile-up"``.
    parents : list of str
        The parent lines, e.g. ``["Ti_Ka"]``.
    tail_fraction, tail_slope : float
        As :class:`XrayLineFamily`.

    Examples
    --------
    >>> c = DetectorArtefact([2.771], [1.0], [0.09], "escape", ["Ti_Ka"])
    >>> c.A.value = 50.0
    >>> x = np.linspace(0, 20, 20001)
    >>> round(float(c.function(x).sum() * (x[1] - x[0])), 1)
    50.0
    """

    _id_name = "6f1d2c3e-8a4b-4d6e-9f0a-2b7c5e1d3a94"

    def __init__(
        self,
        energies=(1.0,),
        weights=(1.0,),
        fwhm=(0.1,),
        kind="escape",
        parents=(),
        tail_fraction=0.0,
        tail_slope=TAIL_SLOPE_START,
    ):
        parents = [str(p) for p in parents]
        element, shell = (
            (parents[0].split("_") + ["", "K"])[:2] if parents else ("", "K")
        )
        super().__init__(
            energies,
            weights,
            fwhm,
            element,
            shell[:1] or "K",
            tail_fraction=tail_fraction,
            tail_slope=tail_slope,
        )
        self.kind = str(kind)
        self.parents = parents
        self._whitelist.pop("element", None)
        self._whitelist.pop("shell", None)
        self._whitelist["kind"] = ("init", self.kind)
        self._whitelist["parents"] = ("init", list(self.parents))


class SiInternalFluorescence(DetectorArtefact):
    """The Si internal-fluorescence peak of the detector (at Si Kα).

    Photons above the Si K edge (1.839 keV) absorbed in the detector's Si
    dead layer make Si K photons, some of which are counted: a Si K peak
    proportional to the flux above the edge, whatever the specimen
    (:func:`~hyperspy_chipping.fitting._artefacts.internal_fluorescence_fraction`).
    Si K's lines, with their own amplitude ``A`` (counts), fitted and not
    quantified.

    Parameters
    ----------
    energies, weights, fwhm : list of float
        As :class:`XrayLineFamily`: the lines of Si K.
    tail_fraction, tail_slope : float
        As :class:`XrayLineFamily`.

    Examples
    --------
    >>> c = SiInternalFluorescence([1.740], [1.0], [0.07])
    >>> c.kind, c.parents
    ('internal-fluorescence', ['Si_K_edge'])
    >>> c.A.value = 20.0
    >>> x = np.linspace(0, 4, 4001)
    >>> round(float(c.function(x).sum() * (x[1] - x[0])), 1)
    20.0
    """

    _id_name = "e1c0baa9-1038-45ac-86d6-9c524fd9f5ee"

    def __init__(
        self,
        energies=(1.740,),
        weights=(1.0,),
        fwhm=(0.07,),
        tail_fraction=0.0,
        tail_slope=TAIL_SLOPE_START,
    ):
        super().__init__(
            energies,
            weights,
            fwhm,
            "internal-fluorescence",
            ["Si_K_edge"],
            tail_fraction=tail_fraction,
            tail_slope=tail_slope,
        )
        self._whitelist.pop("kind", None)
        self._whitelist.pop("parents", None)


class Bremsstrahlung(Component):
    """Kramers' continuum x detector efficiency x a polynomial in energy.

    ``f(E) = K(E) / norm * sum_k a_k T_k(x)`` with ``K = (E0 - E) / E`` times
    the detector efficiency, ``T_k`` Chebyshev polynomials and ``x`` the
    energy mapped onto [-1, 1] over the fit range. All ``a_k`` are linear
    parameters. The shape cannot fit a peak, so the background does not
    steal line intensity.

    Parameters
    ----------
    beam_energy : float
        Beam energy ``E0`` in keV.
    order : int
        Degree of the polynomial.
    energy_range : tuple of float
        Fit range (keV) onto which the polynomial's domain is mapped.
    norm : float
        Normalisation of the shape (its maximum over the fit range, times the
        channel width).
    units_factor : float
        keV per unit of the signal axis (1 for keV, 0.001 for eV).
    energy_offset, energy_gain : float
        Photon energy (keV) at an axis value ``x``:
        ``energy_offset + energy_gain * x * units_factor`` — where the
        continuum is evaluated, when the fit refined the axis calibration.
    shape : list of float, optional
        Bernstein coefficients (>= 0) of the map's non-negative continuum
        correction; the ``a_k`` then multiply Bernstein polynomials of degree
        `order` (see :func:`~hyperspy_chipping.fitting._design.background_basis`).
    window : float or list of float, default 1
        The detector entrance the fit refined: the polymer window's thickness
        scale, or ``[polymer scale, Si3N4 nm, Si dead layer nm]``.

    Examples
    --------
    >>> b = Bremsstrahlung(300.0, 2, (0.2, 20.0))
    >>> b.a0.value = 1.0
    >>> bool(b.function(np.array([1.0]))[0] > b.function(np.array([10.0]))[0])
    True
    """

    _id_name = "abe56181-212e-4aaa-89da-5ff82cdead3e"

    def __init__(
        self,
        beam_energy=300.0,
        order=5,
        energy_range=(0.2, 20.0),
        norm=1.0,
        units_factor=1.0,
        energy_offset=0.0,
        energy_gain=1.0,
        shape=None,
        window=1.0,
    ):
        names = [f"a{k}" for k in range(int(order) + 1)]
        super().__init__(names, linear_parameter_list=names)
        self.beam_energy = float(beam_energy)
        self.order = int(order)
        self.energy_range = tuple(float(e) for e in energy_range)
        self.norm = float(norm)
        self.units_factor = float(units_factor)
        self.energy_offset = float(energy_offset)
        self.energy_gain = float(energy_gain)
        self.shape = None if shape is None else [float(v) for v in shape]
        self.window = (
            float(window) if np.ndim(window) == 0 else [float(v) for v in window]
        )
        self.isbackground = True
        for key, value in (
            ("beam_energy", self.beam_energy),
            ("order", self.order),
            ("energy_range", list(self.energy_range)),
            ("norm", self.norm),
            ("units_factor", self.units_factor),
            ("energy_offset", self.energy_offset),
            ("energy_gain", self.energy_gain),
            ("shape", self.shape),
            ("window", self.window),
        ):
            self._whitelist[key] = ("init", value)

    def _basis(self, x):
        u = np.asarray(x, dtype=float) * self.units_factor
        energy = self.energy_offset + self.energy_gain * u
        return background_basis(
            "bremsstrahlung",
            u,
            self.energy_range,
            energy,
            self.beam_energy,
            self.order,
            self.norm,
            shape=self.shape,
            window=self.window,
        )

    def function(self, x):
        coef = np.array([p.value for p in self.parameters_sorted()])
        return self._basis(x) @ coef

    def function_nd(self, axis, parameters_values=None):
        """Vectorised over the navigation dimensions."""
        if parameters_values is None:
            parameters_values = [p.map["values"] for p in self.parameters]
        by_name = dict(zip((p.name for p in self.parameters), parameters_values))
        coef = np.stack(
            [np.asarray(by_name[p.name]) for p in self.parameters_sorted()], axis=-1
        )
        return coef @ self._basis(axis).T

    def parameters_sorted(self):
        """The coefficients ``a0, a1, ...`` in order."""
        return [getattr(self, f"a{k}") for k in range(self.order + 1)]
