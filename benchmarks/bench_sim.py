"""Full-chain simulation throughput vs neurokit2's ecgsyn alone, measured in the same run.

    make bench            # or: .venv/bin/python benchmarks/bench_sim.py [--hours 8]

Each measurement runs in a fresh subprocess pinned to one core (sched_setaffinity, and one BLAS
thread), so peak memory (ru_maxrss of that child) and time are its own. Prints multiples of
real time, the per-simulated-second speed ratio against ecgsyn, peak memory, and the R→J
latency distribution of a default cohort. Targets (issue #2): chain ≥ 2,000× real time on an
8-h record, ≥ 15× faster per simulated second than ecgsyn alone, < 1 GiB peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = textwrap.dedent("""
    import os, json, resource, sys, time
    os.sched_setaffinity(0, {0})
    import numpy as np
    what, duration, fs = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    if what == "chain":
        from sim.chain import bcg_simulate
        bcg_simulate(duration=10.0, fs=fs, rng=0)  # warm imports and caches
        t0 = time.perf_counter()
        ds = bcg_simulate(duration=duration, fs=fs, rng=0)
        elapsed = time.perf_counter() - t0
        n = ds.sizes["time"]
    else:
        import neurokit2 as nk
        nk.ecg_simulate(duration=10, sampling_rate=int(fs), method="ecgsyn", random_state=0)
        t0 = time.perf_counter()
        x = nk.ecg_simulate(duration=duration, sampling_rate=int(fs), method="ecgsyn",
                            random_state=0, noise=0)
        elapsed = time.perf_counter() - t0
        n = len(x)
    print(json.dumps({"what": what, "duration": duration, "fs": fs, "seconds": elapsed,
                      "samples": n,
                      "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")


def _measure(what: str, duration: float, fs: float) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", _CHILD, what, str(duration), str(fs)],
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _rj_cohort(n: int) -> list[float]:
    import numpy as np

    from sim.chain import SimConfig, bcg_simulate
    from sim.subject import cohort_draw

    quiet = SimConfig().replace(disturbances={"vibration": False, "motion": False})
    out = []
    for s in cohort_draw(n, 0):
        ds = bcg_simulate(s, duration=60.0, fs=250.0, rng=1, config=quiet)
        out.append(float(np.nanmedian(ds["j_peak"].values - ds["r_peak"].values)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=8.0, help="long-record length (h)")
    ap.add_argument("--ref-minutes", type=float, default=10.0,
                    help="length of the like-for-like record for chain vs ecgsyn (min)")
    ap.add_argument("--fs", type=float, default=250.0)
    ap.add_argument("--cohort", type=int, default=20, help="subjects for the R→J distribution")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    ref_s = args.ref_minutes * 60.0
    long_s = args.hours * 3600.0
    nk_ref = _measure("ecgsyn", ref_s, args.fs)
    chain_ref = _measure("chain", ref_s, args.fs)
    chain_long = _measure("chain", long_s, args.fs)
    rt = lambda m: m["duration"] / m["seconds"]  # noqa: E731
    ratio_same = rt(chain_ref) / rt(nk_ref)
    ratio_long = rt(chain_long) / rt(nk_ref)
    print(f"one core, fs = {args.fs:g} Hz (times exclude imports and warm-up)")
    print(f"{'measurement':46s} {'wall s':>8s} {'× real time':>12s} {'peak MiB':>9s}")
    for label, m in ((f"neurokit2 ecgsyn alone, {args.ref_minutes:g} min", nk_ref),
                     (f"full chain, {args.ref_minutes:g} min", chain_ref),
                     (f"full chain, {args.hours:g} h", chain_long)):
        print(f"{label:46s} {m['seconds']:8.2f} {rt(m):12.0f} {m['peak_mib']:9.0f}")
    print(f"full chain vs ecgsyn alone, per simulated second: {ratio_same:.1f}× "
          f"({args.ref_minutes:g}-min records); {ratio_long:.1f}× ({args.hours:g}-h chain)")
    checks = [(f"chain ≥ 2000× real time on {args.hours:g} h", rt(chain_long) >= 2000),
              ("chain ≥ 15× faster than ecgsyn per simulated second", ratio_long >= 15),
              ("peak memory < 1 GiB", chain_long["peak_mib"] < 1024)]
    for text, ok in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {text}")
    rj = _rj_cohort(args.cohort)
    import numpy as np

    q = np.percentile(rj, [0, 25, 50, 75, 100])
    print(f"R→J latency, default cohort of {args.cohort} (median per subject, 60 s each): "
          f"min {q[0]:.3f}  q1 {q[1]:.3f}  median {q[2]:.3f}  q3 {q[3]:.3f}  max {q[4]:.3f} s")
    if args.json:
        args.json.write_text(json.dumps({"ecgsyn": nk_ref, "chain_ref": chain_ref,
                                         "chain_long": chain_long, "rj": rj}, indent=2))
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
