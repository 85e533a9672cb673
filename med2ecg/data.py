"""The data layer: recordings on disk → 10-s windows the models train and are scored on.

A *recording* is an :class:`xarray.Dataset` in the schema of DESIGN §3 (``time`` coord in s,
``ecg`` in mV and ``bcg`` in V on ``time``, fiducial times in s on ``beat``, attrs ``fs``,
``subject_id``, ``posture``, ``source`` …). ``med2ecg`` never imports ``sim``: the two meet only
in that schema, which this module checks for itself (the minimal part it needs).

Pipeline::

    recording_open(path)                  # .nc / .zarr → Dataset, float64, minimal schema check
    recording_resample(ds, fs=250.0)      # explicit polyphase resampling (the only place)
    windows_from_recording(ds)            # → WindowSet of non-overlapping 10-s windows at 250 Hz
    cohort_windows(folder)                # a whole cohort (cohort.json or *.nc / *.zarr)
    sample_weights(ws, real_weight=5.0)   # synthetic / real mixing for the sampler
    grouped_folds(ws.subject_id, k=None)  # LOSO or grouped k-fold, subjects never shared

Nothing is resampled, clipped or dropped silently: a recording at another rate is an error
that names :func:`recording_resample`, and the trailing partial window of a recording (the
samples after the last full 10 s) is dropped with a ``logging`` INFO line saying how many
seconds.

Examples
--------
>>> import numpy as np, xarray as xr
>>> t = np.arange(2600) / 250.0
>>> r = np.array([0.5, 1.5])
>>> beats = {"r_peak": r, "p_onset": r - 0.2, "qrs_onset": r - 0.05,
...          "qrs_offset": r + 0.05, "t_offset": r + 0.35}
>>> ds = xr.Dataset({"ecg": ("time", np.sin(2 * np.pi * t)), "bcg": ("time", np.cos(t)),
...                  **{k: ("beat", v) for k, v in beats.items()}}, coords={"time": t},
...                 attrs={"fs": 250.0, "subject_id": "S1", "posture": "supine",
...                        "source": "sim"})
>>> ws = windows_from_recording(ds)  # the last 0.4 s are dropped (logged)
>>> len(ws), ws.bcg.shape, ws.fiducials["r_peak"][0].tolist()
(1, (1, 2500), [0.5, 1.5])
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import xarray as xr
from scipy import signal as _sig

from .constants import FS, LANDMARK_HALF_WIDTH_S, LANDMARKS, REGIONS, WINDOW, WINDOW_S
from .preprocess import _seconds_to_samples

__all__ = [
    "FS_RTOL",
    "WINDOW_FIDUCIALS",
    "WindowSet",
    "cohort_windows",
    "grouped_folds",
    "landmarks_from_fiducials",
    "recording_open",
    "recording_resample",
    "regions_from_fiducials",
    "sample_weights",
    "windows_from_recording",
]

log = logging.getLogger(__name__)

#: fiducials a WindowSet carries per window (times in s relative to the window start)
WINDOW_FIDUCIALS = ("r_peak", *LANDMARKS)
#: relative tolerance between the ``fs`` attr and the rate implied by the ``time`` coord
FS_RTOL = 1e-6
#: largest numerator/denominator accepted for the rational resampling ratio
_MAX_RATIO_TERM = 10_000
_COHORT_INDEX = "cohort.json"
_SUFFIXES = (".nc", ".zarr")


# --------------------------------------------------------------------------- schema checks
def _time_fs(ds: xr.Dataset, *, where: str) -> float:
    """``fs`` from the attrs, checked against the ``time`` coord (the coord is the truth)."""
    if "time" not in ds.coords:
        raise ValueError(f"{where}: no 'time' coord (seconds, arange(n) / fs)")
    fs = ds.attrs.get("fs")
    if isinstance(fs, (bool, np.bool_)) or not isinstance(
            fs, (int, float, np.integer, np.floating)):
        # a malformed file is a ValueError (what the CLI reports), not a caller's TypeError
        raise ValueError(f"{where}: attr 'fs' must be a number in Hz, got {fs!r}")  # noqa: TRY004
    fs = float(fs)
    if not math.isfinite(fs) or fs <= 0:
        raise ValueError(f"{where}: attr fs = {fs:g} Hz is out of range; allowed (0, inf) Hz")
    t = np.asarray(ds["time"].values, dtype=np.float64)
    if t.size >= 2:
        implied = (t.size - 1) / (t[-1] - t[0]) if t[-1] != t[0] else math.inf
        if not math.isclose(implied, fs, rel_tol=FS_RTOL):
            raise ValueError(f"{where}: attr fs = {fs:g} Hz disagrees with the time coord "
                             f"({implied:.9g} Hz) by more than {FS_RTOL:g} (relative)")
        if not np.allclose(np.diff(t), 1.0 / fs, rtol=1e-3, atol=0.0):
            raise ValueError(f"{where}: the time coord is not uniformly sampled at {fs:g} Hz")
    return fs


def _check_recording(ds: xr.Dataset, *, where: str) -> float:
    """The minimal schema the data layer needs; returns ``fs``."""
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"{where}: a recording is an xarray.Dataset, got {type(ds).__name__}")
    missing = [k for k in ("ecg", "bcg") if k not in ds.data_vars]
    if missing:
        have = ", ".join(map(str, ds.data_vars)) or "none"
        raise ValueError(f"{where}: missing variable(s) {', '.join(missing)} (a recording needs "
                         f"'ecg' and 'bcg' on 'time'; has: {have})")
    fs = _time_fs(ds, where=where)
    for name in ("ecg", "bcg"):
        var = ds[name]
        if var.dims != ("time",):
            raise ValueError(f"{where}: variable {name!r} has dims {var.dims}, expected ('time',)")
        values = np.asarray(var.values)
        if values.size == 0:
            raise ValueError(f"{where}: the recording is empty (no samples in {name!r})")
        bad = int(values.size - np.count_nonzero(np.isfinite(values)))
        if bad:
            raise ValueError(f"{where}: variable {name!r} has {bad} NaN/inf sample(s)")
    return fs


def _where(ds: xr.Dataset) -> str:
    src = ds.encoding.get("source")
    if src:
        return str(src)
    return f"recording subject_id={ds.attrs.get('subject_id', '?')!r}"


def _time_vars(ds: xr.Dataset) -> list[str]:
    return [str(k) for k, v in ds.data_vars.items() if "time" in v.dims]


# --------------------------------------------------------------------------- I/O
def recording_open(path: str | os.PathLike) -> xr.Dataset:
    """Read a recording (``.nc`` via h5netcdf or ``.zarr``) into memory and check it.

    Time-series (every variable on ``time``) come back as float64; the file is closed.
    Checked: ``ecg`` and ``bcg`` exist on ``time``, the ``fs`` attr agrees with the ``time``
    coord within :data:`FS_RTOL` (relative), and ``ecg``/``bcg`` hold no NaN/inf. Errors name
    the file.

    Parameters
    ----------
    path : path-like
        A ``.nc`` file or a ``.zarr`` store.

    Returns
    -------
    xarray.Dataset
        The recording; ``ds.encoding["source"]`` is ``str(path)``.
    """
    path = Path(path)
    if not os.path.lexists(path):
        raise FileNotFoundError(f"recording not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".nc":
        ds = xr.load_dataset(path, engine="h5netcdf")
    elif suffix == ".zarr":
        with xr.open_dataset(path, engine="zarr", consolidated=False, chunks=None) as opened:
            ds = opened.load()
    else:
        raise ValueError(f"{path}: unknown recording format {suffix or '(no suffix)'!r}; "
                         f"allowed suffixes: {', '.join(_SUFFIXES)}")
    for name in _time_vars(ds):
        if ds[name].dtype != np.float64:
            ds[name] = ds[name].astype(np.float64)
    ds.encoding["source"] = str(path)
    _check_recording(ds, where=str(path))
    return ds


def _ratio(fs_from: float, fs_to: float) -> tuple[int, int]:
    r = (Fraction(fs_to).limit_denominator(1_000_000)
         / Fraction(fs_from).limit_denominator(1_000_000))
    r = r.limit_denominator(_MAX_RATIO_TERM)
    if not math.isclose(r.numerator / r.denominator, fs_to / fs_from, rel_tol=1e-9):
        raise ValueError(f"cannot resample {fs_from:g} Hz → {fs_to:g} Hz with a rational ratio "
                         f"up/down whose terms are <= {_MAX_RATIO_TERM}")
    return r.numerator, r.denominator


def recording_resample(ds: xr.Dataset, *, fs: float) -> xr.Dataset:
    """Resample every time-series of a recording to ``fs`` (polyphase, explicit).

    The one place in ``med2ecg`` where resampling happens. Each variable on ``time`` is
    resampled with :func:`scipy.signal.resample_poly` using the exact rational ratio
    ``up/down = fs / fs_old`` (anti-aliasing Kaiser FIR, ``padtype="line"`` so a DC offset or
    drift — a raw BCG sits at several volts — does not ring at the edges). The new length is
    ``ceil(n · up / down)`` and the ``time`` coord is rebuilt as ``arange(n_new) / fs``.
    Fiducials are times in seconds and are left unchanged. Attrs: ``fs`` becomes ``fs`` and
    ``resampled_from`` records the old rate.

    Parameters
    ----------
    ds : xarray.Dataset
        A recording (see :func:`recording_open`); its time-series must be finite.
    fs : float
        Target rate in Hz (> 0); the ratio to the current rate must be rational with terms
        up to 10 000.

    Returns
    -------
    xarray.Dataset
        A new recording; ``ds`` is untouched. Resampling to the same rate returns a copy
        without ``resampled_from``.
    """
    where = _where(ds)
    fs_old = _check_recording(ds, where=where)
    if isinstance(fs, bool) or not isinstance(fs, (int, float, np.integer, np.floating)):
        raise TypeError(f"fs must be a number in Hz, got {type(fs).__name__}")
    fs = float(fs)
    if not math.isfinite(fs) or fs <= 0:
        raise ValueError(f"fs = {fs:g} Hz is out of range; allowed (0, inf) Hz")
    if math.isclose(fs, fs_old, rel_tol=1e-12):
        return ds.copy(deep=True)
    up, down = _ratio(fs_old, fs)
    n = ds.sizes["time"]
    n_new = -(-n * up // down)
    time = np.arange(n_new, dtype=np.float64) / fs
    data_vars = {}
    for name, var in ds.data_vars.items():
        if "time" not in var.dims:
            data_vars[name] = var.copy(deep=True)
            continue
        values = np.asarray(var.values, dtype=np.float64)
        bad = int(values.size - np.count_nonzero(np.isfinite(values)))
        if bad:
            raise ValueError(f"{where}: cannot resample {name!r}: it has {bad} NaN/inf sample(s)")
        axis = var.get_axis_num("time")
        out = _sig.resample_poly(values, up, down, axis=axis, padtype="line")
        data_vars[name] = xr.Variable(var.dims, out, attrs=dict(var.attrs))
    coords = {k: v.copy(deep=True) for k, v in ds.coords.items() if "time" not in v.dims}
    coords["time"] = xr.Variable(("time",), time, attrs=dict(ds["time"].attrs) or {"units": "s"})
    attrs = dict(ds.attrs)
    attrs["fs"] = fs
    attrs["resampled_from"] = float(fs_old)
    out = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    if ds.encoding.get("source"):
        out.encoding["source"] = ds.encoding["source"]
    log.info("%s: resampled %g Hz → %g Hz (up %d, down %d; %d → %d samples)", where, fs_old, fs,
             up, down, n, n_new)
    return out


# --------------------------------------------------------------------------- windows
def _str_array(values: Iterable) -> np.ndarray:
    return np.array([str(v) for v in values], dtype=str)


@dataclass(frozen=True, eq=False)
class WindowSet:
    """N aligned 10-s windows at :data:`~med2ecg.constants.FS` (``T = WINDOW`` samples).

    Attributes
    ----------
    bcg : (N, T) float32
        Raw recorded BCG in V (not filtered; preprocessing is the model's job).
    ecg : (N, T) float32
        Reference ECG in mV.
    regions : (N, T) int8
        0 other, 1 P ``[p_onset, qrs_onset)``, 2 QRS ``[qrs_onset, qrs_offset]``,
        3 T ``(qrs_offset, t_offset]`` (:data:`~med2ecg.constants.REGIONS`).
    landmarks : (N, 4, T) float32
        For :data:`~med2ecg.constants.LANDMARKS`, 1 within ±20 ms (±5 samples) of each
        landmark, else 0.
    fiducials : dict
        ``name -> list of N float64 arrays``: times (s) relative to the window start of the
        fiducials inside the window, for ``r_peak`` and the four landmarks.
    subject_id, posture, source, recording : (N,) str
        Per-window labels (``recording``: the file name or ``<subject>_<posture>``).
    t0 : (N,) float64
        Window start in the recording (s).

    Construction checks shapes, dtypes and finiteness and raises ``ValueError``. Arrays are
    shared, not copied: treat them as read-only.
    """

    bcg: np.ndarray
    ecg: np.ndarray
    regions: np.ndarray
    landmarks: np.ndarray
    fiducials: dict[str, list[np.ndarray]]
    subject_id: np.ndarray
    posture: np.ndarray
    source: np.ndarray
    recording: np.ndarray
    t0: np.ndarray

    def __post_init__(self):
        def set_(key, value):  # the dataclass is frozen; normalise fields once, here
            object.__setattr__(self, key, value)

        bcg = np.asarray(self.bcg)
        if bcg.ndim != 2:
            raise ValueError(f"WindowSet.bcg must have shape (N, {WINDOW}), got {bcg.shape}")
        n = bcg.shape[0]
        for name, want in (("bcg", (n, WINDOW)), ("ecg", (n, WINDOW)), ("regions", (n, WINDOW)),
                           ("landmarks", (n, len(LANDMARKS), WINDOW))):
            arr = np.asarray(getattr(self, name))
            if arr.shape != want:
                hint = (f" (windows are {WINDOW_S:g} s at {FS:g} Hz)"
                        if arr.ndim >= 1 and arr.shape[-1] != WINDOW else "")
                raise ValueError(f"WindowSet.{name} must have shape {want}, got {arr.shape}{hint}")
        for name in ("bcg", "ecg"):
            arr = np.asarray(getattr(self, name))
            if not np.issubdtype(arr.dtype, np.number):
                raise ValueError(f"WindowSet.{name} must be numeric, got dtype {arr.dtype}")
            bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
            if bad:
                raise ValueError(f"WindowSet.{name} contains {bad} NaN/inf value(s)")
            set_(name, arr.astype(np.float32, copy=False))
        regions = np.asarray(self.regions)
        if regions.size and (regions.min() < 0 or regions.max() > max(REGIONS.values())):
            raise ValueError(f"WindowSet.regions must be in {sorted(REGIONS.values())}")
        set_("regions", regions.astype(np.int8, copy=False))
        set_("landmarks", np.asarray(self.landmarks).astype(np.float32, copy=False))
        for name in ("subject_id", "posture", "source", "recording"):
            arr = _str_array(np.asarray(getattr(self, name)).reshape(-1))
            if arr.shape != (n,):
                raise ValueError(f"WindowSet.{name} must have shape ({n},), got {arr.shape}")
            set_(name, arr)
        t0 = np.asarray(self.t0, dtype=np.float64).reshape(-1)
        if t0.shape != (n,):
            raise ValueError(f"WindowSet.t0 must have shape ({n},), got {t0.shape}")
        set_("t0", t0)
        fid = {}
        for name in WINDOW_FIDUCIALS:
            if name not in self.fiducials:
                raise ValueError(f"WindowSet.fiducials lacks {name!r} (needs "
                                 f"{', '.join(WINDOW_FIDUCIALS)})")
        for name, per in self.fiducials.items():
            per = [np.asarray(a, dtype=np.float64).reshape(-1) for a in per]
            if len(per) != n:
                raise ValueError(f"WindowSet.fiducials[{name!r}] must hold {n} arrays, got "
                                 f"{len(per)}")
            fid[str(name)] = per
        set_("fiducials", fid)

    def __len__(self) -> int:
        return int(self.bcg.shape[0])

    def __repr__(self) -> str:
        return (f"WindowSet({len(self)} windows of {WINDOW} samples at {FS:g} Hz, "
                f"{len(self.subjects)} subject(s))")

    @property
    def subjects(self) -> np.ndarray:
        """Sorted unique subject ids."""
        return np.unique(self.subject_id)

    def subset(self, idx) -> WindowSet:
        """The windows at ``idx`` (integer indices or a boolean mask of length N)."""
        idx = np.asarray(idx)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise ValueError(f"boolean mask must have shape ({len(self)},), got {idx.shape}")
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.int64, copy=False).reshape(-1)
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"window index out of range for {len(self)} windows")
        return WindowSet(
            bcg=self.bcg[idx], ecg=self.ecg[idx], regions=self.regions[idx],
            landmarks=self.landmarks[idx],
            fiducials={k: [v[i] for i in idx] for k, v in self.fiducials.items()},
            subject_id=self.subject_id[idx], posture=self.posture[idx],
            source=self.source[idx], recording=self.recording[idx], t0=self.t0[idx])

    @classmethod
    def concat(cls, sets: Sequence[WindowSet]) -> WindowSet:
        """Stack window sets in order; fiducial names kept are those every set has."""
        sets = list(sets)
        if not sets:
            raise ValueError("WindowSet.concat needs at least one WindowSet, got none")
        names = [k for k in sets[0].fiducials if all(k in s.fiducials for s in sets)]
        return cls(
            bcg=np.concatenate([s.bcg for s in sets]),
            ecg=np.concatenate([s.ecg for s in sets]),
            regions=np.concatenate([s.regions for s in sets]),
            landmarks=np.concatenate([s.landmarks for s in sets]),
            fiducials={k: [a for s in sets for a in s.fiducials[k]] for k in names},
            subject_id=np.concatenate([s.subject_id for s in sets]),
            posture=np.concatenate([s.posture for s in sets]),
            source=np.concatenate([s.source for s in sets]),
            recording=np.concatenate([s.recording for s in sets]),
            t0=np.concatenate([s.t0 for s in sets]))


def _fiducial(ds: xr.Dataset, name: str, *, where: str) -> np.ndarray:
    if name not in ds.variables:
        raise ValueError(f"{where}: missing fiducial variable {name!r} (windows need "
                         f"{', '.join(WINDOW_FIDUCIALS)} on 'beat', NaN where absent)")
    values = np.asarray(ds[name].values, dtype=np.float64).reshape(-1)
    if np.any(np.isinf(values)):
        raise ValueError(f"{where}: fiducial {name!r} has infinite times")
    return values


def regions_from_fiducials(fid: dict[str, np.ndarray], n: int, *, fs: float) -> np.ndarray:
    """``(n,)`` int8 region labels from per-beat fiducial times (NaN-safe).

    A beat gets a P region only when its ``p_onset`` and ``qrs_onset`` are both present, a QRS
    region when ``qrs_onset`` and ``qrs_offset`` are, a T region when ``qrs_offset`` and
    ``t_offset`` are; a beat missing a fiducial leaves no region for that wave.
    """
    regions = np.zeros(n, dtype=np.int8)
    idx = {k: fid[k] * fs for k in LANDMARKS}  # fractional samples, NaN kept
    n_beats = len(fid["p_onset"])

    def put(lo, hi, label, lo_closed, hi_closed):
        ok = np.isfinite(lo) & np.isfinite(hi)
        lo_i = _seconds_to_samples(np.where(ok, lo, 0.0), fs=1.0)
        hi_i = _seconds_to_samples(np.where(ok, hi, 0.0), fs=1.0)
        for b in np.flatnonzero(ok):
            a = lo_i[b] if lo_closed else lo_i[b] + 1
            z = hi_i[b] + 1 if hi_closed else hi_i[b]
            a, z = max(a, 0), min(z, n)
            if z > a:
                regions[a:z] = label

    if n_beats:
        put(idx["p_onset"], idx["qrs_onset"], REGIONS["p"], True, False)
        put(idx["qrs_offset"], idx["t_offset"], REGIONS["t"], False, True)
        put(idx["qrs_onset"], idx["qrs_offset"], REGIONS["qrs"], True, True)
    return regions


def landmarks_from_fiducials(fid: dict[str, np.ndarray], n: int, *, fs: float) -> np.ndarray:
    """``(4, n)`` float32 boxes: 1 within ±20 ms of each landmark of :data:`LANDMARKS`."""
    half = _seconds_to_samples(LANDMARK_HALF_WIDTH_S, fs=fs)
    out = np.zeros((len(LANDMARKS), n), dtype=np.float32)
    for j, name in enumerate(LANDMARKS):
        t = fid[name]
        centres = _seconds_to_samples(t[np.isfinite(t)], fs=fs)
        for c in np.atleast_1d(centres):
            a, z = max(c - half, 0), min(c + half + 1, n)
            if z > a:
                out[j, a:z] = 1.0
    return out


def windows_from_recording(ds: xr.Dataset, *, fs: float = FS,
                           name: str | None = None) -> WindowSet:
    """Cut a recording into non-overlapping 10-s windows from ``t = 0``.

    The recording must already be at the model rate: a recording at another rate raises
    ``ValueError`` naming :func:`recording_resample` (nothing is resampled here). The
    trailing partial window (``duration mod 10 s``) is dropped and logged at INFO level with
    its length in seconds; a recording shorter than one window raises ``ValueError``.

    Regions and landmark masks are built over the whole recording from the fiducial
    variables (``r_peak``, ``p_onset``, ``qrs_onset``, ``qrs_offset``, ``t_offset``; NaN
    where a wave is absent) and then cut, so a landmark box near a window edge is kept
    partially. Per-window fiducials are the times inside ``[t0, t0 + 10 s)`` minus ``t0``.

    Parameters
    ----------
    ds : xarray.Dataset
        A recording (see :func:`recording_open`).
    fs : float
        The model rate the recording must be at; :data:`~med2ecg.constants.FS` (250 Hz) is
        the only rate a :class:`WindowSet` holds.
    name : str, optional
        The ``recording`` label; default: the file name the Dataset was read from, else
        ``"<subject_id>_<posture>"``.

    Returns
    -------
    WindowSet
    """
    where = _where(ds)
    rec_fs = _check_recording(ds, where=where)
    fs = float(fs)
    if not math.isclose(rec_fs, fs, rel_tol=FS_RTOL):
        raise ValueError(f"{where}: recording fs = {rec_fs:g} Hz does not match the model rate "
                         f"{fs:g} Hz; call recording_resample(ds, fs={fs:g}) explicitly")
    if not math.isclose(fs, FS, rel_tol=FS_RTOL):
        raise ValueError(f"windows are {WINDOW} samples at the model rate {FS:g} Hz; "
                         f"fs = {fs:g} Hz is not supported")
    n = ds.sizes["time"]
    duration = n / fs
    n_win = n // WINDOW
    if n_win == 0:
        raise ValueError(f"{where}: recording lasts {duration:.3f} s, shorter than one "
                         f"{WINDOW_S:g}-s window (minimum {WINDOW_S:g} s)")
    rest = n - n_win * WINDOW
    if rest:
        log.info("%s: dropped the trailing %.3f s after the last full %g-s window "
                 "(%d window(s) kept)", where, rest / fs, WINDOW_S, n_win)
    fid = {k: _fiducial(ds, k, where=where) for k in WINDOW_FIDUCIALS}
    regions = regions_from_fiducials(fid, n, fs=fs)
    marks = landmarks_from_fiducials(fid, n, fs=fs)
    cut = n_win * WINDOW
    bcg = np.asarray(ds["bcg"].values, dtype=np.float64)[:cut].reshape(n_win, WINDOW)
    ecg = np.asarray(ds["ecg"].values, dtype=np.float64)[:cut].reshape(n_win, WINDOW)
    regions = regions[:cut].reshape(n_win, WINDOW)
    marks = marks[:, :cut].reshape(len(LANDMARKS), n_win, WINDOW).transpose(1, 0, 2)
    t0 = np.arange(n_win, dtype=np.float64) * WINDOW / fs
    win_fid = {}
    for k, times in fid.items():
        times = times[np.isfinite(times)]
        # window membership by sample index, so a time on a boundary goes to one window only
        w = _seconds_to_samples(times, fs=fs, rounding="floor") // WINDOW
        win_fid[k] = [times[w == i] - t0[i] for i in range(n_win)]
    if name is None:
        src = ds.encoding.get("source")
        name = (Path(src).name if src else
                f"{ds.attrs.get('subject_id', '?')}_{ds.attrs.get('posture', '?')}")
    attrs = ds.attrs

    def lab(key):
        if key not in attrs:
            raise ValueError(f"{where}: missing attr {key!r}")
        return np.full(n_win, str(attrs[key]))

    return WindowSet(bcg=bcg, ecg=ecg, regions=regions, landmarks=marks, fiducials=win_fid,
                     subject_id=lab("subject_id"), posture=lab("posture"), source=lab("source"),
                     recording=np.full(n_win, str(name)), t0=t0)


def _cohort_files(directory: Path) -> list[Path]:
    index = directory / _COHORT_INDEX
    if index.is_file():
        try:
            meta = json.loads(index.read_text(encoding="utf-8"))
            files = [directory / entry["file"] for entry in meta["recordings"]]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{index}: expected {{'recordings': [{{'file': ...}}, ...]}} "
                             f"({type(exc).__name__}: {exc})") from exc
        absent = [str(p) for p in files if not os.path.lexists(p)]
        if absent:
            raise FileNotFoundError(f"{index} lists files that do not exist: {', '.join(absent)}")
        return files
    return sorted(p for p in directory.iterdir()
                  if p.suffix.lower() in _SUFFIXES and not p.name.startswith("."))


def cohort_windows(paths_or_dir: str | os.PathLike | Sequence[str | os.PathLike], *,
                   fs: float = FS,
                   progress: Callable[[int, int, str], None] | None = None) -> WindowSet:
    """Windows of every recording of a cohort, concatenated in file order.

    Parameters
    ----------
    paths_or_dir : path-like or sequence of path-like
        A cohort folder — the files listed in its ``cohort.json`` (``recordings[*].file``)
        if present, else every ``*.nc`` and ``*.zarr`` in it, sorted by name — or a list of
        recording files.
    fs : float
        Model rate every recording must already be at (see :func:`windows_from_recording`).
    progress : callable, optional
        ``progress(done, total, name)`` after each recording.

    Returns
    -------
    WindowSet
    """
    if isinstance(paths_or_dir, (str, os.PathLike)):
        root = Path(paths_or_dir)
        if root.is_dir() and root.suffix.lower() != ".zarr":
            files = _cohort_files(root)
            if not files:
                raise ValueError(f"no recordings in {root} (no cohort.json, no *.nc or *.zarr)")
        else:
            files = [root]
    else:
        files = [Path(p) for p in paths_or_dir]
        if not files:
            raise ValueError("cohort_windows got an empty list of recordings")
    sets = []
    for i, path in enumerate(files):
        sets.append(windows_from_recording(recording_open(path), fs=fs, name=path.name))
        if progress is not None:
            progress(i + 1, len(files), path.name)
    ws = WindowSet.concat(sets)
    log.info("cohort: %d window(s) from %d recording(s), %d subject(s)", len(ws), len(files),
             len(ws.subjects))
    return ws


# --------------------------------------------------------------------------- sampling / folds
def sample_weights(ws: WindowSet, *, real_weight: float = 5.0) -> np.ndarray:
    """Per-window sampling probabilities for ``torch.utils.data.WeightedRandomSampler``.

    The stated synthetic/real mixing: a synthetic window (``source == "sim"``) has weight 1,
    a real window ``real_weight``; the weights are normalised to sum 1. With few real
    windows this *oversamples* them ×``real_weight`` (the same real window recurs that much
    more often per epoch than a synthetic one) — that is the intent, but watch for
    overfitting to them.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` float64, non-negative, summing to 1.
    """
    real_weight = float(real_weight)
    if not math.isfinite(real_weight) or real_weight < 0:
        raise ValueError(f"real_weight = {real_weight:g} is out of range; allowed [0, inf)")
    if len(ws) == 0:
        raise ValueError("sample_weights: the WindowSet has no windows")
    w = np.where(ws.source == "sim", 1.0, real_weight).astype(np.float64)
    total = w.sum()
    if total <= 0:
        raise ValueError("sample_weights: every window is real and real_weight = 0; "
                         "nothing could be sampled")
    return w / total


def grouped_folds(subjects, *, k: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Subject-grouped cross-validation folds: no subject is in both train and test.

    ``k=None`` gives leave-one-subject-out (one fold per subject, in sorted subject order).
    Otherwise grouped ``k``-fold: the sorted unique subjects are dealt round-robin into
    ``k`` folds (subject ``j`` → fold ``j mod k``), which is deterministic. Every subject is
    in exactly one test fold.

    Parameters
    ----------
    subjects : (N,) array-like
        Subject id of each window (e.g. ``WindowSet.subject_id``).
    k : int or None
        Number of folds, ``2 <= k <= number of subjects``; ``None`` for LOSO.

    Returns
    -------
    list of (train_idx, test_idx)
        int64 window indices, each sorted.
    """
    subjects = np.asarray([str(s) for s in np.asarray(subjects).reshape(-1)], dtype=str)
    unique = np.unique(subjects)
    if unique.size < 2:
        raise ValueError(f"grouped folds need at least 2 subjects, got {unique.size}")
    if k is None:
        fold_of = np.arange(unique.size)
        n_folds = unique.size
    else:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"k must be an int or None, got {type(k).__name__}")
        if not 2 <= k <= unique.size:
            raise ValueError(f"k = {k} is out of range; allowed [2, {unique.size}] "
                             f"(the number of subjects), or None for LOSO")
        fold_of = np.arange(unique.size) % k
        n_folds = int(k)
    window_fold = fold_of[np.searchsorted(unique, subjects)]
    return [(np.flatnonzero(window_fold != f).astype(np.int64),
             np.flatnonzero(window_fold == f).astype(np.int64)) for f in range(n_folds)]
