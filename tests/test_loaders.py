"""med2ecg.loaders: every loader on a small file the test writes, clear errors, real data.

The ECG here is hand-built (Gaussian P, Q, R, S, T waves at known offsets from R), so the
delineated fiducials can be checked against where the waves were put.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from med2ecg import __version__
from med2ecg.data import recording_open, recording_resample, windows_from_recording
from med2ecg.loaders import (
    ecg_fiducials,
    load_csv,
    load_edf,
    load_kansas_mat,
    load_medit,
    load_wfdb,
    recording_build,
)

ROOT = Path(__file__).resolve().parents[1]
FS_FILE = 1000.0
#: (offset from R in s, amplitude in mV, width sd in s) of the P, Q, R, S, T waves
WAVES = ((-0.16, 0.15, 0.020), (-0.03, -0.10, 0.008), (0.0, 1.0, 0.010), (0.03, -0.25, 0.008),
         (0.28, 0.30, 0.040))


def ecg_like(duration: float, fs: float = FS_FILE, *, rr: float = 0.8, seed: int = 0):
    """(ecg in mV, R times in s): one beat every ``rr`` s plus 10 µV white noise."""
    t = np.arange(round(duration * fs)) / fs
    r = np.arange(0.4, duration - 0.5, rr)
    x = np.zeros_like(t)
    for rk in r:
        for off, amp, sd in WAVES:
            x += amp * np.exp(-0.5 * ((t - rk - off) / sd) ** 2)
    x += 0.01 * np.random.default_rng(seed).standard_normal(t.size)
    return x, r


def bcg_like(duration: float, fs: float = FS_FILE) -> np.ndarray:
    t = np.arange(round(duration * fs)) / fs
    return 1.2 + 0.01 * np.sin(2 * np.pi * 1.25 * (t - 0.25)) + 0.002 * np.sin(2 * np.pi * 0.25 * t)


def check_recording(ds, *, r_true, fs=FS_FILE, source, subject_id):
    """Schema attrs, units, and fiducials where the hand-built waves are."""
    assert ds.attrs["fs"] == fs and ds.attrs["source"] == source
    assert ds.attrs["subject_id"] == subject_id and ds.attrs["seed"] == -1
    assert ds.attrs["sim_config"] == "{}" and ds.attrs["package_version"] == __version__
    assert ds["ecg"].attrs["units"] == "mV" and ds["bcg"].attrs["units"] == "V"
    assert ds["time"].attrs["units"] == "s"
    np.testing.assert_allclose(ds["time"].values, np.arange(ds.sizes["time"]) / fs)
    r = ds["r_peak"].values
    assert r.size == r_true.size
    np.testing.assert_allclose(r, r_true, atol=2.5e-3)  # detector: within 2.5 ms of the R wave
    assert np.all(np.isnan(ds["j_peak"].values))
    on, off = ds["qrs_onset"].values, ds["qrs_offset"].values
    p, t_off = ds["p_onset"].values, ds["t_offset"].values
    ok = np.isfinite(on) & np.isfinite(off) & np.isfinite(p) & np.isfinite(t_off)
    assert ok.mean() > 0.8
    # the hand-built Q/S waves sit ±30 ms from R, P at −160 ms, T at +280 ms (sd 40 ms)
    assert np.all((p[ok] < on[ok]) & (on[ok] < r[ok]) & (r[ok] < off[ok]) & (off[ok] < t_off[ok]))
    assert -0.09 < np.median(on[ok] - r[ok]) < -0.02
    assert 0.02 < np.median(off[ok] - r[ok]) < 0.09
    assert -0.30 < np.median(p[ok] - r[ok]) < -0.16
    assert 0.30 < np.median(t_off[ok] - r[ok]) < 0.45


# --------------------------------------------------------------------------- fiducials
def test_ecg_fiducials_supplied_r_peaks_are_used_and_beats_are_assigned():
    x, r = ecg_like(12.0)
    given = np.rint(r * FS_FILE).astype(int) + 3  # deliberately 3 ms late: must be kept
    fid = ecg_fiducials(x, fs=FS_FILE, r_peaks=given)
    np.testing.assert_array_equal(fid["r_peak"], given / FS_FILE)
    for k in ("p_onset", "qrs_onset", "qrs_offset", "t_offset", "j_peak"):
        assert fid[k].shape == r.shape
    assert np.all(np.diff(fid["qrs_onset"][np.isfinite(fid["qrs_onset"])]) > 0)
    with pytest.raises(ValueError, match="strictly increasing"):
        ecg_fiducials(x, fs=FS_FILE, r_peaks=given[::-1])
    with pytest.raises(ValueError, match=r"r_peaks must lie in \[0, 11999\]"):
        ecg_fiducials(x, fs=FS_FILE, r_peaks=[5, 12000])
    with pytest.raises(ValueError, match="at least 2"):
        ecg_fiducials(x, fs=FS_FILE, r_peaks=[400])


def test_recording_build_checks_posture_and_lengths():
    x, _ = ecg_like(12.0)
    with pytest.raises(ValueError, match=r"posture 'sitting' is not one of supine\|prone"):
        recording_build(x, bcg_like(12.0), fs=FS_FILE, subject_id="s", source="x",
                        posture="sitting")
    with pytest.raises(ValueError, match="ECG has 12000 samples but BCG 11999"):
        recording_build(x, bcg_like(12.0)[:-1], fs=FS_FILE, subject_id="s", source="x")
    bcg = bcg_like(12.0)
    bcg[4] = np.nan
    with pytest.raises(ValueError, match="BCG has 1 NaN"):
        recording_build(x, bcg, fs=FS_FILE, subject_id="s", source="x")


# --------------------------------------------------------------------------- CSV
def _csv(path, duration=12.0, *, ecg_scale=1.0, jitter=None):
    x, r = ecg_like(duration)
    t = np.arange(x.size) / FS_FILE + 100.0  # a time column that does not start at 0
    if jitter is not None:
        t[jitter] += 0.4e-3
    pd.DataFrame({"t_s": t, "ECG": x * ecg_scale, "BCG": bcg_like(duration)}).to_csv(
        path, index=False)
    return r


def test_load_csv_time_column_units_and_fs(tmp_path):
    r = _csv(tmp_path / "a.csv", ecg_scale=1e-3)  # stored in volts
    ds = load_csv(tmp_path / "a.csv", ecg_column="ECG", bcg_column="BCG", time_column="t_s",
                  subject_id="P1", ecg_units="V", posture="left")
    check_recording(ds, r_true=r, source="csv", subject_id="P1")
    assert ds.attrs["posture"] == "left" and 0.9 < ds["ecg"].max() < 1.2  # back to mV
    same = load_csv(tmp_path / "a.csv", ecg_column="ECG", bcg_column="BCG", fs=1000.0,
                    subject_id="P1", ecg_units="V", r_peaks=np.rint(r * 1000).astype(int))
    np.testing.assert_allclose(same["ecg"].values, ds["ecg"].values)
    with pytest.raises(ValueError, match="disagrees with the time column"):
        load_csv(tmp_path / "a.csv", ecg_column="ECG", bcg_column="BCG", time_column="t_s",
                 fs=500.0, subject_id="P1")


def test_load_csv_errors(tmp_path):
    _csv(tmp_path / "a.csv")
    with pytest.raises(ValueError, match=r"column\(s\) not found: 'ecg'; required: 'ecg', "
                                         r"'BCG'; available: 't_s', 'ECG', 'BCG'"):
        load_csv(tmp_path / "a.csv", ecg_column="ecg", bcg_column="BCG", fs=1000.0,
                 subject_id="P1")
    with pytest.raises(ValueError, match="give fs= .* or time_column=; there is no default "
                                         "rate .column 't_s' looks like time"):
        load_csv(tmp_path / "a.csv", ecg_column="ECG", bcg_column="BCG", subject_id="P1")
    with pytest.raises(ValueError, match="unknown ECG units 'mv'"):
        load_csv(tmp_path / "a.csv", ecg_column="ECG", bcg_column="BCG", fs=1000.0,
                 subject_id="P1", ecg_units="mv")
    _csv(tmp_path / "gap.csv", jitter=slice(5000, None))
    with pytest.raises(ValueError, match="not uniformly sampled"):
        load_csv(tmp_path / "gap.csv", ecg_column="ECG", bcg_column="BCG", time_column="t_s",
                 subject_id="P1")
    table = pd.read_csv(tmp_path / "a.csv")
    table.loc[10, "BCG"] = np.nan
    table.to_csv(tmp_path / "nan.csv", index=False)
    with pytest.raises(ValueError, match="column 'BCG' has 1 NaN"):
        load_csv(tmp_path / "nan.csv", ecg_column="ECG", bcg_column="BCG", fs=1000.0,
                 subject_id="P1")
    with pytest.raises(FileNotFoundError):
        load_csv(tmp_path / "none.csv", ecg_column="ECG", bcg_column="BCG", fs=1.0,
                 subject_id="P1")


# --------------------------------------------------------------------------- WFDB
def test_load_wfdb(tmp_path):
    import wfdb

    x, r = ecg_like(12.0)
    sig = np.column_stack([bcg_like(12.0) * 1e3, x, np.zeros_like(x)])
    wfdb.wrsamp("rec1", fs=FS_FILE, units=["mV", "mV", "NU"], sig_name=["BCG", "ECG", "X"],
                p_signal=sig, fmt=["32", "32", "16"], write_dir=str(tmp_path))
    ds = load_wfdb(tmp_path / "rec1", ecg_channel="ECG", bcg_channel="BCG")
    check_recording(ds, r_true=r, source="wfdb", subject_id="rec1")
    np.testing.assert_allclose(ds["bcg"].values, bcg_like(12.0), atol=1e-6)  # mV → V
    ds2 = load_wfdb(tmp_path / "rec1.hea", ecg_channel="ECG", bcg_channel="BCG",
                    subject_id="W7", r_peaks=np.rint(r * FS_FILE).astype(int))
    assert ds2.attrs["subject_id"] == "W7"
    with pytest.raises(ValueError, match=r"channel\(s\) not found: 'II'.*available: 'BCG', "
                                         r"'ECG', 'X'"):
        load_wfdb(tmp_path / "rec1", ecg_channel="II", bcg_channel="BCG")
    with pytest.raises(ValueError, match="unknown BCG units 'NU'"):
        load_wfdb(tmp_path / "rec1", ecg_channel="ECG", bcg_channel="X")


def test_load_wfdb_multifrequency_is_refused(tmp_path):
    import wfdb

    x, _ = ecg_like(12.0)
    wfdb.wrsamp("mf", fs=FS_FILE, units=["mV", "V"], sig_name=["ECG", "BCG"],
                e_p_signal=[np.repeat(x, 2), bcg_like(12.0)], samps_per_frame=[2, 1],
                fmt=["32", "32"], write_dir=str(tmp_path))
    with pytest.raises(ValueError, match="'ECG' is at 2000 Hz but BCG channel 'BCG' at 1000 Hz"):
        load_wfdb(tmp_path / "mf", ecg_channel="ECG", bcg_channel="BCG")


# --------------------------------------------------------------------------- EDF
def _edf(path, *, bcg_fs=FS_FILE):
    from edfio import Edf, EdfSignal

    x, r = ecg_like(12.0)
    bcg = bcg_like(12.0)[:: int(FS_FILE / bcg_fs)]
    Edf([EdfSignal(x * 1e3, FS_FILE, label="ECG II", physical_dimension="uV",
                   physical_range=(-5e3, 5e3)),
         EdfSignal(bcg, bcg_fs, label="BCG", physical_dimension="V", physical_range=(0.0, 2.0))],
        data_record_duration=1.0).write(path)
    return r


def test_load_edf(tmp_path):
    r = _edf(tmp_path / "a.edf")
    ds = load_edf(tmp_path / "a.edf", ecg_channel="ECG II", bcg_channel="BCG")
    check_recording(ds, r_true=r, source="edf", subject_id="a")
    # 16-bit EDF quantisation: 2 V / 65535 ≈ 3e-5 V
    np.testing.assert_allclose(ds["bcg"].values, bcg_like(12.0), atol=4e-5)
    with pytest.raises(ValueError, match=r"channel\(s\) not found: 'ECG'.*available: "
                                         r"'ECG II', 'BCG'"):
        load_edf(tmp_path / "a.edf", ecg_channel="ECG", bcg_channel="BCG")


def test_load_edf_different_rates_is_refused(tmp_path):
    _edf(tmp_path / "b.edf", bcg_fs=500.0)
    with pytest.raises(ValueError, match="1000 Hz but BCG channel 'BCG' at 500 Hz; the loader "
                                         "does not resample"):
        load_edf(tmp_path / "b.edf", ecg_channel="ECG II", bcg_channel="BCG")


# --------------------------------------------------------------------------- Kansas (.mat v7.3)
KANSAS_SIGNALS = ("ECG", "Film0", "Film1", "Film2", "Film3", "LC_BCG0", "LC_BCG1", "LC_BCG2",
                  "LC_BCG3", "LC0", "LC1", "LC2", "LC3", "PPG", "Resp", "SpO2", "BP",
                  "Temp", "Acc", "Mark")


def _kansas(path, *, duration=30.0, with_fs=True):
    """A v7.3-style HDF5 file: /subjectNN/<signal> in MATLAB's shapes, 512-byte userblock."""
    import h5py

    truth = {}
    with h5py.File(path, "w", userblock_size=512) as f:
        if with_fs:
            f.create_dataset("fs", data=np.array([[FS_FILE]]))  # MATLAB scalar: (1, 1)
        f.create_group("#refs#")
        for s, name in enumerate(("subject01", "subject02")):
            g = f.create_group(name)
            g.attrs["MATLAB_class"] = np.bytes_("struct")
            x, r = ecg_like(duration, rr=0.75 + 0.1 * s, seed=s)
            truth[name] = r
            for i, sig in enumerate(KANSAS_SIGNALS):
                v = x * 1e-3 if sig == "ECG" else bcg_like(duration) + 0.001 * i  # ECG in V
                shape = ((1, -1), (-1, 1), (-1,))[i % 3]  # MATLAB writes (n, 1) as (1, n)
                d = g.create_dataset(sig, data=v.reshape(shape))
                d.attrs["MATLAB_class"] = np.bytes_("double")
            note = g.create_dataset("note", data=np.frombuffer(b"bed", np.uint8)[None, :]
                                    .astype(np.uint16))
            note.attrs["MATLAB_class"] = np.bytes_("char")
    return truth


def test_load_kansas_mat(tmp_path):
    truth = _kansas(tmp_path / "kansas.mat")
    ds = load_kansas_mat(tmp_path / "kansas.mat", subject="subject02")
    check_recording(ds, r_true=truth["subject02"], source="kansas_state_bed_bcg",
                    subject_id="kansas-subject02")
    assert ds.sizes["time"] == 30000 and ds["ecg"].max() > 0.9  # V → mV
    by_number = load_kansas_mat(tmp_path / "kansas.mat", subject=1, bcg_channel="LC_BCG2")
    assert by_number.attrs["subject_id"] == "kansas-subject01"
    np.testing.assert_allclose(by_number["bcg"].values, bcg_like(30.0) + 0.001 * 7)
    assert json.loads(by_number.attrs["channels"]) == {"ecg": "ECG", "bcg": "LC_BCG2"}


def test_load_kansas_mat_errors_and_fs(tmp_path):
    _kansas(tmp_path / "k.mat", duration=12.0, with_fs=False)
    with pytest.raises(ValueError, match=r"signal\(s\) not found: 'Film9'.*available: 'Acc', "
                                         r"'BP', 'ECG', 'Film0'"):
        load_kansas_mat(tmp_path / "k.mat", subject="subject01", bcg_channel="Film9")
    with pytest.raises(ValueError, match="subject 'S7' not found; available: subject01, "
                                         "subject02"):
        load_kansas_mat(tmp_path / "k.mat", subject="S7")
    ds = load_kansas_mat(tmp_path / "k.mat", subject="subject01")  # no fs stored: 1 kHz
    assert ds.attrs["fs"] == 1000.0
    _kansas(tmp_path / "k2.mat", duration=12.0)
    with pytest.raises(ValueError, match="fs = 500 Hz disagrees with the file's 1000 Hz"):
        load_kansas_mat(tmp_path / "k2.mat", subject=1, fs=500.0)
    (tmp_path / "v5.mat").write_bytes(b"MATLAB 5.0 MAT-file" + bytes(200))
    with pytest.raises(ValueError, match="not an HDF5"):
        load_kansas_mat(tmp_path / "v5.mat", subject=1)


# --------------------------------------------------------------------------- schema / real data
def test_loaded_recordings_pass_the_simulator_schema(tmp_path):
    """A loader's output, written to NetCDF, passes sim's own validator (run in a subprocess:
    med2ecg and its tests never import sim), and reopens with recording_open."""
    _kansas(tmp_path / "k.mat", duration=12.0)
    path = tmp_path / "k.nc"
    load_kansas_mat(tmp_path / "k.mat", subject=1).to_netcdf(path, engine="h5netcdf")
    code = "import sys; from sim.io import recording_read; recording_read(sys.argv[1])"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                         text=True, cwd=ROOT, env=env, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    assert recording_open(path).attrs["source"] == "kansas_state_bed_bcg"


@pytest.mark.real_data
def test_medit_real_recording_to_one_window(real_data_dir):
    folder = real_data_dir / "medit_pvdf_bcg_cecg"
    ds = load_medit(folder)
    assert ds.attrs["fs"] == 1000.0 and ds.sizes["time"] == 19799
    assert ds.attrs["source"] == "medit_pvdf_bcg_cecg" and ds.attrs["subject_id"] == "medit-aydin"
    assert ds.attrs["posture"] == "supine" and "seated" in ds.attrs["posture_note"]
    assert 5.6 < float(ds["bcg"].mean()) < 5.9  # raw PVDF output with its DC offset, in V
    peaks = pd.read_csv(folder / "rec_proc_Aydin-Left-1_rpeaks.csv")["sample_index_0based"]
    np.testing.assert_allclose(ds["r_peak"].values, peaks.to_numpy() / 1000.0)
    filtered = load_medit(folder, bcg="filtered")
    assert abs(float(filtered["bcg"].mean())) < 0.01

    with pytest.raises(ValueError, match="call recording_resample"):
        windows_from_recording(ds)  # never resampled silently
    ws = windows_from_recording(recording_resample(ds, fs=250.0))  # 19.8 s → 1 window + 9.8 s
    assert len(ws) == 1
    r = ws.fiducials["r_peak"][0]
    assert r.size == int(np.sum(peaks < 10_000)) == 14  # ~85 bpm over 10 s
    on, off = ws.fiducials["qrs_onset"][0], ws.fiducials["qrs_offset"][0]
    t_off, p_on = ws.fiducials["t_offset"][0], ws.fiducials["p_onset"][0]
    assert on.size == off.size == t_off.size == 14 and p_on.size == 13  # first P before t = 0
    assert np.all(on < r) and np.all(r < off) and np.all(off < t_off)
    assert np.all(p_on < on[1:])
    assert 0.05 < np.median(off - on) < 0.25  # QRS (cECG, noisy delineation)
    assert 0.2 < np.median(t_off - r) < 0.45
    assert {1, 2, 3} <= set(np.unique(ws.regions).tolist())
