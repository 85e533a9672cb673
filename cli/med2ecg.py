"""`med2ecg`: train, evaluate, reconstruct and export BCG → ECG models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from med2ecg import __version__

from ._common import console, fail, setup_logging, version_callback

app = typer.Typer(help="Med2ECG: reconstruct a single-lead ECG from a BCG; train, evaluate "
                       "subject-independently, reconstruct recordings, export to ONNX.",
                  no_args_is_help=True, add_completion=False)

MODEL_HELP = "med2ecg, bilstm, unet, attn-unet or li2021."
_ERRORS = (ValueError, FileNotFoundError, KeyError, OSError)


@app.callback()
def main(version: Annotated[bool, typer.Option("--version", callback=version_callback("med2ecg", __version__),
                                               is_eager=True, help="Show the version and exit.")] = False,
         verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False):
    setup_logging(verbose)


def _windows(data: Path, real: list[Path] | None):
    from med2ecg.data import WindowSet, cohort_windows, recording_open, windows_from_recording

    if not data.exists():
        raise FileNotFoundError(f"data not found: {data}")
    ws = cohort_windows(data)
    extra = [windows_from_recording(recording_open(p)) for p in (real or [])]
    return WindowSet.concat([ws, *extra]) if extra else ws


def _config(model: str, epochs: int, batch_size: int, lr: float, seed: int, config: Path | None,
            real_weight: float):
    from med2ecg.config import TrainConfig

    base = TrainConfig.from_file(config).model_dump() if config else {}
    base.update({"model": model, "epochs": epochs, "batch_size": batch_size, "lr": lr,
                 "seed": seed, "real_weight": real_weight})
    return TrainConfig(**base)


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[info]}"), TimeRemainingColumn(), console=console)


def _write_nc(ds, out: Path) -> None:
    """Write a recording atomically (temporary sibling, then rename)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    ds.to_netcdf(tmp, engine="h5netcdf")
    tmp.replace(out)


def _validation_error_text(exc) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


@app.command()
def train(
    data: Annotated[Path, typer.Option(help="Cohort folder (cohort.json or *.nc/*.zarr).")],
    out: Annotated[Path, typer.Option(help="Run folder, e.g. runs/NAME (resumes if present).")],
    model: Annotated[str, typer.Option(help=MODEL_HELP)] = "med2ecg",
    epochs: Annotated[int, typer.Option(help="Epochs.")] = 30,
    batch_size: Annotated[int, typer.Option(help="Batch size (paper: 24).")] = 24,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 1e-3,
    seed: Annotated[int, typer.Option(help="Seed (deterministic on CPU).")] = 0,
    real: Annotated[list[Path] | None, typer.Option(help="Real recording(s) in the schema at "
                                                         "250 Hz to mix in (see `convert`).")] = None,
    real_weight: Annotated[float, typer.Option(help="Sampling weight of a real window vs a "
                                                    "synthetic one.")] = 5.0,
    config: Annotated[Path | None, typer.Option(help="TrainConfig JSON (options override).")] = None,
):
    """Train a model on simulated (plus real) recordings."""
    from med2ecg.config import ValidationError
    from med2ecg.train import train as run_train

    try:
        cfg = _config(model, epochs, batch_size, lr, seed, config, real_weight)
        ws = _windows(data, real)
        with _progress() as prog:
            task = prog.add_task("training", total=None, info="")

            def update(stage, done, total, info):
                prog.update(task, description=stage, completed=done, total=total,
                            info=" ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                          for k, v in info.items()))

            run = run_train(ws, config=cfg, out=out, progress=update)
    except ValidationError as exc:
        fail(_validation_error_text(exc))
    except _ERRORS as exc:
        fail(str(exc))
    typer.echo(str(run))


@app.command()
def crossval(
    data: Annotated[Path, typer.Option(help="Cohort folder.")],
    out: Annotated[Path, typer.Option(help="Output folder (one run per fold + metrics).")],
    model: Annotated[str, typer.Option(help=MODEL_HELP)] = "med2ecg",
    epochs: Annotated[int, typer.Option()] = 30,
    folds: Annotated[int | None, typer.Option(help="Grouped k-fold; omit for LOSO.")] = None,
    batch_size: Annotated[int, typer.Option()] = 24,
    lr: Annotated[float, typer.Option()] = 1e-3,
    seed: Annotated[int, typer.Option()] = 0,
):
    """Subject-independent cross-validation: LOSO, or grouped k-fold where LOSO is too slow."""
    from med2ecg.config import ValidationError
    from med2ecg.evaluate import crossval as run_crossval

    try:
        cfg = _config(model, epochs, batch_size, lr, seed, None, 5.0)
        ws = _windows(data, None)
        with _progress() as prog:
            task = prog.add_task("crossval", total=None, info="")
            result = run_crossval(ws, cfg, out=out, k=folds, progress=lambda s, d, t, i: prog.update(
                task, description=s, completed=d, total=t, info=f"loss {i.get('loss', 0):.4g}"))
    except ValidationError as exc:
        fail(_validation_error_text(exc))
    except _ERRORS as exc:
        fail(str(exc))
    typer.echo((out / "metrics.md").read_text())
    console.print(f"protocol: {result['protocol']}")


@app.command()
def evaluate(
    run: Annotated[Path, typer.Option(help="Run folder.")],
    data: Annotated[Path, typer.Option(help="Cohort folder with held-out subjects.")],
    out: Annotated[Path | None, typer.Option(help="Where metrics go (default: the run).")] = None,
):
    """Score a run on held-out data: metrics.json + metrics.md (+ plots)."""
    from med2ecg.evaluate import evaluate_run

    try:
        result = evaluate_run(run, _windows(data, None), out=out)
    except _ERRORS as exc:
        fail(str(exc))
    where = out or run
    typer.echo((where / "metrics.md").read_text())
    if result["n_seen_windows"]:
        console.print(f"[yellow]{result['n_seen_windows']} window(s) came from training subjects "
                      "and are excluded from the summary[/]")


@app.command()
def reconstruct(
    run: Annotated[Path, typer.Option(help="Run folder.")],
    input: Annotated[Path, typer.Option("--input", help="Recording in the schema (.nc/.zarr).")],
    out: Annotated[Path, typer.Option(help="Output recording (.nc) with ecg_rec added.")],
    resample: Annotated[bool, typer.Option(help="Resample to 250 Hz first if needed "
                                                "(explicit; off by default).")] = False,
):
    """Reconstruct the ECG of any recording in the schema, real ones included."""
    from med2ecg.data import recording_open, recording_resample
    from med2ecg.inference import recording_reconstruct
    from med2ecg.train import run_load

    try:
        ds = recording_open(input)
        if resample and float(ds.attrs["fs"]) != 250.0:
            ds = recording_resample(ds, fs=250.0)
        model, _, norm = run_load(run)
        rec = recording_reconstruct(model, norm, ds, run_name=str(run))
        _write_nc(rec, out)
    except _ERRORS as exc:
        fail(str(exc))
    typer.echo(str(out))


@app.command()
def export(
    run: Annotated[Path, typer.Option(help="Run folder.")],
    onnx: Annotated[Path, typer.Option("--onnx", help="Output .onnx file.")],
    exporter: Annotated[str, typer.Option(help="dynamo (default, ~90 s for recurrent models) "
                                               "or torchscript (legacy, seconds).")] = "dynamo",
):
    """Export a run to ONNX and check ONNX Runtime against PyTorch."""
    from med2ecg.export import ORT_TOLERANCE, onnx_export

    try:
        res = onnx_export(run, onnx, exporter=exporter)
    except (*_ERRORS, RuntimeError) as exc:
        fail(str(exc))
    typer.echo(str(onnx))
    console.print(f"max |ORT − PyTorch| = {res['max_abs_diff']:.2e} (tolerance {ORT_TOLERANCE:g})")


@app.command()
def convert(
    source: Annotated[Path, typer.Argument(help="Real data file or folder.")],
    out: Annotated[Path, typer.Option(help="Output recording (.nc).")],
    kind: Annotated[str, typer.Option(help="medit, csv, wfdb, edf or kansas.")] = "medit",
    subject: Annotated[str, typer.Option(help="Subject id (csv/wfdb/edf) or Kansas subject.")] = "R001",
    ecg: Annotated[str, typer.Option(help="ECG column/channel.")] = "ECG",
    bcg: Annotated[str, typer.Option(help="BCG column/channel.")] = "BCG",
    fs: Annotated[float, typer.Option(help="Resample to this rate (explicit).")] = 250.0,
    native_fs: Annotated[float | None, typer.Option(help="CSV only: the file's sampling rate "
                                                         "(or give --time-column).")] = None,
    time_column: Annotated[str | None, typer.Option(help="CSV only: time column in s.")] = None,
):
    """Convert a real recording into the schema (fiducials from ECG delineation) at --fs."""
    from med2ecg import loaders
    from med2ecg.data import recording_resample

    try:
        if kind == "medit":
            ds = loaders.load_medit(source)
        elif kind == "csv":
            ds = loaders.load_csv(source, ecg_column=ecg, bcg_column=bcg, subject_id=subject,
                                  fs=native_fs, time_column=time_column)
        elif kind == "wfdb":
            ds = loaders.load_wfdb(source, ecg_channel=ecg, bcg_channel=bcg, subject_id=subject)
        elif kind == "edf":
            ds = loaders.load_edf(source, ecg_channel=ecg, bcg_channel=bcg, subject_id=subject)
        elif kind == "kansas":
            ds = loaders.load_kansas_mat(source, subject=subject, ecg_channel=ecg, bcg_channel=bcg)
        else:
            raise ValueError(f"unknown kind {kind!r}; choose medit, csv, wfdb, edf or kansas")
        if float(ds.attrs["fs"]) != fs:
            ds = recording_resample(ds, fs=fs)
        _write_nc(ds, out)
    except _ERRORS as exc:
        fail(str(exc))
    typer.echo(str(out))
