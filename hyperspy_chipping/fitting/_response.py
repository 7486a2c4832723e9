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
"""The detector's low-energy response, refined on the summed spectrum.

Below ~1 keV the detected spectrum is shaped by the detector's entrance (its
window, its Si dead layer, ice, the support grid): the nominal entrance of
the model (:data:`~._xray_families.DETECTOR_LAYERS`: 300 nm polyimide, 40 nm
Al, 30 nm Si) is rarely the detector's. A wrong one skews the continuum under
O Kα and the detected shapes of the low-energy families (Ti L, Fe L, La M),
and the composition with them. The entrance is refined here as three
bounded, physical thicknesses (:data:`~._design.WINDOW_LAYERS`): the polymer
window (0-3 times nominal), a Si3N4 window (0-400 nm) and the Si dead layer
(0-100 nm), every line weight and the continuum multiplied by their relative
transmission.

They are fitted to the channels of the continuum only, more than 1.5 FWHM
from every line: the continuum's shape is what the entrance sets, while
near the lines a misfit of the tabulated sub-line ratios (which differ
between databases by more than the entrance changes them) would be taken
for absorption. Measured on simulations built on other line tables and
detectors (``docs/user_guide/real_data.rst``): a fit to every channel
chose a 200 nm dead layer for a Si3N4 window and put O 4 % off; the
continuum fit found the nitride and kept every element within ~1 %. An
entrance that fits the whole spectrum worse than the nominal one is not
used: then the polymer's thickness alone is refined on every channel (on
exspy's FePt spectrum the continuum asked for no polymer and moved Fe/Pt
by 1.2 %; the whole spectrum prefers 0.77 of it).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

from hyperspy_chipping.fitting._calibrate import _wls
from hyperspy_chipping.fitting._design import (
    WINDOW_BOUNDS,
    as_window,
    background_basis,
    detected_continuum,
    layer_depths,
    nominal_window,
    peak_columns,
    window_factor,
)
from hyperspy_chipping.fitting._xray_families import LOW_ENERGY_CUTOFF

#: Channels nearer than this many FWHM to a line (of more than
#: :data:`LINE_MIN_WEIGHT` of its family) are left out of the window's fit.
LINE_MARGIN = 1.5
LINE_MIN_WEIGHT = 0.01
#: A refined entrance is *significant* when it lowers the continuum's
#: chi-squared (in units of its reduced value) by more than this: the 1 %
#: point of a chi-squared of three degrees of freedom.
SIGNIFICANT_GAIN = 11.34
#: Step (of each parameter's scale) of the numerical derivatives.
_SCALES = np.array([0.3, 30.0, 10.0])
#: Widths of a weak prior on the nominal entrance (polymer scale, Si3N4 nm,
#: dead layer nm). A Si3N4 window and a Si dead layer absorb alike but for
#: N's edge (both hold Si), and the polymer's edges sit under the lines: where
#: the continuum cannot tell the layers apart, the prior keeps the nominal
#: ones, and it costs a few chi-squared units where it can (measured: a
#: polymer-only detector fitted as 28 nm Si3N4 on a 1 nm dead layer without
#: it, O's theoretical k-factor 8 % off). A narrower dead-layer width (30 nm)
#: pulled a 100 nm dead layer to 45 nm (theoretical k-factors 11.5 % off,
#: 9.3 % at 50 nm).
PRIOR_WIDTHS = np.array([1.0, 100.0, 50.0])
#: Further starting entrances (polymer scale, Si3N4 nm, dead layer nm): a
#: Si3N4 window and no window. The layers trade against each other, and
#: from the nominal entrance the solver can stop at a corner of the bounds
#: (measured: no window and a 100 nm dead layer, continuum chi-squared 2712,
#: where 220 nm of Si3N4 gives 2036; the metals of an STO chip 4.9 % off).
#: They are tried when the first solution holds a layer at a bound.
OTHER_STARTS = ((0.0, 100.0, 30.0), (0.0, 0.0, 30.0))


def scaled_families(families, window):
    """`families` with every line weight times the relative transmission of
    the detector entrance `window` (each family renormalised).

    Examples
    --------
    >>> from hyperspy_chipping.fitting._families import physics_families
    >>> ti = physics_families(["Ti"], 300.0, (0.2, 20.0))
    >>> [round(float(f.weights.sum()), 6) for f in scaled_families(ti, 0.0)]
    [1.0, 1.0]
    """
    from hyperspy_chipping.fitting._artefacts import ArtefactFamily

    if as_window(window) == nominal_window():
        return list(families)
    # (An artefact's photons crossed the window at their parent's energy.)
    return [
        f
        if isinstance(f, ArtefactFamily)
        else f.with_weights(f.weights * window_factor(f.energies, window))
        for f in families
    ]


class EntranceDesign:
    """The design matrix of `families` and a background for any detector
    entrance, at a fixed calibration.

    Each line's profile, the continuum and the optical depth of each layer
    at every line and channel are computed once; for an entrance, a family's
    column is its lines' profiles weighed as :func:`scaled_families` weighs
    them, and the continuum is scaled by the entrance's transmission: what
    ``design_matrix(scaled_families(families, window), ..., window=window)``
    gives, without evaluating every line again for each entrance tried.

    Examples
    --------
    >>> from hyperspy_chipping.fitting._calibrate import design_matrix
    >>> from hyperspy_chipping.fitting._design import Calibration
    >>> from hyperspy_chipping.fitting._families import physics_families
    >>> fams = physics_families(["Fe", "O"], 300.0, (0.2, 20.0))
    >>> cal, channels = Calibration(0.0, 0.01, 130.0), np.arange(20, 2000)
    >>> window = (0.5, 50.0, 40.0)
    >>> direct = design_matrix(scaled_families(fams, window), cal, channels,
    ...                        "bremsstrahlung", 3, 300.0, window=window)
    >>> design = EntranceDesign(fams, cal, channels, "bremsstrahlung", 3, 300.0)
    >>> bool(np.allclose(design.columns(window), direct, rtol=1e-10, atol=1e-15))
    True
    >>> direct = design_matrix(scaled_families(fams, window), cal, channels,
    ...                        "polynomial", 3, 300.0, window=window)
    >>> design = EntranceDesign(fams, cal, channels, "polynomial", 3, 300.0)
    >>> bool(np.allclose(design.columns(window), direct, rtol=1e-10, atol=1e-15))
    True
    """

    def __init__(self, families, calibration, channels, background, order, beam):
        from hyperspy_chipping.fitting._artefacts import ArtefactFamily

        # The background at the nominal entrance, its continuum unnormalised
        # (an entrance multiplies the continuum by its transmission, and the
        # basis is renormalised to its maximum), and each layer's optical
        # depth per unit at every channel.
        energy = calibration.centres(channels)
        domain = (energy.min(), energy.max())
        self.basis = background_basis(
            background, energy, domain, energy, beam, order, norm=1.0
        )
        self.depths = None
        if background == "bremsstrahlung":
            safe = np.clip(energy, LOW_ENERGY_CUTOFF, None)
            self.continuum = detected_continuum(safe, beam)
            self.depths = layer_depths(safe)
        self.families = list(families)
        singles = [
            f.with_weights(np.eye(len(f.weights))[i])
            for f in self.families
            for i in range(len(f.weights))
        ]
        self.profiles = peak_columns(singles, calibration, channels)
        self.split = np.cumsum([len(f.weights) for f in self.families])[:-1]
        self.energies = np.concatenate(
            [np.asarray(f.energies, float) for f in self.families] or [np.empty(0)]
        )
        self.scaled = [not isinstance(f, ArtefactFamily) for f in self.families]
        self.line_depths = layer_depths(self.energies)

    def columns(self, window) -> np.ndarray:
        """(n_channels, n_families + order + 1): peaks, then background."""
        bg = self.basis
        if self.depths is not None:
            transmission = _transmission(self.depths, window)
            scale = transmission / (self.continuum * transmission).max()
            bg = bg * scale[:, None]
        return np.hstack([self.peaks(window), bg])

    def peaks(self, window) -> np.ndarray:
        """(n_channels, n_families) peak columns through `window`."""
        weights = [np.asarray(f.weights, float) for f in self.families]
        if as_window(window) != nominal_window():
            transmission = _transmission(self.line_depths, window)
            factors = np.split(transmission, self.split)
            weights = [
                w * t / (w * t).sum() if scaled else w
                for w, t, scaled in zip(weights, factors, self.scaled)
            ]
        out = np.zeros((self.profiles.shape[0], len(self.families)))
        for j, part in enumerate(np.split(self.profiles, self.split, axis=1)):
            out[:, j] = part @ weights[j]
        return out


def _transmission(depths, window) -> np.ndarray:
    """:func:`~._design.window_factor` from :func:`~._design.layer_depths`."""
    change = np.subtract(as_window(window), nominal_window())
    return np.exp(-(change @ depths))


def continuum_channels(families, calibration, channels) -> np.ndarray:
    """Whether each fit channel is more than :data:`LINE_MARGIN` FWHM from
    every line of `families` (the channels the entrance is fitted to).

    Examples
    --------
    >>> from hyperspy_chipping.fitting._design import Calibration
    >>> from hyperspy_chipping.fitting._families import physics_families
    >>> fe = physics_families(["Fe"], 300.0, (0.2, 20.0))
    >>> keep = continuum_channels(fe, Calibration(0.0, 0.01, 130.0), np.arange(2000))
    >>> bool(keep[300]), bool(keep[640])  # 3 keV: continuum; 6.4 keV: Fe Ka
    (True, False)
    """
    energy = calibration.centres(channels)
    keep = np.ones(energy.shape, dtype=bool)
    for f in families:
        fwhm = f.fwhm if f.fwhm is not None else calibration.fwhm(f.energies)
        fwhm = np.broadcast_to(np.asarray(fwhm, dtype=float), f.energies.shape)
        for e, w, width in zip(f.energies, f.weights, fwhm):
            if w > LINE_MIN_WEIGHT * f.weights.sum():
                keep &= np.abs(energy - e) > LINE_MARGIN * width
    return keep


def refine_window(
    spectrum, weights, families, calibration, channels, background, order, beam_energy
):
    """The detector entrance that best fits `spectrum`.

    First the three layers (:data:`~._design.WINDOW_LAYERS`), on the
    continuum: variable projection (for each entrance the amplitudes are the
    weighted least-squares fit of every channel) minimising the weighted
    residual over the continuum channels (:func:`continuum_channels`) and a
    weak prior (:data:`PRIOR_WIDTHS`), within :data:`~._design.WINDOW_BOUNDS`,
    from the nominal entrance (and, if that solution holds a layer at a
    bound, from :data:`OTHER_STARTS` too: the lowest cost wins). The nominal
    entrance is kept if the refined one does not fit the continuum
    significantly better
    (:data:`SIGNIFICANT_GAIN`), the refined one if it also fits the whole
    spectrum at least as well as the nominal one. If not, the continuum holds
    more than the entrance makes of it (a real spectrum's continuum also
    holds the tails of strong peaks and stray radiation, which a thinner
    window would be taken for), and the three layers are fitted again to
    every channel, from the nominal entrance, the continuum's solution and
    :data:`OTHER_STARTS`; that entrance is kept if it fits every channel
    significantly better than the nominal one, else the nominal one.

    Parameters
    ----------
    spectrum : numpy.ndarray
        Counts in the fit channels (the summed spectrum).
    weights : numpy.ndarray
        Channel weights ``1 / model``.
    families : list of Family
        Families at the nominal entrance.
    calibration : Calibration
        Refined calibration.
    channels : numpy.ndarray
        Fit channels.
    background, order, beam_energy
        Background model.

    Returns
    -------
    tuple of float
        The entrance (:func:`~._design.as_window`).
    dict
        ``method`` (``"continuum"`` or ``"spectrum"``: the channels
        fitted), ``std`` (of each parameter: from the curvature of the
        chi-squared, times its reduced value when above 1), ``chi2`` and
        ``chi2_nominal`` (of every channel), ``n_channels`` (those the
        entrance was fitted to) and ``significant`` (whether the entrance
        fits significantly better than the nominal one).
    """
    y = np.asarray(spectrum, dtype=float)
    w = np.asarray(weights, dtype=float)
    design = EntranceDesign(
        families, calibration, channels, background, order, beam_energy
    )

    def residual(p):
        a = design.columns(tuple(p))
        return np.sqrt(w) * (y - a @ _wls(a, y, w)[0])

    start = np.array(nominal_window())
    r0 = residual(start)
    chi2_nominal = float(r0 @ r0)
    keep = continuum_channels(families, calibration, channels)
    window = None
    if keep.sum() > 2 * start.size:
        window, info = _continuum_fit(residual, keep, start, r0)
        info.update(chi2_nominal=chi2_nominal, method="continuum")
        if not info["significant"]:
            # The nominal entrance fits as well: the refined one would add
            # nothing but its noise.
            return tuple(float(v) for v in start), dict(info, chi2=chi2_nominal)
        r = residual(np.array(window))
        if float(r @ r) <= chi2_nominal:
            return window, dict(info, chi2=float(r @ r))
    # Every channel, the three layers again: from the nominal entrance, the
    # continuum's solution and the other starts (the continuum alone can
    # lead far off: measured on a Bruker TEM map with C named, 1.6 x the
    # polymer and no Si3N4 on the continuum, chi-squared 7942 on every
    # channel, against 5770 for no polymer and 60 nm of Si3N4).
    starts = [window] if window is not None else []
    window, info = _continuum_fit(
        residual, np.ones(y.size, dtype=bool), start, r0, starts + list(OTHER_STARTS)
    )
    info.update(chi2_nominal=chi2_nominal, method="spectrum")
    if not info["significant"]:
        return tuple(float(v) for v in start), dict(info, chi2=chi2_nominal)
    r = residual(np.array(window))
    return window, dict(info, chi2=float(r @ r))


def _continuum_fit(residual, keep, start, r0, starts=None):
    """The three layers fitted to the channels `keep` (the continuum's).

    From `start` (the nominal entrance, which the prior holds them to) and,
    if that solution holds a layer at a bound, from :data:`OTHER_STARTS`;
    or from `start` and every one of `starts` if given. The lowest cost wins.
    """
    lo, hi = np.array(WINDOW_BOUNDS).T
    # The prior in units of the continuum's noise: a misfit (reduced
    # chi-squared above 1) weakens every channel's say alike.
    chi2_nominal = float(r0[keep] @ r0[keep])
    prior = np.sqrt(max(1.0, chi2_nominal / keep.sum())) / PRIOR_WIDTHS

    def objective(p):
        return np.concatenate([residual(p)[keep], (p - start) * prior])

    # Converged far below the entrance's uncertainty: maps that differ by
    # round-off (a lazy and an eager one) give the same entrance.
    def solve(x0):
        return least_squares(
            objective, x0, bounds=(lo, hi), x_scale=_SCALES, diff_step=1e-3
        )

    fit = solve(start)
    if starts is None and np.any(np.isclose(fit.x, lo) | np.isclose(fit.x, hi)):
        starts = OTHER_STARTS
    for other in starts or ():
        candidate = solve(np.clip(np.array(other, dtype=float), lo, hi))
        if candidate.cost < fit.cost:
            fit = candidate
    data = fit.fun[: -start.size]
    chi2 = float(data @ data)
    chi2_red = max(1.0, chi2 / max(1, keep.sum() - start.size))
    # The curvature at the solution, by steps into the bounds (the solver's
    # own Jacobian is 0 for a parameter held at a bound), with the prior's.
    jac = np.empty((data.size, start.size))
    for k in range(start.size):
        step = 0.01 * _SCALES[k]
        step = step if fit.x[k] + step <= hi[k] else -step
        p = fit.x.copy()
        p[k] += step
        jac[:, k] = (residual(p)[keep] - data) / step
    curvature = jac.T @ jac / chi2_red + np.diag(prior**2)
    std = np.sqrt(np.diag(np.linalg.inv(curvature)))
    gain = (chi2_nominal - chi2) / chi2_red
    return tuple(float(v) for v in fit.x), {
        "std": [float(v) for v in std],
        "n_channels": int(keep.sum()),
        "significant": bool(gain > SIGNIFICANT_GAIN),
    }


def response_metadata(window, window_fit) -> dict:
    """What ``metadata.Chipping.Quantification.Detector_response`` holds.

    The entrance `window` (see :func:`~._design.as_window`) and, when it was
    refined, what :func:`refine_window` reported of the fit.

    Examples
    --------
    >>> response_metadata(1.0, None)["dead_layer_nm"]
    30.0
    """
    polymer, nitride, dead = as_window(window)
    out = {
        "window_scale": polymer,
        "window": "polymer window thickness / nominal (300 nm polyimide)",
        "nitride_nm": nitride,
        "dead_layer_nm": dead,
    }
    if window_fit is not None:  # refined by refine_window
        keys = ("window_scale", "nitride_nm", "dead_layer_nm")
        for key, std in zip(keys, window_fit["std"]):
            out[f"{key}_std"] = std
        out["method"] = window_fit["method"]
        out["significant"] = window_fit["significant"]
        out["chi2"] = window_fit["chi2"]
        out["chi2_nominal"] = window_fit["chi2_nominal"]
        out["fit_channels"] = window_fit["n_channels"]
    return out
