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
"""Benchmark: chipping and quantification past memory, and per-pixel fits.

Part 1 — a 1024 x 1024 px x 2048 channel uint16 map (4 GiB) written chunked
to disk (``.zspy``, generated chunk by chunk: it never sits in memory), then
in a fresh process each:

(r)  the floor: read the file once, ``hs.load(lazy=True).data.sum(axis=(0, 1))``;
(a)  ``hs.load(lazy=True)`` -> ``chip(16)`` -> ``quantify_chips()`` ->
     ``to_dataframe()``;
(w)  the same with a 5 x 5 window at every pixel, ``chip(5, step=1)``
     (issue 14: within 10x of (r), under 1.5 GB);

with the wall time and the peak resident memory of the process, its own
``VmHWM`` on Linux (targets: (a) within 2x of (r), under 1.5 GB).

Part 2 — per-pixel quantification: a 500 x 500 px map chipped with one 9 x 9
window per pixel (``chip(9, step=1)``: 242 064 spectra), and the fit of those
spectra timed alone (``quantify_chips``), eager and lazy (target: 100 000
spectra/s or more).

Run from the repository root::

    python benchmarks/scale.py            # both parts (~5 min, 4.5 GB of disk)
    python benchmarks/scale.py --quick    # 256 x 256 px, a smoke run
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
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
import hyperspy.api as hs
hs.preferences.General.show_progressbar = False
path, job = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
s = hs.load(path, lazy=True)
if job == "read":
    s.data.sum(axis=(0, 1)).compute()
else:
    s.set_signal_type("EDS_TEM_chipped")
    n = s.axes_manager.navigation_shape[0]
    chips = s.chip(5, step=1) if job == "win5" else s.chip(16)
    chips.quantify_chips({"Fe_Ka": 1.0, "La_La": 2.5, "O_Ka": 2.0, "Sr_Ka": 1.8,
                          "Ti_Ka": 1.1})
    df = chips.to_dataframe()
    assert len(df) == ((n - 4) ** 2 if job == "win5" else (n // 16) ** 2)
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
print(json.dumps({"time": t, "rss": rss}))
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
    for name, res in (
        ("(r) read once                       ", read),
        ("(a) chip(16)+quantify+table         ", job),
        ("(w) 5x5 windows per pixel, same     ", win),
    ):
        gib = res["rss"] / 2**30
        _say(f"  {name} {res['time']:7.1f} s   peak RSS {gib:.2f} GiB")
    for label, res, target in (("(a)", job, 2), ("(w)", win, 10)):
        ratio = res["time"] / read["time"]
        _say(
            f"  {label}/(r) = {ratio:.2f} (target <= {target}: "
            f"{'PASS' if ratio <= target else 'FAIL'}); peak RSS "
            f"{'PASS' if res['rss'] < 1.5e9 else 'FAIL'} (target < 1.5 GB)"
        )
    shutil.rmtree(path, ignore_errors=True)


def part2(n: int) -> None:
    import warnings

    import hyperspy.api as hs

    from hyperspy_chipping.data import sto_lfo_cross_section

    warnings.simplefilter("ignore")
    hs.preferences.General.show_progressbar = False
    s = sto_lfo_cross_section((n, n), 50.0, seed=3)
    s.set_signal_type("EDS_TEM_chipped")
    k = s.metadata.Simulation.kfactors.as_dictionary()
    # Untimed warm-up: imports and the line tables, paid once per session.
    s.inav[:30, :30].chip(9, step=1).quantify_chips(k)
    t = time.perf_counter()
    windows = s.chip(9, step=1)
    t_chip = time.perf_counter() - t
    n_spectra = windows.axes_manager.navigation_size
    _say(f"Part 2: {n} x {n} px, 9 x 9 windows at step 1 -> {n_spectra} spectra")
    _say(f"  chip(9, step=1) eager: {t_chip:.2f} s")
    for label, chips in (("eager", windows), ("lazy", windows.as_lazy())):
        t = time.perf_counter()
        maps = chips.quantify_chips(k)
        if chips._lazy:
            maps[0].compute()
        dt = time.perf_counter() - t
        rate = n_spectra / dt
        _say(
            f"  fit {label:5s}: {dt:6.2f} s = {rate:9.0f} spectra/s "
            f"(target >= 100000: {'PASS' if rate >= 1e5 else 'FAIL'})"
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
