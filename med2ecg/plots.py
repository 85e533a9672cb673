"""Plots of reconstructions against references, with delineated landmarks."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .metrics import delineate

__all__ = ["reconstruction_plot"]

_MARK = {"p_onset": ("o", "P on"), "qrs_onset": (">", "QRS on"), "r_peak": ("v", "R"),
         "qrs_offset": ("<", "QRS off"), "t_offset": ("s", "T off")}


def reconstruction_plot(ref: np.ndarray, pred: np.ndarray, *, fs: float,
                        path: str | os.PathLike, title: str = "") -> Path:
    """PNG of one window: reference and reconstructed ECG (mV) with landmarks from the same
    delineator the metrics use (filled: reference, open: reconstruction)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ref = np.asarray(ref, dtype=float)
    pred = np.asarray(pred, dtype=float)
    t = np.arange(len(ref)) / fs
    fig = Figure(figsize=(12, 3.6))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(t, ref, color="k", lw=1.0, label="reference")
    ax.plot(t, pred, color="tab:red", lw=1.0, alpha=0.8, label="reconstruction")
    for sig, fill, colour in ((ref, True, "k"), (pred, False, "tab:red")):
        fid = delineate(sig, fs=fs)
        for name, (marker, _) in _MARK.items():
            times = np.asarray(fid.get(name, []), dtype=float)
            times = times[np.isfinite(times)]
            idx = np.clip(np.rint(times * fs).astype(int), 0, len(sig) - 1)
            ax.plot(times, sig[idx], marker, ms=5, color=colour,
                    markerfacecolor=colour if fill else "none", linestyle="none")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("ECG (mV)")
    ax.set_title(title + "   markers: " + ", ".join(f"{m} {n}" for m, n in _MARK.values()),
                 fontsize=9)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial.png")
    fig.savefig(tmp, dpi=100)
    os.replace(tmp, path)
    return path
