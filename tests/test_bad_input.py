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
"""Bad input: a clear error naming the argument and value; nothing changed.

Every case states the exception type and a message that names what is wrong
(the argument and the value received, or the metadata item), and checks
that the signal it was called on keeps its data and metadata.
"""

import exspy
import hyperspy.api as hs
import numpy as np
import pytest

from hyperspy_chipping.chipping import chip as chip_function
from hyperspy_chipping.data import sto_lfo_cross_section

K = {"Fe_Ka": 1.0, "La_La": 2.0, "O_Ka": 2.0, "Sr_Ka": 1.7, "Ti_Ka": 1.1}


def _map(lazy=False):
    s = sto_lfo_cross_section((30, 30), seed=3)
    s.set_signal_type("EDS_TEM_chipped")
    return s.as_lazy() if lazy else s


def _chips(lazy=False):
    return _map(lazy).chip(15)


def _labels(shape=(30, 30), dtype=int):
    lab = np.zeros(shape, dtype=dtype)
    lab[:10] = 1
    lab[10:] = 2
    return lab


# (id, make the signal, call, exception, message)
CHIP_CASES = [
    (
        "size0",
        lambda s: s.chip(0),
        ValueError,
        r"`size` must be at least 1 pixel, got 0",
    ),
    ("size-3", lambda s: s.chip(-3), ValueError, r"`size` .* got -3"),
    ("size(0,2)", lambda s: s.chip((0, 2)), ValueError, r"`size` .* got \(0, 2\)"),
    ("size(2,-1)", lambda s: s.chip((2, -1)), ValueError, r"`size` .* got \(2, -1\)"),
    (
        "size-np0",
        lambda s: s.chip(np.int64(0)),
        ValueError,
        r"`size` .* got (np\.int64\()?0",
    ),
    ("size1.5", lambda s: s.chip(1.5), TypeError, r"`size` must be an int .* got 1\.5"),
    ("size-str", lambda s: s.chip("5"), TypeError, r"`size` must be .* got '5'"),
    ("size-bool", lambda s: s.chip(True), TypeError, r"`size` must be .* got True"),
    ("size-3d", lambda s: s.chip((1, 2, 3)), TypeError, r"`size` .* got \(1, 2, 3\)"),
    ("size-1list", lambda s: s.chip([2]), TypeError, r"`size` .* got \[2\]"),
    (
        "size-floats",
        lambda s: s.chip((2.0, 3.0)),
        TypeError,
        r"`size` .* \(2\.0, 3\.0\)",
    ),
    ("size-none", lambda s: s.chip(), ValueError, r"Give the chip `size`"),
    ("size-big", lambda s: s.chip(31), ValueError, r"`size`=\(31, 31\) is larger"),
    (
        "size-big-x",
        lambda s: s.chip((40, 2)),
        ValueError,
        r"`size`=\(40, 2\) is larger",
    ),
    ("step0", lambda s: s.chip(5, step=0), ValueError, r"`step` .* got 0"),
    ("step(0,1)", lambda s: s.chip(5, step=(0, 1)), ValueError, r"`step` .* \(0, 1\)"),
    ("step1.5", lambda s: s.chip(5, step=1.5), TypeError, r"`step` .* got 1\.5"),
    ("step-str", lambda s: s.chip(5, step="a"), TypeError, r"`step` .* got 'a'"),
    ("step-1tuple", lambda s: s.chip(5, step=(1,)), TypeError, r"`step` .* \(1,\)"),
    (
        "remainder",
        lambda s: s.chip(5, remainder="pad"),
        ValueError,
        r"`remainder` .* 'pad'",
    ),
    (
        "remainder-none",
        lambda s: s.chip(5, remainder=None),
        ValueError,
        r"`remainder` .* None",
    ),
    (
        "remainder-int",
        lambda s: s.chip(5, remainder=1),
        ValueError,
        r"`remainder` .* got 1",
    ),
    (
        "kernel",
        lambda s: s.chip(5, kernel="triangle"),
        ValueError,
        r"`kernel` .* 'triangle'",
    ),
    ("kernel-int", lambda s: s.chip(5, kernel=3), ValueError, r"`kernel` .* got 3"),
    (
        "kernel-keep",
        lambda s: s.chip(5, kernel="gaussian", remainder="keep"),
        ValueError,
        r"remainder='keep'",
    ),
    (
        "labels-shape",
        lambda s: s.chip(labels=np.ones((29, 30), int)),
        ValueError,
        r"`labels` must have the navigation shape \(30, 30\) .* \(29, 30\)",
    ),
    (
        "labels-3d",
        lambda s: s.chip(labels=np.ones((30, 30, 2), int)),
        ValueError,
        r"`labels` .* got shape \(30, 30, 2\)",
    ),
    (
        "labels-float",
        lambda s: s.chip(labels=_labels(dtype=float)),
        TypeError,
        r"`labels` must be an integer image .* float64",
    ),
    (
        "labels-zero",
        lambda s: s.chip(labels=np.zeros((30, 30), int)),
        ValueError,
        r"`labels` selects no pixel",
    ),
    (
        "labels-negative",
        lambda s: s.chip(labels=_labels() - 3),
        ValueError,
        r"`labels` must be >= 0 .* -2",
    ),
    (
        "labels-signal-shape",
        lambda s: s.chip(labels=hs.signals.Signal2D(np.ones((30, 29), int))),
        ValueError,
        r"`labels` .* got shape \(30, 29\)",
    ),
    (
        "labels-and-size",
        lambda s: s.chip(5, labels=_labels()),
        ValueError,
        r"either `labels` or `size`.* size=5",
    ),
    (
        "labels-and-step",
        lambda s: s.chip(labels=_labels(), step=2),
        ValueError,
        r"either `labels` or `size`.* step=2",
    ),
    (
        "labels-and-kernel",
        lambda s: s.chip(labels=_labels(), kernel="box"),
        ValueError,
        r"`kernel`='box' weights .* label chips",
    ),
    ("chipped-twice", lambda s: s.chip(5).chip(1), ValueError, r"already chipped"),
]


def _single_spectrum(lazy=False):
    s = _map(lazy).inav[0, 0]
    return s


def _nonuniform():
    s = _map()
    s.axes_manager.navigation_axes[0].convert_to_non_uniform_axis()
    return s


def _three_nav():
    data = np.ones((2, 3, 4, 16), dtype="uint16")
    s = exspy.signals.EDSTEMSpectrum(data)
    s.set_signal_type("EDS_TEM_chipped")
    return s


def _with(value, dtype="float32"):
    s = _map()
    s.change_dtype(dtype)
    s.data[2, 3, 100] = value
    return s


SOURCE_CASES = [
    (
        "0d-nav",
        _single_spectrum,
        lambda s: s.chip(1),
        ValueError,
        r"no navigation axes",
    ),
    ("3d-nav", _three_nav, lambda s: s.chip(1), ValueError, r"has 3 navigation axes"),
    (
        "nonuniform",
        _nonuniform,
        lambda s: s.chip(5),
        NotImplementedError,
        r"axis of `signal` is not uniform",
    ),
    (
        "not-eds",
        lambda: hs.signals.Signal1D(np.ones((4, 4, 8))),
        lambda s: chip_function(s, 2),
        TypeError,
        r"`signal` must be an EDS spectrum image .* Signal1D",
    ),
    ("nan", lambda: _with(np.nan), lambda s: s.chip(5), ValueError, r"has NaN counts"),
    ("inf", lambda: _with(np.inf), lambda s: s.chip(5), ValueError, r"infinite counts"),
    (
        "negative-int",
        lambda: _with(-4, "int32"),
        lambda s: s.chip(5),
        ValueError,
        r"negative \(down to -4\) counts",
    ),
    (
        "complex",
        lambda: _map().__class__(np.ones((4, 4, 8), complex)),
        lambda s: s.chip(2),
        TypeError,
        r"real integers or floats .* complex128",
    ),
]


def _unchanged(signal):
    """Snapshot of the data and metadata, to compare after the error."""
    data = signal.data
    data = data.compute() if hasattr(data, "compute") else np.array(data)
    return data, signal.metadata.as_dictionary()


def _assert_same(before, signal):
    data, meta = _unchanged(signal)
    np.testing.assert_array_equal(data, before[0])
    assert repr(meta) == repr(before[1])


@pytest.mark.parametrize(
    "call, exc, match", [c[1:] for c in CHIP_CASES], ids=[c[0] for c in CHIP_CASES]
)
def test_chip_arguments(call, exc, match, lazy):
    s = _map(lazy)
    before = _unchanged(s)
    with pytest.raises(exc, match=match):
        call(s)
    _assert_same(before, s)


@pytest.mark.parametrize(
    "make, call, exc, match",
    [c[1:] for c in SOURCE_CASES],
    ids=[c[0] for c in SOURCE_CASES],
)
def test_chip_sources(make, call, exc, match):
    s = make()
    before = _unchanged(s)
    with pytest.raises(exc, match=match):
        call(s)
    _assert_same(before, s)
