"""The accuracy experiment of issue #3: every model on the same subject-independent split.

A simulated cohort (default 12 subjects × 4 postures, vibration and motion on) is windowed;
each model is cross-validated with grouped k-fold (LOSO is too slow on a 2-core CPU: the report
says so) and the per-model results are merged into one table, overall and per posture.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

from med2ecg.config import TrainConfig
from med2ecg.data import cohort_windows
from med2ecg.evaluate import crossval
from sim.body import POSTURES
from sim.chain import SimConfig
from sim.cohort import CohortSpec, cohort_generate

__all__ = ["AccuracySpec", "accuracy_cohort", "accuracy_model", "accuracy_report"]

_COLS = (("pcc", "PCC", "{:.3f}"), ("amp_err_beat_pct", "amp err/beat %", "{:.1f}"),
         ("qrs_ms", "QRS ms", "{:.1f}"), ("pr_ms", "PR ms", "{:.1f}"),
         ("qt_ms", "QT ms", "{:.1f}"), ("rr_ms", "RR ms", "{:.1f}"))


@dataclasses.dataclass(frozen=True)
class AccuracySpec:
    n_subjects: int = 12
    duration: float = 120.0
    seed: int = 0
    folds: int = 3
    epochs: int = 20


def accuracy_cohort(out: str | Path, spec: AccuracySpec, *, progress: Callable | None = None) -> Path:
    """Generate (or resume) the cohort with vibration and motion on."""
    cohort = Path(out) / "cohort"
    cohort_generate(cohort, CohortSpec(n_subjects=spec.n_subjects, postures=POSTURES,
                                       duration=spec.duration, seed=spec.seed),
                    config=SimConfig(), progress=progress)
    return cohort


def accuracy_model(out: str | Path, spec: AccuracySpec, model: str, *,
                   progress: Callable | None = None) -> dict:
    """Cross-validate one model on the cohort in ``out``; writes ``out/<model>/metrics.json``."""
    ws = cohort_windows(Path(out) / "cohort")
    cfg = TrainConfig(model=model, epochs=spec.epochs, seed=spec.seed, threads=1)
    return crossval(ws, cfg, out=Path(out) / model, k=spec.folds, progress=progress)


def accuracy_report(out: str | Path) -> str:
    """Merge every ``out/<model>/metrics.json`` into ``out/accuracy.md`` (+ JSON)."""
    out = Path(out)
    results = {}
    for path in sorted(out.glob("*/metrics.json")):
        results[path.parent.name] = json.loads(path.read_text())
    if not results:
        raise FileNotFoundError(f"no model results under {out}")
    protocol = next(iter(results.values()))["protocol"]
    head = "| model | group | windows | " + " | ".join(c[1] for c in _COLS) + " |"
    lines = ["# Accuracy: every model on the same subject-independent split", "",
             f"Protocol: {protocol}; LOSO would need one training run per subject, too slow on "
             "this 2-core CPU. Medians over 10-s windows of held-out subjects; interval errors "
             "are median |pred − ref| (same neurokit2 DWT delineator on both, beats matched).",
             "", head, "|" + "---|" * (len(_COLS) + 3)]
    for model, res in results.items():
        s = res["summary"]
        groups = [("overall", s["overall"])] + [(p, s["posture"][p]) for p in POSTURES
                                                if p in s.get("posture", {})]
        for name, g in groups:
            cells = [model, name, str(g.get("n", ""))]
            for key, _, fmt in _COLS:
                v = g.get(key)
                cells.append("–" if v is None or v != v else fmt.format(v))
            lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    (out / "accuracy.md").write_text(text)
    (out / "accuracy.json").write_text(json.dumps(
        {m: {"protocol": r["protocol"], "summary": {"overall": r["summary"]["overall"],
                                                     "posture": r["summary"]["posture"]}}
         for m, r in results.items()}, indent=2))
    return text
