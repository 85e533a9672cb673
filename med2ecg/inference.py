"""Reconstruction: BCG windows or whole recordings → ECG in mV with a trained run."""

from __future__ import annotations

import json
import math

import numpy as np
import torch
import xarray as xr

from . import __version__
from .constants import FS, WINDOW
from .preprocess import preprocess_bcg

__all__ = ["reconstruct_windows", "recording_reconstruct"]


def reconstruct_windows(model: torch.nn.Module, norm: dict, bcg: np.ndarray, *,
                        batch_size: int = 64) -> np.ndarray:
    """(N, WINDOW) raw BCG windows in V → (N, WINDOW) reconstructed ECG in mV."""
    bcg = np.asarray(bcg, dtype=np.float64)
    if bcg.ndim != 2 or bcg.shape[1] != WINDOW:
        raise ValueError(f"expected BCG windows of shape (N, {WINDOW}), got {bcg.shape}")
    if not np.all(np.isfinite(bcg)):
        raise ValueError("BCG windows contain NaN or inf")
    x = torch.from_numpy(preprocess_bcg(bcg, fs=FS).astype(np.float32))
    device = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            out.append(model(x[i:i + batch_size].to(device)).cpu().numpy())
    y = np.concatenate(out) if out else np.zeros((0, WINDOW), np.float32)
    return y.astype(np.float64) * norm["ecg_std_mv"] + norm["ecg_mean_mv"]


def recording_reconstruct(model: torch.nn.Module, norm: dict, ds: xr.Dataset, *,
                          run_name: str = "") -> xr.Dataset:
    """Reconstruct the ECG of a whole recording (schema of DESIGN §3, fs must be 250 Hz).

    Non-overlapping 10-s windows from t = 0; samples after the last full window get NaN in
    ``ecg_rec`` (the ``ecg_rec_covered_s`` attr says how much was reconstructed) — nothing is
    dropped silently. Returns a copy of ``ds`` with ``ecg_rec`` (mV) added.
    """
    if "bcg" not in ds:
        raise ValueError(f"recording has no 'bcg' variable (has: {', '.join(ds.data_vars)})")
    fs = float(ds.attrs.get("fs", np.nan))
    if not math.isclose(fs, FS):
        raise ValueError(f"recording fs = {fs:g} Hz does not match the model rate {FS:g} Hz; "
                         "resample it explicitly first (med2ecg.data.recording_resample)")
    bcg = ds["bcg"].values.astype(np.float64)
    n_win = len(bcg) // WINDOW
    if n_win == 0:
        raise ValueError(f"recording lasts {len(bcg) / FS:.1f} s; at least {WINDOW / FS:g} s "
                         "are needed for one window")
    rec = reconstruct_windows(model, norm, bcg[:n_win * WINDOW].reshape(n_win, WINDOW))
    ecg_rec = np.full(len(bcg), np.nan)
    ecg_rec[:n_win * WINDOW] = rec.reshape(-1)
    out = ds.copy()
    out["ecg_rec"] = xr.DataArray(ecg_rec.astype(np.float32), dims=("time",),
                                  attrs={"units": "mV", "long_name": "reconstructed ECG",
                                         "run": run_name})
    out.attrs["ecg_rec_covered_s"] = n_win * WINDOW / FS
    out.attrs["reconstruction"] = json.dumps({"run": run_name, "med2ecg_version": __version__})
    return out
