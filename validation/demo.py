"""End-to-end demo on the embedded defaults (the README's main job).

Generate a small multi-posture cohort, plot one recording per posture and summarise each
posture's BCG; then train Med2ECG briefly on every subject but one and evaluate it on the
held-out subject (subject-independent), and write one report. The hardware-in-the-loop replay
joins with its issue.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.signal

from sim.body import POSTURES
from sim.cohort import CohortSpec, cohort_generate, subject_prefix
from sim.io import cohort_index_read, recording_read
from sim.plot import recording_plot

__all__ = ["DemoSpec", "demo_run", "recording_summary"]


@dataclasses.dataclass(frozen=True)
class DemoSpec:
    n_subjects: int = 4
    duration: float = 40.0
    fs: float = 250.0
    seed: int = 0
    epochs: int = 8
    model: str = "med2ecg"


def recording_summary(ds) -> dict:
    """Per-recording figures: BCG amplitude and cardiac SNR, operating point, R→J latency.

    Cardiac SNR: power of the band-passed (0.5–20 Hz) BCG vs power in 30–45 Hz (above the
    cardiac band, where only detector/ADC noise and disturbances live), scaled per Hz.
    """
    fs = float(ds.attrs["fs"])
    bcg = ds["bcg"].values.astype(float)
    sos = scipy.signal.butter(3, [0.5, 20.0], btype="band", fs=fs, output="sos")
    sos_hi = scipy.signal.butter(3, [30.0, 45.0], btype="band", fs=fs, output="sos")
    skip = int(2 * fs)
    sig = scipy.signal.sosfiltfilt(sos, bcg)[skip:]
    noise = scipy.signal.sosfiltfilt(sos_hi, bcg)[skip:]
    snr_db = 10 * np.log10((np.var(sig) / 19.5) / max(np.var(noise) / 15.0, 1e-30))
    rj = ds["j_peak"].values - ds["r_peak"].values
    events = json.loads(ds.attrs.get("events", "[]"))
    return {
        "subject_id": ds.attrs["subject_id"], "posture": ds.attrs["posture"],
        "bcg_mean_v": float(np.mean(bcg)), "bcg_std_mv": float(np.std(sig) * 1e3),
        "snr_db": float(snr_db), "load_mean_n": float(np.mean(ds["load"].values)),
        "force_ptp_n": float(np.ptp(ds["force"].values[skip:])),
        "rj_median_s": float(np.nanmedian(rj)),
        "heart_rate_bpm": float(60.0 / np.median(np.diff(ds["r_peak"].values))),
        "events": len(events),
    }


def demo_run(out: str | Path, spec: DemoSpec = DemoSpec(), *,
             progress: Callable[[int, int, str], None] | None = None) -> dict:
    """Run the demo into ``out``; returns the summary (also written as JSON and Markdown)."""
    out = Path(out)
    t0 = time.perf_counter()
    cohort_dir = out / "cohort"
    cohort = CohortSpec(n_subjects=spec.n_subjects, postures=POSTURES, duration=spec.duration,
                        fs=spec.fs, seed=spec.seed)
    paths = cohort_generate(cohort_dir, cohort, progress=progress)
    t_gen = time.perf_counter() - t0
    rows, plots = [], {}
    for path in paths:
        ds = recording_read(path)
        rows.append(recording_summary(ds))
        if ds.attrs["subject_id"] == f"{subject_prefix(spec.seed)}000":
            plots[ds.attrs["posture"]] = str(recording_plot(
                ds, out / "plots" / f"{path.stem}.png"))
    per_posture = {}
    for p in POSTURES:
        sel = [r for r in rows if r["posture"] == p]
        per_posture[p] = {k: float(np.median([r[k] for r in sel]))
                          for k in ("bcg_std_mv", "snr_db", "load_mean_n", "rj_median_s")}
    model_result = _demo_model(out, cohort_dir, spec, progress=progress)
    summary = {"spec": dataclasses.asdict(spec), "recordings": rows, "per_posture": per_posture,
               "model": model_result,
               "plots": plots, "generation_seconds": t_gen,
               "simulated_seconds": spec.duration * len(paths),
               "index": str(cohort_dir / "cohort.json"),
               "n_recordings": len(cohort_index_read(cohort_dir)["recordings"])}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    (out / "report.md").write_text(_markdown(summary))
    return summary


def _demo_model(out: Path, cohort_dir: Path, spec: DemoSpec, *, progress=None) -> dict:
    """Train on all subjects but the last, evaluate on the last (never seen in training)."""
    from med2ecg.config import TrainConfig
    from med2ecg.data import cohort_windows
    from med2ecg.evaluate import evaluate_run
    from med2ecg.train import train

    ws = cohort_windows(cohort_dir)
    held_out = ws.subjects[-1]
    train_idx = np.flatnonzero(ws.subject_id != held_out)
    test_idx = np.flatnonzero(ws.subject_id == held_out)
    cfg = TrainConfig(model=spec.model, epochs=spec.epochs, seed=spec.seed, batch_size=12,
                      landmark_epochs=4)
    t0 = time.perf_counter()
    run = train(ws.subset(train_idx), config=cfg, out=out / "run",
                progress=(lambda stage, d, t, info: progress(d, t, f"{stage} epoch {info.get('epoch', '')}"))
                if progress else None)
    t_train = time.perf_counter() - t0
    result = evaluate_run(run, ws.subset(test_idx), out=out / "evaluation")
    s = result["summary"]
    return {"run": str(run), "held_out": str(held_out), "train_windows": int(len(train_idx)),
            "test_windows": int(len(test_idx)), "train_seconds": t_train,
            "overall": s["overall"], "posture": s["posture"],
            "report": str(out / "evaluation" / "metrics.md")}


def _markdown(s: dict) -> str:
    lines = ["# Simulation demo", "",
             f"{s['n_recordings']} recordings ({s['spec']['n_subjects']} subjects × 4 postures, "
             f"{s['spec']['duration']:g} s at {s['spec']['fs']:g} Hz) generated in "
             f"{s['generation_seconds']:.1f} s.", "",
             "| posture | BCG std (mV, 0.5–20 Hz) | cardiac SNR (dB) | mean load (N) | R→J (s) |",
             "|---|---|---|---|---|"]
    for p, v in s["per_posture"].items():
        lines.append(f"| {p} | {v['bcg_std_mv']:.2f} | {v['snr_db']:.1f} | "
                     f"{v['load_mean_n']:.1f} | {v['rj_median_s']:.3f} |")
    lines += ["", "Medians over subjects. Plots: " + ", ".join(
        f"[{p}]({Path(f).relative_to(Path(s['index']).parent.parent)})"
        for p, f in s["plots"].items()), ""]
    m = s["model"]
    lines += [f"## {s['spec']['model']} trained briefly ({s['spec']['epochs']} epochs, "
              f"{m['train_windows']} windows, {m['train_seconds']:.0f} s), held-out subject "
              f"{m['held_out']} ({m['test_windows']} windows)", "",
              "| group | PCC | amp err/beat % | QRS err ms | PR err ms | QT err ms |",
              "|---|---|---|---|---|---|"]
    for name, g in [("overall", m["overall"]), *m["posture"].items()]:
        lines.append(f"| {name} | {g.get('pcc', float('nan')):.3f} | "
                     f"{g.get('amp_err_beat_pct', float('nan')):.1f} | "
                     f"{g.get('qrs_ms', float('nan')):.1f} | {g.get('pr_ms', float('nan')):.1f} | "
                     f"{g.get('qt_ms', float('nan')):.1f} |")
    lines += ["", "A few epochs on a handful of simulated subjects: a smoke test of the whole "
              "chain, not the accuracy experiment (see README).", f"Details: {m['report']}", ""]
    return "\n".join(lines)
