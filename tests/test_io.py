"""Recording schema, validation, atomic NetCDF/Zarr I/O and the cohort index (sim.io)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from _recording_factory import make_recording
from sim.io import (
    FIDUCIALS,
    SCHEMA,
    TIME_SERIES,
    cohort_entry,
    cohort_index_read,
    cohort_index_write,
    file_sha256,
    recording_read,
    recording_validate,
    recording_write,
    schema_attrs,
    schema_markdown,
)

ROOT = Path(__file__).resolve().parents[1]
SUFFIX = {"netcdf": ".nc", "zarr": ".zarr"}


@pytest.fixture
def rec() -> xr.Dataset:
    return make_recording()


def _store_files(path: Path) -> dict[str, bytes]:
    if path.is_file():
        return {"": path.read_bytes()}
    return {p.relative_to(path).as_posix(): p.read_bytes()
            for p in sorted(path.rglob("*")) if p.is_file()}


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".partial"))


def _assert_same_recording(a: xr.Dataset, b: xr.Dataset) -> None:
    # Time-series go through float32: relative error <= 2**-24 of each value, so compare
    # with rtol 1e-7 plus an absolute floor of one float32 ulp of the largest magnitude.
    for name in TIME_SERIES:
        if name in a:
            x, y = a[name].values, b[name].values
            assert y.dtype == np.float64
            np.testing.assert_allclose(y, x, rtol=1.2e-7, atol=np.abs(x).max() * 6e-8)
            assert b[name].attrs == a[name].attrs
    for name in FIDUCIALS:  # float64 on disk: exact, NaN where absent
        if name in a:
            np.testing.assert_array_equal(b[name].values, a[name].values)
            assert b[name].attrs == a[name].attrs
    np.testing.assert_array_equal(b["time"].values, a["time"].values)
    assert b["time"].attrs == {"units": "s"}
    assert b.attrs == a.attrs
    assert type(b.attrs["seed"]) is int and type(b.attrs["fs"]) is float


# --------------------------------------------------------------------------- round trip
@pytest.mark.parametrize("fmt", ["netcdf", "zarr"])
def test_round_trip(tmp_path, rec, fmt):
    rec.attrs["events"] = json.dumps([{"t": 3.0, "kind": "posture_change"}])
    path = recording_write(rec, tmp_path / f"r{SUFFIX[fmt]}")
    back = recording_read(path)
    _assert_same_recording(rec, back)
    assert _leftovers(tmp_path) == []
    assert rec["ecg"].dtype == np.float64  # the input is not modified


def test_netcdf_storage_is_float32_gzip4_and_fiducials_float64(tmp_path, rec):
    h5py = pytest.importorskip("h5py")
    path = recording_write(rec, tmp_path / "r.nc")
    with h5py.File(path, "r") as f:
        for name in TIME_SERIES:
            assert f[name].dtype == np.float32
            assert (f[name].compression, f[name].compression_opts) == ("gzip", 4)
        for name in (*FIDUCIALS, "time"):
            assert f[name].dtype == np.float64


def test_zarr_storage_dtypes(tmp_path, rec):
    path = recording_write(rec, tmp_path / "r.zarr")
    meta = {name: json.loads((path / name / "zarr.json").read_text())
            for name in (*TIME_SERIES, *FIDUCIALS, "time")}
    assert {meta[n]["data_type"] for n in TIME_SERIES} == {"float32"}
    assert {meta[n]["data_type"] for n in (*FIDUCIALS, "time")} == {"float64"}


def test_real_recording_round_trip(tmp_path):
    real = make_recording(source="mit-bih-bcg")
    assert "force" not in real and "j_peak" not in real and real.attrs["seed"] == -1
    _assert_same_recording(real, recording_read(recording_write(real, tmp_path / "r.nc")))


@pytest.mark.parametrize("fs, duration, n_beats",
                         [(487.0, 3.3, 1), (250.0, 1.0, 1), (1000.0, 2.0, 0)])
@pytest.mark.parametrize("fmt", ["netcdf", "zarr"])
def test_awkward_records_round_trip(tmp_path, fmt, fs, duration, n_beats):
    ds = make_recording(duration, fs, n_beats=n_beats)
    assert ds.sizes["beat"] == n_beats
    back = recording_read(recording_write(ds, tmp_path / f"r{SUFFIX[fmt]}"))
    _assert_same_recording(ds, back)
    assert back.sizes["time"] == ds.sizes["time"]


def test_read_from_a_read_recording_round_trips_again(tmp_path, rec):
    # Encodings picked up on read (NetCDF chunking, zlib) must not leak into a Zarr write.
    first = recording_read(recording_write(rec, tmp_path / "a.nc"))
    second = recording_read(recording_write(first, tmp_path / "b.zarr"))
    _assert_same_recording(first, second)


@pytest.mark.parametrize("fmt", ["netcdf", "zarr"])
def test_written_files_get_umask_permissions(tmp_path, rec, fmt):
    old = os.umask(0o027)
    try:
        path = recording_write(rec, tmp_path / f"r{SUFFIX[fmt]}")
    finally:
        os.umask(old)
    want = 0o777 if fmt == "zarr" else 0o666
    assert path.stat().st_mode & 0o777 == want & ~0o027


def test_read_then_overwrite_same_path(tmp_path, rec):
    path = recording_write(rec, tmp_path / "r.nc")
    ds = recording_read(path)  # must hold no open handle on the file
    ds.attrs["subject_id"] = "S002"
    recording_write(ds, path)
    assert recording_read(path).attrs["subject_id"] == "S002"


# --------------------------------------------------------------------------- determinism
def _next_second() -> None:
    time.sleep(1.02 - (time.time() % 1.0))  # HDF5 timestamps have 1-s resolution


@pytest.mark.parametrize("fmt", ["netcdf", "zarr"])
def test_identical_bytes_when_written_twice(tmp_path, rec, fmt):
    a = recording_write(rec, tmp_path / f"a{SUFFIX[fmt]}")
    if fmt == "netcdf":
        _next_second()
    b = recording_write(rec, tmp_path / f"b{SUFFIX[fmt]}")
    fa, fb = _store_files(a), _store_files(b)
    assert fa.keys() == fb.keys() and len(fa) >= 1
    assert fa == fb
    assert file_sha256(a) == file_sha256(b)


# --------------------------------------------------------------------------- atomicity
@pytest.mark.parametrize("fmt", ["netcdf", "zarr"])
@pytest.mark.parametrize("existing", [False, True])
def test_failed_write_leaves_nothing_and_keeps_old(tmp_path, rec, monkeypatch, fmt, existing):
    target = tmp_path / f"r{SUFFIX[fmt]}"
    if existing:
        old = rec.copy()
        old.attrs["subject_id"] = "OLD"
        recording_write(old, target)
        before = _store_files(target)

    def crash_netcdf(self, path, *args, **kwargs):
        Path(path).write_bytes(b"\x89HDF\r\n\x1a\n half a file")
        raise RuntimeError("killed mid-write")

    def crash_zarr(self, store, *args, **kwargs):
        Path(store, "zarr.json").write_text('{"zarr_format": 3, "node_type": "group"}')
        raise RuntimeError("killed mid-write")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", crash_netcdf)
    monkeypatch.setattr(xr.Dataset, "to_zarr", crash_zarr)
    with pytest.raises(RuntimeError, match="killed mid-write"):
        recording_write(rec, target)
    assert _leftovers(tmp_path) == []
    if existing:
        assert _store_files(target) == before
        assert recording_read(target).attrs["subject_id"] == "OLD"
    else:
        assert not os.path.lexists(target)
        assert [p.name for p in tmp_path.iterdir()] == []


@pytest.mark.parametrize("fmt", ["netcdf", "zarr"])
def test_killed_process_leaves_no_valid_file(tmp_path, fmt):
    """SIGKILL inside the writer: no file at the final path; the leftover is not readable."""
    target = tmp_path / f"r{SUFFIX[fmt]}"
    method = "to_netcdf" if fmt == "netcdf" else "to_zarr"
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / "tests")!r}]
        import xarray as xr
        from _recording_factory import make_recording
        from sim.io import recording_write
        real = getattr(xr.Dataset, {method!r})
        def dying(self, path, *a, **k):
            real(self, path, *a, **k)  # the data are complete but not yet renamed
            os.kill(os.getpid(), signal.SIGKILL)
        setattr(xr.Dataset, {method!r}, dying)
        recording_write(make_recording(), {str(target)!r})
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert proc.returncode == -9, proc.stderr.decode()
    assert not os.path.lexists(target)
    leftovers = _leftovers(tmp_path)
    assert len(leftovers) == 1 and leftovers[0].startswith(".r")
    with pytest.raises(ValueError, match="unfinished write"):
        recording_read(tmp_path / leftovers[0], format=fmt)


def test_invalid_recording_is_not_written(tmp_path, rec):
    rec.attrs["posture"] = "sitting"
    with pytest.raises(ValueError, match="posture"):
        recording_write(rec, tmp_path / "r.nc")
    assert list(tmp_path.iterdir()) == []


def test_zarr_overwrite_replaces_whole_store(tmp_path, rec):
    target = tmp_path / "r.zarr"
    recording_write(rec, target)
    (target / "stray_file").write_text("from an older store")
    recording_write(rec, target)
    assert not (target / "stray_file").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.zarr"]


# --------------------------------------------------------------------------- formats
def test_unknown_suffix_names_allowed(tmp_path, rec):
    with pytest.raises(ValueError, match=r"\.nc.*\.zarr"):
        recording_write(rec, tmp_path / "r.h5")


def test_explicit_format(tmp_path, rec):
    path = recording_write(rec, tmp_path / "r.h5", format="netcdf")
    assert recording_read(path).attrs["subject_id"] == "S001"  # sniffed from HDF5 magic
    with pytest.raises(ValueError, match="contradicts"):
        recording_write(rec, tmp_path / "r.nc", format="zarr")
    with pytest.raises(ValueError, match="'netcdf', 'zarr'"):
        recording_write(rec, tmp_path / "r.nc", format="hdf5")


def test_read_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        recording_read(tmp_path / "absent.nc")
    junk = tmp_path / "junk.txt"
    junk.write_text("hello")
    with pytest.raises(ValueError, match=r"cannot tell the format.*\.nc"):
        recording_read(junk)


def test_read_rejects_an_invalid_file(tmp_path, rec):
    bad = rec.copy()
    bad["ecg"].attrs["units"] = "V"
    bad.to_netcdf(tmp_path / "bad.nc", engine="h5netcdf")
    with pytest.raises(ValueError, match=r"(?s)bad\.nc.*'ecg' has units 'V', expected 'mV'"):
        recording_read(tmp_path / "bad.nc")


def test_write_into_missing_directory(tmp_path, rec):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        recording_write(rec, tmp_path / "nope" / "r.nc")


# --------------------------------------------------------------------------- validation
def _drop(name):
    return lambda ds: ds.drop_vars(name)


def _set_attr(var, key, value):
    def f(ds):
        target = ds if var is None else ds[var]
        target.attrs[key] = value
        return ds
    return f


def _set_values(var, index, value):
    def f(ds):
        v = ds[var].values.copy()
        v[index] = value
        ds[var] = (ds[var].dims, v, ds[var].attrs)
        return ds
    return f


def _del_attr(key):
    def f(ds):
        del ds.attrs[key]
        return ds
    return f


def _swap_r(ds):
    v = ds["r_peak"].values.copy()
    v[[2, 3]] = v[[3, 2]]
    return ds.assign(r_peak=("beat", v, ds["r_peak"].attrs))


def _wrong_dims(ds):
    return ds.assign(p_onset=("peak", ds["p_onset"].values, {"units": "s"}))


def _shift_time(ds):
    return ds.assign_coords(time=("time", ds["time"].values + 1.0, {"units": "s"}))


def _time_units(ds):
    ds["time"].attrs["units"] = "ms"
    return ds


@pytest.mark.parametrize("mutate, message", [
    (_drop("force"), r"missing variable 'force' .*required for simulated"),
    (_drop("r_peak"), r"missing variable 'r_peak'"),
    (_set_attr("ecg", "units", "V"), r"'ecg' has units 'V', expected 'mV'"),
    (_set_attr("p1", "units", "Pa"), r"'p1' has units 'Pa', expected 'mmHg'"),
    (_set_attr("j_peak", "units", "ms"), r"'j_peak' has units 'ms', expected 's'"),
    (_set_attr("resp", "long_name", ""), r"'resp' has no 'long_name'"),
    (_wrong_dims, r"'p_onset' has dims \('peak',\), expected \('beat',\)"),
    (_set_attr(None, "fs", 500.0), r"fs attr \(500 Hz\) disagrees with the time coord \(250 Hz\)"),
    (_set_attr(None, "fs", -1.0), r"fs = -1 Hz is out of range"),
    (_set_attr(None, "posture", "sitting"), r"'sitting' is not one of supine\|prone\|left\|right"),
    (_swap_r, r"'r_peak' is not strictly increasing \(3\.5 s then 2\.5 s\)"),
    (_set_values("t_offset", -1, 12.5), r"'t_offset' has 1 time\(s\) outside \[0, 12\] s"),
    (_set_values("qrs_onset", 0, -0.1), r"'qrs_onset' has 1 time\(s\) outside"),
    (_set_values("j_peak", 1, np.inf), r"'j_peak' has infinite times"),
    (_set_values("ecg", slice(10, 13), np.nan), r"'ecg' has 3 NaN/inf sample"),
    (_set_values("bcg", 0, np.nan), r"'bcg' has 1 NaN/inf sample"),
    (_del_attr("subject_id"), r"missing attr 'subject_id'"),
    (_del_attr("package_version"), r"missing attr 'package_version'"),
    (_set_attr(None, "seed", -1), r"'seed' = -1 must be >= 0 for a simulated recording"),
    (_set_attr(None, "seed", 1.5), r"'seed' must be an integer"),
    (_set_attr(None, "sim_config", "{not json"), r"'sim_config' is not valid JSON"),
    (_set_attr(None, "sim_config", "[1, 2]"), r"'sim_config' must be a JSON object"),
    (_set_attr(None, "events", "{oops"), r"'events' is not valid JSON"),
    (_set_attr(None, "package_version", 1), r"'package_version' must be a non-empty string"),
    (_shift_time, r"must start at 0 s"),
    (_time_units, r"coord 'time' has units 'ms', expected 's'"),
    (lambda ds: ds.drop_vars("time"), r"missing coord 'time'"),
    (lambda ds: ds.isel(time=slice(0, 0)), r"no samples"),
])
def test_validate_names_the_problem(rec, mutate, message):
    recording_validate(rec)
    bad = mutate(rec.copy(deep=True))
    with pytest.raises(ValueError, match=message):
        recording_validate(bad)


def test_validate_reports_every_problem(rec):
    bad = rec.copy(deep=True)
    bad["ecg"].attrs["units"] = "uV"
    bad.attrs["posture"] = "upright"
    bad = bad.drop_vars("load")
    with pytest.raises(ValueError, match="3 problem") as info:
        recording_validate(bad)
    text = str(info.value)
    assert "'ecg' has units 'uV'" in text and "'upright'" in text and "'load'" in text


def test_validate_nonuniform_time(rec):
    t = rec["time"].values.copy()
    t[5:] += 0.001
    bad = rec.assign_coords(time=("time", t, {"units": "s"}))
    with pytest.raises(ValueError, match="not uniformly sampled"):
        recording_validate(bad)


def test_validate_accepts_real_and_absent_waves():
    real = make_recording(source="mit-bih-bcg")
    recording_validate(real)  # no force/load/p*/resp/j_peak, seed -1, sim_config "{}"
    real.attrs["seed"] = -2
    with pytest.raises(ValueError, match=r">= -1 for a real"):
        recording_validate(real)
    sim = make_recording()
    sim["t_offset"].values[:] = np.nan  # a wave absent in every beat is fine
    recording_validate(sim)


def test_validate_one_sample_and_extra_vars(rec):
    one = make_recording(duration=1 / 250, fs=250.0, n_beats=0)
    assert one.sizes["time"] == 1
    recording_validate(one)
    recording_validate(rec.assign(spo2=("time", np.ones(rec.sizes["time"]))))


def test_validate_type():
    with pytest.raises(TypeError, match="Dataset"):
        recording_validate(np.zeros(3))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.0, 12.0, allow_nan=False), min_size=0, max_size=8, unique=True),
       st.booleans())
def test_validate_fiducials_property(times, shuffle):
    """Any sorted set of distinct times in [0, duration] is valid; a descent is not."""
    ds = make_recording(n_beats=len(times))
    values = np.sort(np.asarray(times, dtype=float))
    descending = shuffle and len(values) >= 2
    if descending:
        values = values[::-1]
    ds = ds.assign(r_peak=("beat", values, {"units": "s"}))
    if descending:
        with pytest.raises(ValueError, match="'r_peak' is not strictly increasing"):
            recording_validate(ds)
    else:
        recording_validate(ds)


def test_schema_registry():
    assert set(TIME_SERIES) == {"ecg", "bcg", "force", "load", "p0", "p1", "p2", "resp"}
    assert set(FIDUCIALS) == {"r_peak", "p_onset", "qrs_onset", "qrs_offset", "t_offset",
                              "j_peak"}
    assert SCHEMA["attrs"]["posture"].choices == ("supine", "prone", "left", "right")
    assert schema_attrs("p0") == {"units": "mmHg", "long_name": "aortic root pressure P0"}
    with pytest.raises(ValueError, match="unknown recording variable 'emg'.*ecg"):
        schema_attrs("emg")
    doc = schema_markdown()
    for name in (*SCHEMA["variables"], *SCHEMA["attrs"]):
        assert f"`{name}`" in doc


# --------------------------------------------------------------------------- cohort index
def _cohort(tmp_path) -> tuple[Path, list[dict]]:
    entries = []
    (tmp_path / "rec").mkdir()
    for i, (posture, fmt) in enumerate([("supine", "netcdf"), ("prone", "zarr")]):
        ds = make_recording(4.0, 250.0, seed=i, posture=posture, subject_id=f"S{i:03d}")
        path = recording_write(ds, tmp_path / "rec" / f"S{i:03d}{SUFFIX[fmt]}")
        entries.append(cohort_entry(ds, path, directory=tmp_path))
    return tmp_path, entries


def test_cohort_index_round_trip(tmp_path):
    directory, entries = _cohort(tmp_path)
    config = {"n_subjects": 2, "fs": 250.0}
    index_path = cohort_index_write(directory, entries, config=config)
    assert index_path == directory / "cohort.json"
    index = cohort_index_read(directory, verify=True)
    assert index == {"version": 1, "recordings": entries, "config": config}
    assert [e["file"] for e in entries] == ["rec/S000.nc", "rec/S001.zarr"]
    assert entries[1] == {**entries[1], "posture": "prone", "seed": 1, "duration_s": 4.0,
                          "fs": 250.0}
    assert _leftovers(directory) == []


def test_cohort_index_detects_sha_mismatch_and_missing(tmp_path):
    directory, entries = _cohort(tmp_path)
    cohort_index_write(directory, entries)
    changed = make_recording(4.0, 250.0, seed=7, subject_id="S000")
    recording_write(changed, directory / "rec" / "S000.nc")
    cohort_index_read(directory)  # existence only: still fine
    with pytest.raises(ValueError, match=r"sha256 mismatch for rec/S000\.nc"):
        cohort_index_read(directory, verify=True)
    shutil.rmtree(directory / "rec" / "S001.zarr")
    with pytest.raises(ValueError, match=r"missing file rec/S001\.zarr"):
        cohort_index_read(directory)


def test_cohort_index_rejects_bad_entries(tmp_path):
    directory, entries = _cohort(tmp_path)
    with pytest.raises(ValueError, match="not found.*ghost.nc"):
        cohort_index_write(directory, [*entries, {**entries[0], "file": "ghost.nc"}])
    with pytest.raises(ValueError, match="must be relative"):
        cohort_index_write(directory, [{**entries[0], "file": "../x.nc"}])
    with pytest.raises(ValueError, match="lacks sha256"):
        cohort_index_write(directory, [{k: v for k, v in entries[0].items() if k != "sha256"}])
    with pytest.raises(ValueError, match="more than once"):
        cohort_index_write(directory, [entries[0], entries[0]])
    assert not (directory / "cohort.json").exists()
    (directory / "cohort.json").write_text(json.dumps({"version": 9, "recordings": []}))
    with pytest.raises(ValueError, match="unsupported cohort index version 9"):
        cohort_index_read(directory)
    with pytest.raises(FileNotFoundError, match="no cohort index"):
        cohort_index_read(directory / "rec")


def test_file_sha256_of_zarr_store(tmp_path, rec):
    a = recording_write(rec, tmp_path / "a.zarr")
    b = recording_write(rec, tmp_path / "b.zarr")
    assert file_sha256(a) == file_sha256(b)
    (b / "ecg" / "zarr.json").rename(b / "ecg" / "zarr2.json")
    assert file_sha256(a) != file_sha256(b)
    with pytest.raises(FileNotFoundError):
        file_sha256(tmp_path / "absent")
