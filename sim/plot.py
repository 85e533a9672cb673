"""Quick-look figures of a recording: ECG with fiducials, Kim force with H/I/J/K, recorded BCG.

Figures are built on :class:`matplotlib.figure.Figure` with an explicit Agg canvas, so nothing
here touches pyplot's global state or the process-wide backend.

Examples
--------
>>> from sim.plot import recording_plot
>>> recording_plot(ds, "out/S001.png", start=20.0)  # doctest: +SKIP
PosixPath('out/S001.png')
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import signal as sps

from ._signal import seconds_to_samples, signal_fs
from .io import _atomic_file

__all__ = ["bcg_hijk", "recording_figure", "recording_plot", "HIJK_WINDOWS"]

logger = logging.getLogger(__name__)

#: Search windows (s) for the BCG waves around J: I is the minimum in [J − i, J), H the
#: maximum in [I − h, I), K the minimum in (J, J + k].
HIJK_WINDOWS = {"i": 0.12, "h": 0.10, "k": 0.15}

#: ECG fiducials drawn on the ECG panel: variable -> (label, marker, colour).
_ECG_MARKS = {
    "p_onset": ("P onset", "o", "tab:green"),
    "qrs_onset": ("QRS onset", ">", "tab:orange"),
    "r_peak": ("R", "v", "tab:red"),
    "qrs_offset": ("QRS offset", "<", "tab:purple"),
    "t_offset": ("T offset", "s", "tab:brown"),
}
_HIJK_MARKS = {"H": ("^", "tab:green"), "I": ("v", "tab:orange"), "J": ("^", "tab:red"),
               "K": ("v", "tab:purple")}
_LEGEND = {"loc": "upper left", "bbox_to_anchor": (1.005, 1.0), "fontsize": "small",
           "frameon": False}  # outside the axes, right of the traces
_BAND = (0.5, 20.0)  # display band-pass of the recorded BCG, Hz
_BAND_ORDER = 3


def _extremum(x: np.ndarray, lo: int, hi: int, *, kind: str) -> int | None:
    """Index of the min/max of ``x[lo:hi]`` after clipping to the signal; None if empty."""
    lo, hi = max(lo, 0), min(hi, x.size)
    if hi <= lo:
        return None
    seg = x[lo:hi]
    return lo + int(np.argmin(seg) if kind == "min" else np.argmax(seg))


def bcg_hijk(force: np.ndarray, *, fs: float, j_peak: np.ndarray) -> dict[str, np.ndarray]:
    """Locate the H, I, J, K waves of a BCG force around known J peaks.

    J is taken from ``j_peak`` (snapped to the nearest sample for the searches); I is the
    minimum of ``force`` in ``[J − 0.12 s, J)``, H the maximum in ``[I − 0.10 s, I)`` and K
    the minimum in ``(J, J + 0.15 s]`` (:data:`HIJK_WINDOWS`). Windows are clipped to the
    signal; a wave whose window is empty (or whose J is NaN or outside the signal) is NaN.

    Parameters
    ----------
    force : array_like, shape (time,)
        Force samples; sample ``i`` is at ``i / fs`` s.
    fs : float
        Sampling rate in Hz.
    j_peak : array_like, shape (beat,)
        J-peak times in seconds (NaN where absent).

    Returns
    -------
    dict of str to ndarray, each shape (beat,)
        ``"H"``, ``"I"``, ``"J"``, ``"K"`` times in seconds; ``"J"`` is ``j_peak`` itself.

    Examples
    --------
    >>> import numpy as np
    >>> fs = 250.0
    >>> t = np.arange(500) / fs
    >>> f = np.exp(-((t - 1.0) / 0.02) ** 2) - 0.5 * np.exp(-((t - 0.92) / 0.02) ** 2)
    >>> float(bcg_hijk(f, fs=fs, j_peak=np.array([1.0]))["I"][0])
    0.92
    """
    x = np.asarray(force, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"force must be 1-D (time,), got shape {x.shape}")
    fs = float(fs)
    j = np.atleast_1d(np.asarray(j_peak, dtype=float))
    out = {k: np.full(j.shape, np.nan) for k in "HIK"}
    out["J"] = j.copy()
    n_i = seconds_to_samples(HIJK_WINDOWS["i"], fs=fs, rounding="floor")
    n_h = seconds_to_samples(HIJK_WINDOWS["h"], fs=fs, rounding="floor")
    n_k = seconds_to_samples(HIJK_WINDOWS["k"], fs=fs, rounding="floor")
    for b, jt in enumerate(j):
        if not np.isfinite(jt):
            continue
        jj = seconds_to_samples(jt, fs=fs, rounding="round")
        if not 0 <= jj < x.size:
            continue
        k = _extremum(x, jj + 1, jj + n_k + 1, kind="min")
        if k is not None:
            out["K"][b] = k / fs
        i = _extremum(x, jj - n_i, jj, kind="min")
        if i is None:
            continue
        out["I"][b] = i / fs
        h = _extremum(x, i - n_h, i, kind="max")
        if h is not None:
            out["H"][b] = h / fs
    return out


def _bandpass(x: np.ndarray, *, fs: float) -> np.ndarray:
    l_freq, h_freq = _BAND
    if h_freq >= fs / 2:
        raise ValueError(f"display band-pass {l_freq:g}–{h_freq:g} Hz needs fs > {2 * h_freq:g} "
                         f"Hz; the recording has fs = {fs:g} Hz")
    sos = sps.butter(_BAND_ORDER, [l_freq, h_freq], btype="bandpass", fs=fs, output="sos")
    padlen = min(3 * (2 * len(sos) + 1), x.size - 1)
    if padlen < 1:
        return x - x.mean()
    return sps.sosfiltfilt(sos, x, padlen=padlen)


def _window(ds: xr.Dataset, start: float | None, duration: float) -> tuple[float, float]:
    fs = signal_fs(ds)
    total = ds.sizes["time"] / fs
    if not (isinstance(duration, (int, float)) and math.isfinite(duration) and duration > 0):
        raise ValueError(f"duration must be a positive number of seconds, got {duration!r}")
    t0 = 0.0 if start is None else float(start)
    if not math.isfinite(t0) or t0 < 0 or t0 >= total:
        raise ValueError(f"window [{t0:g}, {t0 + duration:g}) s is outside the recording, "
                         f"which lasts {total:g} s")
    t1 = min(t0 + duration, total)
    if t1 < t0 + duration:
        logger.debug("plot window clipped to the recording end (%g s)", total)
    return t0, t1


def recording_figure(ds: xr.Dataset, *, start: float | None = None,
                     duration: float = 10.0) -> Figure:
    """Build the quick-look figure of a recording (see :func:`recording_plot`).

    Returns
    -------
    matplotlib.figure.Figure
        With an Agg canvas attached; 3 axes, or 2 when the recording has no ``force``.
    """
    fs = signal_fs(ds)
    t0, t1 = _window(ds, start, duration)
    t = np.asarray(ds["time"].values, dtype=float)
    sel = (t >= t0) & (t < t1)
    tw = t[sel]
    has_force = "force" in ds.data_vars
    j_peak = (np.asarray(ds["j_peak"].values, dtype=float) if "j_peak" in ds.data_vars
              else np.array([]))

    def in_window(times: np.ndarray) -> np.ndarray:
        times = np.asarray(times, dtype=float)
        return times[np.isfinite(times) & (times >= t0) & (times < t1)]

    n_panels = 3 if has_force else 2
    fig = Figure(figsize=(12, 2.6 * n_panels + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(n_panels, 1, sharex=True, squeeze=False)[:, 0]

    ax = axes[0]
    ecg = np.asarray(ds["ecg"].values, dtype=float)
    ax.plot(tw, ecg[sel], color="black", lw=0.8, label="ECG")
    for name, (label, marker, colour) in _ECG_MARKS.items():
        if name not in ds.data_vars:
            continue
        times = in_window(ds[name].values)
        ax.plot(times, np.interp(times, t, ecg), ls="none", marker=marker, color=colour,
                ms=6, label=label)
    ax.set_ylabel(f"ECG ({ds['ecg'].attrs.get('units', 'mV')})")
    ax.legend(**_LEGEND)

    if has_force:
        ax = axes[1]
        force = np.asarray(ds["force"].values, dtype=float)
        ax.plot(tw, force[sel], color="tab:blue", lw=0.8, label="Kim force")
        waves = bcg_hijk(force, fs=fs, j_peak=j_peak)
        for wave, (marker, colour) in _HIJK_MARKS.items():
            times = in_window(waves[wave])
            ax.plot(times, np.interp(times, t, force), ls="none", marker=marker, color=colour,
                    ms=6, label=wave)
        ax.set_ylabel(f"force ({ds['force'].attrs.get('units', 'N')})")
        ax.legend(**_LEGEND)

    ax = axes[-1]
    bcg = _bandpass(np.asarray(ds["bcg"].values, dtype=float), fs=fs)
    ax.plot(tw, bcg[sel], color="tab:gray", lw=0.8,
            label=f"BCG {_BAND[0]:g}–{_BAND[1]:g} Hz")
    for k, jt in enumerate(in_window(j_peak)):
        ax.axvline(jt, color="tab:red", lw=0.6, alpha=0.6, label="J" if k == 0 else None)
    ax.set_ylabel(f"BCG ({ds['bcg'].attrs.get('units', 'V')})")
    ax.set_xlabel("time (s)")
    ax.set_xlim(t0, t1)
    ax.legend(**_LEGEND)

    a = ds.attrs
    fig.suptitle(f"{a.get('subject_id', '?')} · {a.get('posture', '?')} · {fs:g} Hz · "
                 f"{a.get('source', '?')}")
    return fig


def recording_plot(ds: xr.Dataset, path: str | os.PathLike, *, start: float | None = None,
                   duration: float = 10.0) -> Path:
    """Write a PNG quick-look of a recording window.

    Panels share the time axis: (1) ECG with P onset, QRS onset/offset, R and T offset;
    (2) the Kim force with the H, I, J, K waves (:func:`bcg_hijk`) — skipped when the
    recording has no ``force`` (real data); (3) the recorded BCG band-passed 0.5–20 Hz
    (3rd-order Butterworth, zero-phase) with vertical lines at J. The title names
    ``subject_id``, ``posture``, ``fs`` and ``source``.

    Parameters
    ----------
    ds : xarray.Dataset
        A recording (DESIGN §3).
    path : path-like
        Output PNG, written atomically (parent folders are created).
    start : float, optional
        Window start in seconds (default 0).
    duration : float
        Window length in seconds; clipped at the recording's end.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        The window starts outside the recording (the message names its duration), or
        ``fs`` is too low for the 20 Hz display band.
    """
    path = Path(path)
    fig = recording_figure(ds, start=start, duration=duration)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _atomic_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    logger.info("wrote recording plot %s", path)
    return path
