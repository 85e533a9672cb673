"""Signals across package boundaries: xarray objects with a ``time`` coord, ``fs`` and units.

Recordings are built in one place (:func:`sim.chain.bcg_simulate`, loaders on the med2ecg side);
one accessor (:func:`signal_fs`, which checks ``fs`` against the coord because xarray drops
attrs) and one seconds↔samples helper live here.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

__all__ = ["signal_fs", "seconds_to_samples", "time_coord", "check_fs"]


def check_fs(fs: float, *, name: str = "fs", lo: float = 0.0, hi: float | None = None) -> float:
    """Validate a sampling rate in Hz; raise ``ValueError`` naming the allowed range."""
    if isinstance(fs, bool) or not isinstance(fs, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number in Hz, got {type(fs).__name__}")
    fs = float(fs)
    if not math.isfinite(fs) or fs <= lo or (hi is not None and fs > hi):
        hi_s = "inf" if hi is None else f"{hi:g}"
        raise ValueError(f"{name} = {fs:g} Hz is out of range; allowed ({lo:g}, {hi_s}] Hz")
    return fs


def seconds_to_samples(t: float | np.ndarray, *, fs: float, rounding: str = "round"):
    """Convert seconds to sample counts/indices with explicit rounding.

    ``rounding`` is ``"round"`` (nearest, half to even), ``"floor"`` or ``"ceil"``.
    A tiny tolerance (1e-9 samples) keeps exact products such as ``0.3 * 1000`` from
    flooring to 299.
    """
    x = np.asarray(t, dtype=float) * float(fs)
    if rounding == "round":
        out = np.rint(x)
    elif rounding == "floor":
        out = np.floor(x + 1e-9)
    elif rounding == "ceil":
        out = np.ceil(x - 1e-9)
    else:
        raise ValueError(f"rounding must be 'round', 'floor' or 'ceil', got {rounding!r}")
    out = out.astype(np.int64)
    return int(out) if np.ndim(out) == 0 else out


def time_coord(n: int, *, fs: float) -> np.ndarray:
    """The ``time`` coordinate in seconds: ``arange(n) / fs``."""
    return np.arange(int(n), dtype=np.float64) / float(fs)


def signal_fs(obj: xr.DataArray | xr.Dataset, *, rtol: float = 1e-6) -> float:
    """Read ``fs`` back from a signal, checking it against the ``time`` coord.

    The coord is the truth; a missing or disagreeing ``fs`` attr is an error (xarray drops
    attrs in arithmetic, so a signal that lost its attr is re-derived from the coord only
    when the attr is absent).
    """
    if "time" not in obj.coords:
        raise ValueError("signal has no 'time' coordinate")
    t = np.asarray(obj["time"].values, dtype=float)
    fs_attr = obj.attrs.get("fs")
    if t.size >= 2:
        dt = np.diff(t)
        fs_coord = 1.0 / float(np.median(dt))
        if not np.allclose(dt, dt[0], rtol=1e-6, atol=1e-12):
            raise ValueError("the 'time' coordinate is not uniformly sampled")
        if fs_attr is not None and not math.isclose(float(fs_attr), fs_coord, rel_tol=rtol):
            raise ValueError(
                f"fs attr ({float(fs_attr):g} Hz) disagrees with the time coord "
                f"({fs_coord:g} Hz)")
        return float(fs_attr) if fs_attr is not None else fs_coord
    if fs_attr is None:
        raise ValueError("cannot infer fs from fewer than two samples without an 'fs' attr")
    return float(fs_attr)
