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
"""Composition from line intensities, with propagated uncertainties.

All three of exspy's methods share one form: the fraction of element A is
``c_A I_A / sum_B c_B I_B``, with method-dependent factors ``c``:

=================  =====================  =====================
method             weight fraction        atomic fraction
=================  =====================  =====================
``CL``             k_A                    k_A / M_A
``zeta``           zeta_A                 zeta_A / M_A
``cross_section``  M_A / sigma_A          1 / sigma_A
=================  =====================  =====================

(``M``: atomic mass; CL k-factors are weight-based, as exspy's.) The
covariance of the fractions follows from the covariance of the intensities by
the delta method. Everything is vectorised over chips: intensities are
``(n_chips, n_lines)`` arrays.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import constants

METHODS = ("CL", "zeta", "cross_section")


@functools.lru_cache(maxsize=64)
def _element_values(elements: tuple, item: str) -> tuple:
    """exspy's database values of `elements`, looked up once (each chip
    block needs them, and the database is a slow attribute tree).

    exspy is imported here, not with the module: a dask worker that
    quantifies blocks of chips gets the atomic masses with its task
    (``masses`` of :func:`quantify`) and need not import exspy, HyperSpy and
    their plotting stack (~120 MB a worker process).
    """
    from exspy.material import elements as elements_db

    return tuple(float(elements_db[el].get_item(item)) for el in elements)


def atomic_masses(elements) -> np.ndarray:
    """Atomic masses (g/mol) from exspy's element database.

    Examples
    --------
    >>> atomic_masses(["O", "Fe"]).round(3)
    array([15.999, 55.845])
    """
    return np.array(
        _element_values(tuple(elements), "General_properties.atomic_weight")
    )


def ratio_fractions(intensities, covariance, factors, clip_negative=True):
    """Fractions ``c_A I_A / sum_B c_B I_B`` and their covariance.

    Negative intensities (noise on an absent element) count as 0: they do
    not lower the other fractions, and the element's fraction is 0.

    Parameters
    ----------
    intensities : numpy.ndarray
        (n_chips, n_lines) intensities.
    covariance : numpy.ndarray
        (n_chips, n_lines, n_lines) covariance of the intensities.
    factors : numpy.ndarray
        (n_lines,) or (n_chips, n_lines) factors ``c``.
    clip_negative : bool, default True
        Count negative intensities as 0; False keeps them signed, as exspy's
        ``quantification`` does.

    Returns
    -------
    fractions : numpy.ndarray
        (n_chips, n_lines), summing to 1 (NaN where every intensity is 0).
    covariance : numpy.ndarray
        (n_chips, n_lines, n_lines) covariance of the fractions.

    Examples
    --------
    >>> I = np.array([[100.0, 300.0]])
    >>> cov = np.diag([100.0, 300.0])[None]       # Poisson: var = counts
    >>> f, c = ratio_fractions(I, cov, np.array([1.0, 1.0]))
    >>> f.round(3), np.sqrt(c[0].diagonal()).round(4)
    (array([[0.25, 0.75]]), array([0.0217, 0.0217]))
    """
    intensities = np.asarray(intensities, dtype=float)
    positive = intensities > 0 if clip_negative else np.ones(intensities.shape, bool)
    u = np.where(positive, intensities, 0.0) * factors
    total = u.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = u / total[:, None]
        # J[a, b] = d f_a / d I_b = c_b (delta_ab - f_a) / S
        # Unmasked: a clipped (absent) element keeps the uncertainty of its
        # estimate, c_A sigma_A / S, a detection limit rather than 0.
        c = np.broadcast_to(factors, intensities.shape)
        eye = np.eye(intensities.shape[1])
        jac = (eye[None] - f[:, :, None]) * (c / total[:, None])[:, None, :]
    cov = jac @ covariance @ np.swapaxes(jac, 1, 2)
    return f, cov


def method_factors(method, factors, elements, *, masses=None):
    """Factors ``c`` for weight and atomic fractions of a method.

    Parameters
    ----------
    method : {"CL", "zeta", "cross_section"}
        Quantification method.
    factors : numpy.ndarray
        k-factors (CL, weight-based), zeta factors (kg/m2) or cross sections
        (barn), one per line.
    elements : list of str
        Element of every line.
    masses : numpy.ndarray, optional
        ``atomic_masses(elements)``, if the caller has them.

    Returns
    -------
    weight, atomic : numpy.ndarray
        Factors for weight and atomic fractions.

    Examples
    --------
    >>> w, a = method_factors("CL", np.array([1.0, 2.0]), ["O", "Fe"])
    >>> (a * atomic_masses(["O", "Fe"])).tolist()
    [1.0, 2.0]
    """
    masses = atomic_masses(elements) if masses is None else np.asarray(masses)
    factors = np.asarray(factors, dtype=float)
    if method == "cross_section":
        return masses / factors, 1.0 / factors
    return factors, factors / masses


def absorption_factors(weight_fractions, mass_thickness, elements, energies, toa):
    """Thin-film absorption correction factors for every chip and line.

    ``A = chi rho t / (1 - exp(-chi rho t))`` with
    ``chi = (mu/rho)_specimen(E_line) / sin(take-off angle)``; the measured
    intensity times ``A`` is the intensity generated.

    Parameters
    ----------
    weight_fractions : numpy.ndarray
        (n_chips, n_lines) weight fractions of the specimen.
    mass_thickness : numpy.ndarray
        (n_chips,) mass thickness in kg/m2.
    elements : list of str
        Element of every line.
    energies : numpy.ndarray
        (n_lines,) line energies in keV.
    toa : float
        Take-off angle in degrees.

    Returns
    -------
    numpy.ndarray
        (n_chips, n_lines) factors >= 1.

    Examples
    --------
    >>> A = absorption_factors(np.array([[0.5, 0.5]]), np.array([1e-4]),
    ...                        ["O", "Fe"], np.array([0.525, 6.4]), 22.0)
    >>> bool(A[0, 0] > A[0, 1] > 1.0)
    True
    """
    mu = _mass_absorption_table(
        tuple(elements), tuple(np.asarray(energies, dtype=float).ravel())
    )
    chi = np.nan_to_num(weight_fractions) @ mu / np.sin(np.radians(toa))
    x = chi * np.asarray(mass_thickness)[:, None] * 0.1  # kg/m2 -> g/cm2
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(x > 1e-9, x / -np.expm1(-x), 1.0)
    return factor


@functools.lru_cache(maxsize=16)
def _mass_absorption_table(elements, energies) -> np.ndarray:
    """mu/rho (cm2/g) of each element at each line energy, (n_el, n_lines).

    Cached: the absorption correction iterates, chip block after chip block,
    over the same elements and lines. (exspy is imported here, as in
    :func:`_element_values`: only an absorption correction needs it.)
    """
    from exspy.material import mass_absorption_coefficient

    mu = np.array([mass_absorption_coefficient(el, energies) for el in elements])
    mu = np.nan_to_num(np.atleast_2d(mu))
    mu.flags.writeable = False
    return mu


def density(weight_fractions, elements) -> np.ndarray:
    """Harmonic-mean density (g/cm3) of mixtures, as exspy computes it.

    Examples
    --------
    >>> float(density(np.array([[0.88, 0.12]]), ["Cu", "Sn"])[0].round(2))
    8.69
    """
    rho = np.array(_element_values(tuple(elements), "Physical_properties.density_gcm3"))
    w = np.nan_to_num(weight_fractions)
    with np.errstate(invalid="ignore", divide="ignore"):
        return w.sum(axis=1) / (w / rho).sum(axis=1)


def electron_dose(beam_current, live_time, area=None):
    """Electrons per chip (zeta) or per m2 (cross section, with `area` in m2).

    Parameters
    ----------
    beam_current : float
        Probe current in nA.
    live_time : numpy.ndarray
        Live time of each chip in s.
    area : numpy.ndarray, optional
        Illuminated area of each chip in m2.

    Returns
    -------
    numpy.ndarray
        The dose.

    Examples
    --------
    >>> float(electron_dose(1.0, np.array([1.0]))[0])   # 1 nA for 1 s
    6241509074.460763
    """
    dose = np.asarray(live_time) * beam_current * 1e-9 / constants.e
    return dose if area is None else dose / np.asarray(area)


def quantify(
    intensities,
    covariance,
    method,
    factors,
    elements,
    *,
    dose=None,
    thickness=None,
    energies=None,
    take_off_angle=None,
    n_iterations=6,
    clip_negative=True,
    masses=None,
):
    """Weight and atomic fractions, with covariances, for every chip.

    Parameters
    ----------
    intensities : numpy.ndarray
        (n_chips, n_lines) line intensities (counts), in the convention of
        `factors`.
    covariance : numpy.ndarray
        (n_chips, n_lines, n_lines) their covariance.
    method : {"CL", "zeta", "cross_section"}
        Quantification method.
    factors : numpy.ndarray
        (n_lines,) k-factors, zeta factors (kg/m2) or cross sections (barn).
    elements : list of str
        Element of every line.
    dose : numpy.ndarray, optional
        (n_chips,) electrons (zeta) or electrons per m2 (cross section).
    thickness : float or numpy.ndarray, optional
        Specimen thickness in nm: with CL, turns on the absorption correction
        (zeta and cross section use `dose`: they correct whenever
        `take_off_angle` is given).
    energies : numpy.ndarray, optional
        (n_lines,) line energies in keV, for the absorption correction.
    take_off_angle : float, optional
        Degrees; turns on the absorption correction.
    n_iterations : int, default 6
        Iterations of the absorption correction.
    clip_negative : bool, default True
        Count negative intensities (noise on absent elements) as 0; False
        keeps them signed, as exspy does.
    masses : numpy.ndarray, optional
        ``atomic_masses(elements)`` (g/mol), if the caller has them (a dask
        task is given them, so that its worker needs no element database).

    Returns
    -------
    dict
        ``weight``, ``weight_cov``, ``atomic``, ``atomic_cov`` (fractions),
        ``absorption`` (factors, 1 without correction) and, for zeta and
        cross section, ``mass_thickness`` (kg/m2) or ``atoms_per_nm2``
        (n_chips, n_lines).

    Examples
    --------
    >>> I = np.array([[1000.0, 1000.0]])
    >>> out = quantify(I, np.diag([1000.0, 1000.0])[None], "CL",
    ...                np.array([1.0, 3.0]), ["Fe", "Pt"])
    >>> out["weight"].round(3)
    array([[0.25, 0.75]])
    """
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {METHODS}, got {method!r}.")
    if masses is None:
        masses = atomic_masses(elements)
    wf, af = method_factors(method, factors, elements, masses=masses)
    n_chips = intensities.shape[0]
    correction = np.ones_like(intensities, dtype=float)
    correct = take_off_angle is not None and (thickness is not None or method != "CL")
    result = {}
    corrected, ccov = intensities, covariance
    for _ in range(n_iterations if correct else 1):
        if correct:
            corrected = intensities * correction
            ccov = covariance * correction[:, :, None] * correction[:, None, :]
        weight, weight_cov = ratio_fractions(corrected, ccov, wf, clip_negative)
        if method == "zeta":
            with np.errstate(invalid="ignore", divide="ignore"):
                pos = np.clip(corrected, 0, None)
                mass_thickness = (pos * factors).sum(axis=1) / dose
            result["mass_thickness"] = mass_thickness
        elif method == "cross_section":
            with np.errstate(invalid="ignore", divide="ignore"):
                # sigma in barn = 1e-28 m2; atoms per m2 -> per nm2.
                n_atoms = corrected / (factors * 1e-28 * dose[:, None]) * 1e-18
            result["atoms_per_nm2"] = n_atoms
            mass_thickness = (
                np.clip(n_atoms, 0, None) * 1e18 * masses / constants.N_A * 1e-3
            ).sum(axis=1)
        elif correct:
            t = np.broadcast_to(np.asarray(thickness), (n_chips,))
            mass_thickness = density(weight, elements) * 1e3 * t * 1e-9  # kg/m2
        if correct:
            correction = absorption_factors(
                weight, mass_thickness, elements, energies, take_off_angle
            )
    atomic, atomic_cov = ratio_fractions(corrected, ccov, af, clip_negative)
    result.update(
        weight=weight,
        weight_cov=weight_cov,
        atomic=atomic,
        atomic_cov=atomic_cov,
        absorption=correction,
    )
    return result
