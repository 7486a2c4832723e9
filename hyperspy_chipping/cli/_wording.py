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
"""Messages of the Python API, reworded for the command line.

The library's errors and warnings name Python calls and arguments
(``add_elements()``, ```kfactors```); on the command line the same hints name
options (``--elements``, ``--kfactors``).
"""

from __future__ import annotations

import contextlib
import re
import sys
import warnings

# (pattern, replacement), applied in order.
_REWORDING = (
    (
        re.compile(r"(?:s\.)?add_elements\((?:\[[^\]]*\])?\)|\badd_elements\b"),
        "--elements",
    ),
    (
        re.compile(
            r"s\.as_lazy\(\)\.chip\(\.\.\.\)(?: or hs\.load\(\.\.\., lazy=True\))?"
            r"|chip\(\.\.\., lazy_output=True\)"
        ),
        "--lazy",
    ),
    # The command line cannot edit metadata.Sample.xray_lines.
    (
        re.compile(r"give one each, or remove them from xray_lines"),
        "give one each with --kfactors",
    ),
    (re.compile(r"pass auto_elements=False"), "pass --no-auto-elements"),
    (re.compile(r"\(auto_elements=False\)"), "(--no-auto-elements)"),
    (re.compile(r"`kfactors\[['\"]?(\w+)['\"]?\]`"), r"--kfactors \1"),
    (
        re.compile(r"`?\b(intensity|model|remainder)=['\"](\w+)['\"]`?"),
        r"--\1 \2",
    ),
    (
        re.compile(r"`(size|step|remainder|kfactors|intensity|model|elements)`"),
        r"--\1",
    ),
)


def cli_wording(message: str) -> str:
    """Reword a library message for the command line.

    Parameters
    ----------
    message : str
        An error or warning message of the Python API.

    Returns
    -------
    str
        The message with Python calls and argument names replaced by the
        matching ``hyperspy-chipping`` options.

    Examples
    --------
    >>> cli_wording("add the element with add_elements(), or ...")
    'add the element with --elements, or ...'
    >>> cli_wording("`kfactors` has 'Cu_Ka' ...: add it with add_elements.")
    "--kfactors has 'Cu_Ka' ...: add it with --elements."
    >>> cli_wording("Use intensity='family' or main-line k-factors.")
    'Use --intensity family or main-line k-factors.'
    """
    for pattern, replacement in _REWORDING:
        message = pattern.sub(replacement, message)
    return message


@contextlib.contextmanager
def cli_warnings(deprecations: bool = False):
    """Show warnings as ``hyperspy-chipping: warning: ...`` on stderr, reworded.

    The warning filters and display are restored on exit.

    Parameters
    ----------
    deprecations : bool
        Whether to show deprecation warnings too (they are about code, not
        about the data: ``--verbose`` shows them).

    Examples
    --------
    >>> import contextlib, sys, warnings
    >>> with contextlib.redirect_stderr(sys.stdout), cli_warnings():
    ...     warnings.warn("add it with add_elements()", UserWarning)
    ...     warnings.warn("old", DeprecationWarning)
    hyperspy-chipping: warning: add it with --elements
    """
    from hyperspy.exceptions import VisibleDeprecationWarning

    with warnings.catch_warnings():
        if not deprecations:
            for category in (
                DeprecationWarning,
                PendingDeprecationWarning,
                FutureWarning,
                VisibleDeprecationWarning,
            ):
                warnings.simplefilter("ignore", category)
        warnings.showwarning = _show_warning
        yield


def _show_warning(message, category, filename, lineno, file=None, line=None):
    sys.stderr.write(f"hyperspy-chipping: warning: {cli_wording(str(message))}\n")
