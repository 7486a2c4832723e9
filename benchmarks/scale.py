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
"""Benchmark: chipping and quantification past memory, and per-pixel maps.

Part 1 — a 1024 x 1024 px x 2048 channel uint16 map (4 GiB) written chunked
to disk (``.zspy``, generated chunk by chunk: it never sits in memory), then
in a fresh process each:

(r)  the floor: read the file once, ``hs.load(lazy=True).data.sum(axis=(0, 1))``;
(a)  ``hs.load(lazy=True)`` -> ``chip(16)`` -> ``quantify_chips()`` ->
     ``to_dataframe()`` (targets: within 2x of (r), under 1.5 GB);
(w)  the same with a 5 x 5 window at every pixel, ``chip(5, step=1)``
     (issue 14: within 10x of (r), under 1.5 GB, goal 1 GB);
(c)  (w) on a ``dask.distributed`` LocalCluster (2 worker processes, 1
     thread each; memory: the peak of the sum over the client and workers,
     of their resident sizes and of their proportional set sizes, PSS, which
     count the pages the processes share, the libraries' code, once: the
     memory the machine must have, and what the target is checked on);

with the wall time and the peak resident memory of the process (its own
``VmHWM`` on Linux).

Part 2 — per-pixel quantification of an in-memory 500 x 500 px x 2000 channel
map (issue 14), each as ``chip(size, step=1)`` -> ``quantify_chips()`` ->
``to_dataframe()`` (medians of 3 runs after a warm-up), against (d) one
numpy pass over the map
(``data.sum(axis=(0, 1))``): 5 x 5 box windows (target <= 10x (d), goal 5x),
3 x 3 and 15 x 15 box and 5 x 5 Gaussian (target within 1.5x of 5 x 5 box);
and (s) the stock HyperSpy/exspy way on a 100 x 100 px crop (window sums by
``scipy.ndimage.uniform_filter``, ``create_model()``, ``multifit(optimizer=
"lstsq")``, ``get_lines_intensity()``, ``quantification()``), as a rate in
spectra per second against the package's.

Run from the repository root::

    python benchmarks/scale.py            # both parts (~6 min, 4.5 GB of disk)
    python benchmarks/scale.py --quick    # 256 x 256 px, a smoke run
    python benchmarks/scale.py --skip-disk  # part 2 only
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def make_map(path: str, n: int, n_channels: int = 2048, chunk: int = 128) -> None:
    """Write an n x n x n_channels STO/LFO map chunk by chunk to `path`."""
    import dask.array as da
    import hyperspy.api as hs

    from hyperspy_chipping.data import sto_lfo_cross_section

    template = sto_lfo_cross_section((chunk, chunk), 50.0, n_channels=n_channels)
    film_rows = int(0.4 * n)

    def block(block_info=None):
        loc = block_info[None]["chunk-location"]
        (y0, _), (x0, _) = block_info[None]["array-location"][:2]
        rng = np.random.default_rng(1000 * loc[0] + loc[1])
        phase = sto_lfo_cross_section(
            (chunk, chunk),
            50.0,
            n_channels=n_channels,
            seed=rng,
            film_fraction=float(np.clip((film_rows - y0) / chunk, 0, 1)),
        )
        return phase.data

    data = da.map_blocks(
        block,
        dtype=np.uint16,
        chunks=((chunk,) * (n // chunk), (chunk,) * (n // chunk), (n_channels,)),
    )
    s = hs.signals.Signal1D(data).as_lazy()
    s.axes_manager.signal_axes[0].update_from(
        template.axes_manager.signal_axes[0], ("offset", "scale", "units", "name")
    )
    s.metadata.add_dictionary(template.metadata.as_dictionary())
    del s.metadata.Simulation
    s.set_signal_type("EDS_TEM")
    s.save(path, overwrite=True)


_CHILD = r"""
import json, os, resource, sys, threading, time, warnings
warnings.simplefilter("ignore")
import hyperspy.api as hs
hs.preferences.General.show_progressbar = False
path, job = sys.argv[1], sys.argv[2]
peak, peak_pss = [0], [0]
if job == "win5-cluster":
    import psutil
    from dask.distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
    me = psutil.Process()
    def sample():  # the client and its worker processes together
        while True:
            total = shared = 0
            for p in [me] + me.children(recursive=True):
                try:
                    info = p.memory_full_info()
                except psutil.Error:
                    continue
                total += info.rss
                # PSS: each shared page (the libraries' code that every
                # process maps) counted once over the processes.
                shared += getattr(info, "pss", info.rss)
            peak[0] = max(peak[0], total)
            peak_pss[0] = max(peak_pss[0], shared)
            time.sleep(0.05)
    threading.Thread(target=sample, daemon=True).start()
t0 = time.perf_counter()
s = hs.load(path, lazy=True)
if job == "read":
    s.data.sum(axis=(0, 1)).compute()
else:
    s.set_signal_type("EDS_TEM_chipped")
    n = s.axes_manager.navigation_shape[0]
    windows = job.startswith("win5")
    chips = s.chip(5, step=1) if windows else s.chip(16)
    chips.quantify_chips({"Fe_Ka": 1.0, "La_La": 2.5, "O_Ka": 2.0, "Sr_Ka": 1.8,
                          "Ti_Ka": 1.1})
    df = chips.to_dataframe()
    assert len(df) == ((n - 4) ** 2 if windows else (n // 16) ** 2)
t = time.perf_counter() - t0
# The peak of this process's own memory: Linux's VmHWM. (ru_maxrss would
# start at the parent's resident size, which exec hands down to the child.)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
try:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                rss = int(line.split()[1]) * 1024
except OSError:
    pass
print(json.dumps({"time": t, "rss": max(rss, peak[0]), "pss": peak_pss[0]}))
"""


def run_child(path: str, job: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, path, job],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def part1(n: int, workdir: str) -> None:
    path = os.path.join(workdir, "map.zspy")
    _say(
        f"Part 1: {n} x {n} x 2048 uint16 ({n * n * 2048 * 2 / 2**30:.2f} GiB) on disk"
    )
    t = time.perf_counter()
    make_map(path, n)
    _say(f"  written in {time.perf_counter() - t:.1f} s")
    read = run_child(path, "read")
    job = run_child(path, "chip")
    win = run_child(path, "win5")
    cluster = run_child(path, "win5-cluster")
    for name, res in (
        ("(r) read once                       ", read),
        ("(a) chip(16)+quantify+table         ", job),
        ("(w) 5x5 windows per pixel, same     ", win),
        ("(c) (w) on a LocalCluster (2 procs) ", cluster),
    ):
        gib = res["rss"] / 2**30
        line = f"  {name} {res['time']:7.1f} s   peak RSS {gib:.2f} GiB"
        if res.get("pss"):  # the cluster: shared library pages counted once
            line += f" (summed PSS {res['pss'] / 2**30:.2f} GiB)"
        _say(line)
    for label, res, target in (
        ("(a)", job, 2),
        ("(w)", win, 10),
        ("(c)", cluster, 10),
    ):
        ratio = res["time"] / read["time"]
        # A cluster's processes share the libraries' pages: their summed PSS.
        memory = res.get("pss") or res["rss"]
        _say(
            f"  {label}/(r) = {ratio:.2f} (target <= {target}: "
            f"{'PASS' if ratio <= target else 'FAIL'}); peak "
            f"{'summed PSS' if res.get('pss') else 'RSS'} {memory / 1e9:.2f} GB "
            f"{'PASS' if memory < 1.5e9 else 'FAIL'} (target < 1.5 GB)"
        )
    shutil.rmtree(path, ignore_errors=True)


def _stock_rate(s, size: int, k_line: dict, n: int = 100) -> float:
    """Spectra per second of the stock HyperSpy/exspy way on an n x n crop."""
    import exspy
    from scipy.ndimage import uniform_filter

    crop = s.inav[:n, :n]
    t = time.perf_counter()
    sums = uniform_filter(crop.data.astype(float), size=(size, size, 1))
    h = size // 2
    sums = sums[h : n - h, h : n - h] * size**2  # whole windows only
    w = exspy.signals.EDSTEMSpectrum(sums)
    w.axes_manager.signal_axes[0].update_from(
        crop.axes_manager.signal_axes[0], ("offset", "scale", "units", "name")
    )
    w.metadata.add_dictionary(crop.metadata.as_dictionary())
    w.set_signal_type("EDS_TEM")
    lines = sorted(w.metadata.Sample.xray_lines)
    m = w.create_model()
    m.multifit(optimizer="lstsq", show_progressbar=False)
    intensities = m.get_lines_intensity(xray_lines=lines)
    factors = [k_line[line] for line in lines]
    w.quantification(intensities, "CL", factors=factors, show_progressbar=False)
    return sums.shape[0] * sums.shape[1] / (time.perf_counter() - t)


def part2(n: int, repeats: int = 3) -> None:
    import warnings

    import hyperspy.api as hs

    from hyperspy_chipping.data import sto_lfo_cross_section

    warnings.simplefilter("ignore")
    hs.preferences.General.show_progressbar = False
    s = sto_lfo_cross_section((n, n), 50.0, seed=3)
    s.set_signal_type("EDS_TEM_chipped")
    k = s.metadata.Simulation.kfactors.as_dictionary()
    k_line = s.metadata.Simulation.kfactors_line.as_dictionary()
    cases = (
        ("5x5 box", 5, "box"),
        ("3x3 box", 3, "box"),
        ("15x15 box", 15, "box"),
        ("5x5 gaussian", 5, "gaussian"),
    )
    # Untimed warm-up: imports and the line tables, paid once per session.
    for _, size, kernel in cases:
        w = s.inav[:40, :40].chip(size, step=1, kernel=kernel, lazy_output=True)
        w.quantify_chips(k)
        w.to_dataframe()
    passes = []
    for _ in range(3):
        t = time.perf_counter()
        s.data.sum(axis=(0, 1))
        passes.append(time.perf_counter() - t)
    one_pass = float(np.median(passes))
    _say(
        f"Part 2: {n} x {n} x {s.data.shape[-1]} uint16 in memory "
        f"({s.data.nbytes / 1e9:.2f} GB); (d) one pass data.sum(axis=(0, 1)): "
        f"{one_pass:.3f} s"
    )
    times = {}
    for label, size, kernel in cases:
        runs = []
        for _ in range(repeats):
            t = time.perf_counter()
            windows = s.chip(size, step=1, kernel=kernel)
            t_chip = time.perf_counter() - t
            windows.quantify_chips(k)
            t_quantify = time.perf_counter() - t - t_chip
            df = windows.to_dataframe()
            dt = time.perf_counter() - t
            runs.append((dt, t_chip, t_quantify))
            n_windows = len(df)
            del windows, df
        dt, t_chip, t_quantify = sorted(runs)[len(runs) // 2]  # the median
        times[label] = dt
        _say(
            f"  {label:13s} {n_windows:7d} windows: {dt:6.2f} s = "
            f"{dt / one_pass:5.1f} x (d), {n_windows / dt:8.0f} spectra/s "
            f"(chip {t_chip:.2f} / quantify {t_quantify:.2f} / table "
            f"{dt - t_chip - t_quantify:.2f} s; runs "
            + ", ".join(f"{r[0]:.2f}" for r in runs)
            + ")"
        )
    ratio = times["5x5 box"] / one_pass
    _say(
        f"  5x5 box / (d) = {ratio:.1f} (target <= 10: "
        f"{'PASS' if ratio <= 10 else 'FAIL'}; goal 5)"
    )
    for label in ("3x3 box", "15x15 box", "5x5 gaussian"):
        r = times[label] / times["5x5 box"]
        _say(
            f"  {label} / 5x5 box = {r:.2f} (target <= 1.5: "
            f"{'PASS' if r <= 1.5 else 'FAIL'})"
        )
    stock = _stock_rate(s, 5, k_line)
    rate = (n - 4) ** 2 / times["5x5 box"]
    _say(
        f"  (s) stock HyperSpy/exspy, 5x5 windows of a 100 x 100 crop: "
        f"{stock:.0f} spectra/s; this package {rate:.0f} spectra/s = "
        f"{rate / stock:.0f}x"
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small smoke run")
    p.add_argument("--skip-disk", action="store_true", help="part 2 only")
    args = p.parse_args(argv)
    if not args.skip_disk:
        with tempfile.TemporaryDirectory(dir=os.getcwd()) as workdir:
            part1(256 if args.quick else 1024, workdir)
    part2(150 if args.quick else 500)
    return 0


if __name__ == "__main__":
    sys.exit(main())
