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
"""Quantify a block of chips: fit, intensities, composition, chi-squared.

One function for every chip layout and scale: the eager path applies it to
row blocks of the chip spectra (bounded memory), the lazy path maps it over
the dask chunks, with the solved model (projector, calibration) as a shared
dependency. Its output packs every per-chip result in one float array;
:func:`layout` names the columns.
"""

from __future__ import annotations

import numpy as np

from hyperspy_chipping.fitting._linear import single_threaded_blas
from hyperspy_chipping.quantification._composition import method_factors, quantify
from hyperspy_chipping.quantification._detection import (
    currie_limits,
    limit_fractions,
    zero_signal_variance,
)

#: Chips fitted together inside a block.
ROWS = 1024
#: Results stored in single precision, that of the chip fit: the amplitudes
#: of every component and their std, for the model view (not in the table;
#: a per-pixel map has a million windows of 10-30 components), and the
#: detection limits (Currie's, good to a few %; the table's ``mdl_`` columns
#: too). 62 MB less per million windows and five elements.
SINGLE_PRECISION = (
    "amplitudes",
    "amplitudes_std",
    "critical_level",
    "detection_limit",
    "detection_limit_percent",
)
#: Flags stored as booleans.
BOOLEAN = ("detected", "low_counts")


def layout(
    n_lines: int, n_components: int, zeta: bool, n_polynomial: int = 0
) -> dict[str, slice]:
    """Column slices of the packed output of :func:`quantify_block`.

    Examples
    --------
    >>> lay = layout(2, 5, False)
    >>> lay["atomic_percent"], lay["amplitudes"]
    (slice(4, 6, None), slice(14, 19, None))
    """
    names = [
        ("intensities", n_lines),
        ("intensities_std", n_lines),
        ("atomic_percent", n_lines),
        ("atomic_percent_std", n_lines),
        ("weight_percent", n_lines),
        ("weight_percent_std", n_lines),
        ("chi2_red", 1),
        ("counts", 1),
        ("amplitudes", n_components),
        ("amplitudes_std", n_components),
        ("critical_level", n_lines),
        ("detection_limit", n_lines),
        ("detection_limit_percent", n_lines),
        ("detected", n_lines),
        ("low_counts", 1),
    ]
    if zeta:
        names.append(("mass_thickness", 1))
    if n_polynomial:  # for the std of the model view's power coefficients
        names.append(("background_covariance", n_polynomial**2))
    out, start = {}, 0
    for name, n in names:
        out[name] = slice(start, start + n)
        start += n
    return out


def _var(cov):
    return np.diagonal(cov, axis1=1, axis2=2)


def _std(cov):
    return np.sqrt(np.clip(_var(cov), 0, None))


def _background_covariance(projector, amplitudes, solution, clipped, negative=None):
    """(n_chips, n_bg ** 2) covariance of the background amplitudes."""
    bg = list(range(len(solution["families"]), projector.matrix.shape[0]))
    cov = projector.covariance(amplitudes, projector.covariance_tensor(bg))
    if clipped.size:
        cov[clipped] = projector.clipped_variances(amplitudes[clipped], bg, negative)[0]
    pb = projector.matrix[bg]
    cov += (pb * solution["prior_shape"]) @ pb.T
    return cov.reshape(cov.shape[0], -1)


def _poisson_covariance(projector, amplitudes, solution, clipped, negative=None):
    """Poisson covariance of the quantified amplitudes, variance of all.

    ``P diag(mu) P^T`` with the chip's fitted model ``mu``, clipped at 0
    for the chips (`clipped`) where it is negative somewhere, plus the
    covariance of one count (see ``Projector.variance_terms``): positive
    definite, so no standard deviation is 0, in the composition either.
    """
    cov = projector.covariance(amplitudes, solution["covariance_tensor"])
    var_all = amplitudes @ solution["variance_tensor"]
    if clipped.size:
        cov[clipped], var_all[clipped] = projector.clipped_variances(
            amplitudes[clipped], solution["rows"], negative
        )
    cov += solution["prior_covariance"]
    var_all += solution["prior_variance"]
    return cov, var_all


#: Seconds the BLAS limit outlives a block (see ``single_threaded_blas``).
LINGER = 0.1


def quantify_block(spectra, n_pixels, solution, params, checked=False, integer=False):
    """Fit and quantify the chips of one block (BLAS single-threaded).

    See :func:`_quantify_block`. `spectra` hold the channels of the
    request's fit range; the channels the solution dropped (the fit starts
    where the summed spectrum says, ``solution["trim"]``) are left out here.
    `checked`: the caller vouches that the spectra are finite and >= 0
    (sums of unsigned counts), so they are not checked again; `integer`,
    that float spectra hold whole numbers (``Projector.fit_single``).
    """
    spectra = np.asarray(spectra)[..., solution.get("trim", slice(None))]
    lead = spectra.shape[:-1]
    flat = spectra.reshape(-1, spectra.shape[-1])
    npix = np.asarray(n_pixels).reshape(-1)
    # Rows of a thousand chips keep the float temporaries in cache. The limit
    # lingers a moment: dask's next task of a lazy fit comes straight after.
    with single_threaded_blas(linger=LINGER):
        parts = [
            _quantify_block(
                flat[i : i + ROWS],
                npix[i : i + ROWS],
                solution,
                params,
                checked,
                integer,
            )
            for i in range(0, max(flat.shape[0], 1), ROWS)
        ]
    packed = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
    return packed.reshape(lead + (packed.shape[-1],))


def _quantify_block(spectra, n_pixels, solution, params, checked=False, integer=False):
    """Fit and quantify the chips of one block.

    Parameters
    ----------
    spectra : numpy.ndarray
        (..., n_channels) chip spectra over the fit channels.
    n_pixels : numpy.ndarray
        (...) pixels per chip (for the dose of zeta and cross sections).
    solution : dict
        From :func:`~hyperspy_chipping.quantification._fit.solve_model`.
    params : dict
        ``method``, ``factors``, ``convention`` (``"family"`` or ``"line"``),
        ``elements``, ``pixel_dose`` (electrons per pixel, per m2 for cross
        sections), ``thickness``, ``take_off_angle``.

    Returns
    -------
    numpy.ndarray
        (..., n_out) packed results, see :func:`layout`.
    """
    lead = spectra.shape[:-1]
    raw = np.asarray(spectra)
    if raw.size and not checked and not np.issubdtype(raw.dtype, np.unsignedinteger):
        bad = raw.min() < 0
        if np.issubdtype(raw.dtype, np.floating):
            bad = bad or not np.isfinite(raw).all()
    else:
        bad = False
    if bad:
        raise ValueError(
            "The chip spectra contain NaN, infinite or negative counts; EDS "
            "counts must be finite and >= 0."
        )
    npix = np.asarray(n_pixels, dtype=float).reshape(-1)
    projector = solution["projector"]
    rows = solution["rows"]
    families = [solution["families"][r] for r in rows]
    # Family amplitudes are family intensities; a main line is a fixed part.
    scale = np.array(
        [1.0 if params["convention"] == "family" else f.main_fraction for f in families]
    )
    raw = raw.reshape(-1, raw.shape[-1])
    if solution["exspy_like"]:  # exspy's own least squares, in float64
        flat = raw.astype(np.float64)
        amplitudes = projector.fit(flat)
        counts = flat.sum(axis=1, dtype=np.float64)
    else:
        amplitudes, counts, flat = projector.fit_single(raw, integer)
    inten = amplitudes[:, rows] * scale
    chi2, clipped, negative = projector.reduced_chi2(
        flat,
        amplitudes,
        return_rows=True,
        n_peaks=len(solution["families"]),
        background=solution["background_shape"],
    )
    # A chip without a count in the fit range has nothing for a fit to
    # miss: its chi-squared (0) would read as a perfect fit.
    chi2[counts == 0] = np.nan
    cov, var_all = _poisson_covariance(
        projector, amplitudes, solution, clipped, negative
    )
    cov *= np.outer(scale, scale)
    # Currie's limits from the same covariance (see _detection).
    tensor = solution["covariance_tensor"].reshape(-1, len(rows), len(rows))
    n_lines = len(rows)
    gain = tensor[rows, np.arange(n_lines), np.arange(n_lines)] * scale
    floor = np.diagonal(solution["prior_covariance"]) * scale**2
    var0 = zero_signal_variance(_var(cov), inten, gain, floor)
    critical, limit = currie_limits(np.sqrt(var0), gain)
    method = params["method"]
    # Theoretical k-factors at the fit's window (_kfactor_window.py).
    factors = solution.get("factors", params["factors"])
    dose = None
    if method == "zeta":
        dose = params["pixel_dose"] * npix
    elif method == "cross_section":
        dose = np.full(npix.shape, params["pixel_dose"])
    with np.errstate(invalid="ignore", divide="ignore"):
        out = quantify(
            inten,
            cov,
            method,
            factors,
            params["elements"],
            dose=dose,
            thickness=params["thickness"],
            energies=np.array([f.main_energy for f in families]),
            take_off_angle=params["take_off_angle"],
            clip_negative=not solution["exspy_like"],
            masses=params.get("masses"),
        )
    # Too weak to quantify: no quantified line above its detection limit, or
    # a map too weak to check the calibration (see solve_model).
    weak = ~(inten > limit).any(axis=1) | solution.get("unchecked", False)
    for key in ("weight", "atomic"):
        out[key][weak] = np.nan
        out[f"{key}_cov"][weak] = np.nan
    atomic_factors = method_factors(
        method, factors, params["elements"], masses=params.get("masses")
    )[1]
    limit_percent = 100 * limit_fractions(
        limit, inten, atomic_factors, out.get("absorption", 1.0)
    )
    parts = [
        inten,
        np.sqrt(_var(cov)),
        out["atomic"] * 100,
        _std(out["atomic_cov"]) * 100,
        out["weight"] * 100,
        _std(out["weight_cov"]) * 100,
        chi2[:, None],
        counts[:, None],
        amplitudes,
        np.sqrt(var_all),
        critical,
        limit,
        limit_percent,
        inten > critical,
        weak[:, None],
    ]
    if method == "zeta":
        parts.append(out["mass_thickness"][:, None])
    if solution["background"] == "polynomial":
        parts.append(
            _background_covariance(projector, amplitudes, solution, clipped, negative)
        )
    packed = np.concatenate(parts, axis=1)
    return packed.reshape(lead + (packed.shape[1],))
