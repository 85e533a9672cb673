"""Every CLI command through typer's CliRunner: --help, and a small end-to-end call each."""

import json

import pytest
from typer.testing import CliRunner

from cli.hil import app as hil_app
from cli.med2ecg import app as med2ecg_app
from cli.sim import app as sim_app
from cli.validation import app as validation_app
from sim.io import cohort_index_read, recording_read

runner = CliRunner()


@pytest.mark.parametrize("app,args", [
    (sim_app, ["--help"]), (sim_app, ["generate", "--help"]), (sim_app, ["plot", "--help"]),
    (med2ecg_app, ["--help"]), (hil_app, ["--help"]), (validation_app, ["--help"]),
    (validation_app, ["demo", "--help"]),
])
def test_help(app, args):
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "Usage" in res.output


@pytest.mark.parametrize("app,name", [(sim_app, "sim"), (med2ecg_app, "med2ecg"), (hil_app, "hil")])
def test_version(app, name):
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.strip() == f"{name} 0.1.0"


def test_generate_exactly_as_written(tmp_path, monkeypatch):
    """`sim generate --posture prone` with defaults: one subject, 60 s, path printed."""
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(sim_app, ["generate", "--posture", "prone"])
    assert res.exit_code == 0, res.output
    path = tmp_path / res.output.strip().splitlines()[-1]
    ds = recording_read(path)
    assert ds.attrs["posture"] == "prone" and ds.sizes["time"] == 60 * 250


def test_generate_cohort_all_postures_and_resume(tmp_path):
    out = tmp_path / "cohort"
    args = ["generate", "--posture", "all", "--subjects", "2", "--duration", "5", "--seed", "3",
            "--no-vibration", "--no-motion", "--out", str(out), "--no-progress"]
    res = runner.invoke(sim_app, args)
    assert res.exit_code == 0, res.output
    index = cohort_index_read(out, verify=True)
    assert len(index["recordings"]) == 8
    assert {e["posture"] for e in index["recordings"]} == {"supine", "prone", "left", "right"}
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.glob("*.nc")}
    res = runner.invoke(sim_app, args)  # resume: nothing redone
    assert res.exit_code == 0, res.output
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.nc")} == mtimes


def test_generate_resume_after_partial_run(tmp_path):
    """A killed run leaves complete files and an index of exactly those; rerun completes it."""
    from sim.cohort import CohortSpec, cohort_generate

    spec = CohortSpec(n_subjects=2, postures=("supine", "prone"), duration=4.0, seed=1)
    out = tmp_path / "c"
    calls = []

    def stop_after_two(done, total, name):
        calls.append(name)
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cohort_generate(out, spec, progress=stop_after_two)
    assert len(cohort_index_read(out)["recordings"]) == 2
    first = {p.name: p.stat().st_mtime_ns for p in out.glob("*.nc")}
    paths = cohort_generate(out, spec)
    assert len(paths) == 4
    assert all(out.joinpath(n).stat().st_mtime_ns == t for n, t in first.items())
    # the finished cohort equals one made in a single run
    fresh = cohort_generate(tmp_path / "fresh", spec)
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in fresh]


def test_generate_options_reach_the_simulation(tmp_path):
    cfg = tmp_path / "fiber.toml"
    cfg.write_text("[fiber]\nlength = 5.0\n[detector]\ntia_gain = 1.5e4\n")
    out = tmp_path / "one.zarr"
    res = runner.invoke(sim_app, ["generate", "--weight", "95", "--duration", "4", "--fs", "500",
                                  "--fiber-config", str(cfg), "--format", "zarr", "--out", str(out),
                                  "--no-motion"])
    assert res.exit_code == 0, res.output
    ds = recording_read(out)
    conf = json.loads(ds.attrs["sim_config"])
    assert conf["subject"]["weight"] == 95.0 and conf["sim"]["fiber"]["length"] == 5.0
    assert conf["sim"]["detector"]["tia_gain"] == 1.5e4
    assert conf["sim"]["disturbances"]["motion"] is False and ds.attrs["fs"] == 500.0


@pytest.mark.parametrize("args,match", [
    (["--posture", "sitting"], "unknown posture 'sitting'"),
    (["--duration", "0"], r"duration = 0.0 s is out of range"),
    (["--duration", "-3"], r"duration = -3.0 s is out of range"),
    (["--fs", "487"], "must divide the DAQ rate"),
    (["--fs", "0"], "out of range"),
    (["--weight", "400"], r"weight = 400.0 is out of range; allowed \[30, 250\] kg"),
    (["--format", "csv"], "format 'csv' unknown"),
])
def test_generate_bad_input_is_clear(tmp_path, args, match):
    res = runner.invoke(sim_app, ["generate", "--out", str(tmp_path / "x.nc"), *args])
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    import re

    assert re.search(match, " ".join(res.output.split())), res.output


def test_generate_bad_fiber_config(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[fiber]\ncore_diameter = 1e-3\ncladding_diameter = 5e-4\n")
    res = runner.invoke(sim_app, ["generate", "--fiber-config", str(cfg), "--out",
                                  str(tmp_path / "x.nc")])
    assert res.exit_code == 2 and "must be smaller than cladding" in " ".join(res.output.split())


def test_plot(tmp_path):
    out = tmp_path / "r.nc"
    assert runner.invoke(sim_app, ["generate", "--duration", "12", "--out", str(out)]).exit_code == 0
    res = runner.invoke(sim_app, ["plot", str(out)])
    assert res.exit_code == 0, res.output
    png = out.with_suffix(".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    res = runner.invoke(sim_app, ["plot", str(out), "--start", "100"])
    assert res.exit_code == 2
    assert "outside the recording, which lasts 12 s" in res.output and "Traceback" not in res.output
    res = runner.invoke(sim_app, ["plot", str(tmp_path / "missing.nc")])
    assert res.exit_code == 2


def test_validation_demo(tmp_path):
    res = runner.invoke(validation_app, ["demo", "--out", str(tmp_path), "--subjects", "2",
                                         "--duration", "10", "--epochs", "1"])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["n_recordings"] == 8 and set(summary["per_posture"]) == {"supine", "prone",
                                                                            "left", "right"}
    assert summary["model"]["held_out"] == "S0-001" and summary["model"]["test_windows"] == 4
    assert -1.0 <= summary["model"]["overall"]["pcc"] <= 1.0
    assert (tmp_path / "evaluation" / "metrics.md").exists()
    assert summary["per_posture"]["prone"]["bcg_std_mv"] < summary["per_posture"]["supine"]["bcg_std_mv"]
    assert "| prone |" in (tmp_path / "report.md").read_text()
    assert len(list((tmp_path / "plots").glob("*.png"))) == 4
    assert "held-out subject S0-001" in (tmp_path / "report.md").read_text()


def test_validation_accuracy_tiny(tmp_path):
    res = runner.invoke(validation_app, ["accuracy", "--out", str(tmp_path), "--models",
                                         "unet,li2021", "--subjects", "3", "--duration", "10",
                                         "--folds", "3", "--epochs", "1"])
    assert res.exit_code == 0, res.output
    text = (tmp_path / "accuracy.md").read_text()
    assert "grouped 3-fold" in text
    for model in ("unet", "li2021"):
        for group in ("overall", "supine", "prone", "left", "right"):
            assert f"| {model} | {group} |" in text
