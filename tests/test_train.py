"""Trainer, evaluation, reconstruction and export, end to end on a tiny simulated cohort.

Tests may use `sim` to make data; the `med2ecg` library itself never imports it.
"""

import json

import numpy as np
import pytest
import torch

from med2ecg.config import TrainConfig, ValidationError
from med2ecg.data import WindowSet, windows_from_recording
from med2ecg.train import RunFiles, run_load, train
from sim.chain import SimConfig, bcg_simulate
from sim.subject import cohort_draw

QUIET = SimConfig().replace(disturbances={"vibration": False, "motion": False})


@pytest.fixture(scope="module")
def tiny_windows() -> WindowSet:
    sets = []
    for s in cohort_draw(3, 4):
        for posture in ("supine", "prone"):
            ds = bcg_simulate(s, duration=20.0, fs=250.0, posture=posture, rng=1, config=QUIET)
            sets.append(windows_from_recording(ds))
    return WindowSet.concat(sets)


def _cfg(**kw):
    base = dict(model="unet", epochs=3, batch_size=4, lr=3e-3, seed=0, landmark_epochs=1)
    return TrainConfig(**{**base, **kw})


def test_tiny_training_loss_falls(tmp_path, tiny_windows):
    run = train(tiny_windows, config=_cfg(epochs=6), out=tmp_path / "r")
    hist = json.loads(RunFiles(run).history.read_text())
    assert len(hist) == 6
    assert hist[-1]["total"] < 0.8 * hist[0]["total"]


def test_med2ecg_composite_loss_trains(tmp_path, tiny_windows):
    run = train(tiny_windows, config=_cfg(model="med2ecg", epochs=2), out=tmp_path / "m")
    hist = json.loads(RunFiles(run).history.read_text())
    assert {"sim", "wav", "dal", "aux", "total"} <= set(hist[0])
    assert RunFiles(run).landmark.exists()


def test_deterministic_and_global_rng_untouched(tmp_path, tiny_windows):
    state = torch.get_rng_state()
    a = train(tiny_windows, config=_cfg(epochs=1), out=tmp_path / "a")
    b = train(tiny_windows, config=_cfg(epochs=1), out=tmp_path / "b")
    assert torch.equal(torch.get_rng_state(), state)
    wa = torch.load(RunFiles(a).model, weights_only=True)
    wb = torch.load(RunFiles(b).model, weights_only=True)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_resume_after_kill_equals_uninterrupted(tmp_path, tiny_windows):
    full = train(tiny_windows, config=_cfg(epochs=3), out=tmp_path / "full")

    class Kill(Exception):
        pass

    def kill_in_epoch_2(stage, done, total, info):
        if info["epoch"] == 2:
            raise Kill

    with pytest.raises(Kill):
        train(tiny_windows, config=_cfg(epochs=3), out=tmp_path / "killed", progress=kill_in_epoch_2)
    ck = torch.load(RunFiles(tmp_path / "killed").checkpoint, weights_only=True)
    assert int(ck["epoch"]) == 0  # epoch 1 finished and saved, epoch 2 was lost
    resumed = train(tiny_windows, config=_cfg(epochs=3), out=tmp_path / "killed")
    wa = torch.load(RunFiles(full).model, weights_only=True)
    wb = torch.load(RunFiles(resumed).model, weights_only=True)
    assert all(torch.allclose(wa[k], wb[k], atol=1e-6) for k in wa)


def test_checkpoint_round_trip_weights_only(tmp_path, tiny_windows):
    run = train(tiny_windows, config=_cfg(epochs=1), out=tmp_path / "r")
    model, cfg, norm = run_load(run)
    assert cfg == _cfg(epochs=1) and norm["ecg_std_mv"] > 0
    x = torch.zeros(2, 2500)
    model2, _, _ = run_load(run)
    assert torch.equal(model(x), model2(x))


def test_other_config_in_same_folder_rejected(tmp_path, tiny_windows):
    train(tiny_windows, config=_cfg(epochs=1), out=tmp_path / "r")
    with pytest.raises(ValueError, match="different config"):
        train(tiny_windows, config=_cfg(epochs=2, lr=1e-4), out=tmp_path / "r")


def test_config_rejects_mistakes():
    with pytest.raises(ValidationError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ValidationError, match="model"):
        TrainConfig(model="transformer")
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        TrainConfig(epochz=3)


def test_empty_and_nan_data_rejected(tmp_path, tiny_windows):
    with pytest.raises(ValueError, match="empty"):
        train(tiny_windows.subset(np.array([], dtype=int)), config=_cfg(), out=tmp_path / "e")
    bad = tiny_windows.subset(np.arange(2))
    bad.bcg[0, 10] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        train(bad, config=_cfg(), out=tmp_path / "n")


def test_evaluate_flags_seen_subjects(tmp_path, tiny_windows):
    from med2ecg.evaluate import evaluate_run

    subjects = tiny_windows.subjects
    train_idx = np.flatnonzero(tiny_windows.subject_id != subjects[0])
    run = train(tiny_windows.subset(train_idx), config=_cfg(epochs=1), out=tmp_path / "r")
    res = evaluate_run(run, tiny_windows, out=tmp_path / "ev")
    assert res["n_seen_windows"] == len(train_idx)
    assert set(res["summary"]["subject_id"]) == {str(subjects[0])}
    assert (tmp_path / "ev" / "metrics.md").read_text().startswith("# Evaluation")
    assert list((tmp_path / "ev" / "plots").glob("*.png"))


def test_crossval_grouped(tmp_path, tiny_windows):
    from med2ecg.evaluate import crossval

    res = crossval(tiny_windows, _cfg(epochs=1), out=tmp_path / "cv", k=3)
    assert res["folds"] == 3 and res["protocol"].startswith("grouped 3-fold")
    assert res["n_windows"] == len(tiny_windows)
    assert {r["seen"] for r in res["windows"]} == {False}


def test_export_onnx_matches_torch(tmp_path, tiny_windows):
    from med2ecg.export import ORT_TOLERANCE, onnx_export

    run = train(tiny_windows, config=_cfg(model="med2ecg", epochs=1, landmark_epochs=0),
                out=tmp_path / "m")
    res = onnx_export(run, tmp_path / "m.onnx", exporter="torchscript")
    assert res["max_abs_diff"] <= ORT_TOLERANCE
    with pytest.raises(ValueError, match="unknown exporter"):
        onnx_export(run, tmp_path / "x.onnx", exporter="tflite")


@pytest.mark.slow
def test_export_onnx_dynamo_matches_torch(tmp_path, tiny_windows):
    from med2ecg.export import ORT_TOLERANCE, onnx_export

    run = train(tiny_windows, config=_cfg(model="med2ecg", epochs=1, landmark_epochs=0),
                out=tmp_path / "m")
    assert onnx_export(run, tmp_path / "m.onnx", exporter="dynamo")["max_abs_diff"] <= ORT_TOLERANCE


def test_reconstruct_recording(tmp_path, tiny_windows):
    from med2ecg.inference import recording_reconstruct

    run = train(tiny_windows, config=_cfg(epochs=1), out=tmp_path / "r")
    model, _, norm = run_load(run)
    ds = bcg_simulate(duration=23.0, fs=250.0, rng=3, config=QUIET)
    out = recording_reconstruct(model, norm, ds)
    rec = out["ecg_rec"].values
    assert np.isfinite(rec[:5000]).all() and np.isnan(rec[5000:]).all()
    assert out.attrs["ecg_rec_covered_s"] == 20.0
    with pytest.raises(ValueError, match="does not match the model rate 250 Hz"):
        recording_reconstruct(model, norm, bcg_simulate(duration=12.0, fs=500.0, rng=3))
