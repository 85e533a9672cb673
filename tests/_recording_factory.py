"""Small hand-built recordings (DESIGN §3) for the I/O and plotting tests.

Not a simulator: a sinusoidal "ECG", one beat a second with fiducials at fixed offsets from
R, and a force made of four Gaussian bumps per beat at known H, I, J, K sample times.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from sim._signal import seconds_to_samples, time_coord
from sim.io import FIDUCIALS, TIME_SERIES, schema_attrs

#: Offsets from J (s) of the H, I, K waves the factory's force is built with; each one lies
#: inside the search window bcg_hijk uses (I in [J-0.12, J), H in [I-0.10, I), K in (J, J+0.15]).
HIJK_OFFSETS = {"H": -0.12, "I": -0.07, "K": +0.08}
HIJK_AMPS = {"H": 0.4, "I": -0.8, "J": 1.0, "K": -0.5}
WAVE_SD = 0.01  # s


def gaussian_force(n: int, *, fs: float, j_idx: np.ndarray) -> tuple[np.ndarray, dict]:
    """A force (N) with H, I, J, K bumps centred exactly on samples; returns (force, times).

    ``times`` maps "H", "I", "J", "K" to the sample-exact times in seconds (NaN where the
    wave would fall outside the signal).
    """
    t = time_coord(n, fs=fs)
    force = np.zeros(n)
    times = {}
    j_idx = np.asarray(j_idx, dtype=np.int64)
    idx = {"J": j_idx}
    for wave, off in HIJK_OFFSETS.items():
        idx[wave] = j_idx + seconds_to_samples(off, fs=fs)
    for wave, ii in idx.items():
        ok = (ii >= 0) & (ii < n)
        times[wave] = np.where(ok, ii / fs, np.nan)
        for c in ii:
            force += HIJK_AMPS[wave] * np.exp(-0.5 * ((t - c / fs) / WAVE_SD) ** 2)
    return force, times


def make_recording(duration: float = 12.0, fs: float = 250.0, *, source: str = "sim",
                   n_beats: int | None = None, seed: int = 0, posture: str = "supine",
                   subject_id: str = "S001") -> xr.Dataset:
    """A valid recording of ``duration`` s at ``fs`` Hz with one beat a second (R at k + 0.5).

    ``source != "sim"`` gives a real-style recording: only ``ecg`` and ``bcg`` and no
    ``j_peak``, ``seed = -1`` and ``sim_config = "{}"``.
    """
    n = seconds_to_samples(duration, fs=fs)
    t = time_coord(n, fs=fs)
    if n_beats is None:
        n_beats = max(int(np.floor(duration - 0.9)), 0)
    r = 0.5 + np.arange(n_beats, dtype=float)
    fid = {"r_peak": r, "p_onset": r - 0.2, "qrs_onset": r - 0.05, "qrs_offset": r + 0.05,
           "t_offset": r + 0.35, "j_peak": r + 0.25}
    fid["p_onset"][:1] = np.nan  # a wave absent in the first beat
    j_idx = seconds_to_samples(fid["j_peak"], fs=fs)
    force, _ = gaussian_force(n, fs=fs, j_idx=j_idx)
    series = {
        "ecg": np.sin(2 * np.pi * 1.0 * t) + 0.1 * np.cos(2 * np.pi * 7.0 * t),
        "force": force,
        "load": 700.0 + force,
        "p0": 90.0 + 30.0 * np.sin(2 * np.pi * t),
        "p1": 88.0 + 28.0 * np.sin(2 * np.pi * t - 0.2),
        "p2": 85.0 + 25.0 * np.sin(2 * np.pi * t - 0.4),
        "resp": np.sin(2 * np.pi * 0.25 * t),
    }
    series["bcg"] = 1.5 + 0.01 * force + 0.001 * series["resp"]
    is_sim = source == "sim"
    keep = TIME_SERIES if is_sim else ("ecg", "bcg")
    data_vars = {k: ("time", series[k], schema_attrs(k)) for k in keep}
    for k in FIDUCIALS:
        if is_sim or k != "j_peak":
            data_vars[k] = ("beat", fid[k], {"units": "s"})
    attrs = {
        "fs": float(fs), "subject_id": subject_id, "posture": posture,
        "seed": seed if is_sim else -1, "source": source,
        "sim_config": json.dumps({"fs": fs, "duration": duration}) if is_sim else "{}",
        "package_version": "0.1.0",
    }
    return xr.Dataset(data_vars, coords={"time": ("time", t, {"units": "s"})}, attrs=attrs)
