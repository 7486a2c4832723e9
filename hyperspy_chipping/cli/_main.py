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
"""The parser, the job and the entry point of ``hyperspy-chipping``."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path

from hyperspy_chipping.cli._kfactors import (
    check_calibration,
    check_kfactor_file,
    kfactor_source,
    parse_composition,
    region_chips,
    writer,
)
from hyperspy_chipping.cli._outputs import (
    Outputs,
    UsageError,
    check_outputs,
    write_all,
)
from hyperspy_chipping.cli._summary import figure, summary
from hyperspy_chipping.cli._wording import cli_warnings, cli_wording

_logger = logging.getLogger(__name__)

_DESCRIPTION = """\
Cut a STEM-EDS spectrum image into chips (square grid cells, overlapping
windows), quantify every chip when k-factors are given, and write one table
row per chip: where the chip is, how many pixels and counts it holds, its
composition (atomic and weight %, with standard deviations), the fit quality
and its summed spectrum; plus a PNG that shows the chips over the map.
Without FILE, the embedded simulated SrTiO3/LaFeO3 cross-section is used,
with its own k-factors.
"""

_EPILOG = """\
examples:
  hyperspy-chipping                              # demo data, 15 px chips
  hyperspy-chipping map.emd --size 15 --elements Sr Ti O La Fe \\
      --kfactors Sr_Ka=1.8 Ti_Ka=1.1 O_Ka=2.0 La_La=2.5 Fe_Ka=1.0
  hyperspy-chipping map.bcf --size 16 12 --remainder keep -o chips.csv
  hyperspy-chipping map.hspy --size 20 --step 10 --lazy

The table format follows the extension of -o (.parquet, .pq or .csv).
Existing files are not replaced without --overwrite; a failed run writes
nothing. Exit status: 0 on success, 2 on bad arguments or input, 130 when
interrupted.
"""


def _pixels_or_zero(text: str) -> int:
    """A pixel index >= 0 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a pixel index >= 0, got {text!r}")
    return value


def _pixels(text: str) -> int:
    """A whole number of pixels, at least 1 (an argparse ``type``)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of pixels >= 1, got {text!r}"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``hyperspy-chipping``.

    Returns
    -------
    argparse.ArgumentParser
        The parser.

    Examples
    --------
    >>> args = build_parser().parse_args(["map.emd", "--size", "16", "12"])
    >>> args.file, args.size
    ('map.emd', [16, 12])
    """
    p = argparse.ArgumentParser(
        prog="hyperspy-chipping",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "file",
        nargs="?",
        help="spectrum image file (.emd, .bcf, .hspy, .zspy, .rpl, ...); "
        "default: the embedded demo data",
    )
    p.add_argument(
        "--size",
        type=_pixels,
        nargs="+",
        default=[15],
        metavar="PX",
        help="chip size in pixels: one value for square chips or two (x y) "
        "(default: 15)",
    )
    p.add_argument(
        "--step",
        type=_pixels,
        nargs="+",
        metavar="PX",
        help="distance between chips in pixels, smaller than --size for "
        "overlapping windows (default: the chip size)",
    )
    p.add_argument(
        "--remainder",
        choices=("crop", "keep"),
        default="crop",
        help="pixels past the last whole chip: crop them (default) or keep "
        "them as partial chips",
    )
    p.add_argument(
        "--elements",
        nargs="+",
        metavar="EL",
        help="elements in the sample, e.g. Sr Ti O La Fe (added to the file's own)",
    )
    p.add_argument(
        "--kfactors",
        nargs="+",
        metavar="LINE=K",
        help="Cliff-Lorimer k-factors of the lines to quantify, e.g. "
        "La_La=2.5 Fe_Ka=1.0 (weight-based, as Velox and Bruker give them); "
        "or 'theoretical' (standardless, from physics tables); or a k-factor "
        "table FILE.json/.csv; without them the table holds geometry and "
        "spectra only",
    )
    p.add_argument(
        "--calibrate",
        nargs="+",
        action="append",
        metavar="EL=AT",
        help="calibrate the k-factors on a region of known composition, e.g. "
        "Sr=20 Ti=20 O=60 (atomic %%), given by the --region that follows, and "
        "quantify with them; repeat both for several regions (phases)",
    )
    p.add_argument(
        "--region",
        type=_pixels_or_zero,
        nargs=4,
        action="append",
        metavar=("X0", "Y0", "X1", "Y1"),
        help="the source-map pixels of known composition of a --calibrate "
        "(half-open bounds); the chips entirely inside are used",
    )
    p.add_argument(
        "--save-kfactors",
        metavar="FILE",
        help="write the k-factors used (calibrated, theoretical or given) to a "
        "table FILE.json or FILE.csv",
    )
    p.add_argument(
        "--intensity",
        choices=("family", "line"),
        default="family",
        help="what the k-factors were calibrated against: the whole shell "
        "family (Velox, Bruker; default) or the main line alone",
    )
    p.add_argument(
        "--model",
        choices=("family", "exspy"),
        default="family",
        help="fit model: the L-line-aware family model (default) or exspy's "
        "stock model, for comparison",
    )
    p.add_argument(
        "--no-auto-elements",
        action="store_true",
        help="fit only the elements named (by the file and --elements); by "
        "default the elements of unexplained peaks are fitted too (not "
        "quantified) and named in a warning",
    )
    p.add_argument(
        "-o",
        "--output",
        default="chips.parquet",
        help="table to write; the extension sets the format: .parquet or .pq "
        "(Parquet, spectra in one array column) or .csv (one column per "
        "channel) (default: chips.parquet)",
    )
    p.add_argument(
        "--png",
        help="picture of the chips to write, ending in .png (default: the "
        "output name with .png)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the table and the picture if they exist (default: refuse)",
    )
    p.add_argument(
        "--no-spectra",
        action="store_true",
        help="leave the chip spectra out of the table",
    )
    p.add_argument(
        "--lazy",
        action="store_true",
        help="read the file lazily (for maps larger than memory)",
    )
    p.add_argument(
        "--demo-shape",
        type=_pixels,
        nargs=2,
        default=[100, 100],
        metavar=("X", "Y"),
        help="size of the demo map in pixels (default: 100 100)",
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="say more (progress messages, deprecation warnings)",
    )
    return p


def select_spectrum_image(signals, name: str = "the file"):
    """Pick the EDS spectrum image, and a matching image, from loaded signals.

    Parameters
    ----------
    signals : hyperspy.signal.BaseSignal or list of hyperspy.signal.BaseSignal
        What ``hs.load`` returned (Velox and Bruker files give lists of
        images, per-detector spectra and the spectrum image).
    name : str
        Name of the source, for the error message.

    Returns
    -------
    tuple
        The spectrum image (largest EDS signal with 1 or 2 navigation axes),
        as ``EDS_TEM_chipped``, and an image of its navigation shape (e.g.
        HAADF) or None.

    Raises
    ------
    ValueError
        If there is no EDS spectrum image among `signals`.

    Examples
    --------
    >>> import exspy
    >>> si = exspy.signals.EDSTEMSpectrum(np.ones((6, 5, 32)))
    >>> haadf = hs.signals.Signal2D(np.ones((6, 5)))
    >>> picked, image = select_spectrum_image([haadf, si])
    >>> picked
    <ChippedEDSSpectrum, title: , dimensions: (5, 6|32)>
    >>> image is haadf
    True
    """
    from exspy.signals import EDSSpectrum

    signals = signals if isinstance(signals, list) else [signals]
    spectra = [
        s
        for s in signals
        if isinstance(s, EDSSpectrum)
        and s.axes_manager.signal_dimension == 1
        and s.axes_manager.navigation_dimension in (1, 2)
    ]
    if not spectra:
        found = [f"{type(s).__name__} {s.data.shape}" for s in signals]
        raise ValueError(
            f"{name!r} holds no EDS spectrum image (found: {found}). Check "
            "that it is an EDS map and its signal_type is EDS_TEM or EDS_SEM."
        )
    si = max(spectra, key=lambda s: s.axes_manager.navigation_size)
    si.set_signal_type("EDS_TEM_chipped")
    nav_shape = si.axes_manager.navigation_shape[::-1]
    image = next(
        (
            s
            for s in signals
            if s.axes_manager.signal_dimension == 2
            and s.axes_manager.navigation_dimension == 0
            and s.data.shape == nav_shape
        ),
        None,
    )
    return si, image


def check_arguments(args: argparse.Namespace) -> Outputs:
    """Check the arguments that can be checked before reading any data.

    Parameters
    ----------
    args : argparse.Namespace
        As :func:`build_parser` returns them.

    Returns
    -------
    Outputs
        The files the run will write.

    Raises
    ------
    UsageError
        For a bad argument, naming the option and the value.

    Examples
    --------
    >>> args = build_parser().parse_args(["--size", "10", "-o", "chips.txt"])
    >>> check_arguments(args)
    Traceback (most recent call last):
    UsageError: argument -o/--output: unknown table format '.txt' in 'chips.txt': ...
    """
    for option in ("size", "step"):
        values = getattr(args, option)
        if values is not None and len(values) > 2:
            raise UsageError(
                f"argument --{option}: takes one value (square chips) or two "
                f"(x y), got {len(values)}: {' '.join(map(str, values))}."
            )
    if args.file is not None and not Path(args.file).exists():  # .zspy: a folder
        raise UsageError(f"argument FILE: {args.file!r} does not exist.")
    kfactor_source(args.kfactors)
    check_calibration(args)
    check_kfactor_file(args.save_kfactors, overwrite=args.overwrite)
    if args.elements:
        from exspy.material import elements as elements_db

        unknown = [el for el in args.elements if el not in elements_db]
        if unknown:
            what = "is not a chemical element symbol"
            if len(unknown) > 1:
                what = "are not chemical element symbols"
            raise UsageError(
                f"argument --elements: {' '.join(unknown)} {what} (write them "
                "as Sr Ti O La Fe)."
            )
    return check_outputs(
        args.output, args.png, overwrite=args.overwrite, source=args.file
    )


def _load(args: argparse.Namespace):
    """The spectrum image to chip, a matching image (or None) and k-factors."""
    if args.file is None:
        from hyperspy_chipping.data import sto_lfo_cross_section

        s = sto_lfo_cross_section(tuple(args.demo_shape))
        s.set_signal_type("EDS_TEM_chipped")
        kfactors = kfactor_source(args.kfactors)
        if kfactors is None and args.calibrate is None:
            kfactors = s.metadata.Simulation.kfactors.as_dictionary()
        return (s.as_lazy() if args.lazy else s), None, kfactors
    import hyperspy.api as hs

    # Velox and Bruker files hold several signals: the HAADF image comes
    # along with the spectrum image. rosettasciio reads a Velox spectrum
    # image right only when asked for it alone: then load the images.
    if Path(args.file).suffix.lower() == ".emd":
        loaded = hs.load(args.file, lazy=args.lazy, select_type="spectrum_image")
        loaded = loaded if isinstance(loaded, list) else [loaded]
        images = hs.load(args.file, lazy=args.lazy, select_type="images")
        loaded += images if isinstance(images, list) else [images]
    else:
        loaded = hs.load(args.file, lazy=args.lazy)
    s, image = select_spectrum_image(loaded, args.file)
    return s, image, kfactor_source(args.kfactors)


def run(args: argparse.Namespace) -> dict:
    """Run the chipping job described by parsed command-line arguments.

    The arguments and the outputs are checked before any data are read; the
    table and the picture are written together at the end, or not at all.

    Parameters
    ----------
    args : argparse.Namespace
        As :func:`build_parser` returns them.

    Returns
    -------
    dict
        ``table`` and ``png`` paths written, ``n_chips``, and the
        ``summary`` printed (see :func:`~hyperspy_chipping.cli._summary.summary`).

    Raises
    ------
    UsageError
        For a bad argument (see :func:`check_arguments`).
    """
    outputs = check_arguments(args)
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt
    from dask.diagnostics import ProgressBar

    from hyperspy_chipping.chipping._display import summed_counts

    s, image, kfactors = _load(args)
    if args.elements:
        s.add_elements(args.elements)
    size = args.size[0] if len(args.size) == 1 else tuple(args.size)
    step = None
    if args.step:
        step = args.step[0] if len(args.step) == 1 else tuple(args.step)
    chips = s.chip(size, step=step, remainder=args.remainder)
    header = {}
    if args.calibrate is not None:
        compositions = [parse_composition(items) for items in args.calibrate]
        wheres = [region_chips(chips, region) for region in args.region]
        kfactors = chips.calibrate_kfactors(compositions, wheres)
        regions = "; ".join(" ".join(map(str, r)) for r in args.region)
        header["source"] = (
            f"calibrated on pixels {regions} of {args.file or 'the demo map'}"
        )
    if kfactors is not None:
        chips.quantify_chips(
            kfactors,
            intensity=args.intensity,
            model=args.model,
            auto_elements=not args.no_auto_elements,
        )
    extra = []
    if args.save_kfactors is not None:
        if kfactors is None:
            raise ValueError(
                "--save-kfactors needs k-factors: give --kfactors or --calibrate."
            )
        q = chips.metadata.Chipping.Quantification
        table = q.kfactors.as_dictionary()
        if kfactors == "theoretical":
            from hyperspy_chipping.kfactors import theoretical_kfactors

            # At the window the quantification applied them (if it moved).
            window = q.get_item("kfactor_window")
            table = theoretical_kfactors(list(table), q.beam_energy, window=window)
        elif hasattr(kfactors, "header"):  # calibrated, or read from a table
            table = kfactors
        target = Path(args.save_kfactors)
        extra.append((target, writer(table, target, **header)))
    csv = outputs.table_format == "csv"
    # One progress bar over both computations of a lazy map.
    progress = ProgressBar() if s._lazy else contextlib.nullcontext()
    with progress:
        # CSV has no array cells: one column per channel there.
        df = chips.to_dataframe(
            spectra=not args.no_spectra,
            spectrum_format="wide" if csv else "array",
            show_progressbar=False,
        )
        if image is None:
            image = summed_counts(s)
    fig = figure(
        chips, image, df, f"{len(df)} chips of {s.metadata.General.title or 'the map'}"
    )

    def write_table(path):
        if csv:
            df.to_csv(path, index=False)
        else:
            df.to_parquet(path)

    def write_png(path):
        fig.savefig(path, format="png", dpi=150, bbox_inches="tight")

    try:
        write_all(
            [(outputs.table, write_table), (outputs.png, write_png), *extra],
            overwrite=args.overwrite,
        )
    finally:
        plt.close(fig)
    return {
        "table": str(outputs.table),
        "png": str(outputs.png),
        "n_chips": len(df),
        "summary": summary(df, chips),
    }


#: Errors that are the user's to fix: a message, no traceback.
USER_ERRORS = (
    ValueError,
    TypeError,
    NotImplementedError,
    OSError,
    MemoryError,
    ImportError,
)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hyperspy-chipping`` console script.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; default ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: 0 on success; 2 on a bad argument (with the usage, as
        argparse does) or bad input, with the message on stderr and nothing
        written; 130 when interrupted.

    Examples
    --------
    >>> import contextlib, sys
    >>> with contextlib.redirect_stderr(sys.stdout):
    ...     main(["-o", "chips.txt"])
    usage: hyperspy-chipping ...
    hyperspy-chipping: error: argument -o/--output: unknown table format '.txt' ...
    2
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, or a bad argument (argparse said why)
        return exit_.code if isinstance(exit_.code, int) else 2
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        with cli_warnings(deprecations=args.verbose):
            result = run(args)
    except UsageError as err:
        parser.print_usage(sys.stderr)
        sys.stderr.write(f"{parser.prog}: error: {err}\n")
        return 2
    except USER_ERRORS as err:
        message = cli_wording(str(err))
        if isinstance(err, ImportError) and err.name:
            package = err.name.partition(".")[0]
            message += f" (a package it needs is not installed: pip install {package})"
        sys.stderr.write(f"{parser.prog}: error: {message}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"{parser.prog}: interrupted; nothing was written\n")
        return 130
    sys.stdout.write(
        f"wrote {result['n_chips']} chips to {result['table']} and {result['png']}\n"
    )
    sys.stdout.write(result["summary"] + "\n")
    return 0
