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
"""The fitted chip model as a HyperSpy model, to look at with the usual tools."""

from __future__ import annotations

import warnings

import numpy as np

from hyperspy_chipping.chipping._table import flat_chip_index
from hyperspy_chipping.fitting._artefacts import ArtefactFamily
from hyperspy_chipping.fitting._components import (
    Bremsstrahlung,
    DetectorArtefact,
    SiInternalFluorescence,
    XrayLineFamily,
)
from hyperspy_chipping.fitting._design import detected_continuum, kev_per_unit
from hyperspy_chipping.fitting._families import split_xray_line
from hyperspy_chipping.fitting._peak_shape import TAIL_SLOPE_START


def fit_model(signal):
    """Build an ``EDSTEMModel`` of `signal` holding the stored fit of every chip.

    See :meth:`hyperspy_chipping.signals.ChippedEDSSpectrum.get_fit_model`.
    """
    from hyperspy.components1d import Polynomial

    from hyperspy_chipping.quantification._stored import ensure_results

    q = ensure_results(signal, stale="raise")
    if q is None:
        raise ValueError(
            "This signal has not been quantified: call quantify_chips() first."
        )
    axis = signal.axes_manager.signal_axes[0]
    factor = kev_per_unit(axis)
    off0, scale0 = axis.offset * factor, axis.scale * factor
    cal = q.Calibration
    stretch = scale0 / cal.scale
    nav_shape = tuple(a.size for a in signal.axes_manager.navigation_axes)[::-1]
    index = flat_chip_index(signal)
    amplitudes = np.asarray(q.amplitudes)[index].reshape(nav_shape + (-1,))
    # (Results stored before the std were kept: NaN, as HyperSpy has them.)
    amplitudes_std = np.asarray(q.get_item("amplitudes_std", np.nan + q.amplitudes))
    amplitudes_std = amplitudes_std[index].reshape(nav_shape + (-1,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = signal.create_model(auto_background=False, auto_add_lines=False)
    components = []
    for key in q.families:
        fam = q.Families[key]
        # Line positions on the refined axis, mapped to the signal's axis.
        energies = off0 + (np.asarray(fam["energies"]) - cal.offset) * stretch
        shape = (
            (energies / factor).tolist(),
            list(fam["weights"]),
            (np.asarray(fam["fwhm"]) * stretch / factor).tolist(),
        )
        tail = {
            "tail_fraction": float(cal.get_item("tail_fraction", 0.0)),
            "tail_slope": float(cal.get_item("tail_slope", TAIL_SLOPE_START)),
        }
        if fam.get_item("kind") == SiInternalFluorescence().kind:
            comp = SiInternalFluorescence(*shape, **tail)
        elif "kind" in fam:  # a detector artefact of fitted lines
            comp = DetectorArtefact(*shape, fam["kind"], list(fam["parents"]), **tail)
        else:
            comp = XrayLineFamily(*shape, *split_xray_line(key), **tail)
        comp.name = key
        components.append(comp)
    lo, hi = q.energy_range
    # The background polynomials span the fit channels (as in the design).
    fit = axis.axis[(axis.axis * factor >= lo) & (axis.axis * factor <= hi)]
    domain = (fit[0] * factor, fit[-1] * factor)
    order = int(q.background_order)
    shape = list(q.get_item("background_shape", []))
    if q.background == "bremsstrahlung":
        if shape:  # the map's non-negative continuum, corrected per chip
            order = int(q.chip_background_order)
        bg = Bremsstrahlung(
            q.beam_energy,
            order,
            domain,
            q.background_norm * axis.scale,
            factor,
            # The continuum at the refined energy of each channel.
            energy_offset=cal.offset - off0 / stretch,
            energy_gain=1.0 / stretch,
            shape=shape or None,
            window=_refined_window(q),
        )
        params = bg.parameters_sorted()
        coef = amplitudes[..., len(components) :]
        coef_std = amplitudes_std[..., len(components) :]
    else:
        bg = Polynomial(order=order)
        params = [getattr(bg, f"a{k}") for k in range(order + 1)]
        # Chebyshev coefficients over the fit channels -> powers of the axis value.
        cheb = amplitudes[..., len(components) :].reshape(-1, order + 1)
        # (convert() trims trailing zero coefficients: an empty chip's
        # all-zero background would come back shorter; pad it.)
        coef = np.array(
            [
                _padded(
                    np.polynomial.Chebyshev(c, domain=[fit[0], fit[-1]])
                    .convert(kind=np.polynomial.Polynomial)
                    .coef,
                    order + 1,
                )
                for c in cheb
            ]
        ).reshape(amplitudes.shape[:-1] + (order + 1,))
        coef = coef / axis.scale  # HyperSpy multiplies binned models by it
        # The same linear map carries the Chebyshev covariance of every chip.
        to_power = np.zeros((order + 1, order + 1))
        for k in range(order + 1):
            power = (
                np.polynomial.Chebyshev(np.eye(order + 1)[k], domain=[fit[0], fit[-1]])
                .convert(kind=np.polynomial.Polynomial)
                .coef
            )
            to_power[: power.size, k] = power
        n_full = np.asarray(q.amplitudes).shape[0]
        cov = np.asarray(
            q.get_item(
                "background_covariance", np.full((n_full, (order + 1) ** 2), np.nan)
            )
        )[index]
        cov = cov.reshape(-1, order + 1, order + 1)
        var = np.einsum("ik,nkl,il->ni", to_power, cov, to_power)
        coef_std = np.sqrt(var).reshape(coef.shape) / axis.scale
    bg.name = "background"
    for comp in components:
        model.append(comp)
    model.append(bg)
    for i, comp in enumerate(components):
        comp.A.map["values"][:] = amplitudes[..., i]
        comp.A.map["std"][:] = amplitudes_std[..., i]
        comp.A.map["is_set"][:] = True
    for k, param in enumerate(params):
        param.map["values"][:] = coef[..., k]
        param.map["std"][:] = coef_std[..., k]
        param.map["is_set"][:] = True
    model.set_signal_range(lo / factor, hi / factor)
    model.fetch_stored_values()
    # The package's Pearson chi-squared (model variances), per chip, as
    # HyperSpy keeps it: ``dof`` holds the free parameters and ``red_chisq``
    # is ``chisq / (n_channels - dof - 1)``.
    chi2 = np.asarray(q.chi2_red)[index].reshape(nav_shape)
    n_free = len(components) + order + 1
    model.dof.data[:] = n_free
    # HyperSpy divides by the channels of its signal range (value2index
    # rounding at the range ends): use its own count where it has one.
    switches = getattr(model, "_channel_switches", None)
    n_channels = fit.size if switches is None else int(np.count_nonzero(switches))
    model.chisq.data[:] = chi2 * (n_channels - n_free - 1)
    return model


def _padded(coef, size):
    """`coef` with zeros appended up to `size` values."""
    return np.pad(coef, (0, size - len(coef)))


def _refined_window(q):
    """The detector entrance the fit refined (results of earlier versions: a
    polymer scale only)."""
    response = q.get_item("Detector_response")
    if response is None:
        return 1.0
    if response.has_item("nitride_nm"):
        return [
            float(response.window_scale),
            float(response.nitride_nm),
            float(response.dead_layer_nm),
        ]
    return float(response.get_item("window_scale", 1.0))


def model_definition(
    families, calibration, channels, background, beam_energy, shape, window=1.0
):
    """What rebuilds the fitted model as HyperSpy components (the model view)."""
    fams = {}
    for f in families:
        fwhm = f.fwhm if f.fwhm is not None else calibration.fwhm(f.energies)
        fams[f.key] = {
            **(
                {"kind": f.kind, "parents": list(f.parents)}
                if isinstance(f, ArtefactFamily)
                else {}
            ),
            "names": list(f.names),
            "energies": np.asarray(f.energies, float),
            "weights": np.asarray(f.weights, float),
            "fwhm": np.asarray(fwhm, float),
        }
    continuum = detected_continuum(calibration.centres(channels), beam_energy, window)
    return {
        "Families": fams,
        "background_norm": float(continuum.max()),
        "background_shape": [] if shape is None else [float(v) for v in shape],
    }
