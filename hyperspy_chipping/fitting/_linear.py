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
"""Fit every chip at once: one weighted linear least-squares projector.

With a design matrix ``A`` shared by all chips and channel weights ``w`` that
do not depend on the chip's own counts, the weighted least-squares estimate
of every chip is ``x = P @ y`` with ``P = (A^T W A)^-1 A^T W``: one matrix
product for all chips. The weights come from the model of the summed
spectrum (Poisson variance ~ model), never from the noisy chip data, so
low-count chips stay unbiased. Because the Poisson variance of a chip is its
expected spectrum ``A @ x``, the covariance of its estimate,
``P diag(A @ x) P^T``, is linear in ``x``: it is precomputed once as a
(n_components, n, n) tensor and contracted with each chip's amplitudes.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
from dataclasses import dataclass

import numpy as np

from hyperspy_chipping.fitting._chi2_kernel import pearson_rows, support


@functools.lru_cache(maxsize=1)
def _blas_controller(n_modules):
    """The thread pools of the loaded libraries (inspecting them costs ~1 ms).

    Cached for as long as no module is imported (`n_modules` is
    ``len(sys.modules)``): an import, e.g. of ``scipy.linalg``, can load
    another BLAS, which a stale controller would not limit.
    """
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


_LIMIT_LOCK = threading.Lock()
_LIMIT = {"depth": 0, "limiter": None, "timer": None}


@contextlib.contextmanager
def single_threaded_blas(linger: float = 0.0):
    """Context limiting BLAS to one thread (many small products).

    numpy and scipy each bring an OpenBLAS thread pool; on few cores the two
    pools contend and small solves slow down ~10x (measured on 2 cores).
    The limit is process-wide, so the context counts its users: threads (a
    thread pool, dask's workers) may enter and leave it in any order, and
    the first one in sets the limit, the last one out restores the user's.

    Parameters
    ----------
    linger : float, default 0
        Seconds to keep the limit after the last user leaves, for the next
        one to find it set: dask runs a lazy fit as a stream of tasks, and
        changing OpenBLAS's thread count between every two of them halves
        the speed (measured on 2 cores).

    Examples
    --------
    >>> with single_threaded_blas():
    ...     float(np.ones((2, 2)) @ np.ones(2) @ np.ones(2))
    4.0
    """
    with _LIMIT_LOCK:
        if _LIMIT["timer"] is not None:
            _LIMIT["timer"].cancel()
            _LIMIT["timer"] = None
        if _LIMIT["limiter"] is None:
            _take_blas_control()
            _LIMIT["limiter"] = _blas_controller(len(sys.modules)).limit(
                limits=1, user_api="blas"
            )
            _take_blas_control()
        _LIMIT["depth"] += 1
    try:
        yield
    finally:
        with _LIMIT_LOCK:
            _LIMIT["depth"] -= 1
            if _LIMIT["depth"] == 0:
                if linger > 0:
                    _LIMIT["timer"] = threading.Timer(linger, _restore_if_idle)
                    _LIMIT["timer"].daemon = True
                    _LIMIT["timer"].start()
                else:
                    _restore_locked()


def _restore_locked():
    """Give the user's BLAS limits back (call with the lock held)."""
    if _LIMIT["limiter"] is not None:
        _take_blas_control()
        _LIMIT["limiter"].restore_original_limits()
        _LIMIT["limiter"] = None
        _take_blas_control()


def _take_blas_control():
    """Let the calling thread set OpenBLAS's (process-wide) thread count.

    threadpoolctl >= 3.8 lets only the first thread that set it change it
    again, and silently ignores the others: the limit would not hold in
    dask's worker threads, and a worker that is the last one out could not
    restore it. The context's own lock orders its changes; clearing the
    owner after each change leaves the user's threads free too.
    """
    import threadpoolctl

    clear = getattr(
        getattr(threadpoolctl, "OpenBLASController", None),
        "clear_controlling_thread",
        None,
    )
    if clear is not None:
        clear(force=True)


def _restore_if_idle():
    with _LIMIT_LOCK:
        _LIMIT["timer"] = None
        if _LIMIT["depth"] == 0:
            _restore_locked()


def normalised_normal_equations(design, weights):
    """Weighted normal equations of a column-normalised design.

    Scaling every column to unit weighted norm keeps ``A^T W A`` well
    conditioned whatever the units of the columns.

    Returns
    -------
    a : numpy.ndarray
        ``design / norms``.
    norms : numpy.ndarray
        Column norms (1 for an empty column).
    normal : numpy.ndarray
        ``a^T W a``.

    Examples
    --------
    >>> a, norms, normal = normalised_normal_equations(np.eye(3) * 2, np.ones(3))
    >>> norms.tolist(), np.diag(normal).tolist()
    ([2.0, 2.0, 2.0], [1.0, 1.0, 1.0])
    """
    norms = np.sqrt((design**2 * weights[:, None]).sum(axis=0))
    empty = norms == 0
    norms[empty] = 1.0
    a = design / norms
    normal = a.T @ (a * weights[:, None])
    # A component without a channel in the fit (a line below the start of
    # the spectrum) gets amplitude 0 instead of a singular system.
    normal[empty, empty] = 1.0
    return a, norms, normal


@dataclass(frozen=True)
class Projector:
    """The linear estimator of a design matrix with fixed weights.

    Attributes
    ----------
    design : numpy.ndarray
        (n_channels, n_components) design matrix ``A``.
    matrix : numpy.ndarray
        (n_components, n_channels) projector ``P``.
    """

    design: np.ndarray
    matrix: np.ndarray

    @classmethod
    def from_design(cls, design, weights) -> Projector:
        """Build ``P = (A^T W A)^-1 A^T W`` (weights: one per channel).

        Examples
        --------
        >>> A = np.vander(np.linspace(0, 1, 50), 3)
        >>> p = Projector.from_design(A, np.ones(50))
        >>> y = A @ np.array([1.0, -2.0, 3.0])
        >>> (p.matrix @ y).round(6)
        array([ 1., -2.,  3.])
        """
        a, norms, normal = normalised_normal_equations(design, weights)
        matrix = np.linalg.solve(normal, (a * weights[:, None]).T) / norms[:, None]
        return cls(design, matrix)

    def fit(self, spectra):
        """Amplitudes of every chip: (n_chips, n_channels) -> (n_chips, n)."""
        return np.asarray(spectra, dtype=float) @ self.matrix.T

    @functools.cached_property
    def _single(self):
        """``P`` with a row of ones, and ``A``, in single precision."""
        ones = np.ones((1, self.matrix.shape[1]))
        return (
            np.vstack([self.matrix, ones]).astype(np.float32),
            self.design.astype(np.float32),
        )

    @functools.cached_property
    def _single_t(self):
        """``A`` transposed, in single precision, contiguous."""
        return np.ascontiguousarray(self._single[1].T)

    @functools.cached_property
    def _nonnegative_design(self) -> bool:
        """Whether every column of the design is >= 0 (peaks, and a
        continuum times Bernstein polynomials): then a model with no negative
        amplitude is nowhere negative."""
        return bool((self._single[1] >= 0).all())

    def _variance_shapes(self, n_peaks, background):
        """The constant part of the chi-squared's variance model.

        (n_channels, n_peaks + 1) ``shapes`` (the peak columns, then the
        `background` shape), their transpose, each background column's sum
        and the support of every row of the design and the shapes (see
        ``_chi2_kernel.support``). Kept for the last `background` given (a
        per-pixel map asks for them once per block of chips).
        """
        cached = self.__dict__.get("_shapes_cache")
        if cached is not None and cached[0] == n_peaks and cached[1] is background:
            return cached[2]
        design32 = self._single[1]
        shapes = np.concatenate(
            [design32[:, :n_peaks], np.asarray(background, np.float32)[:, None]],
            axis=1,
        )
        shapes_t = np.ascontiguousarray(shapes.T)
        out = {
            "shapes": shapes,
            "shapes_t": shapes_t,
            "background_sums": design32[:, n_peaks:].sum(axis=0),
            "support": support(np.vstack([self._single_t, shapes_t])),
        }
        self.__dict__["_shapes_cache"] = (n_peaks, background, out)
        return out

    def fit_single(self, spectra, integer=False):
        """Amplitudes and counts of every chip, in one single-precision product.

        Half the memory traffic of :meth:`fit` (the chips' counts come from
        the same product, as a row of ones). The amplitudes differ from
        float64 ones by ~1e-6 relative, a thousandth of their Poisson
        uncertainty even at 10^6 counts; the counts of integer spectra are
        exact (sums below 2**24 are exact in float32; larger ones, and those
        of float spectra, are summed again in float64).

        Parameters
        ----------
        spectra : numpy.ndarray
            (n_chips, n_channels) counts, any real dtype.
        integer : bool, default False
            The caller vouches that float `spectra` hold whole numbers (sums
            of counts in float32): their counts are exact below 2**24, as
            those of an integer dtype, and are not summed again.

        Returns
        -------
        amplitudes : numpy.ndarray
            (n_chips, n) float64.
        counts : numpy.ndarray
            (n_chips,) float64.
        spectra32 : numpy.ndarray
            The spectra in float32 (for :meth:`reduced_chi2`).

        Examples
        --------
        >>> A = np.vander(np.linspace(0, 1, 50), 3) + 1.0
        >>> p = Projector.from_design(A, np.ones(50))
        >>> y = np.round(A @ np.array([10.0, 20.0, 30.0]))
        >>> amplitudes, counts, _ = p.fit_single(y[None])
        >>> bool(np.allclose(amplitudes, p.fit(y[None]), rtol=1e-5))
        True
        >>> float(counts[0]) == float(y.sum())
        True
        >>> _, counts32, _ = p.fit_single(y[None].astype(np.float32), integer=True)
        >>> float(counts32[0]) == float(y.sum())
        True
        """
        spectra = np.asarray(spectra)
        y32 = spectra.astype(np.float32, copy=False)
        out = y32 @ self._single[0].T
        amplitudes = out[:, :-1].astype(np.float64)
        counts = out[:, -1].astype(np.float64)
        whole = integer or np.issubdtype(spectra.dtype, np.integer)
        if not whole or (counts.size and counts.max() >= 2**24):
            counts = spectra.sum(axis=1, dtype=np.float64)
        return amplitudes, counts, y32

    def covariance_tensor(self, rows):
        """What turns amplitudes into the covariance of the amplitudes `rows`.

        The Poisson covariance of a chip's amplitudes is linear in its
        fitted model, hence in its amplitudes: ``cov = amplitudes @ T``. T
        depends on the design only, so it is computed once for all chips.

        Parameters
        ----------
        rows : list of int
            Components whose covariance is wanted.

        Returns
        -------
        numpy.ndarray
            (n_components, len(rows) ** 2).
        """
        pq = self.matrix[rows]
        # T[j, k, l] = sum_c P[k, c] P[l, c] A[c, j]
        tensor = np.einsum("kc,lc,cj->jkl", pq, pq, self.design, optimize=True)
        return tensor.reshape(tensor.shape[0], -1)

    @staticmethod
    def covariance(amplitudes, tensor):
        """Per-chip covariance from :meth:`covariance_tensor`.

        Returns
        -------
        numpy.ndarray
            (n_chips, n, n).

        Examples
        --------
        >>> A = np.vander(np.linspace(0, 1, 50), 2) + 1.0
        >>> p = Projector.from_design(A, np.ones(50))
        >>> amplitudes = np.array([[2.0, 3.0]])
        >>> cov = Projector.covariance(amplitudes, p.covariance_tensor([0, 1]))
        >>> mu = A @ amplitudes[0]  # Poisson: variance = model
        >>> bool(np.allclose(cov[0], p.matrix @ np.diag(mu) @ p.matrix.T))
        True
        """
        n = int(round(np.sqrt(tensor.shape[1])))
        return (np.asarray(amplitudes) @ tensor).reshape(-1, n, n)

    def variance_terms(self, rows, total, n_peaks) -> dict[str, np.ndarray]:
        """What the per-chip variances need besides the covariance tensor.

        ``variance_tensor`` turns amplitudes into the variance of every
        amplitude (``var = amplitudes @ D``, ``D[j, k] = sum_c P[k, c]^2
        A[c, j]``). ``prior_covariance`` (of the amplitudes `rows`) and
        ``prior_variance`` (of every amplitude) are those of one count
        spread as the model of the summed spectrum `total`: after observing
        N counts, a Poisson mean has the variance N + 1 (its posterior under
        a flat prior is Gamma(N + 1, 1)), so a chip without counts still has
        the uncertainty of one count, never 0. ``background_shape`` is the
        fitted background of `total` (components from `n_peaks` on), at
        least 1e-3 of its maximum, normalised to 1: the variance model of
        :meth:`reduced_chi2`.

        Examples
        --------
        A lone, one-channel line: one count of it has variance 1.

        >>> p = Projector.from_design(np.eye(3)[:, :1] + 0.0, np.ones(3))
        >>> terms = p.variance_terms([0], np.array([5.0, 0.0, 0.0]), 1)
        >>> terms["prior_covariance"].tolist(), terms["prior_variance"].tolist()
        ([[1.0]], [1.0])
        """
        fitted = self.fit(np.asarray(total)[None])[0]
        model = np.clip(self.design @ fitted, 0, None)
        if not model.sum() > 0:  # an empty map: one count anywhere
            model = np.ones(self.design.shape[0])
        shape = model / model.sum()
        pq = self.matrix[rows]
        n_peaks = int(n_peaks)
        background = self.design[:, n_peaks:] @ fitted[n_peaks:]
        if not background.max() > 0:
            background = np.ones(self.design.shape[0])
        # Floored as the channel weights are (1e-3 of the maximum): where the
        # fitted background of a real spectrum goes to 0 or below (a
        # misfit), a count must not weigh 1e10.
        background = np.clip(background, 1e-3 * background.max(), None)
        return {
            "background_shape": background / background.sum(),
            "variance_tensor": (self.matrix**2 @ self.design).T,
            "prior_covariance": (pq * shape) @ pq.T,
            "prior_variance": self.matrix**2 @ shape,
            "prior_shape": shape,
        }

    def clipped_variances(self, amplitudes, rows, negative=None):
        """Covariance of `rows` and variance of every amplitude, ``mu >= 0``.

        For chips whose fitted model is negative somewhere (e.g. a negative
        amplitude of an absent element where there is no background): the
        Poisson variance of a channel is its expectation, which is never
        negative, so the model is clipped at 0 before it is projected.

        Parameters
        ----------
        amplitudes : numpy.ndarray
            (n_chips, n_components) fitted amplitudes.
        rows : list of int
            Components whose covariance is wanted.
        negative : tuple of numpy.ndarray, optional
            ``(channels, values)``: the channels where some chip's model is
            negative and ``max(-mu, 0)`` of the chips there, (n_chips,
            len(channels)), if known already (:meth:`reduced_chi2` gives it).

        Returns
        -------
        covariance : numpy.ndarray
            (n_chips, len(rows), len(rows)).
        variance : numpy.ndarray
            (n_chips, n_components).
        """
        amplitudes = np.asarray(amplitudes, dtype=float)
        basis, linear = self._clipping_basis(tuple(rows))
        n = len(rows)
        # P diag(max(mu, 0)) P^T = P diag(mu) P^T + P diag(max(-mu, 0)) P^T:
        # the first term is linear in the amplitudes, the second needs only
        # the channels where some chip's model is negative (a few, where
        # the continuum is thin).
        if negative is None:
            negative = _negative_part(amplitudes @ self.design.T)
        channels, values = negative
        out = amplitudes @ linear
        out += values.astype(float) @ basis[:, channels].T
        return out[:, : n * n].reshape(-1, n, n), out[:, n * n :]

    def _clipping_basis(self, rows):
        """Rows ``P_k P_l`` (of `rows`) and ``P_j^2``, and their products with A."""
        cache = self.__dict__.setdefault("_clipping_cache", {})
        if rows not in cache:
            pq = self.matrix[list(rows)]
            n = len(rows)
            basis = np.vstack(
                [(pq[:, None] * pq[None]).reshape(n * n, -1), self.matrix**2]
            )
            cache[rows] = basis, (basis @ self.design).T
        return cache[rows]

    def reduced_chi2(
        self, spectra, amplitudes, return_rows=False, n_peaks=None, background=None
    ):
        """Pearson chi-squared per degree of freedom, model variances.

        ``sum (y - mu)^2 / v / (n_channels - n_components)`` with ``mu`` the
        fitted model and ``v`` its variance model; its expectation is 1 for a
        correct model (channels where ``v`` is not positive are left out).
        Pearson's statistic, not Neyman's (``/ y``): with the data as
        variance, channels with few counts weigh too much (and empty ones
        cannot be used), which biases it at low counts. Single-precision
        spectra with a `background` (the chips' fit) take one pass over the
        counts (:func:`~._chi2_kernel.pearson_rows`); others, numpy's passes
        over (n_chips, n_channels) temporaries: the same statistic.

        Parameters
        ----------
        spectra, amplitudes : numpy.ndarray
            (n_chips, n_channels) data and (n_chips, n_components) fit.
        return_rows : bool, default False
            Also return the indices of the chips whose model is not positive
            somewhere, and where and how far it is negative.
        n_peaks : int, optional
            The first `n_peaks` components are peaks, the others the
            background; give it with `background`.
        background : numpy.ndarray, optional
            (n_channels,) background shape of the summed spectrum, normalised
            to 1. Then ``v`` is the chip's peaks (negative amplitudes as 0)
            plus this shape scaled to the chip's fitted background (at least
            one count, see :meth:`variance_terms`), not ``mu`` itself: at a
            few counts per chip a chip's own background curve dips to ~0 in
            channels where the continuum is thin (1e-5 instead of 5e-3
            counts measured at 200 counts per chip), where one count then
            adds ~1e5 to the sum, and ``1 / mu`` is biased (Jensen).
            Measured on the demo data: mean 0.99 from 50 to 5000 counts per
            chip with this variance, 0.80-1.20 with ``mu``.

        Returns
        -------
        chi2 : numpy.ndarray
            (n_chips,) reduced chi-squared.
        rows : numpy.ndarray
            With `return_rows` only.
        negative : tuple of numpy.ndarray
            With `return_rows` only: the channels where the model of some
            of those chips is negative, and ``max(-mu, 0)`` of the chips
            there (for :meth:`clipped_variances`).
        """
        # float32 halves the memory traffic of this elementwise pass (a
        # diagnostic: relative round-off ~1e-6); sums accumulate in float64.
        design32 = self._single[1]
        amplitudes32 = np.asarray(amplitudes, dtype=np.float32)
        spectra = np.asarray(spectra)
        if background is not None:
            constant = self._variance_shapes(n_peaks, background)
            shapes = constant["shapes"]
            weights = _variance_model(amplitudes32, constant, n_peaks)
        if background is not None and spectra.dtype == np.float32:
            # One pass over the counts (see _chi2_kernel).
            total, invalid, nonpositive, negative = pearson_rows(
                spectra,
                amplitudes32,
                self._single_t,
                weights,
                constant["shapes_t"],
                constant["support"],
            )
            dof = self.design.shape[0] - self.design.shape[1] - invalid
            with np.errstate(invalid="ignore", divide="ignore"):
                chi2 = total / np.where(dof > 0, dof, np.nan)
            if not return_rows:
                return chi2
            rows = np.flatnonzero(nonpositive)
            # The model of those chips again, on the channels where it is
            # negative only.
            channels = np.flatnonzero(negative)
            mu = amplitudes32[rows] @ design32[channels].T
            return chi2, rows, (channels, np.maximum(-mu, 0))
        mu = amplitudes32 @ design32.T
        rows = negative = None
        if return_rows:
            # With non-negative columns, a model can only dip to 0 or below
            # in a chip with an amplitude <= 0: only those are searched.
            maybe = (amplitudes32 <= 0).any(axis=1)
            if self._nonnegative_design and maybe.mean() < 0.25:
                rows = np.flatnonzero(maybe)
                rows = rows[mu[rows].min(axis=1) <= 0]
            else:
                rows = np.flatnonzero(mu.min(axis=1) <= 0)
            negative = _negative_part(mu[rows])  # before mu is overwritten
        var = mu.copy() if background is None else weights @ shapes.T
        if background is not None and (shapes[:, -1] > 0).all():
            # Non-negative weights, a level of at least 1 and a positive
            # background shape: the variance is positive everywhere.
            bad = np.empty(0, dtype=int)
        else:
            # Rows where the variance is not positive somewhere (e.g. a
            # negative amplitude of an absent element where the background
            # is ~0): those channels are left out; the other rows skip the
            # masking.
            bad = np.flatnonzero(var.min(axis=1) <= 0)
        valid = var[bad] > 0
        var[bad] = np.where(valid, var[bad], np.float32(1))
        # The residual r (in place of the model) and r / v (in place of v).
        r = mu
        np.subtract(spectra, mu, out=r, dtype=np.float32)  # converts on the way
        weighted = np.divide(r, var, out=var)
        weighted[bad] *= valid
        dof = np.full(r.shape[0], r.shape[1] - self.design.shape[1])
        dof[bad] -= np.count_nonzero(~valid, axis=1)
        # Row sums of r**2 / v in float32: ~1e-6 relative, a diagnostic.
        total = np.einsum("ij,ij->i", r, weighted).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            chi2 = total / np.where(dof > 0, dof, np.nan)
        return (chi2, rows, negative) if return_rows else chi2


def _variance_model(amplitudes32, shapes, n_peaks):
    """Weights of :meth:`Projector.reduced_chi2`'s variance model.

    The chip's peaks (negative amplitudes as 0) plus the summed spectrum's
    background shape scaled to the chip's fitted background, at least one
    count (as in ``variance_terms``): never a zero variance. `shapes` from
    :meth:`Projector._variance_shapes`; returns (n_chips, n_peaks + 1).
    """
    level = amplitudes32[:, n_peaks:] @ shapes["background_sums"]
    level = np.maximum(level, np.float32(1))
    return np.concatenate(
        [np.clip(amplitudes32[:, :n_peaks], 0, None), level[:, None]], axis=1
    )


def _negative_part(mu):
    """``(channels, max(-mu, 0)[:, channels])``: the channels where some row
    of `mu` is negative (a few, where the continuum is thin), and how far.
    `mu` (a temporary) is overwritten.

    Examples
    --------
    >>> channels, values = _negative_part(np.array([[1.0, -2.0, 3.0, 0.0]]))
    >>> channels.tolist(), values.tolist()
    ([1], [[2.0]])
    """
    low = np.minimum(mu, 0, out=mu)
    channels = np.flatnonzero(low.min(axis=0, initial=0) < 0)
    return channels, -low[:, channels]
