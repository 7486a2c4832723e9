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
"""Shared pytest set-up for the doctests of the package and for tests/."""

import matplotlib

matplotlib.use("agg")

import hyperspy.api as hs  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

# Sphinx's configuration is not a module to doctest.
collect_ignore = ["docs/conf.py"]


@pytest.fixture(autouse=True)
def _quiet_and_isolated(tmp_path, monkeypatch):
    """No progress bars, no figures left open, files written to a temp dir."""
    import matplotlib.pyplot as plt

    old = hs.preferences.General.show_progressbar
    hs.preferences.General.show_progressbar = False
    monkeypatch.chdir(tmp_path)
    yield
    hs.preferences.General.show_progressbar = old
    plt.close("all")


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace):
    doctest_namespace["np"] = np
    doctest_namespace["hs"] = hs
