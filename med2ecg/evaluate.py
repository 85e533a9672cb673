"""Subject-independent evaluation: metrics per window, tables per subject and posture, plots.

``evaluate_run`` scores one trained run on a data set and flags windows from subjects the run
trained on (they are excluded from the headline numbers). ``crossval`` trains one run per fold
— leave-one-subject-out, or grouped k-fold where LOSO is too slow on a CPU — and scores each on
its held-out subjects only; the report says which protocol was used.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .config import TrainConfig
from .constants import FS
from .data import WindowSet, grouped_folds
from .inference import reconstruct_windows
from .metrics import summarise, window_metrics
from .plots import reconstruction_plot
from .train import RunFiles, run_load, train

__all__ = ["evaluate_run", "crossval", "metrics_markdown"]

log = logging.getLogger(__name__)
_SHOW = ("pcc", "amp_err_paper_pct", "amp_err_beat_pct", "rr_ms", "qrs_ms", "pr_ms", "qt_ms")
_SUMMARISED = _SHOW + ("rr_bias_ms", "qrs_bias_ms", "pr_bias_ms", "qt_bias_ms")


def _summary(rows: list[dict], by: tuple[str, ...]) -> dict:
    return summarise(rows, by=by, metrics=list(_SUMMARISED)) if rows else {}


def _rows(ws: WindowSet, pred: np.ndarray, seen: set[str], model_name: str) -> list[dict]:
    rows = []
    for i in range(len(ws)):
        m = window_metrics(pred[i], ws.ecg[i], fs=FS)
        rows.append({"subject_id": str(ws.subject_id[i]), "posture": str(ws.posture[i]),
                     "source": str(ws.source[i]), "recording": str(ws.recording[i]),
                     "t0": float(ws.t0[i]), "seen": str(ws.subject_id[i]) in seen,
                     "model": model_name, **m})
    return rows


def _plots(ws: WindowSet, pred: np.ndarray, out: Path, n: int = 4) -> list[str]:
    paths = []
    # one window per posture (first unseen), so people can look, not only read
    done = set()
    for i in range(len(ws)):
        key = str(ws.posture[i])
        if key in done:
            continue
        done.add(key)
        p = out / "plots" / f"{ws.subject_id[i]}_{key}_{ws.t0[i]:.0f}s.png"
        reconstruction_plot(ws.ecg[i], pred[i], fs=FS, path=p,
                            title=f"{ws.subject_id[i]} · {key} · t0 = {ws.t0[i]:.0f} s")
        paths.append(str(p))
        if len(paths) >= n:
            break
    return paths


def evaluate_run(run: str | Path, ws: WindowSet, *, out: str | Path | None = None) -> dict:
    """Score ``run`` on ``ws``; writes ``metrics.json`` and ``metrics.md`` (+ plots) to ``out``
    (default: the run folder)."""
    if len(ws) == 0:
        raise ValueError("no windows to evaluate")
    model, config, norm = run_load(run)
    out = Path(out) if out is not None else Path(run)
    out.mkdir(parents=True, exist_ok=True)
    seen = set(json.loads(RunFiles(run).subjects.read_text())["train_subjects"])
    pred = reconstruct_windows(model, norm, ws.bcg)
    rows = _rows(ws, pred, seen, config.model)
    unseen = [r for r in rows if not r["seen"]]
    if not unseen:
        log.warning("every evaluated subject was in the training set: no subject-independent score")
    result = {"run": str(run), "model": config.model,
              "protocol": "held-out data set (subjects seen in training are flagged, excluded "
                          "from 'summary')",
              "n_windows": len(rows), "n_seen_windows": len(rows) - len(unseen),
              "summary": _summary(unseen, ("subject_id", "posture")),
              "summary_seen": _summary([r for r in rows if r["seen"]], ("posture",)),
              "windows": rows, "plots": _plots(ws, pred, out)}
    (out / "metrics.json").write_text(json.dumps(result, indent=2, default=_json_default))
    (out / "metrics.md").write_text(metrics_markdown(result))
    return result


def crossval(ws: WindowSet, config: TrainConfig, *, out: str | Path, k: int | None = None,
             progress: Callable | None = None) -> dict:
    """Train and score one run per fold (LOSO if ``k`` is None, else grouped k-fold)."""
    out = Path(out)
    folds = grouped_folds(ws.subject_id, k=k)
    protocol = "LOSO" if k is None else f"grouped {k}-fold (subjects never shared across folds)"
    rows = []
    for f, (tr, te) in enumerate(folds):
        run = out / f"fold{f:02d}"
        train(ws.subset(tr), config=config, out=run,
              progress=(lambda s, d, t, i, f=f: progress(f"fold {f + 1}/{len(folds)}", d, t, i))
              if progress else None)
        model, _, norm = run_load(run)
        test = ws.subset(te)
        pred = reconstruct_windows(model, norm, test.bcg)
        rows += _rows(test, pred, set(), config.model)
        if f == 0:
            plots = _plots(test, pred, out)
    result = {"model": config.model, "protocol": protocol, "folds": len(folds),
              "n_windows": len(rows), "summary": _summary(rows, ("subject_id", "posture")),
              "windows": rows, "plots": plots, "config": config.model_dump()}
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(result, indent=2, default=_json_default))
    (out / "metrics.md").write_text(metrics_markdown(result))
    return result


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def metrics_markdown(result: dict) -> str:
    """A Markdown report: protocol, overall, per posture and per subject tables."""
    s = result.get("summary") or {}
    lines = [f"# Evaluation: {result['model']}", "", f"Protocol: {result['protocol']}.",
             f"Windows: {result['n_windows']} (10 s at {FS:g} Hz).", ""]

    def table(title: str, groups: dict) -> None:
        if not groups:
            return
        lines.extend([f"## {title}", "",
                      "| group | n | PCC | amp err % (paper, guarded) | amp err % (per beat) | "
                      "RR err ms | QRS err ms | PR err ms | QT err ms |",
                      "|---|---|---|---|---|---|---|---|---|"])
        for name, g in groups.items():
            cells = [str(name), str(g.get("n", ""))]
            for key in _SHOW:
                v = g.get(key)
                cells.append("–" if v is None or (isinstance(v, float) and np.isnan(v))
                             else f"{v:.3f}" if key == "pcc" else f"{v:.1f}")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")

    if s:
        table("Overall", {"all": s.get("overall", {})})
        table("Per posture", s.get("posture", {}))
        table("Per subject", s.get("subject_id", {}))
    lines.append("Values are medians over windows; interval errors are median |pred − ref| per "
                 "window (same delineator on both, beats matched by R peak).")
    return "\n".join(lines) + "\n"
