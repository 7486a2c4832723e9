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
"""Issue 11: uncertainties, detection limits, negative intensities, low counts.

Expected values come from counting statistics, not from the code: the
reported standard deviations against the chip-to-chip spread of identical
chips, Currie's formulas computed by hand, the Poisson identity of a family
amplitude and its intensity.
"""

import re
import warnings

import numpy as np
import pytest

from hyperspy_chipping.data import sto_lfo_cross_section
from hyperspy_chipping.quantification._detection import (
    CURRIE_K,
    currie_limits,
    limit_fractions,
)

LINES = ["Fe_Ka", "La_La", "O_Ka", "Sr_Ka", "Ti_Ka"]
MASSES = {"Fe": 55.845, "La": 138.905, "O": 15.999, "Sr": 87.62, "Ti": 47.867}


def _uniform_sto(counts_per_chip, size=5, shape=(200, 200), seed=3, **kwargs):
    """SrTiO3 only: every chip is a draw of the same expected spectrum."""
    s = sto_lfo_cross_section(
        shape, counts_per_chip / size**2, seed=seed, film_fraction=0.0, **kwargs
    )
    s.set_signal_type("EDS_TEM_chipped")
    return s


def _quantify(s, size, lazy, **kwargs):
    """Chip, quantify and tabulate; every warning recorded."""
    if lazy:
        s = s.as_lazy()
    chips = s.chip(size)
    k = kwargs.pop("kfactors", None) or s.metadata.Simulation.kfactors.as_dictionary()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        chips.quantify_chips(k, **kwargs)
        df = chips.to_dataframe()
    messages = [str(w.message) for w in record if issubclass(w.category, UserWarning)]
    return chips, df, messages


def _stats(df, column):
    rows = df[~df["low_counts"]] if column.startswith("at_") else df
    rms_std = np.sqrt((rows[f"{column}_std"] ** 2).mean())
    return rms_std / rows[column].std()


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("counts", [50, 200, 1000])
def test_std_matches_spread_and_chi2_is_one_at_three_count_levels(counts, lazy):
    # 1600 chips drawn from one expected spectrum: the chip-to-chip spread IS
    # the standard deviation. The RMS of the reported std must match it.
    chips, df, _ = _quantify(_uniform_sto(counts), 5, lazy)
    assert df["counts"].mean() == pytest.approx(counts, rel=0.05)
    assert (~df["low_counts"]).sum() > 1400
    for element in ("Sr", "Ti", "O"):
        ratio = _stats(df, f"at_{element}")
        assert 0.8 < ratio < 1.25, (counts, element, ratio)
    for line in LINES:  # La and Fe are absent: noise around 0
        ratio = _stats(df, f"I_{line}")
        assert 0.8 < ratio < 1.25, (counts, line, ratio)
    # Pearson's chi-squared with model variances: 1 for a correct model.
    assert 0.85 < df["chi2_red"].mean() < 1.15, df["chi2_red"].mean()


@pytest.mark.parametrize("lazy", [False, True])
def test_no_standard_deviation_is_zero(lazy):
    # All-zero chips, chips of a few counts and normal chips in one map.
    s = _uniform_sto(400, size=10, shape=(40, 40), seed=1)
    s.data[:10, :] = 0  # a row of empty chips
    s.data[10:20, :] = np.random.default_rng(0).poisson(
        1e-5, s.data[10:20].shape
    )  # ~2 counts per chip (10 x 10 px x 2000 channels)
    _, df, _ = _quantify(s, 10, lazy)
    assert (df["counts"][:4] == 0).all() and (df["counts"][4:8] < 20).all()
    checked = 0
    for std in [c for c in df.columns if c.endswith("_std")]:
        values, stds = df[std[:-4]], df[std]
        finite = np.isfinite(values)
        assert (stds[finite] > 0).all(), std
        checked += finite.sum()
    assert checked > 100
    # An empty chip measured 0 counts of every line, with the uncertainty of
    # one count at most (the flat-prior posterior of a Poisson mean: N + 1).
    for line in LINES:
        assert (df[f"I_{line}"][:4] == 0).all()
        assert (df[f"I_{line}_std"][:4] <= 1.0).all()


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("xrays", [2, 40])
@pytest.mark.parametrize("size", [8, 32])
def test_near_empty_map_gives_nan_and_one_count_warning(xrays, size, lazy):
    # A Velox-like map whose counts are the zero peak and a few X-rays
    # (whole map): no composition, and one warning about counts. (40 X-rays
    # in one chip are "C 89.9 +- 8.7 at %" on a real map: the zero-peak tail.)
    s = sto_lfo_cross_section(
        (32, 32), xrays / 1024, seed=0, energy_offset=-0.25, zero_peak_counts=5.0
    )
    s.set_signal_type("EDS_TEM_chipped")
    chips, df, messages = _quantify(s, size, lazy)
    assert df["low_counts"].all()
    assert df.filter(regex=r"^(at|wt)_").isna().all().all()
    count_warnings = [m for m in messages if re.search(r"counts|too weak", m)]
    assert len(count_warnings) == 1, count_warnings
    n = int(re.search(r"holds (\d+) counts in the fit range", count_warnings[0])[1])
    assert n < 3 * xrays and "compositions are NaN" in count_warnings[0]
    assert not chips.metadata.Chipping.Quantification.calibration_checked
    # The intensities are still reported, with their uncertainty.
    assert (df.filter(regex=r"^I_.*_std$") > 0).all().all()


@pytest.mark.parametrize("lazy", [False, True])
def test_low_count_calibration_falls_back_with_one_warning(lazy):
    # ~300 counts in the whole map: too few to refine offset, gain and
    # resolution (it needs 1000); the metadata calibration is used as is.
    s = _uniform_sto(300, size=10, shape=(10, 10))
    chips, df, messages = _quantify(s, 10, lazy)
    fallback = [m for m in messages if "refining the energy calibration" in m]
    assert len(fallback) == 1, messages
    n = int(re.search(r"holds (\d+) counts", fallback[0]).group(1))
    assert 250 < n < 350 and "needs at least 1000" in fallback[0]
    axis = s.axes_manager.signal_axes[0]
    cal = chips.metadata.Chipping.Quantification.Calibration
    detector = s.metadata.Acquisition_instrument.TEM.Detector.EDS
    assert cal.offset == axis.offset and cal.scale == axis.scale
    assert cal.energy_resolution_MnKa == detector.energy_resolution_MnKa
    # A calibration the data cannot check: no composition ...
    assert df["low_counts"].all() and df["at_Sr"].isna().all()
    # ... unless the user vouches for the metadata calibration.
    _, df, messages = _quantify(s, 10, lazy, refine=False)
    assert not any("refining" in m for m in messages)
    assert np.isfinite(df["at_Sr"]).all() and (df["at_Sr_std"] > 0).all()


def test_low_count_map_that_failed_now_quantifies():
    # Was: "energy_resolution_MnKa = 117.4 eV is too small: the
    # Fiori-Newbury width is not positive" from a 1-count map.
    s = sto_lfo_cross_section((32, 32), 2 / 1024, seed=0)
    s.set_signal_type("EDS_TEM_chipped")
    _, df, messages = _quantify(s, 32, False)
    assert df["low_counts"].all() and np.isnan(df["at_Fe"]).all()
    assert sum("refining the energy calibration" in m for m in messages) == 1


@pytest.mark.parametrize("lazy", [False, True])
def test_weak_chips_are_nan_with_one_summary_warning(lazy):
    s = _uniform_sto(2000, size=10, shape=(40, 40))
    s.data[:10, :20] = 0  # two empty chips of sixteen
    _, df, messages = _quantify(s, 10, lazy)
    weak = [m for m in messages if "too weak to quantify" in m]
    assert len(weak) == 1 and weak[0].startswith("2 of 16 chips")
    assert df["low_counts"].tolist() == [True, True] + [False] * 14
    assert df.loc[:1, ["at_Sr", "wt_Sr", "at_Sr_std"]].isna().all().all()
    assert np.isfinite(df.loc[2:, ["at_Sr", "at_Sr_std"]]).all().all()


@pytest.mark.parametrize("lazy", [False, True])
def test_negative_intensities_are_kept_signed_and_flagged(lazy):
    # La is absent from SrTiO3: its fitted intensity is noise around 0.
    _, df, _ = _quantify(_uniform_sto(200, shape=(100, 100)), 5, lazy)
    inten = df["I_La_La"]
    assert (inten < 0).mean() > 0.3  # signed, not clipped
    # Unbiased: the mean of the signed values is 0 within its error.
    assert abs(inten.mean()) < 3 * inten.std() / np.sqrt(len(inten))
    assert (df["negative_La"] == (inten < 0)).all()
    ok = ~df["low_counts"]
    # In the composition a negative intensity counts as 0 ...
    assert (df.loc[ok & df["negative_La"], "at_La"] == 0).all()
    np.testing.assert_allclose(df.loc[ok].filter(regex=r"^at_..?$").sum(axis=1), 100)
    # ... and the std of that 0 is still the measurement's.
    assert (df.loc[ok, "at_La_std"] > 0).all()


def test_currie_formulas_by_hand():
    # Well-known blank of B = 100 counts: L_C = 1.645 * 10,
    # L_D = 2.706 + 3.290 * 10 (Currie 1968, eq. for sigma_0 = sqrt(B)).
    lc, ld = currie_limits(10.0)
    assert lc == pytest.approx(16.449, abs=1e-3)
    assert ld == pytest.approx(2.7055 + 3.2897 * 10, abs=1e-3)
    # Paired blank (sigma_0 = sqrt(2 B)): the textbook 2.71 + 4.65 sqrt(B).
    _, ld = currie_limits(np.sqrt(2 * 25.0))
    assert ld == pytest.approx(2.71 + 4.65 * 5, abs=0.02)
    # A smaller variance per count (a background under the peak) lowers the
    # Poisson term: L_D = k^2 g + 2 k sigma_0.
    _, ld = currie_limits(0.0, 0.5)
    assert ld == pytest.approx(1.6449**2 * 0.5, abs=1e-3)
    # In at %: 10 counts of limit beside 90 counts of an element with the
    # same factor make 10 %.
    frac = limit_fractions(np.array([[10.0, 1.0]]), np.array([[-4.0, 90.0]]), 1.0)
    assert frac[0, 0] == pytest.approx(0.1)


@pytest.mark.parametrize("lazy", [False, True])
def test_detection_limits_follow_currie_and_the_kfactors(lazy):
    # Noise-free SrTiO3: La and Fe are exactly absent, so their fitted
    # intensity is ~0 and its std is sigma_0, the std at zero signal.
    s = _uniform_sto(5000, size=10, shape=(20, 20), poisson=False)
    chips, df, _ = _quantify(s, 10, lazy)
    q = chips.metadata.Chipping.Quantification
    k = s.metadata.Simulation.kfactors.as_dictionary()
    for i, line in enumerate(q.xray_lines):
        element = line.split("_")[0]
        critical = np.asarray(q.critical_level)[:, i]
        limit = np.asarray(q.detection_limit)[:, i]
        if element in ("La", "Fe"):
            sigma0 = df[f"I_{line}_std"].to_numpy()
            # (Not exactly 0: the non-negative continuum shape of the summed
            # fit does not reproduce the simulated continuum to round-off.)
            assert np.abs(df[f"I_{line}"]).max() < 1e-2 * sigma0.max()
            # (sigma0 is the std at the fitted ~0: equal to 1e-3.)
            np.testing.assert_allclose(critical, CURRIE_K * sigma0, rtol=1e-3)
            # L_D = 2.71 g + 3.29 sigma_0, g the variance per count of
            # signal: 1 for a lone peak, ~1.2 for a Gaussian under a
            # dominating background, more where lines overlap (La L, Ti K).
            gain = (limit - 2 * CURRIE_K * sigma0) / CURRIE_K**2
            assert ((gain > 0.9) & (gain < 3.0)).all(), gain
            assert not df[f"detected_{element}"].any()
        else:
            assert df[f"detected_{element}"].all()
        # mdl in at %: the element at its L_D beside the others' intensities,
        # through the k-factors and atomic masses (CL: c = k / M).
        c = {ln.split("_")[0]: k[ln] / MASSES[ln.split("_")[0]] for ln in LINES}
        others = sum(
            c[ln.split("_")[0]] * df[f"I_{ln}"].clip(lower=0)
            for ln in LINES
            if ln != line
        )
        hand = 100 * c[element] * limit / (c[element] * limit + others)
        # (rtol: the masses above are rounded to 5 digits)
        np.testing.assert_allclose(df[f"mdl_{element}"], hand, rtol=1e-4)
    assert "mdl_<El>" in df.attrs["quantification"]["columns"]
    # The columns and their meaning survive Parquet.
    import pandas as pd

    df.to_parquet("limits.parquet")
    back = pd.read_parquet("limits.parquet")
    assert back.equals(df) and back.attrs == df.attrs
    assert back["detected_Sr"].dtype == bool


@pytest.mark.parametrize("lazy", [False, True])
def test_atomic_and_weight_std_come_from_one_covariance(lazy):
    # Two quantified elements: one fraction determines the other, and
    # at_Sr = (w_Sr / M_Sr) / (w_Sr / M_Sr + w_Ti / M_Ti), so
    # sigma_at = sigma_wt * d at / d wt, with d at / d wt =
    # (1 / (M_Sr M_Ti)) / (w_Sr / M_Sr + w_Ti / M_Ti)^2.
    s = _uniform_sto(100, size=5, shape=(20, 20))
    s.metadata.Sample.xray_lines = ["Sr_Ka", "Ti_Ka"]
    k = {"Sr_Ka": 1.8, "Ti_Ka": 1.1}
    _, df, _ = _quantify(s, 5, lazy, kfactors=k)
    df = df[~df["low_counts"]]
    assert len(df) > 10
    w_sr, w_ti = df["wt_Sr"] / 100, df["wt_Ti"] / 100
    slope = (1 / (MASSES["Sr"] * MASSES["Ti"])) / (
        w_sr / MASSES["Sr"] + w_ti / MASSES["Ti"]
    ) ** 2
    np.testing.assert_allclose(df["at_Sr_std"], df["wt_Sr_std"] * slope, rtol=1e-6)
    np.testing.assert_allclose(df["at_Sr_std"], df["at_Ti_std"], rtol=1e-6)


@pytest.mark.parametrize("lazy", [False, True])
def test_fit_model_carries_std_and_red_chisq(lazy):
    s = _uniform_sto(2000, size=10, shape=(30, 30))
    chips, df, _ = _quantify(s, 10, lazy)
    m = chips.get_fit_model()
    # A family's amplitude is its family intensity: same value, same std.
    for line in LINES:
        family = f"{line.split('_')[0]}_{line.split('_')[1][0]}"
        amp = m[family].A.map
        np.testing.assert_allclose(amp["values"].ravel(), df[f"I_{line}"], rtol=1e-9)
        # (the model view's uncertainties are stored in single precision)
        np.testing.assert_allclose(amp["std"].ravel(), df[f"I_{line}_std"], rtol=1e-6)
    for param in m["background"].parameters:
        assert (param.map["std"] > 0).all()
    np.testing.assert_allclose(m.red_chisq.data.ravel(), df["chi2_red"], rtol=1e-9)


def test_results_stored_before_detection_limits_still_load():
    s = _uniform_sto(2000, size=10, shape=(20, 20))
    chips, df, _ = _quantify(s, 10, False)
    q = chips.metadata.Chipping.Quantification
    for key in ("amplitudes_std", "detection_limit_percent", "detected"):
        delattr(q, key)
    old = chips.to_dataframe()
    assert "mdl_Sr" not in old and "negative_Sr" in old
    assert np.isnan(chips.get_fit_model()["Sr_K"].A.map["std"]).all()


def test_fit_model_polynomial_std_matches_spread():
    # exspy's polynomial background: the std of its power coefficients is
    # propagated from the Chebyshev covariance; 400 identical chips give the
    # spread to compare with.
    s = _uniform_sto(3000, size=5, shape=(100, 100))
    chips, df, _ = _quantify(s, 5, False, model="exspy", intensity="line")
    m = chips.get_fit_model()
    bg = m["background"]
    for k in range(3):
        param = getattr(bg, f"a{k}")
        ratio = np.sqrt((param.map["std"] ** 2).mean()) / param.map["values"].std()
        assert 0.85 < ratio < 1.18, (k, ratio)


def test_decision_threshold_false_positive_rate():
    # La and Fe are absent from SrTiO3: "detected" is a false positive, 5 %
    # at Currie's L_C in the Gaussian limit (a little more under a background
    # of a few counts, see the user guide); 1600 chips: +-0.6 % binomial.
    _, df, _ = _quantify(_uniform_sto(1000), 5, False)
    for element in ("La", "Fe"):
        rate = df[f"detected_{element}"].mean()
        assert 0.03 < rate < 0.10, (element, rate)
        # Currie's L_D is far above: no absent element is above it.
        assert (df[f"at_{element}"] < df[f"mdl_{element}"]).mean() > 0.99


def test_lazy_and_eager_give_the_same_limits_and_flags():
    s = _uniform_sto(100, size=5, shape=(40, 40))
    s.data[:5, :] = 0  # a row of empty chips
    _, eager, _ = _quantify(s.deepcopy(), 5, False)
    _, lazy, _ = _quantify(s.deepcopy(), 5, True)
    assert eager["low_counts"].sum() >= 8
    columns = [c for c in eager if c.startswith(("mdl_", "detected_", "negative_"))]
    assert len(columns) == 15
    for column in columns + ["low_counts", "at_O", "at_O_std", "I_La_La_std"]:
        np.testing.assert_allclose(eager[column], lazy[column], rtol=1e-9)
