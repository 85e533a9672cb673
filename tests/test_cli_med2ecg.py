"""`med2ecg` commands through CliRunner: help, an end-to-end run, real data, bad input."""

import json
import re

import pytest
from typer.testing import CliRunner

from cli.med2ecg import app
from cli.sim import app as sim_app

runner = CliRunner()


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("cmd", ["train", "crossval", "evaluate", "reconstruct", "export", "convert"])
def test_help(cmd):
    res = runner.invoke(app, [cmd, "--help"])
    assert res.exit_code == 0 and "Usage" in res.output


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    for name, seed in (("train", 1), ("test", 2)):
        res = runner.invoke(sim_app, ["generate", "--posture", "supine,prone", "--subjects", "2",
                                      "--duration", "20", "--seed", str(seed), "--out",
                                      str(root / name), "--no-progress"])
        assert res.exit_code == 0, res.output
    return root


@pytest.fixture(scope="module")
def run(cohort):
    out = cohort / "runs" / "unet"
    res = runner.invoke(app, ["train", "--data", str(cohort / "train"), "--model", "unet",
                              "--epochs", "2", "--batch-size", "4", "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_train_evaluate_reconstruct_export(cohort, run, tmp_path):
    assert (run / "model.pt").exists() and (run / "normalisation.json").exists()
    res = runner.invoke(app, ["evaluate", "--run", str(run), "--data", str(cohort / "test"),
                              "--out", str(tmp_path / "ev")])
    assert res.exit_code == 0, res.output
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert metrics["n_windows"] == 8
    # the test cohort (seed 2) holds other people than the training cohort (seed 1)
    assert metrics["n_seen_windows"] == 0
    assert set(metrics["summary"]["subject_id"]) == {"S2-000", "S2-001"}
    assert "## Per posture" in (tmp_path / "ev" / "metrics.md").read_text()
    res = runner.invoke(app, ["evaluate", "--run", str(run), "--data", str(cohort / "train"),
                              "--out", str(tmp_path / "ev_seen")])
    assert res.exit_code == 0 and "excluded from the summary" in _flat(res.output)
    rec_in = next((cohort / "test").glob("*.nc"))
    res = runner.invoke(app, ["reconstruct", "--run", str(run), "--input", str(rec_in),
                              "--out", str(tmp_path / "rec.nc")])
    assert res.exit_code == 0, res.output
    import xarray as xr

    with xr.open_dataset(tmp_path / "rec.nc", engine="h5netcdf") as ds:
        assert ds["ecg_rec"].attrs["units"] == "mV" and ds.attrs["ecg_rec_covered_s"] == 20.0
    res = runner.invoke(app, ["export", "--run", str(run), "--onnx", str(tmp_path / "m.onnx"),
                              "--exporter", "torchscript"])
    assert res.exit_code == 0, res.output
    assert "max |ORT − PyTorch|" in res.output


def test_real_recording_converts_and_reconstructs(real_data_dir, run, tmp_path):
    src = real_data_dir / "medit_pvdf_bcg_cecg"
    res = runner.invoke(app, ["convert", str(src), "--kind", "medit", "--out",
                              str(tmp_path / "medit.nc")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["reconstruct", "--run", str(run), "--input", str(tmp_path / "medit.nc"),
                              "--out", str(tmp_path / "medit_rec.nc")])
    assert res.exit_code == 0, res.output
    import numpy as np
    import xarray as xr

    with xr.open_dataset(tmp_path / "medit_rec.nc", engine="h5netcdf") as ds:
        rec = ds["ecg_rec"].values
        assert ds.attrs["source"] == "medit_pvdf_bcg_cecg"
        assert np.isfinite(rec[:2500]).all() and np.isnan(rec[2500:]).all()  # 19.8 s → 1 window


@pytest.mark.parametrize("args,match", [
    (["train", "--data", "/nonexistent", "--out", "x"], "data not found"),
    (["train", "--data", ".", "--out", "x", "--model", "gpt"], "model"),
    (["train", "--data", ".", "--out", "x", "--epochs", "0"], "epochs"),
    (["evaluate", "--run", "/nonexistent", "--data", "."], "not a finished run|not found|no recordings"),
    (["convert", "/nonexistent", "--kind", "nope", "--out", "x.nc"], "unknown kind"),
])
def test_bad_input_is_clear(args, match, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and re.search(match, _flat(res.output)), res.output


def test_reconstruct_wrong_rate_needs_explicit_resample(run, tmp_path):
    src = tmp_path / "r500.nc"
    res = runner.invoke(sim_app, ["generate", "--duration", "12", "--fs", "500", "--out", str(src)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["reconstruct", "--run", str(run), "--input", str(src), "--out",
                              str(tmp_path / "o.nc")])
    assert res.exit_code == 2 and "does not match the model rate 250 Hz" in _flat(res.output)
    res = runner.invoke(app, ["reconstruct", "--run", str(run), "--input", str(src), "--out",
                              str(tmp_path / "o.nc"), "--resample"])
    assert res.exit_code == 0, res.output


def test_convert_csv_missing_column(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("time_s,ecg,other\n0,0,0\n0.001,0,0\n")
    res = runner.invoke(app, ["convert", str(p), "--kind", "csv", "--ecg", "ecg", "--bcg", "bcg",
                              "--time-column", "time_s", "--out", str(tmp_path / "o.nc")])
    assert res.exit_code == 2 and "bcg" in _flat(res.output)
