"""med2ecg.data: opening, explicit resampling, windows, cohorts, sampling weights, folds.

Recordings are built by hand here (``med2ecg`` never imports ``sim``); one end-to-end test
makes a real simulated recording by running the ``sim`` CLI in a subprocess.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from med2ecg.constants import FS, LANDMARKS, REGIONS, WINDOW
from med2ecg.data import (
    WindowSet,
    cohort_windows,
    grouped_folds,
    recording_open,
    recording_resample,
    sample_weights,
    windows_from_recording,
)

ROOT = Path(__file__).resolve().parents[1]


def make_rec(duration: float = 25.0, fs: float = 250.0, *, subject: str = "S1",
             posture: str = "supine", source: str = "sim", r=None) -> xr.Dataset:
    """A schema recording with one beat a second (R at k + 0.5) and fixed fiducial offsets."""
    n = round(duration * fs)
    t = np.arange(n) / fs
    r = 0.5 + np.arange(int(duration - 0.9), dtype=float) if r is None else np.asarray(r, float)
    fid = {"r_peak": r, "p_onset": r - 0.2, "qrs_onset": r - 0.04, "qrs_offset": r + 0.04,
           "t_offset": r + 0.36, "j_peak": r + 0.25}
    fid["p_onset"][:1] = np.nan  # a P wave absent in the first beat
    data = {"ecg": ("time", np.sin(2 * np.pi * t), {"units": "mV", "long_name": "ECG"}),
            "bcg": ("time", 1.5 + 0.01 * np.cos(2 * np.pi * 1.3 * t),
                    {"units": "V", "long_name": "BCG"})}
    data.update({k: ("beat", v, {"units": "s"}) for k, v in fid.items()})
    attrs = {"fs": float(fs), "subject_id": subject, "posture": posture,
             "seed": 0 if source == "sim" else -1, "source": source, "sim_config": "{}",
             "package_version": "0.1.0"}
    return xr.Dataset(data, coords={"time": ("time", t, {"units": "s"})}, attrs=attrs)


# --------------------------------------------------------------------------- recording_open
@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_open_roundtrip_float64(tmp_path, suffix):
    ds = make_rec(12.0)
    enc = {k: {"dtype": "float32"} for k in ("ecg", "bcg")}
    path = tmp_path / f"r{suffix}"
    if suffix == ".nc":
        ds.to_netcdf(path, engine="h5netcdf", encoding=enc)
    else:
        ds.to_zarr(path, consolidated=False, encoding=enc)
    got = recording_open(path)
    assert got["ecg"].dtype == np.float64 and got["bcg"].dtype == np.float64
    np.testing.assert_allclose(got["bcg"].values, ds["bcg"].values, rtol=1e-7)
    np.testing.assert_array_equal(got["r_peak"].values, ds["r_peak"].values)
    assert got.attrs["subject_id"] == "S1"


def _write(ds, path):
    ds.to_netcdf(path, engine="h5netcdf")
    return path


def test_open_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.nc"):
        recording_open(tmp_path / "nope.nc")
    (tmp_path / "x.csv").write_text("a\n")
    with pytest.raises(ValueError, match=r"x\.csv.*\.nc, \.zarr"):
        recording_open(tmp_path / "x.csv")
    bad = make_rec(12.0)
    bad.attrs["fs"] = 251.0
    with pytest.raises(ValueError, match=r"badfs\.nc: attr fs = 251 Hz disagrees"):
        recording_open(_write(bad, tmp_path / "badfs.nc"))
    nan = make_rec(12.0)
    nan["bcg"].values[5] = np.nan
    with pytest.raises(ValueError, match=r"nan\.nc: variable 'bcg' has 1 NaN"):
        recording_open(_write(nan, tmp_path / "nan.nc"))
    noecg = make_rec(12.0).drop_vars("ecg")
    with pytest.raises(ValueError, match=r"noecg\.nc: missing variable\(s\) ecg"):
        recording_open(_write(noecg, tmp_path / "noecg.nc"))


def test_fs_attr_tolerance(tmp_path):
    ds = make_rec(12.0)
    ds.attrs["fs"] = 250.0 * (1 + 1e-8)  # within 1e-6: accepted
    recording_open(_write(ds, tmp_path / "ok.nc"))
    ds.attrs["fs"] = 250.0 * (1 + 1e-5)
    with pytest.raises(ValueError, match="disagrees with the time coord"):
        recording_open(_write(ds, tmp_path / "off.nc"))


# --------------------------------------------------------------------------- resampling
def test_resample_1000_to_250_keeps_a_sine_and_the_fiducials():
    ds = make_rec(12.0, fs=1000.0)
    ds["ecg"] = ("time", np.sin(2 * np.pi * 5.0 * ds.time.values), ds["ecg"].attrs)
    out = recording_resample(ds, fs=250.0)
    assert out.sizes["time"] == 3000 and out.attrs["fs"] == 250.0
    assert out.attrs["resampled_from"] == 1000.0
    np.testing.assert_allclose(out.time.values, np.arange(3000) / 250.0)
    # 5 Hz is far inside the 125 Hz Nyquist band: the Kaiser FIR passes it to < 1e-3
    # (edges excluded: the filter's pad extrapolates a line, not the sine)
    truth = np.sin(2 * np.pi * 5.0 * out.time.values)
    np.testing.assert_allclose(out["ecg"].values[50:-50], truth[50:-50], atol=1e-3)
    for k in ("r_peak", "p_onset", "t_offset", "j_peak"):
        np.testing.assert_array_equal(out[k].values, ds[k].values)
    assert ds.attrs["fs"] == 1000.0 and "resampled_from" not in ds.attrs  # input untouched
    assert out["bcg"].attrs["units"] == "V"


def test_resample_dc_offset_does_not_ring_at_the_edges():
    ds = make_rec(12.0, fs=1000.0)
    ds["bcg"] = ("time", np.full(ds.sizes["time"], 5.7), ds["bcg"].attrs)
    out = recording_resample(ds, fs=250.0)
    # zero padding would pull the first/last samples towards 0 V; padtype="line" does not
    np.testing.assert_allclose(out["bcg"].values, 5.7, rtol=1e-9)


def test_resample_odd_rate_and_errors():
    ds = make_rec(11.0, fs=487.0)
    out = recording_resample(ds, fs=250.0)
    assert out.sizes["time"] == int(np.ceil(ds.sizes["time"] * 250 / 487))
    assert len(windows_from_recording(out)) == 1
    same = recording_resample(out, fs=250.0)
    assert "resampled_from" in same.attrs and same is not out  # a copy; old note kept
    with pytest.raises(ValueError, match=r"allowed \(0, inf\)"):
        recording_resample(ds, fs=0.0)
    with pytest.raises(ValueError, match="rational ratio"):
        recording_resample(ds, fs=250.0 * np.pi)


# --------------------------------------------------------------------------- windows
def test_windows_basic_layout_and_dropped_tail_is_logged(caplog):
    ds = make_rec(25.0)
    with caplog.at_level(logging.INFO, logger="med2ecg.data"):
        ws = windows_from_recording(ds, name="rec-a")
    assert "dropped the trailing 5.000 s" in caplog.text
    assert len(ws) == 2
    assert ws.bcg.shape == (2, WINDOW) and ws.bcg.dtype == np.float32
    assert ws.ecg.dtype == np.float32 and ws.regions.dtype == np.int8
    assert ws.landmarks.shape == (2, 4, WINDOW) and ws.landmarks.dtype == np.float32
    np.testing.assert_array_equal(ws.t0, [0.0, 10.0])
    assert list(ws.recording) == ["rec-a", "rec-a"] and list(ws.source) == ["sim", "sim"]
    np.testing.assert_allclose(ws.bcg[1], ds["bcg"].values[2500:5000], rtol=1e-6)
    # R at k + 0.5: ten per window, relative to the window start
    np.testing.assert_allclose(ws.fiducials["r_peak"][1], 0.5 + np.arange(10))
    assert ws.fiducials["p_onset"][0].size == 9  # the first beat has no P onset
    assert set(ws.fiducials) == {"r_peak", *LANDMARKS}


def test_regions_and_landmarks_at_known_samples():
    ws = windows_from_recording(make_rec(10.0))
    reg, fs = ws.regions[0], FS
    r = int(1.5 * fs)  # second beat (the first has no P onset)
    assert reg[r - 50] == REGIONS["p"]  # p_onset = R - 0.2 s = 50 samples before R
    assert reg[r - 51] == REGIONS["other"]
    assert reg[r - 11] == REGIONS["p"] and reg[r - 10] == REGIONS["qrs"]  # [p_on, qrs_on)
    assert reg[r + 10] == REGIONS["qrs"] and reg[r + 11] == REGIONS["t"]  # [qrs_on, qrs_off]
    assert reg[r + 90] == REGIONS["t"] and reg[r + 91] == REGIONS["other"]  # (qrs_off, t_off]
    first = int(0.5 * fs)
    assert np.all(reg[:first - 10] == REGIONS["other"])  # beat 1: no P region (NaN onset)
    assert reg[first] == REGIONS["qrs"]
    # ±20 ms boxes: 11 samples per landmark at 250 Hz
    lm = ws.landmarks[0]
    box = np.flatnonzero(lm[LANDMARKS.index("qrs_onset")])[:11]
    np.testing.assert_array_equal(box, np.arange(first - 10 - 5, first - 10 + 6))
    assert lm[LANDMARKS.index("p_onset")].sum() == 11 * 8  # 9 beats, the first without P


def test_window_fiducial_on_a_boundary_goes_to_one_window_only():
    ds = make_rec(20.0, r=[9.996, 10.0, 15.0])
    ws = windows_from_recording(ds)
    np.testing.assert_allclose(ws.fiducials["r_peak"][0], [9.996])
    np.testing.assert_allclose(ws.fiducials["r_peak"][1], [0.0, 5.0], atol=1e-12)


def test_windows_refuse_other_rates_and_short_recordings():
    with pytest.raises(ValueError, match=r"recording fs = 1000 Hz does not match the model rate "
                                         r"250 Hz; call recording_resample\(ds, fs=250\)"):
        windows_from_recording(make_rec(12.0, fs=1000.0))
    with pytest.raises(ValueError, match=r"lasts 9\.996 s.*minimum 10 s"):
        windows_from_recording(make_rec(9.996))
    ds = make_rec(12.0)
    ds["ecg"].values[3] = np.nan
    with pytest.raises(ValueError, match="'ecg' has 1 NaN"):
        windows_from_recording(ds)
    with pytest.raises(ValueError, match="missing fiducial variable 't_offset'"):
        windows_from_recording(make_rec(12.0).drop_vars("t_offset"))


def test_windows_nan_safe_when_a_wave_is_missing_everywhere():
    ds = make_rec(10.0)
    ds["t_offset"][:] = np.nan
    ws = windows_from_recording(ds)
    assert not np.any(ws.regions == REGIONS["t"]) and np.any(ws.regions == REGIONS["qrs"])
    assert ws.landmarks[0, LANDMARKS.index("t_offset")].sum() == 0
    assert ws.fiducials["t_offset"][0].size == 0


# --------------------------------------------------------------------------- WindowSet
def test_windowset_subset_concat_subjects():
    a = windows_from_recording(make_rec(20.0, subject="B"))
    b = windows_from_recording(make_rec(30.0, subject="A", source="real-x"))
    ws = WindowSet.concat([a, b])
    assert len(ws) == 5 and list(ws.subjects) == ["A", "B"]
    sub = ws.subset([4, 0])
    assert list(sub.subject_id) == ["A", "B"]
    np.testing.assert_array_equal(sub.bcg[0], ws.bcg[4])
    np.testing.assert_array_equal(sub.fiducials["r_peak"][0], ws.fiducials["r_peak"][4])
    mask = ws.subset(ws.subject_id == "A")
    assert len(mask) == 3 and set(mask.source) == {"real-x"}
    assert len(ws.subset([])) == 0
    with pytest.raises(ValueError, match="at least one"):
        WindowSet.concat([])


def _fields(n=2, t=WINDOW):
    return {"bcg": np.zeros((n, t)), "ecg": np.zeros((n, t)), "regions": np.zeros((n, t)),
            "landmarks": np.zeros((n, 4, t)),
            "fiducials": {k: [np.zeros(0)] * n for k in ("r_peak", *LANDMARKS)},
            "subject_id": ["s"] * n, "posture": ["supine"] * n, "source": ["sim"] * n,
            "recording": ["r"] * n, "t0": np.zeros(n)}


def test_windowset_rejects_wrong_length_nan_and_misaligned():
    WindowSet(**_fields())
    with pytest.raises(ValueError, match=r"bcg must have shape \(2, 2500\).*10 s at 250 Hz"):
        WindowSet(**_fields(t=2400))
    f = _fields()
    f["ecg"][1, 7] = np.nan
    with pytest.raises(ValueError, match="ecg contains 1 NaN"):
        WindowSet(**f)
    f = _fields()
    f["subject_id"] = ["s"]
    with pytest.raises(ValueError, match=r"subject_id must have shape \(2,\)"):
        WindowSet(**f)
    f = _fields()
    del f["fiducials"]["qrs_offset"]
    with pytest.raises(ValueError, match="lacks 'qrs_offset'"):
        WindowSet(**f)


# --------------------------------------------------------------------------- cohorts
def test_cohort_dir_index_glob_list_and_progress(tmp_path):
    for name, subj in (("b.nc", "B"), ("a.nc", "A")):
        _write(make_rec(20.0, subject=subj), tmp_path / name)
    make_rec(10.0, subject="C").to_zarr(tmp_path / "c.zarr", consolidated=False)
    calls = []
    ws = cohort_windows(tmp_path, progress=lambda d, t, n: calls.append((d, t, n)))
    assert calls == [(1, 3, "a.nc"), (2, 3, "b.nc"), (3, 3, "c.zarr")]
    assert list(ws.recording) == ["a.nc", "a.nc", "b.nc", "b.nc", "c.zarr"]
    (tmp_path / "cohort.json").write_text(json.dumps(
        {"version": 1, "recordings": [{"file": "c.zarr"}, {"file": "b.nc"}]}))
    ws = cohort_windows(tmp_path)
    assert list(ws.subject_id) == ["C", "B", "B"]
    ws = cohort_windows([tmp_path / "a.nc"])
    assert list(ws.subjects) == ["A"]
    (tmp_path / "cohort.json").write_text(json.dumps({"recordings": [{"file": "gone.nc"}]}))
    with pytest.raises(FileNotFoundError, match="gone.nc"):
        cohort_windows(tmp_path)


def test_cohort_empty_inputs(tmp_path):
    with pytest.raises(ValueError, match="no recordings in"):
        cohort_windows(tmp_path)
    with pytest.raises(ValueError, match="empty list"):
        cohort_windows([])


def test_cohort_refuses_a_recording_at_another_rate(tmp_path):
    _write(make_rec(12.0, fs=500.0), tmp_path / "hi.nc")
    with pytest.raises(ValueError, match=r"hi\.nc: recording fs = 500 Hz"):
        cohort_windows(tmp_path)


def test_end_to_end_with_a_simulated_recording(tmp_path):
    """The sim CLI (subprocess: the library never imports sim) → cohort → windows."""
    out = tmp_path / "cohort"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-c", "from cli.sim import app; app()", "generate",
                          "--duration", "20", "--out", str(out)],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
                         check=False)
    assert res.returncode == 0, res.stderr
    ws = cohort_windows(out)
    assert len(ws) == 2 and set(ws.source) == {"sim"}
    assert np.all(np.isfinite(ws.bcg)) and ws.bcg.std() > 0
    for i in range(2):
        r = ws.fiducials["r_peak"][i]
        assert 5 <= r.size <= 25 and np.all((r >= 0) & (r < 10))
    for label in REGIONS.values():
        assert np.any(ws.regions == label)
    assert ws.landmarks.sum() > 0


# --------------------------------------------------------------------------- weights / folds
def test_sample_weights_mixing():
    ws = WindowSet.concat([windows_from_recording(make_rec(30.0)),
                           windows_from_recording(make_rec(10.0, source="medit"))])
    w = sample_weights(ws, real_weight=5.0)
    assert w.shape == (4,) and np.isclose(w.sum(), 1.0)
    np.testing.assert_allclose(w, np.array([1, 1, 1, 5]) / 8)
    np.testing.assert_allclose(sample_weights(ws, real_weight=0.0), [1 / 3] * 3 + [0])
    with pytest.raises(ValueError, match=r"allowed \[0, inf\)"):
        sample_weights(ws, real_weight=-1.0)
    with pytest.raises(ValueError, match="no windows"):
        sample_weights(ws.subset([]))
    with pytest.raises(ValueError, match="every window is real"):
        sample_weights(ws.subset([3]), real_weight=0.0)


def test_grouped_folds_loso_and_kfold():
    subj = np.array(["c", "a", "b", "a", "d", "c", "e"])
    loso = grouped_folds(subj, k=None)
    assert len(loso) == 5
    np.testing.assert_array_equal(loso[0][1], [1, 3])  # subject "a"
    folds = grouped_folds(subj, k=2)
    # sorted subjects a b c d e dealt round-robin: fold 0 = a c e, fold 1 = b d
    np.testing.assert_array_equal(folds[0][1], [0, 1, 3, 5, 6])
    np.testing.assert_array_equal(folds[1][1], [2, 4])
    with pytest.raises(ValueError, match=r"k = 6 is out of range; allowed \[2, 5\]"):
        grouped_folds(subj, k=6)
    with pytest.raises(ValueError, match="at least 2 subjects"):
        grouped_folds(["a", "a"], k=None)
    with pytest.raises(ValueError, match="at least 2 subjects"):
        grouped_folds([], k=None)


@settings(max_examples=40, deadline=None)
@given(subj=st.lists(st.sampled_from("abcdefgh"), min_size=2, max_size=40),
       k=st.one_of(st.none(), st.integers(2, 8)))
def test_grouped_folds_properties(subj, k):
    subj = np.array(subj)
    n_subj = len(set(subj))
    if n_subj < 2 or (k is not None and k > n_subj):
        with pytest.raises(ValueError):
            grouped_folds(subj, k=k)
        return
    folds = grouped_folds(subj, k=k)
    assert len(folds) == (n_subj if k is None else k)
    tested = np.concatenate([te for _, te in folds])
    assert sorted(tested.tolist()) == list(range(len(subj)))  # every window tested once
    seen = []
    for tr, te in folds:
        assert set(subj[tr]).isdisjoint(subj[te]) and len(te) > 0
        assert sorted(np.concatenate([tr, te]).tolist()) == list(range(len(subj)))
        seen += sorted(set(subj[te]))
    assert sorted(seen) == sorted(set(subj))  # each subject in exactly one test fold
    assert grouped_folds(subj, k=k)[0][1].tolist() == folds[0][1].tolist()  # deterministic
