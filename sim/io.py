"""Recordings on disk: the schema of DESIGN §3, validation, atomic NetCDF/Zarr I/O, cohort index.

A recording is an :class:`xarray.Dataset` with a ``time`` coord (``arange(n) / fs`` seconds),
time-series on ``time`` (``ecg``, ``bcg`` and, for simulated recordings, ``force``, ``load``,
``p0``–``p2``, ``resp``), ground-truth fiducial times on ``beat``, and a fixed set of attrs.
:data:`SCHEMA` is the one registry of all of it; :func:`recording_validate`,
:func:`schema_attrs` and :func:`schema_markdown` all read it.

Files are written atomically: the data go to a hidden temporary sibling
(``.<name>.<random>.partial``) that is renamed into place only once complete, so a killed
run never leaves a half-written file under the final name. Writing the same Dataset twice
gives identical bytes (HDF5 object timestamps are off — h5py's default ``track_times=False``
— and Zarr's JSON metadata and zstd chunks are deterministic); the tests check both.

Examples
--------
>>> import numpy as np, xarray as xr
>>> from sim.io import SCHEMA, schema_attrs
>>> SCHEMA["variables"]["bcg"].units
'V'
>>> schema_attrs("ecg")["units"]
'mV'
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import xarray as xr

from ._signal import check_fs, signal_fs
from .body import POSTURES  # one registry of posture names

__all__ = [
    "SCHEMA",
    "POSTURES",
    "TIME_SERIES",
    "FIDUCIALS",
    "FORMATS",
    "VarSpec",
    "AttrSpec",
    "schema_attrs",
    "schema_markdown",
    "recording_validate",
    "recording_duration",
    "recording_write",
    "recording_read",
    "file_sha256",
    "cohort_entry",
    "cohort_index_write",
    "cohort_index_read",
    "COHORT_INDEX",
]

logger = logging.getLogger(__name__)



class VarSpec(NamedTuple):
    """One variable of the recording schema."""

    dims: tuple[str, ...]
    units: str
    long_name: str
    required_for_sim: bool
    required_for_real: bool


class AttrSpec(NamedTuple):
    """One Dataset attr of the recording schema."""

    kind: type
    doc: str
    required: bool
    choices: tuple[str, ...] | None = None


_T = ("time",)
_B = ("beat",)

#: The one registry of the recording schema (DESIGN §3): variables (the ``time`` coord,
#: time-series on ``time``, fiducials on ``beat``) and Dataset attrs.
SCHEMA: dict[str, dict[str, Any]] = {
    "variables": {
        "time": VarSpec(_T, "s", "time", True, True),
        "ecg": VarSpec(_T, "mV", "reference ECG (lead II-like)", True, True),
        "bcg": VarSpec(_T, "V", "recorded BCG sensor output after the DAQ", True, True),
        "force": VarSpec(_T, "N", "Kim BCG force before the body/bed path", True, False),
        "load": VarSpec(_T, "N", "total load on the sensor", True, False),
        "p0": VarSpec(_T, "mmHg", "aortic root pressure P0", True, False),
        "p1": VarSpec(_T, "mmHg", "aortic arch pressure P1", True, False),
        "p2": VarSpec(_T, "mmHg", "descending aorta outlet pressure P2", True, False),
        "resp": VarSpec(_T, "1", "respiration", True, False),
        "r_peak": VarSpec(_B, "s", "R-peak time", True, True),
        "p_onset": VarSpec(_B, "s", "P-wave onset time", True, True),
        "qrs_onset": VarSpec(_B, "s", "QRS onset time", True, True),
        "qrs_offset": VarSpec(_B, "s", "QRS offset time", True, True),
        "t_offset": VarSpec(_B, "s", "T-wave offset time", True, True),
        # J comes from the simulated force; a real ECG delineation has no J peak.
        "j_peak": VarSpec(_B, "s", "BCG J-peak time", True, False),
    },
    "attrs": {
        "fs": AttrSpec(float, "sampling rate in Hz; must agree with the time coord", True),
        "subject_id": AttrSpec(str, "subject identifier", True),
        "posture": AttrSpec(str, "body posture on the mat", True, POSTURES),
        "seed": AttrSpec(int, "simulation seed (>= 0; -1 for real data)", True),
        "source": AttrSpec(str, "'sim' or the real dataset's name", True),
        "sim_config": AttrSpec(str, "full simulation config as a JSON object ('{}' for real)",
                               True),
        "package_version": AttrSpec(str, "version of the package that wrote it", True),
        "events": AttrSpec(str, "optional JSON string of events (posture changes, artefacts)",
                           False),
    },
}

TIME_SERIES = tuple(k for k, v in SCHEMA["variables"].items() if v.dims == _T and k != "time")
FIDUCIALS = tuple(k for k, v in SCHEMA["variables"].items() if v.dims == _B)

#: Allowed on-disk formats and the suffixes that select them.
FORMATS: dict[str, str] = {"netcdf": ".nc", "zarr": ".zarr"}
COHORT_INDEX = "cohort.json"
_COHORT_VERSION = 1
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def schema_attrs(name: str) -> dict[str, str]:
    """``{"units", "long_name"}`` attrs for variable ``name`` from :data:`SCHEMA`."""
    try:
        spec = SCHEMA["variables"][name]
    except KeyError:
        allowed = ", ".join(SCHEMA["variables"])
        raise ValueError(f"unknown recording variable {name!r}; allowed: {allowed}") from None
    return {"units": spec.units, "long_name": spec.long_name}


def schema_markdown() -> str:
    """The schema as two Markdown tables (variables, attrs), for docs."""
    lines = ["| name | dims | units | meaning | sim | real |", "|---|---|---|---|---|---|"]
    for k, v in SCHEMA["variables"].items():
        yes = {True: "required", False: "optional"}
        lines.append(f"| `{k}` | {', '.join(v.dims)} | {v.units} | {v.long_name} | "
                     f"{yes[v.required_for_sim]} | {yes[v.required_for_real]} |")
    lines += ["", "| attr | type | meaning | required | choices |", "|---|---|---|---|---|"]
    for k, a in SCHEMA["attrs"].items():
        choices = "|".join(a.choices) if a.choices else ""
        lines.append(f"| `{k}` | {a.kind.__name__} | {a.doc} | {a.required} | {choices} |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- validation
def recording_duration(ds: xr.Dataset) -> float:
    """Duration in seconds, ``n / fs`` (the span the fiducials may lie in)."""
    return ds.sizes.get("time", 0) / signal_fs(ds)


def _attr_problems(ds: xr.Dataset) -> list[str]:
    problems = []
    attrs = ds.attrs
    for name, spec in SCHEMA["attrs"].items():
        if name not in attrs:
            if spec.required:
                problems.append(f"missing attr {name!r} ({spec.doc})")
            continue
        value = attrs[name]
        if spec.kind is str:
            if not isinstance(value, str) or (spec.required and not value):
                problems.append(f"attr {name!r} must be a non-empty string, got {value!r}")
                continue
        elif spec.kind is int:
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
                problems.append(f"attr {name!r} must be an integer, got {value!r}")
                continue
        elif spec.kind is float:
            if isinstance(value, (bool, np.bool_)) or not isinstance(
                    value, (int, float, np.integer, np.floating)):
                problems.append(f"attr {name!r} must be a number, got {value!r}")
                continue
        if spec.choices is not None and value not in spec.choices:
            problems.append(f"attr {name!r} = {value!r} is not one of {'|'.join(spec.choices)}")
    fs = attrs.get("fs")
    if isinstance(fs, (int, float, np.integer, np.floating)) and not isinstance(fs, bool):
        try:
            check_fs(fs)
        except ValueError as exc:
            problems.append(str(exc))
    is_sim = attrs.get("source") == "sim"
    seed = attrs.get("seed")
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)):
        lowest = 0 if is_sim else -1
        if seed < lowest:
            kind = "simulated" if is_sim else "real"
            problems.append(f"attr 'seed' = {seed} must be >= {lowest} for a {kind} recording")
    for name, want_object in (("sim_config", True), ("events", False)):
        text = attrs.get(name)
        if not isinstance(text, str):
            continue
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(f"attr {name!r} is not valid JSON: {exc}")
            continue
        if want_object and not isinstance(parsed, dict):
            problems.append(f"attr {name!r} must be a JSON object, got {type(parsed).__name__}")
    return problems


def _time_problems(ds: xr.Dataset) -> tuple[list[str], float | None]:
    """Problems with the ``time`` coord; also the duration (``None`` when unknown)."""
    if "time" not in ds.coords:
        return ["missing coord 'time' (seconds, arange(n) / fs)"], None
    problems = []
    time = ds["time"]
    if time.dims != _T:
        problems.append(f"coord 'time' has dims {time.dims}, expected ('time',)")
        return problems, None
    if time.attrs.get("units") != "s":
        problems.append(f"coord 'time' has units {time.attrs.get('units')!r}, expected 's'")
    t = np.asarray(time.values)
    if t.size == 0:
        problems.append("the recording has no samples (time is empty)")
        return problems, None
    if not np.issubdtype(t.dtype, np.floating) or not np.all(np.isfinite(t)):
        problems.append("coord 'time' must be finite float seconds")
        return problems, None
    duration = None
    try:
        fs = signal_fs(ds)
    except ValueError as exc:
        problems.append(str(exc))
    else:
        duration = t.size / fs
        if not math.isclose(float(t[0]), 0.0, abs_tol=1e-6 / fs):
            problems.append(f"coord 'time' must start at 0 s (arange(n) / fs), starts at "
                            f"{float(t[0]):g} s")
        if t.size >= 2 and not np.all(np.diff(t) > 0):
            problems.append("coord 'time' is not strictly increasing")
    return problems, duration


def _variable_problems(ds: xr.Dataset, duration: float | None) -> list[str]:
    problems = []
    is_sim = ds.attrs.get("source") == "sim"
    kind = "simulated" if is_sim else "real"
    for name, spec in SCHEMA["variables"].items():
        if name == "time":
            continue
        required = spec.required_for_sim if is_sim else spec.required_for_real
        if name not in ds.data_vars:
            if name in ds.coords:
                problems.append(f"{name!r} is a coord; it must be a data variable")
            elif required:
                problems.append(f"missing variable {name!r} ({spec.long_name}, "
                                f"required for {kind} recordings)")
            continue
        var = ds[name]
        if var.dims != spec.dims:
            problems.append(f"variable {name!r} has dims {var.dims}, expected {spec.dims}")
            continue
        units = var.attrs.get("units")
        if units != spec.units:
            problems.append(f"variable {name!r} has units {units!r}, expected {spec.units!r}")
        if spec.dims == _T and not var.attrs.get("long_name"):
            problems.append(f"variable {name!r} has no 'long_name' attr")
        values = np.asarray(var.values)
        if not (np.issubdtype(values.dtype, np.floating)
                or np.issubdtype(values.dtype, np.integer)):
            problems.append(f"variable {name!r} must be numeric, got dtype {values.dtype}")
            continue
        if spec.dims == _T:
            bad = int(np.size(values) - np.count_nonzero(np.isfinite(values)))
            if bad:
                problems.append(f"variable {name!r} has {bad} NaN/inf sample(s)")
        else:
            problems.extend(_fiducial_problems(name, values.astype(float), duration))
    return problems


def _fiducial_problems(name: str, values: np.ndarray, duration: float | None) -> list[str]:
    problems = []
    if np.any(np.isinf(values)):
        problems.append(f"fiducial {name!r} has infinite times")
    present = values[np.isfinite(values)]
    if present.size >= 2 and not np.all(np.diff(present) > 0):
        i = int(np.argmax(np.diff(present) <= 0))
        problems.append(f"fiducial {name!r} is not strictly increasing "
                        f"({present[i]:g} s then {present[i + 1]:g} s)")
    if duration is not None and present.size:
        outside = present[(present < 0) | (present > duration)]
        if outside.size:
            problems.append(f"fiducial {name!r} has {outside.size} time(s) outside "
                            f"[0, {duration:g}] s (first {outside[0]:g} s)")
    return problems


def recording_validate(ds: xr.Dataset) -> None:
    """Check a recording against :data:`SCHEMA`; raise ``ValueError`` naming every problem.

    Checks the attrs (presence, types, ``posture`` choice, ``seed`` range, JSON in
    ``sim_config``/``events``), the ``time`` coord (units, start at 0, uniform, agreeing
    with the ``fs`` attr via :func:`~sim._signal.signal_fs`), every schema variable
    (presence — simulation-only ones are optional when ``source != "sim"`` — dims, units,
    ``long_name`` for time-series, no NaN/inf in time-series) and the fiducials (strictly
    increasing where present, inside ``[0, n / fs]`` s). Variables not in the schema are
    allowed.

    Parameters
    ----------
    ds : xarray.Dataset
        The recording.

    Raises
    ------
    TypeError
        ``ds`` is not a Dataset.
    ValueError
        One line per problem found.
    """
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"a recording is an xarray.Dataset, got {type(ds).__name__}")
    problems = _attr_problems(ds)
    time_problems, duration = _time_problems(ds)
    problems += time_problems
    problems += _variable_problems(ds, duration)
    extra = sorted(set(map(str, ds.data_vars)) - set(SCHEMA["variables"]))
    if extra:
        logger.debug("recording has variables outside the schema: %s", ", ".join(extra))
    if problems:
        who = ds.attrs.get("subject_id", "?")
        raise ValueError(f"invalid recording (subject_id={who!r}), {len(problems)} problem(s):"
                         "\n  - " + "\n  - ".join(problems))


# --------------------------------------------------------------------------- atomic helpers
_PARTIAL = ".partial"


def _partial_name(path: Path) -> tuple[str, str]:
    return f".{path.name}.", _PARTIAL


def _umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux /proc)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # pragma: no cover - non-Linux fallback
    os.umask(mask)  # pragma: no cover
    return mask  # pragma: no cover


def _fsync_path(path: Path, *, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def _atomic_file(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a hidden temporary sibling of ``path``; on success rename it over ``path``.

    On any exception the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    prefix, suffix = _partial_name(path)
    fd, tmp_name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        tmp.chmod(0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        yield tmp
        _fsync_path(tmp)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    _fsync_path(path.parent, directory=True)


@contextlib.contextmanager
def _atomic_dir(path: Path) -> Iterator[Path]:
    """Like :func:`_atomic_file` for a directory: build it aside, then swap it in."""
    prefix, suffix = _partial_name(path)
    tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=path.parent))
    try:
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700
        yield tmp
        for root, _, files in os.walk(tmp):
            for f in files:
                _fsync_path(Path(root) / f)
        old = None
        if os.path.lexists(path):
            old = path.parent / f"{prefix}{secrets.token_hex(6)}.old{suffix}"
            os.rename(path, old)
        try:
            os.rename(tmp, path)
        except BaseException:
            if old is not None:
                os.rename(old, path)
            raise
        if old is not None:
            _remove(old)
    except BaseException:
        _remove(tmp)
        raise
    _fsync_path(path.parent, directory=True)


# --------------------------------------------------------------------------- recordings
def _format_of(path: Path, format: str | None, *, sniff: bool) -> str:
    allowed = ", ".join(f"{s} ({f})" for f, s in FORMATS.items())
    if format is not None and format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(map(repr, FORMATS))}, "
                         f"got {format!r}")
    by_suffix = {s: f for f, s in FORMATS.items()}.get(path.suffix.lower())
    if format is not None:
        if by_suffix is not None and by_suffix != format:
            raise ValueError(f"format={format!r} contradicts the suffix of {path} "
                             f"(allowed suffixes: {allowed})")
        return format
    if by_suffix is not None:
        return by_suffix
    if sniff:
        if path.is_dir() and ((path / "zarr.json").is_file() or (path / ".zgroup").is_file()):
            return "zarr"
        if path.is_file():
            with open(path, "rb") as fh:
                if fh.read(len(_HDF5_MAGIC)) == _HDF5_MAGIC:
                    return "netcdf"
    raise ValueError(f"cannot tell the format of {path}: use one of the suffixes {allowed} "
                     "or pass format=")


def _require_h5py() -> None:
    """h5netcdf >= 1.7 makes h5py optional; without it NetCDF I/O fails obscurely."""
    try:
        import h5py  # noqa: F401
    except ImportError as exc:
        raise ImportError("NetCDF recordings need h5py (install 'h5netcdf[h5py]'); "
                          "Zarr ('.zarr') works without it") from exc


def _normalise_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Schema attrs as plain Python types (NetCDF gives numpy scalars, JSON needs builtins)."""
    out = dict(attrs)
    for name, spec in SCHEMA["attrs"].items():
        if name in out and isinstance(out[name], (np.generic, int, float, str)):
            value = out[name]
            if spec.kind is float and not isinstance(value, (str, bool, np.bool_)):
                out[name] = float(value)
            elif spec.kind is int and isinstance(value, (int, np.integer)) and not isinstance(
                    value, (bool, np.bool_)):
                out[name] = int(value)
            elif spec.kind is str and isinstance(value, (str, np.str_)):
                out[name] = str(value)
    return out


def _clean(ds: xr.Dataset) -> xr.Dataset:
    """A shallow copy with on-disk encodings dropped and attrs normalised."""
    ds = ds.copy(deep=False)
    ds.encoding = {}
    for var in ds.variables.values():
        var.encoding = {}
    ds.attrs = _normalise_attrs(ds.attrs)
    return ds


def _encoding(ds: xr.Dataset, format: str) -> dict[str, dict[str, Any]]:
    enc: dict[str, dict[str, Any]] = {}
    for name in ds.variables:
        spec = SCHEMA["variables"].get(str(name))
        if spec is None:
            continue
        if name in TIME_SERIES:
            enc[str(name)] = {"dtype": "float32"}
            if format == "netcdf":
                enc[str(name)].update({"zlib": True, "complevel": 4})
        else:  # the time coord and the fiducials
            enc[str(name)] = {"dtype": "float64"}
    return enc


def recording_write(ds: xr.Dataset, path: str | os.PathLike, *,
                    format: str | None = None) -> Path:
    """Validate ``ds`` and write it atomically as NetCDF (h5netcdf) or Zarr.

    Time-series are stored as float32 (NetCDF: gzip level 4), the ``time`` coord and the
    fiducials as float64. The data are written to a hidden ``.<name>.<random>.partial``
    sibling and renamed into place when complete (a Zarr store replaces an existing one by
    moving it aside first); on failure the partial output is removed and an existing file at
    ``path`` is left untouched. The same Dataset gives identical bytes when written twice.

    Parameters
    ----------
    ds : xarray.Dataset
        A recording that passes :func:`recording_validate`.
    path : path-like
        Destination; its suffix (``.nc`` or ``.zarr``) selects the format.
    format : {"netcdf", "zarr"}, optional
        Explicit format; must agree with a known suffix.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> recording_write(ds, "out/S001_supine.nc")  # doctest: +SKIP
    PosixPath('out/S001_supine.nc')
    """
    path = Path(path)
    fmt = _format_of(path, format, sniff=False)
    recording_validate(ds)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"directory {path.parent} does not exist (writing {path.name})")
    clean = _clean(ds)
    enc = _encoding(clean, fmt)
    if fmt == "netcdf":
        _require_h5py()
        if path.is_dir():
            raise IsADirectoryError(f"cannot write NetCDF over the directory {path}")
        with _atomic_file(path) as tmp:
            clean.to_netcdf(tmp, engine="h5netcdf", encoding=enc)
    else:
        with _atomic_dir(path) as tmp:
            clean.to_zarr(tmp, mode="w", consolidated=False, encoding=enc)
    logger.info("wrote %s recording %s (%s)", fmt, path, clean.attrs.get("subject_id"))
    return path


def recording_read(path: str | os.PathLike, *, format: str | None = None) -> xr.Dataset:
    """Read a recording into memory (time-series back to float64) and validate it.

    Parameters
    ----------
    path : path-like
        A ``.nc`` file or a ``.zarr`` store (other names are sniffed: HDF5 magic bytes or
        Zarr metadata). Temporaries left by an interrupted write (``*.partial``) are
        refused.
    format : {"netcdf", "zarr"}, optional
        Explicit format.

    Returns
    -------
    xarray.Dataset
        The validated recording, fully loaded, no open file handles.
    """
    path = Path(path)
    if not os.path.lexists(path):
        raise FileNotFoundError(f"recording not found: {path}")
    if path.name.endswith(_PARTIAL):
        raise ValueError(f"{path} is an unfinished write (a '{_PARTIAL}' temporary left by an "
                         "interrupted recording_write); delete it")
    fmt = _format_of(path, format, sniff=True)
    if fmt == "netcdf":
        _require_h5py()
        ds = xr.load_dataset(path, engine="h5netcdf")
    else:
        with xr.open_dataset(path, engine="zarr", consolidated=False, chunks=None) as opened:
            ds = opened.load()
    for name in TIME_SERIES:
        if name in ds.data_vars and ds[name].dtype != np.float64:
            ds[name] = ds[name].astype(np.float64)
    ds = _clean(ds)
    try:
        recording_validate(ds)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    logger.debug("read %s recording %s", fmt, path)
    return ds


# --------------------------------------------------------------------------- hashing
def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file, or of a directory (a Zarr store).

    For a directory the hash runs over its files in sorted order of their POSIX relative
    paths, each contributing ``relpath + NUL + 8-byte little-endian size + contents``, so
    renaming, moving or editing any file changes it.
    """
    path = Path(path)
    h = hashlib.sha256()
    if path.is_dir():
        files = sorted((p.relative_to(path).as_posix(), p) for p in path.rglob("*")
                       if p.is_file())
        for rel, p in files:
            h.update(rel.encode() + b"\0" + p.stat().st_size.to_bytes(8, "little"))
            _hash_file(h, p)
    elif path.is_file():
        _hash_file(h, path)
    else:
        raise FileNotFoundError(f"nothing to hash at {path}")
    return h.hexdigest()


def _hash_file(h: Any, path: Path) -> None:
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)


# --------------------------------------------------------------------------- cohort index
_ENTRY_KEYS = ("file", "subject_id", "posture", "seed", "duration_s", "fs", "sha256")


def cohort_entry(ds: xr.Dataset, path: str | os.PathLike, *,
                 directory: str | os.PathLike) -> dict[str, Any]:
    """The :data:`COHORT_INDEX` entry for recording ``ds`` written at ``path``.

    ``file`` is ``path`` relative to ``directory``; ``sha256`` hashes the file on disk.
    """
    path, directory = Path(path), Path(directory)
    rel = os.path.relpath(path.resolve(), directory.resolve())
    fs = signal_fs(ds)
    return {"file": Path(rel).as_posix(), "subject_id": str(ds.attrs["subject_id"]),
            "posture": str(ds.attrs["posture"]), "seed": int(ds.attrs["seed"]),
            "duration_s": float(ds.sizes["time"] / fs), "fs": float(fs),
            "sha256": file_sha256(path)}


def _entry_problems(i: int, entry: Any, directory: Path) -> list[str]:
    if not isinstance(entry, Mapping):
        return [f"recordings[{i}] must be an object, got {type(entry).__name__}"]
    problems = []
    missing = [k for k in _ENTRY_KEYS if k not in entry]
    if missing:
        problems.append(f"recordings[{i}] lacks {', '.join(missing)}")
    rel = entry.get("file")
    if not isinstance(rel, str) or not rel:
        problems.append(f"recordings[{i}].file must be a relative path string, got {rel!r}")
    elif Path(rel).is_absolute() or ".." in Path(rel).parts:
        problems.append(f"recordings[{i}].file {rel!r} must be relative and inside {directory}")
    if entry.get("posture", POSTURES[0]) not in POSTURES:
        problems.append(f"recordings[{i}].posture {entry['posture']!r} is not one of "
                        f"{'|'.join(POSTURES)}")
    return problems


def cohort_index_write(directory: str | os.PathLike, entries: Iterable[Mapping[str, Any]], *,
                       config: Mapping[str, Any] | None = None) -> Path:
    """Write ``<directory>/cohort.json`` atomically.

    Parameters
    ----------
    directory : path-like
        The cohort folder (must exist and hold the listed files).
    entries : iterable of mapping
        One per recording with keys ``file`` (relative to ``directory``), ``subject_id``,
        ``posture``, ``seed``, ``duration_s``, ``fs``, ``sha256`` (see :func:`cohort_entry`).
    config : mapping, optional
        The cohort configuration (JSON-serialisable), stored under ``"config"``.

    Returns
    -------
    pathlib.Path
        The index path.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"cohort directory {directory} does not exist")
    entries = list(entries)
    problems = []
    for i, entry in enumerate(entries):
        problems += _entry_problems(i, entry, directory)
    if not problems:
        files = [e["file"] for e in entries]
        dupes = sorted({f for f in files if files.count(f) > 1})
        if dupes:
            problems.append(f"files listed more than once: {', '.join(dupes)}")
        absent = [f for f in files if not os.path.lexists(directory / f)]
        if absent:
            problems.append(f"listed files not found in {directory}: {', '.join(absent)}")
    if problems:
        raise ValueError("invalid cohort index:\n  - " + "\n  - ".join(problems))
    recordings = [{
        "file": str(e["file"]), "subject_id": str(e["subject_id"]),
        "posture": str(e["posture"]), "seed": int(e["seed"]),
        "duration_s": float(e["duration_s"]), "fs": float(e["fs"]),
        "sha256": str(e["sha256"]),
    } for e in entries]
    index = {"version": _COHORT_VERSION, "recordings": recordings, "config": dict(config or {})}
    text = json.dumps(index, indent=2, allow_nan=False) + "\n"
    target = directory / COHORT_INDEX
    with _atomic_file(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    logger.info("wrote cohort index %s (%d recordings)", target, len(recordings))
    return target


def cohort_index_read(directory: str | os.PathLike, *, verify: bool = False) -> dict[str, Any]:
    """Read ``<directory>/cohort.json`` and check that every listed file exists.

    Parameters
    ----------
    directory : path-like
        The cohort folder.
    verify : bool
        Also recompute each file's SHA-256 and compare it with the index.

    Returns
    -------
    dict
        ``{"version": 1, "recordings": [...], "config": {...}}``; ``file`` stays relative.

    Raises
    ------
    FileNotFoundError
        No index in ``directory``.
    ValueError
        Malformed index, missing files or (``verify=True``) checksum mismatches, all named.
    """
    directory = Path(directory)
    target = directory / COHORT_INDEX
    if not target.is_file():
        raise FileNotFoundError(f"no cohort index {COHORT_INDEX} in {directory}")
    try:
        index = json.loads(target.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{target} is not valid JSON: {exc}") from exc
    if not isinstance(index, dict) or index.get("version") != _COHORT_VERSION:
        got = index.get("version") if isinstance(index, dict) else type(index).__name__
        raise ValueError(f"{target}: unsupported cohort index version {got!r}; "
                         f"expected {_COHORT_VERSION}")
    recordings = index.get("recordings")
    if not isinstance(recordings, list):
        raise ValueError(f"{target}: 'recordings' must be a list")
    problems = []
    for i, entry in enumerate(recordings):
        problems += _entry_problems(i, entry, directory)
    if not problems:
        for entry in recordings:
            p = directory / entry["file"]
            if not os.path.lexists(p):
                problems.append(f"missing file {entry['file']}")
            elif verify:
                digest = file_sha256(p)
                if digest != entry["sha256"]:
                    problems.append(f"sha256 mismatch for {entry['file']}: index "
                                    f"{entry['sha256'][:12]}…, file {digest[:12]}…")
    if problems:
        raise ValueError(f"{target}: " + "; ".join(problems))
    index.setdefault("config", {})
    return index
