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
"""The BLAS thread limit of the chip fits, entered from several threads."""

import threading

import pytest

from hyperspy_chipping.fitting import _linear


class _FakePools:
    """Stands for threadpoolctl's controller: one process-wide thread count."""

    def __init__(self):
        self.threads = 2

    def limit(self, limits, user_api):
        saved, self.threads = self.threads, limits
        pools = self

        class Limiter:
            def restore_original_limits(self):
                pools.threads = saved

        return Limiter()


def test_overlapping_threads_restore_the_users_limit(monkeypatch):
    # Thread 1 enters, thread 2 enters, thread 1 leaves, thread 2 leaves: a
    # limit that each thread saved and restored itself would leave BLAS at one
    # thread for good (thread 2 saved the limit thread 1 had set).
    pools = _FakePools()
    monkeypatch.setattr(_linear, "_blas_controller", lambda n_modules: pools)
    entered = [threading.Event(), threading.Event()]
    first_left = threading.Event()
    inside = []

    def first():
        with _linear.single_threaded_blas():
            entered[0].set()
            entered[1].wait(timeout=5)
            inside.append(pools.threads)
        first_left.set()

    def second():
        entered[0].wait(timeout=5)
        with _linear.single_threaded_blas():
            entered[1].set()
            first_left.wait(timeout=5)
            inside.append(pools.threads)  # still limited after thread 1 left

    threads = [threading.Thread(target=f) for f in (second, first)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert inside == [1, 1]
    assert pools.threads == 2


def test_limit_reaches_a_blas_loaded_later():
    # The controller is rebuilt after an import (which may load another BLAS,
    # as scipy.linalg does), not kept from the first call.
    import sys

    n_modules = len(sys.modules)
    first = _linear._blas_controller(n_modules)
    assert _linear._blas_controller(n_modules) is first
    assert _linear._blas_controller(n_modules + 1) is not first


def _blas_threads():
    from threadpoolctl import ThreadpoolController

    return [
        lib["num_threads"]
        for lib in ThreadpoolController().info()
        if lib["user_api"] == "blas"
    ]


def test_limit_holds_in_worker_threads_and_is_restored():
    # The real libraries: a limit set from worker threads (as dask's are)
    # must take effect, after the main thread has used BLAS, and a worker that
    # leaves last must give the user's thread count back.
    import time

    import numpy as np
    import pytest

    before = _blas_threads()
    if not before or min(before) < 2:
        pytest.skip("BLAS runs one thread already: nothing to observe")
    np.ones((64, 64)) @ np.ones((64, 64))  # the main thread uses BLAS
    seen, gate = [], threading.Barrier(2)

    def worker():
        with _linear.single_threaded_blas(linger=0.05):
            gate.wait(timeout=5)
            seen.append(_blas_threads())
            gate.wait(timeout=5)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert seen == [[1] * len(before)] * 2
    time.sleep(0.3)  # the limit lingers 0.05 s, then the user's is back
    assert _blas_threads() == before


def _two_component_design():
    """A Gaussian peak on a decaying continuum, 500 channels."""
    import numpy as np

    x = np.arange(500.0)
    peak = np.exp(-0.5 * ((x - 250) / 6) ** 2)
    continuum = np.exp(-x / 150)
    return np.stack([peak / peak.sum(), continuum / continuum.sum()], axis=1)


def test_clipped_variances_are_the_poisson_covariance_of_a_clipped_model():
    import numpy as np

    design = _two_component_design()
    p = _linear.Projector.from_design(design, 1 / (design @ [50.0, 200.0]))
    amplitudes = np.array([[-30.0, 100.0], [20.0, 80.0]])  # the first dips < 0
    cov, var = p.clipped_variances(amplitudes, [0, 1])
    for a, c, v in zip(amplitudes, cov, var):
        mu = np.clip(design @ a, 0, None)  # Poisson variance = expectation >= 0
        expected = p.matrix @ np.diag(mu) @ p.matrix.T
        np.testing.assert_allclose(c, expected, rtol=1e-12)
        np.testing.assert_allclose(v, np.diag(expected), rtol=1e-12)
    # Without a negative model the clipped and the linear tensor agree.
    linear = p.covariance(amplitudes[1:], p.covariance_tensor([0, 1]))
    np.testing.assert_allclose(cov[1:], linear, rtol=1e-12)


def test_prior_gives_an_empty_chip_the_variance_of_one_count():
    import numpy as np

    design = _two_component_design()
    p = _linear.Projector.from_design(design, 1 / (design @ [50.0, 200.0]))
    terms = p.variance_terms([0, 1], design @ [50.0, 200.0], 1)
    # One count spread as the summed model (50 peak, 200 continuum): the
    # sum of the two amplitudes is that count, exactly, with variance 1.
    one = np.ones(2)
    assert one @ terms["prior_covariance"] @ one == pytest.approx(1.0, rel=1e-9)


@pytest.mark.parametrize("dtype", ["float32", "float64"], ids=["one-pass", "numpy"])
@pytest.mark.parametrize("counts", [30.0, 300.0])
def test_pearson_chi2_with_the_variance_model_is_one_at_low_counts(counts, dtype):
    # Poisson draws of a known two-component spectrum: the reduced
    # chi-squared must average 1 even at a fraction of a count per channel.
    # (float32 counts take the one-pass kernel, float64 ones numpy.)
    import numpy as np

    design = _two_component_design()
    truth = np.array([0.3, 0.7]) * counts
    p = _linear.Projector.from_design(design, 1 / (design @ truth))
    rng = np.random.default_rng(1)
    y = rng.poisson(design @ truth, (4000, 500)).astype(dtype)
    amplitudes = p.fit(y)
    shape = p.variance_terms([0], y.sum(axis=0), 1)["background_shape"]
    chi2 = p.reduced_chi2(y, amplitudes, n_peaks=1, background=shape)
    assert chi2.mean() == pytest.approx(1.0, abs=0.03)


@pytest.mark.parametrize("negative_share", [0.05, 0.6])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_chips_with_a_negative_model_are_all_found(negative_share, sign):
    # The chips whose model dips to <= 0 somewhere (their covariance is
    # clipped): the search may skip chips without a negative amplitude only
    # when every design column is >= 0 (`sign` -1 gives a negative column).
    import numpy as np

    design = _two_component_design()
    design[:, 1] *= sign
    p = _linear.Projector.from_design(design, np.ones(500))
    rng = np.random.default_rng(2)
    amplitudes = rng.uniform(5, 50, (400, 2))
    flip = rng.random(400) < negative_share
    amplitudes[flip, 0] *= -1
    y = np.clip(amplitudes @ design.T, 0, None)
    _, rows, negative = p.reduced_chi2(y, amplitudes, return_rows=True)
    mu = amplitudes @ design.T
    expected = np.flatnonzero(mu.min(axis=1) <= 0)
    np.testing.assert_array_equal(rows, expected)
    # (The model in single precision: ~1e-7 of its scale.)
    scale = np.abs(mu).max()
    channels, values = negative
    full = np.zeros((rows.size, mu.shape[1]), dtype=values.dtype)
    full[:, channels] = values
    np.testing.assert_allclose(
        full, np.clip(-mu[expected], 0, None), rtol=1e-5, atol=1e-6 * scale
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"], ids=["one-pass", "numpy"])
def test_pearson_chi2_follows_its_definition(dtype):
    # The definition in float64: model mu = A a, variance v = the peak
    # (negative amplitude as 0) plus the background shape scaled to the
    # chip's background (at least 1); channels with v <= 0 left out, and
    # from the degrees of freedom.
    import numpy as np

    design = _two_component_design()
    # (A peak of finite support: its float64 tails, 1e-100 at 150 channels,
    # would be variances that single precision cannot hold.)
    design[design[:, 0] < 1e-12 * design[:, 0].max(), 0] = 0
    shape = design[:, 1].copy()
    shape[400:] = 0  # no background there: v = 0 where the peak is clipped
    shape /= shape.sum()
    p = _linear.Projector.from_design(design, np.ones(500))
    rng = np.random.default_rng(3)
    amplitudes = np.column_stack(
        [rng.uniform(-40, 60, 300), rng.uniform(0.5, 300, 300)]
    )
    y = rng.poisson(np.clip(amplitudes @ design.T, 0, None) + 0.2).astype(dtype)
    # Rows of a wider array, as the windows' fit channels are.
    wide = np.zeros((300, 510), dtype=dtype)
    wide[:, 5:505] = y
    chi2, rows, (channels, values) = p.reduced_chi2(
        wide[:, 5:505],
        amplitudes,
        return_rows=True,
        n_peaks=1,
        background=shape,
    )
    mu = amplitudes @ design.T
    level = np.maximum(amplitudes[:, 1] * design[:, 1].sum(), 1)
    v = np.clip(amplitudes[:, :1], 0, None) * design[:, 0] + level[:, None] * shape
    valid = v > 0
    terms = np.where(valid, (y - mu) ** 2 / np.where(valid, v, 1), 0)
    dof = 500 - 2 - (~valid).sum(axis=1)
    assert (~valid).any()  # the left-out channels are exercised
    np.testing.assert_allclose(chi2, terms.sum(axis=1) / dof, rtol=2e-5)
    expected_rows = np.flatnonzero(mu.min(axis=1) <= 0)
    np.testing.assert_array_equal(rows, expected_rows)
    full = np.zeros((rows.size, 500))
    full[:, channels] = values
    np.testing.assert_allclose(
        full, np.clip(-mu[rows], 0, None), atol=1e-5 * np.abs(mu).max()
    )
