"""The full chain: schema, physics invariants across the chain, determinism, bad input."""

import json

import numpy as np
import pytest
import scipy.signal

from sim._config import ConfigError
from sim.chain import SimConfig, bcg_simulate
from sim.io import recording_validate
from sim.subject import SubjectProfile, cohort_draw, subject_draw

QUIET = SimConfig().replace(disturbances={"vibration": False, "motion": False})


def _bcg_amplitude(ds) -> float:
    sos = scipy.signal.butter(3, [0.5, 20.0], btype="band", fs=ds.attrs["fs"], output="sos")
    x = scipy.signal.sosfiltfilt(sos, ds["bcg"].values.astype(float))
    return float(np.std(x[int(2 * ds.attrs["fs"]):]))


def test_schema_and_units():
    ds = bcg_simulate(subject_draw(0), duration=12.0, fs=250.0, posture="left", rng=3)
    recording_validate(ds)
    units = {k: ds[k].attrs["units"] for k in ("ecg", "bcg", "force", "load", "p0", "p1", "p2",
                                               "resp")}
    assert units == {"ecg": "mV", "bcg": "V", "force": "N", "load": "N", "p0": "mmHg",
                     "p1": "mmHg", "p2": "mmHg", "resp": "1"}
    for name in ("r_peak", "p_onset", "qrs_onset", "qrs_offset", "t_offset", "j_peak"):
        assert ds[name].dims == ("beat",) and ds[name].attrs["units"] == "s"
    assert ds.sizes["time"] == 3000
    assert ds.attrs["posture"] == "left" and ds.attrs["seed"] == 3 and ds.attrs["source"] == "sim"
    cfg = json.loads(ds.attrs["sim_config"])
    assert SubjectProfile.from_dict(cfg["subject"]) == subject_draw(0)
    assert SimConfig.from_dict(cfg["sim"]) == SimConfig()


def test_rj_latency_over_default_cohort():
    """DESIGN §4: R→J of roughly 0.15–0.30 s across subjects; the cohort median must sit there."""
    lat = []
    for s in cohort_draw(12, 5):
        ds = bcg_simulate(s, duration=20.0, fs=250.0, rng=1, config=QUIET)
        lat.append(np.nanmedian(ds["j_peak"].values - ds["r_peak"].values))
    assert 0.15 <= np.median(lat) <= 0.30
    assert np.all((np.array(lat) > 0.10) & (np.array(lat) < 0.40))


def test_prone_amplitude_below_supine():
    s = subject_draw(4)
    amp = {p: _bcg_amplitude(bcg_simulate(s, duration=30.0, fs=250.0, posture=p, rng=9,
                                          config=QUIET)) for p in ("supine", "prone")}
    assert amp["prone"] < 0.8 * amp["supine"]


def test_bcg_follows_force_and_falls_with_load():
    """More load bends the fibre harder → less light → lower voltage: the band-passed BCG is
    anti-correlated with the force it carries."""
    ds = bcg_simulate(subject_draw(1), duration=30.0, fs=250.0, rng=2, config=QUIET)
    sos = scipy.signal.butter(3, [0.5, 20.0], btype="band", fs=250.0, output="sos")
    b = scipy.signal.sosfiltfilt(sos, ds["bcg"].values.astype(float))[500:]
    f = scipy.signal.sosfiltfilt(sos, ds["force"].values.astype(float))[500:]
    assert np.corrcoef(b, f)[0, 1] < -0.7


def test_heavier_load_lowers_operating_voltage():
    light = bcg_simulate(subject_draw(1, weight=50.0), duration=5.0, fs=250.0, rng=2, config=QUIET)
    heavy = bcg_simulate(subject_draw(1, weight=110.0), duration=5.0, fs=250.0, rng=2, config=QUIET)
    assert heavy["bcg"].mean() < light["bcg"].mean()


def test_same_seed_identical_different_seed_different():
    a = bcg_simulate(duration=10.0, fs=250.0, rng=5)
    b = bcg_simulate(duration=10.0, fs=250.0, rng=5)
    c = bcg_simulate(duration=10.0, fs=250.0, rng=6)
    for k in ("ecg", "bcg", "load"):
        assert a[k].values.tobytes() == b[k].values.tobytes()
    assert a["bcg"].values.tobytes() != c["bcg"].values.tobytes()


def test_chunk_size_does_not_change_result():
    s = subject_draw(2)
    a = bcg_simulate(s, duration=25.0, fs=250.0, rng=1, config=SimConfig())
    b = bcg_simulate(s, duration=25.0, fs=250.0, rng=1,
                     config=SimConfig().replace(chunk_duration=3.7))
    for k in ("bcg", "force", "load", "p0", "p2", "resp"):
        np.testing.assert_allclose(a[k].values, b[k].values, rtol=1e-6, atol=1e-6, err_msg=k)


def test_disturbances_visible_and_logged():
    cfg = SimConfig().replace(disturbances={"motion_rate": 600.0, "footstep_episode_rate": 600.0,
                                            "posture_change": True, "posture_change_rate": 200.0})
    ds = bcg_simulate(subject_draw(3), duration=60.0, fs=250.0, rng=4, config=cfg)
    events = json.loads(ds.attrs["events"])
    kinds = {e["type"] for e in events}
    assert {"motion", "footsteps", "posture_change"} <= kinds
    quiet = bcg_simulate(subject_draw(3), duration=60.0, fs=250.0, rng=4, config=QUIET)
    assert np.std(ds["load"].values) > 2 * np.std(quiet["load"].values)


def test_footsteps_put_floor_mode_in_spectrum():
    cfg = QUIET.replace(disturbances={"vibration": True, "motion": False,
                                      "footstep_episode_rate": 3000.0,
                                      "footstep_episode_duration": 20.0})
    ds = bcg_simulate(subject_draw(3), duration=60.0, fs=250.0, rng=4, config=cfg)
    f, p = scipy.signal.welch(ds["load"].values.astype(float), fs=250.0, nperseg=2048)
    band = (f > 12) & (f < 25)
    assert f[band][np.argmax(p[band])] == pytest.approx(18.0, abs=1.0)


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"duration": 0.0}, ValueError, r"duration = 0.0 s is out of range"),
    ({"duration": -1.0}, ValueError, r"duration = -1.0 s is out of range"),
    ({"duration": float("nan")}, ValueError, "duration"),
    ({"fs": 0.0}, ValueError, r"fs = 0 Hz is out of range"),
    ({"fs": -250.0}, ValueError, r"out of range"),
    ({"fs": 50.0}, ValueError, r"too low for the ECG/BCG band.*\[100, 1000\]"),
    ({"fs": 2000.0}, ValueError, "exceeds the DAQ rate"),
    ({"fs": 487.0}, ValueError, "must divide the DAQ rate"),
    ({"posture": "sitting"}, ConfigError, "unknown posture 'sitting'.*supine, prone, left, right"),
])
def test_bad_input(kwargs, exc, match):
    args = {"duration": 5.0, "fs": 250.0, **kwargs}
    with pytest.raises(exc, match=match):
        bcg_simulate(**args)


def test_odd_daq_rate_supported_explicitly():
    cfg = SimConfig().replace(daq={"fs_daq": 974.0, "aa_cutoff": 200.0})
    ds = bcg_simulate(duration=3.0, fs=487.0, rng=0, config=cfg)
    assert ds.sizes["time"] == int(np.ceil(3.0 * 487)) and ds.attrs["fs"] == 487.0


def test_sim_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, sim.chain, sim.cohort, sim.io, sim.plot; "
            "bad = [m for m in ('torch', 'med2ecg', 'hil', 'cli', 'validation') if m in sys.modules]; "
            "sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
