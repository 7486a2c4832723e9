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
"""Benchmark: chip and quantify an EDS map with hyperspy_chipping vs stock exspy.

One run times, on the *same* in-memory simulated map (``sto_lfo_cross_section``,
300 kV, 2000 channels, 50 counts/px, uint16, seed 1) of each case:

(a)  this package: ``s.chip(n)`` + ``quantify_chips(k_family)`` +
     ``to_dataframe()`` (default ``model="family"``); (a') the same with
     ``quantify_chips(k_line, intensity="line", model="exspy")``;
(b)  stock HyperSpy/exspy as the study did it: ``rebin(scale=(n, n, 1))`` (it
     crops the remainder) -> ``create_model()`` -> ``multifit()`` (default
     non-linear optimiser) -> ``m.get_lines_intensity()`` ->
     ``quantification(..., "CL")``; run once;
(c)  the fastest stock path: crop with ``inav`` -> ``rebin`` ->
     ``create_model()`` -> ``multifit(optimizer="lstsq")`` ->
     ``m.get_lines_intensity()`` -> ``quantification(..., "CL")``;
(d)  the floor: one numpy pass over the data, ``s.data.sum(axis=(0, 1))``.

The stock paths use the main-line k-factors (``metadata.Simulation.kfactors_line``,
in exspy's alphabetical order: they pair with exspy's main-line intensities);
(a) uses the family k-factors. Times are medians of ``--repeats`` runs ((b): one
run), after one untimed warm-up of the fast paths on a small map (imports and
caches, which a user pays once per session). Peak memory is the Python-level peak
that :mod:`tracemalloc` traces during one extra run of (a), (a'), (c) and (d) (the
map itself, allocated before, is not counted; (b) is not traced, it would slow
down); resident memory is the process's ``ru_maxrss``.

The fast paths of every case run first, (b) of every case last, and (a) is timed
once more after (b): on a machine where numpy and scipy each bring their own
OpenBLAS thread pool, the thread pool that scipy's routines in (b) start can slow
the small BLAS calls of later code down (set ``OPENBLAS_NUM_THREADS=1`` to avoid
it).

Run from the repository root::

    python benchmarks/quantify_chips.py --quick        # smoke run, ~30 s
    python benchmarks/quantify_chips.py                # full run, ~3 min
    python benchmarks/quantify_chips.py --skip-slow    # without (b)
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import resource
import statistics
import sys
import time
import tracemalloc
import warnings

import numpy as np

#: (navigation shape (x, y), chip size in pixels)
FULL_CASES = (((500, 500), 15), ((512, 512), 64))
QUICK_CASES = (((100, 100), 10),)
COUNTS_PER_PIXEL = 50.0
SEED = 1
TRUTH = {
    "LFO": {"La": 20.0, "Fe": 20.0, "O": 60.0},
    "STO": {"Sr": 20.0, "Ti": 20.0, "O": 60.0},
}
#: Targets: (a) vs (b), (c), (d), memory, agreement of model="exspy" with (c).
MIN_SPEEDUP_SLOW = 100.0
MIN_SPEEDUP_LSTSQ = 8.0
MAX_OVER_FLOOR = 2.5
MAX_MEMORY_RATIO = 1.5
MAX_AT_DIFF = 0.1


def _say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _quiet():
    """Progress bars off; exspy's lines-out-of-range warnings muted."""
    warnings.filterwarnings(
        "ignore", message=".*not in the data energy range", category=UserWarning
    )
    # exspy 0.3.2 imports lazy signals from hyperspy._signals (deprecated).
    warnings.filterwarnings("ignore", message="Importing `.*` from `hyperspy._signals")
    import hyperspy.api as hs

    hs.preferences.General.show_progressbar = False
    logging.getLogger("hyperspy").setLevel(logging.ERROR)
    return hs


def _median_time(func, repeats):
    """Median wall time of `repeats` calls, all times, the last result."""
    times, result = [], None
    for _ in range(repeats):
        result = None
        gc.collect()
        t0 = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, result


def _traced_peak(func):
    """Python-level peak memory (bytes) of one call, from tracemalloc."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        func()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def _rss_mb():
    """Peak resident memory of the process so far (ru_maxrss, KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


class _Steps:
    """Wall time of the named steps of one run."""

    def __init__(self, log):
        self.log, self.t, self.times = log, time.perf_counter(), {}

    def __call__(self, name):
        now = time.perf_counter()
        self.times[name] = now - self.t
        self.t = now

    def close(self):
        if self.log is not None:
            self.log.append(self.times)


def _median_steps(log):
    return {k: statistics.median(run[k] for run in log) for k in log[0]} if log else {}


def _ours(signal, size, kfactors, log=None, **kwargs):
    """(a): chip + quantify_chips + to_dataframe."""

    def run():
        step = _Steps(log)
        chips = signal.chip(size)
        step("chip")
        maps = chips.quantify_chips(kfactors, **kwargs)
        step("quantify_chips")
        df = chips.to_dataframe()
        step("to_dataframe")
        step.close()
        return chips, maps, df

    return run


def _stock(signal, size, lines, factors, optimizer=None, crop=True, log=None):
    """(b) (``optimizer=None, crop=False``) and (c) (``"lstsq"``, crop)."""
    nx, ny = signal.axes_manager.navigation_shape
    fit_kwargs = {"show_progressbar": False}
    if optimizer is not None:
        fit_kwargs["optimizer"] = optimizer

    def run():
        step = _Steps(log)
        src = signal.inav[: nx // size * size, : ny // size * size] if crop else signal
        r = src.rebin(scale=(size, size, 1))
        step("rebin")
        m = r.create_model()
        step("create_model")
        m.multifit(**fit_kwargs)
        step("multifit")
        intensities = m.get_lines_intensity(xray_lines=lines)
        comp = r.quantification(intensities, "CL", factors=factors)
        step("intensities + CL")
        step.close()
        return intensities, comp, r

    return run


def _floor(signal):
    def run():
        return signal.data.sum(axis=(0, 1))

    return run


def _by_element(maps):
    return {m.metadata.Sample.elements[0]: np.asarray(m.data, float) for m in maps}


def _pure_chip_means(df, phase_map, labels):
    """Mean at % per element over chips entirely inside one phase."""
    out = {}
    for phase, truth in TRUTH.items():
        label = labels[phase]
        pure = [
            bool(np.all(phase_map[r.y0 : r.y1, r.x0 : r.x1] == label))
            for r in df[["y0", "y1", "x0", "x1"]].itertuples()
        ]
        rows = df[np.asarray(pure)]
        out[phase] = (len(rows), {el: float(rows[f"at_{el}"].mean()) for el in truth})
    return out


def _agreement(chips_x, maps_x, i_stock, maps_c):
    """model="exspy" vs (c): at % and intensities, chip by chip."""
    ours_at, stock_at = _by_element(maps_x), _by_element(maps_c)
    diff = np.stack([np.abs(ours_at[el] - stock_at[el]) for el in stock_at])
    i_ours = np.asarray(chips_x.metadata.Chipping.Quantification.intensities)
    i_ref = np.stack([i.data.ravel() for i in i_stock], axis=1)
    positive = (i_ref > 0).all(axis=1).reshape(diff.shape[1:])
    return {
        "max_at": float(np.nanmax(diff)),
        "max_at_positive": (
            float(np.nanmax(diff[:, positive])) if positive.any() else None
        ),
        "n_negative_chips": int((~positive).sum()),
        "max_rel_intensity": float(
            np.nanmax(np.abs(i_ours - i_ref) / np.abs(i_ref).max(axis=0))
        ),
    }


def prepare(shape, size, quiet=False):
    """Simulate the map of one case; everything the paths need."""
    from hyperspy_chipping.data import sto_lfo_cross_section

    t0 = time.perf_counter()
    s = sto_lfo_cross_section(shape, COUNTS_PER_PIXEL, seed=SEED)
    truth = s.metadata.Simulation
    lines = sorted(s.metadata.Sample.xray_lines)
    k_line = truth.kfactors_line.as_dictionary()
    case = {
        "shape": shape,
        "size": size,
        "signal": s,
        "lines": lines,
        "k_family": truth.kfactors.as_dictionary(),
        "k_line": k_line,
        "k_line_list": [k_line[x] for x in lines],  # exspy's alphabetical order
        "n_chips": (shape[0] // size) * (shape[1] // size),
        "data_bytes": s.data.nbytes,
        "rss": [("simulation", _rss_mb())],
        "logs": {"a": [], "b": [], "c": []},
    }
    if quiet:
        return case
    _say(
        f"simulated {shape[0]}x{shape[1]} px in {time.perf_counter() - t0:.1f} s: "
        f"data {s.data.shape} {s.data.dtype}, {s.data.nbytes / 1e6:,.0f} MB; "
        f"{size} px chips -> {case['n_chips']} chips"
    )
    return case


def warm_up():
    """Run every fast path once on a small map: imports, caches, first calls."""
    t0 = time.perf_counter()
    case = prepare((60, 60), 15, quiet=True)
    s, size = case["signal"], case["size"]
    s.set_signal_type("EDS_TEM_chipped")
    _ours(s, size, case["k_family"])()
    _ours(s, size, case["k_line"], intensity="line", model="exspy")()
    s.set_signal_type("EDS_TEM")
    _stock(s, size, case["lines"], case["k_line_list"], "lstsq")()
    return time.perf_counter() - t0


def run_fast(case, repeats):
    """(a), (a'), (c), (d), agreement and accuracy."""
    s, size, logs = case["signal"], case["size"], case["logs"]
    truth = s.metadata.Simulation
    # (a): the type is switched in place (no copy of the data).
    s.set_signal_type("EDS_TEM_chipped")
    ours = _ours(s, size, case["k_family"], log=logs["a"])
    case["a"], case["a_all"], (_, _, df) = _median_time(ours, repeats)
    case["a_mem"] = _traced_peak(_ours(s, size, case["k_family"]))
    ours_x = _ours(s, size, case["k_line"], intensity="line", model="exspy")
    chips_x = maps_x = None
    try:
        case["ax"], case["ax_all"], (chips_x, maps_x, _) = _median_time(ours_x, repeats)
        case["ax_mem"] = _traced_peak(ours_x)
    except Exception as err:  # report it, benchmark the rest
        case["ax_error"] = f"{type(err).__name__}: {err}"
    s.set_signal_type("EDS_TEM")
    case["rss"].append(("(a)", _rss_mb()))
    # (c) and (d).
    lstsq = _stock(s, size, case["lines"], case["k_line_list"], "lstsq", log=logs["c"])
    case["c"], case["c_all"], (i_stock, maps_c, rebinned) = _median_time(lstsq, repeats)
    case["c_mem"] = _traced_peak(
        _stock(s, size, case["lines"], case["k_line_list"], "lstsq")
    )
    case["d"], case["d_all"], _ = _median_time(_floor(s), repeats)
    case["d_mem"] = _traced_peak(_floor(s))
    case["rss"].append(("(c), (d)", _rss_mb()))
    if maps_x is not None:
        case["agree"] = _agreement(chips_x, maps_x, i_stock, maps_c)
        # Same CL, with the stock negative intensities set to 0 (as ours are).
        clipped = [i.deepcopy() for i in i_stock]
        for i in clipped:
            i.data = np.clip(i.data, 0, None)
        with np.errstate(divide="ignore", invalid="ignore"):
            maps_clip = rebinned.quantification(
                clipped, "CL", factors=case["k_line_list"]
            )
        case["agree"]["max_at_clipped"] = _agreement(
            chips_x, maps_x, i_stock, maps_clip
        )["max_at"]
    case["accuracy"] = _pure_chip_means(
        df, np.asarray(truth.phase_map), truth.phase_labels.as_dictionary()
    )


def run_slow(case):
    """(b) once, untraced; then (a) once more."""
    s, size = case["signal"], case["size"]
    slow = _stock(
        s, size, case["lines"], case["k_line_list"], crop=False, log=case["logs"]["b"]
    )
    gc.collect()
    t0 = time.perf_counter()
    slow()
    case["b"] = time.perf_counter() - t0
    case["rss"].append(("(b)", _rss_mb()))
    s.set_signal_type("EDS_TEM_chipped")
    gc.collect()
    t0 = time.perf_counter()
    _ours(s, size, case["k_family"])()
    case["a_after_b"] = time.perf_counter() - t0
    s.set_signal_type("EDS_TEM")


def _fmt_s(t):
    if t is None:
        return "n/a"
    return f"{t:.3f} s" if t < 100 else f"{t:.1f} s"


def _fmt_mb(b):
    return "n/a" if b is None else f"{b / 1e6:,.0f} MB"


def _fmt_steps(steps):
    return ", ".join(f"{k} {v:.3f}" for k, v in steps.items()) + " s"


def _check(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _target(label, value, op, limit, unit="x"):
    ok = (
        value >= limit
        if op == ">="
        else value <= limit
        if op == "<="
        else value < limit
    )
    goal = f"target {op} {limit:g} {unit}"
    _say(f"  {label:<34}{value:9.2f} {unit:<5} {goal:<18} {_check(ok)}")


def report(case):
    shape, size, d_bytes = case["shape"], case["size"], case["data_bytes"]
    _say(
        f"=== {shape[0]}x{shape[1]} px, {size} px chips ({case['n_chips']} chips), "
        f"data {d_bytes / 1e6:,.0f} MB ==="
    )
    _say(f"{'path':<48}{'time':>11}   {'peak (tracemalloc)':>18}")
    rows = [
        ("(a)  chip + quantify_chips + to_dataframe", "a"),
        ("(a') same, model='exspy', intensity='line'", "ax"),
        ("(b)  stock rebin + multifit() (once)", "b"),
        ("(c)  stock crop + rebin + multifit('lstsq')", "c"),
        ("(d)  floor: data.sum(axis=(0, 1))", "d"),
    ]
    for label, key in rows:
        mem = _fmt_mb(case.get(key + "_mem"))
        _say(f"{label:<48}{_fmt_s(case.get(key)):>11}   {mem:>18}")
    if case.get("ax_error"):
        _say(f"     (a') raised {case['ax_error']}")
    for key in ("a", "ax", "c", "d"):
        if case.get(key + "_all"):
            runs = ", ".join(f"{t:.3f}" for t in case[key + "_all"])
            _say(f"     {key} runs: {runs} s")
    for key, label in (("a", "(a) steps, medians"), ("c", "(c) steps, medians")):
        _say(f"     {label}: {_fmt_steps(_median_steps(case['logs'][key]))}")
    if case["logs"]["b"]:
        _say(f"     (b) steps: {_fmt_steps(case['logs']['b'][0])}")
    if case.get("a_after_b") is not None:
        _say(f"     (a) timed once more after (b): {case['a_after_b']:.3f} s")
    rss = ", ".join(f"{k} {v:,.0f} MB" for k, v in case["rss"])
    _say(f"     process ru_maxrss after: {rss}")
    a = case["a"]
    _say("targets:")
    if case.get("b") is not None:
        _target("(b)/(a) speed-up", case["b"] / a, ">=", MIN_SPEEDUP_SLOW)
    else:
        _say("  (b)/(a) speed-up                  n/a (--skip-slow)")
    _target("(c)/(a) speed-up", case["c"] / a, ">=", MIN_SPEEDUP_LSTSQ)
    _target("(a)/(d) over the floor", a / case["d"], "<=", MAX_OVER_FLOOR)
    _target(
        "peak memory (a) / data size", case["a_mem"] / d_bytes, "<", MAX_MEMORY_RATIO
    )
    ag = case.get("agree")
    if ag is None:
        _say(f"  model='exspy' vs (c): n/a   target < {MAX_AT_DIFF:g} at%   FAIL")
    else:
        _target(
            "model='exspy' vs (c): max |d at%|", ag["max_at"], "<", MAX_AT_DIFF, "at%"
        )
        pos = ag["max_at_positive"]
        pos = "n/a" if pos is None else f"{pos:.1e} at%"
        _say(
            f"      intensities: max |d I| / max |I| = {ag['max_rel_intensity']:.1e}; "
            f"{ag['n_negative_chips']} chips have a negative stock intensity; "
            f"max |d at%| on the other chips = {pos}"
        )
        _say(
            "      max |d at%| with the stock negative intensities set to 0 before "
            f"exspy's CL (as quantify_chips does) = {ag['max_at_clipped']:.1e} at%"
        )
    _say("accuracy of (a), mean at % over pure-phase chips (truth 20:20:60):")
    for phase, (n, means) in case["accuracy"].items():
        parts = []
        for el, v in means.items():
            err = 100 * (v - TRUTH[phase][el]) / TRUTH[phase][el]
            parts.append(f"{el} {v:6.2f} ({err:+.2f} %)")
        _say(f"  {phase} ({n} chips): " + ", ".join(parts))
    _say()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs per path (median)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 100x100 px, 10 px chips"
    )
    parser.add_argument(
        "--skip-slow",
        action="store_true",
        help="skip (b), the stock non-linear multifit",
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    hs = _quiet()
    import exspy

    import hyperspy_chipping

    try:
        import numexpr  # noqa: F401

        numexpr_note = "installed"
    except ImportError:
        numexpr_note = "not installed (HyperSpy falls back to numpy)"
    _say(
        f"python {sys.version.split()[0]}, numpy {np.__version__}, "
        f"hyperspy {hs.__version__}, exspy {exspy.__version__}, "
        f"hyperspy_chipping {hyperspy_chipping.__version__}; "
        f"numexpr {numexpr_note}; repeats {args.repeats}; {os.cpu_count()} CPUs, "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    _say(f"warm-up (every fast path once on a 60x60 px map): {warm_up():.1f} s")
    cases = [
        prepare(shape, size)
        for shape, size in (QUICK_CASES if args.quick else FULL_CASES)
    ]
    for case in cases:
        run_fast(case, args.repeats)
    if not args.skip_slow:
        for case in cases:
            run_slow(case)
    _say()
    for case in cases:
        report(case)
    _say(f"peak resident memory of the process (ru_maxrss): {_rss_mb():,.0f} MB")
    _say(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
