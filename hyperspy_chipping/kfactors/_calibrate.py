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
"""Family k-factors calibrated on chips of known composition.

Each region (a set of chips of known composition) is fitted with the very
model ``quantify_chips`` uses — the same calibration on the summed spectrum of
all chips, the same projector — applied to the region's summed spectrum (the
model is linear, so that is the sum of the chips' fits). Cliff-Lorimer says
``k_A I_rA = s_r w_rA`` in region ``r`` (``w``: weight fractions, ``s_r`` an
unknown scale per region), i.e.

    log k_A - log s_r = log(w_rA / I_rA),

one equation per element and region. With ``log k_ref = 0`` these are solved
by generalised least squares, weighted by the Poisson covariance of the
fitted intensities (``cov(I_A, I_B) / (I_A I_B)`` in log space), so that
regions sharing elements (O in SrTiO3 and LaFeO3) are combined and every
k-factor gets its counting uncertainty.
"""

from __future__ import annotations

import numbers

import dask
import dask.array as da
import numpy as np

from hyperspy_chipping.chipping._table import flat_chip_index, require_chipping
from hyperspy_chipping.fitting._families import split_xray_line
from hyperspy_chipping.kfactors._tables import KFactors


def _check_composition(i, composition) -> dict:
    from exspy.material import elements as elements_db

    where = "`composition`" if i is None else f"`composition[{i}]`"
    if not isinstance(composition, dict):
        raise TypeError(
            f"{where} must be a dict element -> at %, got {type(composition).__name__}."
        )
    if len(composition) < 1:
        raise ValueError(f"{where} is empty: give element -> at % of the region.")
    out = {}
    for element, value in composition.items():
        if not isinstance(element, str) or element not in elements_db:
            raise ValueError(f"{where} has the unknown element {element!r}.")
        if (
            isinstance(value, (bool, np.bool_))
            or not isinstance(value, numbers.Real)
            or not np.isfinite(value)
            or value <= 0
        ):
            raise ValueError(
                f"{where}[{element!r}] must be a positive at %, got {value!r}."
            )
        out[element] = float(value)
    total = sum(out.values())
    return {el: v / total for el, v in out.items()}


def _region_index(signal, i, where) -> np.ndarray:
    """Positions (flat, data order) of the chips of one region."""
    name = "`where`" if i is None else f"`where[{i}]`"
    meta = signal.metadata.Chipping
    nav_shape = signal.data.shape[:-1]
    full = np.asarray(flat_chip_index(signal)).reshape(-1)
    arr = np.asarray(where) if not isinstance(where, numbers.Integral) else None
    if arr is not None and arr.dtype == bool:
        if arr.shape != tuple(nav_shape):
            raise ValueError(
                f"{name}: a boolean mask must have the chips' navigation shape "
                f"{tuple(nav_shape)} (data order: rows, columns), got {arr.shape}."
            )
        index = np.flatnonzero(arr.reshape(-1))
    else:
        if isinstance(where, numbers.Integral) and not isinstance(where, bool):
            if meta.get_item("scheme") == "labels":
                labels = list(np.asarray(meta.labels).tolist())
                if int(where) not in labels:
                    raise ValueError(
                        f"{name}: label {int(where)} is not among the chip labels "
                        f"{labels}."
                    )
                ids = np.array([labels.index(int(where))])
            else:
                ids = np.array([int(where)])
        elif arr is not None and arr.dtype.kind in "iu" and arr.ndim == 1:
            ids = arr.astype(np.int64)
        else:
            raise TypeError(
                f"{name} must be a boolean mask of the chips' navigation shape, a "
                f"list of chip ids or a label, got {where!r}."
            )
        position = {int(c): p for p, c in enumerate(full)}
        missing = [int(c) for c in ids if int(c) not in position]
        if missing:
            raise ValueError(
                f"{name}: chip id(s) {missing[:5]} are not among this signal's "
                "chips (chip_id of to_dataframe: index in the complete chip set)."
            )
        index = np.unique([position[int(c)] for c in ids])
    if index.size == 0:
        raise ValueError(f"{name} selects no chip: the region is empty.")
    return index


def parse_regions(signal, composition, where):
    """Normalised compositions (atomic fractions) and chip positions."""
    if isinstance(composition, dict):
        return [_check_composition(None, composition)], [
            _region_index(signal, None, where)
        ]
    if not isinstance(composition, (list, tuple)) or not composition:
        raise TypeError(
            "`composition` must be a dict element -> at % or a non-empty list "
            f"of them, got {composition!r}."
        )
    if not isinstance(where, (list, tuple)) or len(where) != len(composition):
        raise ValueError(
            f"`where` must be a list of {len(composition)} regions, one per "
            f"composition, got {where!r}."
        )
    comps = [_check_composition(i, c) for i, c in enumerate(composition)]
    regions = [_region_index(signal, i, w) for i, w in enumerate(where)]
    return comps, regions


def region_intensities(signal, lines, regions, refine=True):
    """Family intensities and their covariance in each region's summed spectrum.

    Fitted with the model of ``quantify_chips(kfactors)`` for the same lines.

    Returns
    -------
    intensities : numpy.ndarray
        (n_regions, n_lines) family intensities (counts).
    covariance : numpy.ndarray
        (n_regions, n_lines, n_lines) their Poisson covariance.
    counts : numpy.ndarray
        (n_regions,) counts in the fit range.
    lines : list of str
        The lines, in the order of the columns.
    """
    from hyperspy_chipping.quantification._calibration_sum import calibration_subset
    from hyperspy_chipping.quantification._fit import solve_model
    from hyperspy_chipping.quantification._run import parse_request

    request, prep, _ = parse_request(
        signal,
        {line: 1.0 for line in lines},
        method="CL",
        intensity="family",
        model="family",
        composition="atomic",
        background=None,
        background_order=None,
        energy_range=None,
        thickness=None,
        absorption_correction=False,
        refine=refine,
    )
    channels = prep["channels"]
    fit = slice(int(channels[0]), int(channels[-1]) + 1)
    data = signal.data
    nav_shape = data.shape[:-1]
    n_chips = int(np.prod(nav_shape))
    masks = np.zeros((len(regions), n_chips))
    for r, index in enumerate(regions):
        masks[r, index] = 1.0
    subset_axes = tuple(range(len(nav_shape)))
    if isinstance(data, da.Array):
        spectra = data[..., fit]
        total = spectra[calibration_subset(nav_shape)].sum(
            axis=subset_axes, dtype=float
        )
        flat = spectra.reshape(n_chips, spectra.shape[-1]).astype(float)
        sums = da.dot(da.from_array(masks), flat)
        total, sums = dask.compute(total, sums)
    else:
        spectra = np.asarray(data)[..., fit]
        total = spectra[calibration_subset(nav_shape)].sum(
            axis=subset_axes, dtype=float
        )
        sums = masks @ spectra.reshape(n_chips, -1).astype(float)
    solution = solve_model(total, prep, request["refine"])
    sums = sums[:, solution.get("trim", slice(None))]  # where the fit starts
    amplitudes = solution["projector"].fit(sums)
    cov = solution["projector"].covariance(amplitudes, solution["covariance_tensor"])
    intensities = amplitudes[:, solution["rows"]]
    return intensities, cov, sums.sum(axis=1), list(request["xray_lines"])


def solve_kfactors(compositions, intensities, covariance, lines, reference):
    """k-factors from region intensities by generalised least squares.

    Parameters
    ----------
    compositions : list of dict
        Atomic fractions per region (element -> fraction).
    intensities : numpy.ndarray
        (n_regions, n_lines) family intensities.
    covariance : numpy.ndarray
        (n_regions, n_lines, n_lines) their covariance.
    lines : list of str
        The line of every column; one per element.
    reference : str
        The line whose k-factor is 1.

    Returns
    -------
    dict, dict
        Line -> k-factor and line -> relative standard uncertainty, for every
        line of an element in some composition.

    Raises
    ------
    ValueError
        If a region has no counts in a line of its composition, or the
        regions do not link every element to the reference.

    Examples
    --------
    One region of FeO (50:50 at %) with 1000 Fe and 500 O counts: weight
    fractions 0.777 and 0.223, ``k_O = (w_O / I_O) / (w_Fe / I_Fe)``:

    >>> k, u = solve_kfactors([{"Fe": 0.5, "O": 0.5}], np.array([[1000.0, 500.0]]),
    ...                       np.diag([1000.0, 500.0])[None], ["Fe_Ka", "O_Ka"],
    ...                       "Fe_Ka")
    >>> round(k["O_Ka"], 4), round(u["O_Ka"], 4)
    (0.573, 0.0548)
    """
    from hyperspy_chipping.quantification._composition import atomic_masses

    element_of = {split_xray_line(line)[0]: j for j, line in enumerate(lines)}
    used = sorted(
        {element_of[el] for comp in compositions for el in comp},
    )
    ref = lines.index(reference)
    unknown_k = [j for j in used if j != ref]
    n_k = len(unknown_k)
    rows, obs, cov_blocks = [], [], []
    for r, comp in enumerate(compositions):
        elements = list(comp)
        masses = atomic_masses(elements)
        wt = np.array([comp[e] for e in elements]) * masses
        wt = wt / wt.sum()
        cols = [element_of[e] for e in elements]
        inten = intensities[r, cols]
        std = np.sqrt(np.clip(np.diagonal(covariance[r])[cols], 0, None))
        # No significant counts: the line is not there (or the region empty).
        bad = [
            f"{lines[c]} ({float(i):.1f} +- {float(e):.1f})"
            for c, i, e in zip(cols, inten, std)
            if not i > 2 * e or not i > 0
        ]
        if bad:
            raise ValueError(
                f"Region {r} (`where[{r}]`) has no significant counts in "
                f"{', '.join(bad)}: it cannot calibrate them; check `where` and "
                "`composition`."
            )
        for e, c, w, i in zip(elements, cols, wt, inten):
            row = np.zeros(n_k + len(compositions))
            if c != ref:
                row[unknown_k.index(c)] = 1.0
            row[n_k + r] = -1.0
            rows.append(row)
            obs.append(np.log(w / i))
        block = covariance[r][np.ix_(cols, cols)] / np.outer(inten, inten)
        cov_blocks.append(block)
    design = np.array(rows)
    obs = np.array(obs)
    n_obs = obs.size
    cov = np.zeros((n_obs, n_obs))
    start = 0
    for block in cov_blocks:
        n = block.shape[0]
        cov[start : start + n, start : start + n] = block
        start += n
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise ValueError(
            "The regions do not determine every k-factor relative to the reference "
            f"{reference}: each region must share an element with the others (or "
            "hold the reference), and hold at least two elements."
        )
    # GLS; a tiny ridge on the diagonal keeps noise-free data solvable.
    cov = cov + np.eye(n_obs) * 1e-12 * max(np.abs(np.diag(cov)).max(), 1e-300)
    w = np.linalg.inv(cov)
    normal = design.T @ w @ design
    params_cov = np.linalg.inv(normal)
    params = params_cov @ design.T @ w @ obs
    kfactors = {lines[ref]: 1.0}
    unc = {lines[ref]: 0.0}
    for n, j in enumerate(unknown_k):
        kfactors[lines[j]] = float(np.exp(params[n]))
        unc[lines[j]] = float(np.sqrt(max(params_cov[n, n], 0.0)))
    order = sorted(kfactors)
    return {k: kfactors[k] for k in order}, {k: unc[k] for k in order}


def _default_reference(lines, intensities, compositions):
    """Fe_Ka if calibrated, else the line with the most counts."""
    elements = {el for comp in compositions for el in comp}
    candidates = [line for line in lines if split_xray_line(line)[0] in elements]
    if "Fe_Ka" in candidates:
        return "Fe_Ka"
    totals = {
        line: float(intensities[:, lines.index(line)].clip(0).sum())
        for line in candidates
    }
    return max(totals, key=totals.get)


def calibrate(signal, composition, where, *, reference=None, refine=True):
    """See :meth:`~hyperspy_chipping.signals.ChippedEDSSpectrum.calibrate_kfactors`."""
    require_chipping(signal)
    compositions, regions = parse_regions(signal, composition, where)
    md = signal.metadata
    elements = list(md.get_item("Sample.elements", []))
    needed = sorted({el for comp in compositions for el in comp})
    absent = [el for el in needed if el not in elements]
    if absent:
        raise ValueError(
            f"`composition` has {absent}, not in metadata.Sample.elements "
            f"{elements}: add them with add_elements()."
        )
    xray_lines = list(md.get_item("Sample.xray_lines", []))
    by_element = {split_xray_line(x)[0]: x for x in xray_lines}
    lines = sorted(set(xray_lines) | {by_element.get(el, el) for el in needed})
    if reference is not None:
        if not isinstance(reference, str):
            raise TypeError(
                f"`reference` must be a line such as 'Fe_Ka', got {reference!r}."
            )
        ref_el = reference if "_" not in reference else split_xray_line(reference)[0]
        if ref_el not in needed:
            raise ValueError(
                f"`reference` {reference!r}: {ref_el} is in no `composition` "
                f"(elements {needed})."
            )
    intensities, cov, counts, fitted = region_intensities(
        signal, lines, regions, refine=refine
    )
    fitted_of = {split_xray_line(x)[0]: x for x in fitted}
    if reference is None:
        reference = _default_reference(fitted, intensities, compositions)
    else:
        reference = fitted_of[ref_el]
    kfactors, unc = solve_kfactors(compositions, intensities, cov, fitted, reference)
    beam = float(md.get_item("Acquisition_instrument.TEM.beam_energy", 300.0))
    full = np.asarray(flat_chip_index(signal)).reshape(-1)
    cols = [fitted.index(x) for x in kfactors]
    provenance = {
        "kfactors": dict(kfactors),
        "relative_uncertainty": dict(unc),
        "reference": reference,
        "convention": "family",
        "beam_energy": beam,
        "compositions": [{el: 100.0 * v for el, v in c.items()} for c in compositions],
        "regions": [full[index].astype(np.int64).tolist() for index in regions],
        "lines": list(kfactors),
        "intensities": intensities[:, cols],
        "intensities_std": np.sqrt(
            np.clip(np.diagonal(cov, axis1=1, axis2=2), 0, None)
        )[:, cols],
        "counts": np.asarray(counts, dtype=float),
    }
    md.set_item("Chipping.KFactors", provenance)
    return KFactors(
        kfactors,
        convention="family",
        relative_uncertainty=unc,
        reference=reference,
        beam_energy=beam,
        detector=md.get_item("Acquisition_instrument.TEM.Detector.EDS.detector_type"),
        source="calibrated",
        notes=(
            f"calibrated by calibrate_kfactors on {len(regions)} region(s) of "
            "known composition; uncertainties from the counts"
        ),
    )
