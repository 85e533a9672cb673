"""Real BCG + ECG recordings into the recording schema (DESIGN §3), at the file's own rate.

Every loader reads one ECG and one BCG channel, converts the ECG to mV and the BCG to V,
and derives the fiducials by delineating the real ECG with NeuroKit2 (see
:func:`ecg_fiducials`): R peaks from ``nk.ecg_peaks`` (or supplied ones, e.g. from an
annotation file), then P onset, QRS onset, QRS offset and T offset from
``nk.ecg_delineate(method="dwt")``. A real ECG has no BCG J peak, so ``j_peak`` is all NaN.

Loaders never resample: the recording keeps the file's sampling rate, and channels at
different rates are an error. Bring it to the model rate explicitly with
:func:`med2ecg.data.recording_resample`.

Attrs of a loaded recording: ``fs``, ``subject_id``, ``posture``, ``seed = -1``, ``source``
(the dataset's name), ``sim_config = "{}"``, ``package_version`` (``med2ecg``'s), plus
``source_file`` and ``fiducials_method``.

Posture: the schema knows ``supine|prone|left|right`` (real data may also say ``unknown``).
A loader cannot know the posture from the signals; ``posture="supine"`` is only a default —
pass the real one.

Units: ``ecg_units`` / ``bcg_units`` name the units the file stores (see :data:`ECG_UNITS`,
:data:`BCG_UNITS`); the ECG is scaled to mV (V → mV is ×1000) and the BCG to V. For WFDB and
EDF the units default to the ones in the file header.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import xarray as xr

from . import __version__

__all__ = [
    "BCG_UNITS",
    "ECG_UNITS",
    "KANSAS_FS",
    "MEDIT_SOURCE",
    "POSTURES_REAL",
    "ecg_fiducials",
    "load_csv",
    "load_edf",
    "load_kansas_mat",
    "load_medit",
    "load_wfdb",
    "recording_build",
]

log = logging.getLogger(__name__)

#: ECG units a loader accepts and their factor to mV
ECG_UNITS = {"mV": 1.0, "V": 1e3, "uV": 1e-3, "µV": 1e-3, "μV": 1e-3}
#: BCG units a loader accepts and their factor to V
BCG_UNITS = {"V": 1.0, "mV": 1e-3, "uV": 1e-6, "µV": 1e-6, "μV": 1e-6}
#: postures of the schema, plus "unknown" which real recordings may use
POSTURES_REAL = ("supine", "prone", "left", "right", "unknown")
#: published sampling rate of the Kansas State bed-BCG dataset (Hz)
KANSAS_FS = 1000.0
#: source name of the MedIT PVDF-backrest recording
MEDIT_SOURCE = "medit_pvdf_bcg_cecg"
_MEDIT_CSV = "rec_proc_Aydin-Left-1.csv"
_MEDIT_RPEAKS = "rec_proc_Aydin-Left-1_rpeaks.csv"
_MEDIT_BCG = {"raw": "bcg_raw_V", "filtered": "bcg_filtered_V"}

_LONG_NAMES = {"ecg": "reference ECG (lead II-like)",
               "bcg": "recorded BCG sensor output after the DAQ"}
_FIDUCIAL_NAMES = ("r_peak", "p_onset", "qrs_onset", "qrs_offset", "t_offset", "j_peak")
# neurokit2 dwt delineation keys → schema names; onsets belong to the beat whose R follows,
# offsets to the beat whose R precedes
_NK_ONSETS = {"p_onset": "ECG_P_Onsets", "qrs_onset": "ECG_R_Onsets"}
_NK_OFFSETS = {"qrs_offset": "ECG_R_Offsets", "t_offset": "ECG_T_Offsets"}


# --------------------------------------------------------------------------- helpers
def _check_fs(fs, *, where: str) -> float:
    if isinstance(fs, bool) or not isinstance(fs, (int, float, np.integer, np.floating)):
        raise TypeError(f"{where}: fs must be a number in Hz, got {type(fs).__name__}")
    fs = float(fs)
    if not math.isfinite(fs) or fs <= 0:
        raise ValueError(f"{where}: fs = {fs:g} Hz is out of range; allowed (0, inf) Hz")
    return fs


def _scale(values: np.ndarray, units: str, table: Mapping[str, float], *, what: str,
           where: str) -> np.ndarray:
    key = str(units).strip()
    if key not in table:
        raise ValueError(f"{where}: unknown {what} units {units!r}; allowed: "
                         f"{', '.join(table)} (pass the units explicitly if the file's are "
                         "missing or wrong)")
    return np.asarray(values, dtype=np.float64) * table[key]


def _finite(values: np.ndarray, *, name: str, where: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError(f"{where}: {name} is empty")
    bad = int(values.size - np.count_nonzero(np.isfinite(values)))
    if bad:
        raise ValueError(f"{where}: {name} has {bad} NaN/inf sample(s); the loader does not "
                         "interpolate — clean the file first")
    return values


def _r_peaks_checked(r_peaks, n: int, *, where: str) -> np.ndarray:
    r = np.asarray(r_peaks)
    if r.ndim != 1 or not (np.issubdtype(r.dtype, np.integer) or (
            np.issubdtype(r.dtype, np.floating) and np.all(np.isfinite(r))
            and np.all(r == np.round(r)))):
        raise ValueError(f"{where}: r_peaks must be a 1-D array of integer sample indices "
                         "(0-based)")
    r = r.astype(np.int64)
    if r.size and (r.min() < 0 or r.max() >= n):
        raise ValueError(f"{where}: r_peaks must lie in [0, {n - 1}] (0-based samples), got "
                         f"[{r.min()}, {r.max()}]")
    if r.size >= 2 and not np.all(np.diff(r) > 0):
        raise ValueError(f"{where}: r_peaks must be strictly increasing")
    return r


def _assign(candidates: np.ndarray, r: np.ndarray, n: int, *, onset: bool) -> np.ndarray:
    """One candidate per beat (NaN where none): onsets in ``(r[k-1], r[k])`` taking the one
    nearest ``r[k]``; offsets in ``(r[k], r[k+1])`` (the last: up to the end) taking the one
    nearest ``r[k]``."""
    c = np.sort(candidates[np.isfinite(candidates)])
    out = np.full(r.size, np.nan)
    for k, rk in enumerate(r):
        if onset:
            lo = r[k - 1] if k else -1
            inside = c[(c > lo) & (c < rk)]
            if inside.size:
                out[k] = inside[-1]
        else:
            hi = r[k + 1] if k + 1 < r.size else n
            inside = c[(c > rk) & (c < hi)]
            if inside.size:
                out[k] = inside[0]
    return out


def ecg_fiducials(ecg: np.ndarray, *, fs: float, r_peaks=None) -> dict[str, np.ndarray]:
    """Per-beat fiducial times (s) of a real ECG, by NeuroKit2 delineation.

    ``nk.ecg_clean`` then R peaks from ``nk.ecg_peaks`` (unless ``r_peaks`` is given), then
    ``nk.ecg_delineate(method="dwt")``. Its P onsets and R onsets (= QRS onsets) are
    assigned to the beat whose R peak follows them within the preceding RR interval, its R
    offsets (= QRS offsets) and T offsets to the beat whose R peak precedes them within the
    following RR interval (nearest to R where there are several). A beat whose P onset is
    not before its QRS onset, or whose T offset is not after its QRS offset, gets NaN for
    that P onset / T offset. ``j_peak`` is all NaN (a real ECG has no BCG J peak).

    Parameters
    ----------
    ecg : (n,) array
        ECG in mV.
    fs : float
        Sampling rate in Hz (keyword-only, required).
    r_peaks : (beats,) int array, optional
        0-based sample indices of the R peaks; detected when omitted.

    Returns
    -------
    dict
        ``r_peak, p_onset, qrs_onset, qrs_offset, t_offset, j_peak`` → ``(beats,)`` float64
        times in s, NaN where absent.
    """
    import neurokit2 as nk

    where = "ecg_fiducials"
    fs = _check_fs(fs, where=where)
    ecg = _finite(ecg, name="ECG", where=where)
    n = ecg.size
    try:
        clean = nk.ecg_clean(ecg, sampling_rate=fs)
        if r_peaks is None:
            _, info = nk.ecg_peaks(clean, sampling_rate=fs)
            r = np.asarray(info["ECG_R_Peaks"], dtype=np.int64)
        else:
            r = _r_peaks_checked(r_peaks, n, where=where)
        if r.size < 2:
            raise ValueError(f"found {r.size} R peak(s) in {n / fs:.1f} s of ECG; delineation "
                             "needs at least 2")
        _, waves = nk.ecg_delineate(clean, rpeaks=r, sampling_rate=fs, method="dwt")
    except ValueError as exc:
        raise ValueError(f"ECG delineation failed: {exc}") from exc
    out = {"r_peak": r.astype(np.float64)}
    for name, key in _NK_ONSETS.items():
        out[name] = _assign(np.asarray(waves[key], dtype=np.float64), r, n, onset=True)
    for name, key in _NK_OFFSETS.items():
        out[name] = _assign(np.asarray(waves[key], dtype=np.float64), r, n, onset=False)
    bad_p = ~(out["p_onset"] < out["qrs_onset"]) & np.isfinite(out["p_onset"])
    bad_t = ~(out["t_offset"] > out["qrs_offset"]) & np.isfinite(out["t_offset"])
    out["p_onset"][bad_p] = np.nan
    out["t_offset"][bad_t] = np.nan
    if bad_p.any() or bad_t.any():
        log.info("delineation: %d P onset(s) not before QRS onset and %d T offset(s) not after "
                 "QRS offset set to NaN", int(bad_p.sum()), int(bad_t.sum()))
    out = {k: v / fs for k, v in out.items()}
    out["j_peak"] = np.full(r.size, np.nan)
    log.info("delineation: %d beats; present: %s", r.size,
             ", ".join(f"{k} {int(np.isfinite(v).sum())}" for k, v in out.items()))
    return out


def recording_build(ecg: np.ndarray, bcg: np.ndarray, *, fs: float, subject_id: str,
                    source: str, posture: str = "supine", r_peaks=None,
                    attrs: Mapping[str, object] | None = None) -> xr.Dataset:
    """A real recording in the schema from an ECG (mV) and a BCG (V) at ``fs``.

    Fiducials come from :func:`ecg_fiducials` (with ``r_peaks`` if given). ``posture`` must
    be one of :data:`POSTURES_REAL`; the default ``"supine"`` is a guess the caller should
    replace — nothing in the signals tells the posture. ``attrs`` adds extra Dataset attrs.
    """
    where = f"recording {subject_id!r}"
    fs = _check_fs(fs, where=where)
    ecg = _finite(ecg, name="ECG", where=where)
    bcg = _finite(bcg, name="BCG", where=where)
    if ecg.size != bcg.size:
        raise ValueError(f"{where}: ECG has {ecg.size} samples but BCG {bcg.size}")
    if posture not in POSTURES_REAL:
        raise ValueError(f"{where}: posture {posture!r} is not one of {'|'.join(POSTURES_REAL)}")
    if not isinstance(subject_id, str) or not subject_id:
        raise ValueError(f"subject_id must be a non-empty string, got {subject_id!r}")
    fid = ecg_fiducials(ecg, fs=fs, r_peaks=r_peaks)
    time = np.arange(ecg.size, dtype=np.float64) / fs
    data_vars = {k: ("time", v, {"units": u, "long_name": _LONG_NAMES[k]})
                 for k, v, u in (("ecg", ecg, "mV"), ("bcg", bcg, "V"))}
    data_vars.update({k: ("beat", fid[k], {"units": "s"}) for k in _FIDUCIAL_NAMES})
    base = {"fs": fs, "subject_id": subject_id, "posture": posture, "seed": -1,
            "source": str(source), "sim_config": "{}", "package_version": __version__,
            "fiducials_method": "neurokit2 ecg_clean + "
                                + ("supplied R peaks" if r_peaks is not None else "ecg_peaks")
                                + " + ecg_delineate(method='dwt')"}
    base.update(dict(attrs or {}))
    return xr.Dataset(data_vars, coords={"time": ("time", time, {"units": "s"})}, attrs=base)


def _pick(names: list[str], wanted: dict[str, str], *, where: str, kind: str) -> dict[str, int]:
    """``{role: index}`` of the wanted channel/column names (exact match, then stripped)."""
    out, missing = {}, []
    stripped = [str(n).strip() for n in names]
    for role, name in wanted.items():
        if name in names:
            out[role] = names.index(name)
        elif str(name).strip() in stripped:
            out[role] = stripped.index(str(name).strip())
        else:
            missing.append(name)
    if missing:
        raise ValueError(f"{where}: {kind}(s) not found: {', '.join(map(repr, missing))}; "
                         f"required: {', '.join(map(repr, wanted.values()))}; available: "
                         f"{', '.join(map(repr, names)) or 'none'}")
    return out


def _fs_from_time(t: np.ndarray, *, where: str) -> float:
    """Rate implied by a time column; it must be uniform to 1 % of a sample period."""
    t = _finite(t, name="time column", where=where)
    if t.size < 2:
        raise ValueError(f"{where}: need at least 2 samples to read fs from the time column")
    dt = (t[-1] - t[0]) / (t.size - 1)
    if not dt > 0:
        raise ValueError(f"{where}: the time column is not increasing")
    dev = np.max(np.abs(t - (t[0] + dt * np.arange(t.size))))
    if dev > 0.01 * dt:
        raise ValueError(f"{where}: the time column is not uniformly sampled (largest deviation "
                         f"{dev:.3g} s from a uniform grid of {dt:.6g} s; gaps or jitter?) — "
                         "the loader does not resample")
    fs = 1.0 / dt
    near = round(fs)
    if near > 0 and abs(fs - near) <= 1e-6 * fs:
        fs = float(near)  # a time column printed in decimal seconds
    return fs


# --------------------------------------------------------------------------- CSV
def load_csv(path: str | os.PathLike, *, ecg_column: str, bcg_column: str,
             subject_id: str, fs: float | None = None, time_column: str | None = None,
             posture: str = "supine", source: str = "csv", ecg_units: str = "mV",
             bcg_units: str = "V", r_peaks=None) -> xr.Dataset:
    """A recording from a CSV file with a header row (one column per signal).

    Parameters
    ----------
    path : path-like
        The CSV file (comma-separated, header row).
    ecg_column, bcg_column : str
        Column names of the ECG and the BCG.
    subject_id : str
        Subject identifier.
    fs : float, optional
        Sampling rate in Hz. Give ``fs`` or ``time_column`` (or both: they must agree).
    time_column : str, optional
        A time column in seconds; ``fs`` is read from it and it must be uniform (to 1 % of a
        sample period; the loader never resamples). The recording's time starts at 0.
    posture : str
        One of :data:`POSTURES_REAL`. The loader cannot know it; ``"supine"`` is a default.
    source : str
        Dataset name stored in the ``source`` attr.
    ecg_units, bcg_units : str
        Units of the columns (:data:`ECG_UNITS`, :data:`BCG_UNITS`); ECG → mV (V ×1000),
        BCG → V.
    r_peaks : int array, optional
        0-based sample indices of the R peaks (detected when omitted).
    """
    import pandas as pd

    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise FileNotFoundError(f"CSV file not found: {path}")
    try:
        table = pd.read_csv(path)
    except (ValueError, pd.errors.ParserError) as exc:  # EmptyDataError is a ValueError
        raise ValueError(f"{where}: cannot read as CSV: {exc}") from exc
    names = [str(c) for c in table.columns]
    wanted = {"ecg": ecg_column, "bcg": bcg_column}
    if time_column is not None:
        wanted["time"] = time_column
    cols = _pick(names, wanted, where=where, kind="column")

    def column(role):
        values = pd.to_numeric(table.iloc[:, cols[role]], errors="coerce").to_numpy(np.float64)
        return _finite(values, name=f"column {wanted[role]!r}", where=where)

    if time_column is not None:
        fs_time = _fs_from_time(column("time"), where=where)
        if fs is not None and not math.isclose(_check_fs(fs, where=where), fs_time, rel_tol=1e-6):
            raise ValueError(f"{where}: fs = {fs:g} Hz disagrees with the time column "
                             f"({fs_time:.9g} Hz)")
        fs = fs_time
    elif fs is None:
        timeish = ("t", "t_s", "time", "time_s", "times", "timestamp")
        hint = [c for c in names if c.strip().lower() in timeish]
        raise ValueError(f"{where}: give fs= (Hz) or time_column=; there is no default rate"
                         + (f" (column {hint[0]!r} looks like time)" if hint else ""))
    fs = _check_fs(fs, where=where)
    ecg = _scale(column("ecg"), ecg_units, ECG_UNITS, what="ECG", where=where)
    bcg = _scale(column("bcg"), bcg_units, BCG_UNITS, what="BCG", where=where)
    return recording_build(ecg, bcg, fs=fs, subject_id=subject_id, source=source,
                           posture=posture, r_peaks=r_peaks, attrs={"source_file": path.name})


# --------------------------------------------------------------------------- WFDB
def load_wfdb(record_path: str | os.PathLike, *, ecg_channel: str, bcg_channel: str,
              subject_id: str | None = None, posture: str = "supine", source: str = "wfdb",
              ecg_units: str | None = None, bcg_units: str | None = None,
              r_peaks=None) -> xr.Dataset:
    """A recording from a WFDB record (``wfdb.rdrecord``); channels chosen by name.

    ``record_path`` is the record name with or without ``.hea``. Units come from the header
    unless ``ecg_units`` / ``bcg_units`` override them. Channels stored at different rates
    (multi-frequency records) are an error — the loader never resamples. ``subject_id``
    defaults to the record name; ``posture`` is a default the loader cannot know.
    """
    import wfdb

    path = Path(record_path)
    if path.suffix in (".hea", ".dat"):
        path = path.with_suffix("")
    where = str(path)
    if not path.with_suffix(".hea").is_file():
        raise FileNotFoundError(f"WFDB header not found: {path.with_suffix('.hea')}")
    record = wfdb.rdrecord(str(path), physical=True, smooth_frames=False)
    names = list(record.sig_name or [])
    idx = _pick(names, {"ecg": ecg_channel, "bcg": bcg_channel}, where=where, kind="channel")
    spf = list(record.samps_per_frame or [1] * len(names))
    rates = {role: float(record.fs) * spf[i] for role, i in idx.items()}
    if rates["ecg"] != rates["bcg"]:
        raise ValueError(f"{where}: ECG channel {ecg_channel!r} is at {rates['ecg']:g} Hz but "
                         f"BCG channel {bcg_channel!r} at {rates['bcg']:g} Hz; the loader does "
                         "not resample — resample one channel yourself")
    signals = record.e_p_signal
    units = list(record.units or [""] * len(names))
    ecg = _scale(_finite(signals[idx["ecg"]], name=f"channel {ecg_channel!r}", where=where),
                 ecg_units or units[idx["ecg"]], ECG_UNITS, what="ECG", where=where)
    bcg = _scale(_finite(signals[idx["bcg"]], name=f"channel {bcg_channel!r}", where=where),
                 bcg_units or units[idx["bcg"]], BCG_UNITS, what="BCG", where=where)
    return recording_build(ecg, bcg, fs=rates["ecg"], subject_id=subject_id or path.name,
                           source=source, posture=posture, r_peaks=r_peaks,
                           attrs={"source_file": path.name})


# --------------------------------------------------------------------------- EDF
def load_edf(path: str | os.PathLike, *, ecg_channel: str, bcg_channel: str,
             subject_id: str | None = None, posture: str = "supine", source: str = "edf",
             ecg_units: str | None = None, bcg_units: str | None = None,
             r_peaks=None) -> xr.Dataset:
    """A recording from an EDF file (``edfio.read_edf``); channels chosen by label.

    Units come from each signal's physical dimension unless overridden. The two channels
    must have the same sampling frequency (the loader never resamples). ``subject_id``
    defaults to the file stem; ``posture`` is a default the loader cannot know.
    """
    import edfio

    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise FileNotFoundError(f"EDF file not found: {path}")
    edf = edfio.read_edf(path)
    signals = list(edf.signals)
    names = [s.label for s in signals]
    idx = _pick(names, {"ecg": ecg_channel, "bcg": bcg_channel}, where=where, kind="channel")
    sig = {role: signals[i] for role, i in idx.items()}
    rates = {role: float(s.sampling_frequency) for role, s in sig.items()}
    if rates["ecg"] != rates["bcg"]:
        raise ValueError(f"{where}: ECG channel {ecg_channel!r} is at {rates['ecg']:g} Hz but "
                         f"BCG channel {bcg_channel!r} at {rates['bcg']:g} Hz; the loader does "
                         "not resample — resample one channel yourself")
    ecg = _scale(_finite(sig["ecg"].data, name=f"channel {ecg_channel!r}", where=where),
                 ecg_units or sig["ecg"].physical_dimension, ECG_UNITS, what="ECG", where=where)
    bcg = _scale(_finite(sig["bcg"].data, name=f"channel {bcg_channel!r}", where=where),
                 bcg_units or sig["bcg"].physical_dimension, BCG_UNITS, what="BCG", where=where)
    return recording_build(ecg, bcg, fs=rates["ecg"], subject_id=subject_id or path.stem,
                           source=source, posture=posture, r_peaks=r_peaks,
                           attrs={"source_file": path.name})


# --------------------------------------------------------------------------- Kansas (.mat v7.3)
def _h5_numeric(obj, f) -> np.ndarray | None:
    """A numeric HDF5 dataset as a 1-D float64 vector; follows a single object reference.

    MATLAB v7.3 writes an ``(n, 1)`` column vector as HDF5 shape ``(1, n)`` (transposed);
    ``(n,)``, ``(1, n)`` and ``(n, 1)`` are all accepted. Returns None for anything else
    (char arrays, structs, matrices).
    """
    import h5py

    if not isinstance(obj, h5py.Dataset):
        return None
    if obj.dtype == h5py.ref_dtype:
        if obj.size != 1:
            return None
        return _h5_numeric(f[obj[()].reshape(-1)[0]], f)
    if obj.attrs.get("MATLAB_class", b"") in (b"char", "char") or obj.dtype.kind not in "fiu":
        return None
    a = obj[()]
    if a.ndim == 2 and 1 in a.shape:
        a = a.reshape(-1)
    if a.ndim != 1:
        return None
    return a.astype(np.float64)


def _h5_scalar(group, key: str, f) -> float | None:
    if key in group.attrs:
        v = np.asarray(group.attrs[key]).reshape(-1)
        if v.size == 1 and np.issubdtype(v.dtype, np.number):
            return float(v[0])
    if key in group:
        v = _h5_numeric(group[key], f)
        if v is not None and v.size == 1:
            return float(v[0])
    return None


def _kansas_subject_name(names: list[str], subject) -> str | None:
    """Exact group name, else a group whose trailing digits equal ``subject``'s number."""
    if str(subject) in names:
        return str(subject)
    text = str(subject).strip()
    digits = text[len(text.rstrip("0123456789")):]
    if not digits:
        return None
    want = int(digits)
    hits = []
    for name in names:
        tail = name[len(name.rstrip("0123456789")):]
        if tail and int(tail) == want:
            hits.append(name)
    return hits[0] if len(hits) == 1 else None


def load_kansas_mat(path: str | os.PathLike, *, subject: str | int, bcg_channel: str = "Film0",
                    ecg_channel: str = "ECG", fs: float | None = None, posture: str = "supine",
                    source: str = "kansas_state_bed_bcg", ecg_units: str = "V",
                    bcg_units: str = "V", r_peaks=None) -> xr.Dataset:
    """One subject of the Kansas State bed-BCG dataset from a MATLAB v7.3 (HDF5) ``.mat``.

    The dataset has 40 subjects with 20 signals each at 1 kHz (``ECG``, ``Film0``–``Film3``,
    ``LC_BCG0``–``LC_BCG3``, …). The original file was not available when this was written,
    so the layout read is the plain one MATLAB v7.3 gives for a struct per subject::

        /<subject>/<signal>   numeric, shape (n,), (1, n) or (n, 1)   (e.g. /subject01/ECG)
        /<subject>/fs or /fs  optional sampling rate (dataset or attr); else 1000 Hz

    A signal may also be a scalar object reference (MATLAB cell) to a numeric dataset.
    MATLAB's own groups (``#refs#``, ``#subsystem#``) are skipped. Struct *arrays* (one
    group of reference arrays for all subjects) are not read; export per-subject structs.

    Parameters
    ----------
    path : path-like
        The ``.mat`` file.
    subject : str or int
        The subject's group name (``"subject01"``), or its number (``1`` or ``"1"`` matches
        the one group whose name ends in that number).
    bcg_channel, ecg_channel : str
        Signal names.
    fs : float, optional
        Sampling rate in Hz; must agree with the file's if it stores one; default 1000 Hz.
    posture : str
        The loader cannot know it; ``"supine"`` is a default.
    ecg_units, bcg_units : str
        Units stored in the file (not recorded in it; volts assumed). ECG → mV (V ×1000).
    r_peaks : int array, optional
        0-based R-peak sample indices (detected when omitted).
    """
    import h5py

    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise FileNotFoundError(f"Kansas .mat file not found: {path}")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{where}: not an HDF5 (MATLAB v7.3) file ({exc}); v5 .mat files are "
                         "not in the Kansas layout") from exc
    with f:
        subjects = sorted(k for k, v in f.items()
                          if isinstance(v, h5py.Group) and not k.startswith("#"))
        name = _kansas_subject_name(subjects, subject)
        if name is None:
            raise ValueError(f"{where}: subject {subject!r} not found; available: "
                             f"{', '.join(subjects) or 'none'}")
        group = f[name]
        signals = {k: _h5_numeric(v, f) for k, v in group.items()}
        signals = {k: v for k, v in signals.items() if v is not None and v.size > 1}
        idx = _pick(list(signals), {"ecg": ecg_channel, "bcg": bcg_channel},
                    where=f"{where} [{name}]", kind="signal")
        keys = list(signals)
        ecg, bcg = signals[keys[idx["ecg"]]], signals[keys[idx["bcg"]]]
        file_fs = None
        for key in ("fs", "Fs", "FS"):
            file_fs = _h5_scalar(group, key, f)
            if file_fs is None:
                file_fs = _h5_scalar(f, key, f)
            if file_fs is not None:
                break
    if fs is not None:
        fs = _check_fs(fs, where=where)
        if file_fs is not None and not math.isclose(fs, file_fs, rel_tol=1e-9):
            raise ValueError(f"{where}: fs = {fs:g} Hz disagrees with the file's {file_fs:g} Hz")
    elif file_fs is not None:
        fs = _check_fs(file_fs, where=where)
    else:
        fs = KANSAS_FS
        log.info("%s: no fs stored; using the dataset's published %g Hz", where, fs)
    if ecg.size != bcg.size:
        raise ValueError(f"{where} [{name}]: {ecg_channel!r} has {ecg.size} samples but "
                         f"{bcg_channel!r} {bcg.size}; the loader does not resample")
    ecg = _scale(_finite(ecg, name=ecg_channel, where=where), ecg_units, ECG_UNITS,
                 what="ECG", where=where)
    bcg = _scale(_finite(bcg, name=bcg_channel, where=where), bcg_units, BCG_UNITS,
                 what="BCG", where=where)
    return recording_build(ecg, bcg, fs=fs, subject_id=f"kansas-{name}", source=source,
                           posture=posture, r_peaks=r_peaks,
                           attrs={"source_file": path.name,
                                  "channels": json.dumps({"ecg": ecg_channel,
                                                          "bcg": bcg_channel})})


# --------------------------------------------------------------------------- MedIT backrest
def load_medit(folder: str | os.PathLike, *, bcg: str = "raw") -> xr.Dataset:
    """The MedIT PVDF-backrest BCG + capacitive ECG recording (1 subject, 19.8 s, 1 kHz).

    Reads ``rec_proc_Aydin-Left-1.csv`` (``ecg_V`` → mV ×1000; ``bcg_raw_V`` or
    ``bcg_filtered_V`` in V) and the file's own R peaks from
    ``rec_proc_Aydin-Left-1_rpeaks.csv`` (0-based sample indices); fs 1000 Hz from the time
    column. The ECG is a capacitive ECG in DAQ volts after an analog front end of unstated
    gain, so "mV" is nominal.

    .. warning:: **posture is "supine" only because the schema has four postures.** The
       subject *sits*, leaning back on a sensorised chair backrest; the attr ``posture_note``
       says so. Do not group this recording with supine bed recordings by posture.

    Parameters
    ----------
    folder : path-like
        The ``medit_pvdf_bcg_cecg`` folder (or its CSV file).
    bcg : {"raw", "filtered"}
        ``raw``: the PVDF output with its ~5.7 V DC offset (what the model expects: raw BCG);
        ``filtered``: the upstream 0.7–12 Hz band-passed BCG.
    """
    import pandas as pd

    folder = Path(folder)
    if folder.is_file():
        folder = folder.parent
    if bcg not in _MEDIT_BCG:
        raise ValueError(f"bcg = {bcg!r}; allowed: {', '.join(_MEDIT_BCG)}")
    csv, peaks = folder / _MEDIT_CSV, folder / _MEDIT_RPEAKS
    for p in (csv, peaks):
        if not p.is_file():
            raise FileNotFoundError(f"MedIT file not found: {p}")
    table = pd.read_csv(peaks)
    if "sample_index_0based" not in table.columns:
        raise ValueError(f"{peaks}: expected a column 'sample_index_0based'; has "
                         f"{', '.join(map(str, table.columns))}")
    r = table["sample_index_0based"].to_numpy()
    ds = load_csv(csv, ecg_column="ecg_V", bcg_column=_MEDIT_BCG[bcg], time_column="time_s",
                  subject_id="medit-aydin", posture="supine", source=MEDIT_SOURCE,
                  ecg_units="V", bcg_units="V", r_peaks=r)
    ds.attrs["posture_note"] = ("seated, leaning back on a backrest; posture 'supine' is set "
                                "only because the schema allows supine|prone|left|right")
    ds.attrs["bcg_channel"] = _MEDIT_BCG[bcg]
    ds.attrs["fiducials_method"] = ("R peaks from rec_proc_Aydin-Left-1_rpeaks.csv (upstream "
                                    "peaks_r); neurokit2 ecg_clean + ecg_delineate(method='dwt')")
    return ds
