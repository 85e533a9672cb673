"""Timing model: target profiles (loading, validation, Pi 4 calibration) and the simpy queue."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import simpy
import simpy.rt

from hil.timing import (
    STAGES,
    StageCost,
    TargetProfile,
    beds_supported,
    pipeline_simulate,
    predict_costs,
    profile_calibrate,
    profile_from_dict,
    profile_load,
)

FS = 250.0
PAPER_MS = {"filter": 33.25, "artefact": 23.36, "reconstruct": 1342.10}
HOST_MS = {"filter": 0.73, "artefact": 0.26, "reconstruct": 19.9}


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "p.toml"
    p.write_text(text)
    return p


_STAGES_TOML = "".join(f"[stages.{s}]\nslowdown = 2.0\n" for s in STAGES)


# ----------------------------------------------------------------------- profiles
@pytest.mark.parametrize("name", ["rpi4", "host"])
def test_named_profiles_load_and_round_trip(name):
    p = profile_load(name)
    assert isinstance(p, TargetProfile) and p.name == name
    assert profile_from_dict(p.to_dict()) == p


def test_profile_load_by_path(tmp_path):
    p = profile_load(_write(tmp_path, f'name = "x"\ndescription = "d"\ncores = 3\n'
                                      f'{_STAGES_TOML}'))
    assert p.cores == 3 and p.filter.slowdown == 2.0 and p.calibration is None


def test_unknown_profile_name():
    with pytest.raises(ValueError, match="unknown profile name 'pi5'; allowed names: host, rpi4"):
        profile_load("pi5")


_HEAD = 'name = "x"\ndescription = "d"\ncores = 1\n'


def _filter_as(body: str) -> str:
    """A valid profile whose ``[stages.filter]`` table holds ``body`` instead."""
    return _HEAD + _STAGES_TOML.replace("[stages.filter]\nslowdown = 2.0",
                                        f"[stages.filter]\n{body}")


@pytest.mark.parametrize(("text", "match"), [
    (_HEAD + "threads = 2\n" + _STAGES_TOML,
     r"unknown key\(s\) in profile: threads; allowed keys: name, description, cores"),
    (_HEAD.replace("cores = 1", "cores = 0") + _STAGES_TOML,
     r"TargetProfile.cores = 0 is out of range; allowed integer \[1, 256\]"),
    (_filter_as("slowdown = 2.0\nspeed = 1"),
     (r"unknown key\(s\) in profile.stages.filter: speed; allowed keys: slowdown, "
      r"ms_per_window, overhead_ms, cv")),
    (_filter_as("slowdown = -1.0"),
     r"StageCost.slowdown = -1.0 is out of range; allowed \(0, inf\)"),
    (_filter_as("slowdown = 2.0\ncv = 3.0"),
     r"StageCost.cv = 3.0 is out of range; allowed \[0, 2\]"),
    (_filter_as("overhead_ms = -0.5\nslowdown = 1.0"),
     r"StageCost.overhead_ms = -0.5 is out of range; allowed \[0, inf\) ms"),
    (_filter_as("slowdown = 2.0\nms_per_window = 3.0"),
     "set exactly one of slowdown and ms_per_window"),
    (_HEAD + _STAGES_TOML.replace("[stages.reconstruct]\nslowdown = 2.0\n", ""),
     r"missing key\(s\) in profile.stages: reconstruct"),
])
def test_profile_validation_errors(tmp_path, text, match):
    with pytest.raises(ValueError, match=match):
        profile_load(_write(tmp_path, text))


def test_stale_calibration_is_rejected():
    d = profile_load("rpi4").to_dict()
    d["stages"]["reconstruct"]["slowdown"] = 70.0
    with pytest.raises(ValueError, match="stage 'reconstruct' predicts .*stale slowdown"):
        profile_from_dict(d)


def test_calibration_rtf_must_match_paper_ms():
    d = profile_load("rpi4").to_dict()
    d["calibration"]["paper_rtf"] = 0.2
    with pytest.raises(ValueError, match="paper_rtf = 0.2 disagrees"):
        profile_from_dict(d)


def test_rpi4_reproduces_paper_figures():
    """Fed the calibration host numbers, the Pi 4 profile predicts the paper's per-stage ms
    (rtol 1e-9: one float multiply from the stored slowdown) and RTF 0.14 to the paper's
    two decimals."""
    p = profile_load("rpi4")
    assert p.calibration.paper_source == "Med2ECG, SenSys 2026, Raspberry Pi 4"
    assert p.calibration.paper_ms == PAPER_MS and p.calibration.host_ms == HOST_MS
    got = predict_costs(HOST_MS, p)
    assert list(got) == list(STAGES)
    for s in STAGES:
        assert got[s] == pytest.approx(PAPER_MS[s], rel=1e-9)
    rtf = sum(got.values()) / 1e3 / 10.0
    assert rtf == pytest.approx(0.14, abs=1e-3)
    assert rtf == pytest.approx(1398.71 / 10_000, rel=1e-9)


def test_profile_calibrate_matches_shipped_profile():
    shipped = profile_load("rpi4")
    cal = profile_calibrate(HOST_MS, PAPER_MS, base=shipped, paper_rtf=0.14,
                            host_source=shipped.calibration.host_source)
    for s in STAGES:
        assert cal.stages[s].slowdown == pytest.approx(PAPER_MS[s] / HOST_MS[s], rel=1e-15)
        assert cal.stages[s].slowdown == pytest.approx(shipped.stages[s].slowdown, rel=1e-12)
    assert cal.cores == shipped.cores and cal.cv == shipped.cv


def test_predict_costs_scales_new_host_numbers_and_adds_overhead():
    p = profile_load("rpi4")
    faster = dict(HOST_MS, reconstruct=HOST_MS["reconstruct"] / 2)
    assert predict_costs(faster, p)["reconstruct"] == pytest.approx(1342.10 / 2, rel=1e-12)
    c = StageCost(ms_per_window=5.0, overhead_ms=1.5)
    assert c.predict_ms(None) == 6.5
    with pytest.raises(ValueError, match="host_ms lacks stage 'filter'"):
        predict_costs({"artefact": 1.0, "reconstruct": 1.0}, p)
    with pytest.raises(ValueError, match=r"unknown key\(s\) in host_ms: decode"):
        predict_costs(dict(HOST_MS, decode=1.0), p)


# --------------------------------------------------------------------- simulation
def _sim(**kw):
    args = {"fs": FS, "window_s": 10.0, "duration_s": 120.0, "stage_ms": PAPER_MS,
            "cv": 0.0, "rng": 0}
    return pipeline_simulate(**(args | kw))


def test_single_bed_latency_is_sum_of_stage_costs():
    r = _sim()
    total_s = sum(PAPER_MS.values()) / 1e3
    assert r.n_windows == 12
    # cv = 0: latency is three float additions on top of the window end time.
    np.testing.assert_allclose(r.latency_s, total_s, rtol=1e-12)
    np.testing.assert_allclose(r.t_ready, 10.0 * np.arange(1, 13), rtol=1e-12)
    assert r.rtf == pytest.approx(total_s / 10.0, rel=1e-12)
    assert r.max_queue == 0 and np.all(r.wait_s == 0.0)
    assert r.keeps_up
    assert r.utilisation == pytest.approx(12 * total_s / (120.0 + total_s), rel=1e-12)
    assert r.summary()["stage_mean_ms"]["reconstruct"] == pytest.approx(1342.10, rel=1e-12)


def test_overload_does_not_keep_up_and_latency_grows():
    r = _sim(stage_ms={"filter": 1000.0, "artefact": 1000.0, "reconstruct": 10_000.0})
    lat = r.latency_s
    assert not r.keeps_up
    assert np.all(np.diff(lat) > 0)
    # Each window adds 12 s of work every 10 s: the latency grows by 2 s per window.
    np.testing.assert_allclose(np.diff(lat), 2.0, rtol=1e-9)
    assert r.load == pytest.approx(1.2, rel=1e-12) and r.max_queue >= 1


def test_beds_are_staggered_and_share_cores():
    r = _sim(beds=4, cores=2)
    assert r.n_windows == 48
    offsets = sorted({round(t % 10.0, 9) for t in r.t_ready})
    assert offsets == [0.0, 2.5, 5.0, 7.5]
    assert r.keeps_up and r.load == pytest.approx(4 * 0.139871 / 2, rel=1e-9)


def test_beds_supported_agrees_with_simulation():
    cap = beds_supported(PAPER_MS, fs=FS, window_s=10.0, cores=1, target_util=0.8)
    # 10 s / 1.39871 s = 7.15 windows per window period: 5 beds at 80 %, 7 below 100 %.
    assert (cap.beds, cap.beds_max) == (5, 7)
    assert cap.consistent
    assert cap.at_beds.load <= 0.8 and cap.at_beds.keeps_up
    assert _sim(beds=7).keeps_up
    over = _sim(beds=20)
    assert not over.keeps_up and over.latency_s[-1] > over.latency_s[0] + 10.0
    cap4 = beds_supported(PAPER_MS, fs=FS, window_s=10.0, cores=4)
    assert (cap4.beds, cap4.beds_max) == (22, 28) and cap4.consistent


def test_realtime_environment_gives_identical_results():
    kw = {"duration_s": 60.0, "beds": 3, "cores": 2, "rng": 1}
    a = _sim(**kw)
    env = simpy.rt.RealtimeEnvironment(factor=0.001, strict=False)
    b = _sim(env=env, **kw)
    for f in ("bed", "t_ready", "t_start", "t_done", "stage_s"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    assert a.summary() == b.summary()


def test_runs_in_a_started_environment():
    env = simpy.Environment(initial_time=100.0)
    r = _sim(env=env, duration_s=30.0)
    np.testing.assert_allclose(r.t_ready, [10.0, 20.0, 30.0], rtol=1e-12)
    assert env.now == pytest.approx(100.0 + 30.0 + 1.39871, rel=1e-12)


def test_same_seed_same_result_and_jitter_spreads_latency():
    kw = {"duration_s": 600.0, "beds": 2,
          "cv": {"filter": 0.1, "artefact": 0.1, "reconstruct": 0.3}}
    a, b = _sim(rng=42, **kw), _sim(rng=42, **kw)
    np.testing.assert_array_equal(a.stage_s, b.stage_s)
    np.testing.assert_array_equal(a.t_done, b.t_done)
    assert a.summary() == b.summary()
    c = _sim(rng=43, **kw)
    assert not np.array_equal(a.stage_s, c.stage_s)
    assert a.latency_p99_s > a.latency_p95_s > a.latency_p50_s
    # Lognormal draws keep the requested mean: 120 draws with cv 0.3 → SE of the mean ≈ 3 %.
    assert a.stage_s[:, 2].mean() == pytest.approx(1.3421, rel=0.1)


def test_simulation_argument_errors():
    with pytest.raises(ValueError, match="not a whole number"):
        _sim(window_s=10.001)
    with pytest.raises(ValueError, match=r"cv = 3.0 is out of range; allowed \[0, 2\]"):
        _sim(cv=3.0)
    with pytest.raises(ValueError, match=r"beds = 0 is out of range; allowed integer \[1, inf\)"):
        _sim(beds=0)
    with pytest.raises(ValueError, match=r"stage_ms.filter = -1.0 is out of range"):
        _sim(stage_ms={"filter": -1.0})
    assert math.isfinite(_sim(stage_ms={"only": 0.0}).rtf)
