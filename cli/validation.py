"""`validation`: end-to-end demo and verification reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from validation import __version__

from ._common import progress_bar, version_callback

app = typer.Typer(help="End-to-end demo and verification reports.", no_args_is_help=True,
                  add_completion=False)


@app.callback()
def main(version: Annotated[bool, typer.Option("--version", callback=version_callback("validation", __version__),
                                               is_eager=True, help="Show the version and exit.")] = False):
    pass


@app.command()
def demo(out: Annotated[Path, typer.Option(help="Output folder.")] = Path("out/demo"),
         subjects: Annotated[int, typer.Option(min=2, help="Subjects (× 4 postures); the "
                                                           "last one is held out.")] = 4,
         duration: Annotated[float, typer.Option(min=10.0, help="Seconds per recording.")] = 40.0,
         epochs: Annotated[int, typer.Option(min=1, help="Med2ECG training epochs.")] = 8,
         seed: Annotated[int, typer.Option(min=0)] = 0):
    """Simulate a small multi-posture cohort, train Med2ECG briefly, evaluate it on a held-out
    subject, and write one report."""
    from rich.console import Console
    from rich.table import Table

    from validation.demo import DemoSpec, demo_run

    spec = DemoSpec(n_subjects=subjects, duration=duration, seed=seed, epochs=epochs)
    with progress_bar("demo", subjects * 4) as update:
        s = demo_run(out, spec, progress=update)
    table = Table(title=f"{s['n_recordings']} recordings, {s['simulated_seconds']:.0f} s simulated "
                        f"in {s['generation_seconds']:.1f} s")
    for col in ("posture", "BCG std mV", "cardiac SNR dB", "load N", "R→J s"):
        table.add_column(col, justify="right")
    for p, v in s["per_posture"].items():
        table.add_row(p, f"{v['bcg_std_mv']:.2f}", f"{v['snr_db']:.1f}", f"{v['load_mean_n']:.1f}",
                      f"{v['rj_median_s']:.3f}")
    Console().print(table)
    m = s["model"]
    mt = Table(title=f"{spec.model}, {spec.epochs} epochs on {m['train_windows']} windows "
                     f"({m['train_seconds']:.0f} s); held-out subject {m['held_out']}")
    for col in ("group", "PCC", "amp err/beat %", "QRS err ms", "PR err ms", "QT err ms"):
        mt.add_column(col, justify="right")
    for name, g in [("overall", m["overall"]), *m["posture"].items()]:
        mt.add_row(name, *(f"{g.get(k, float('nan')):.3f}" if k == "pcc" else
                           f"{g.get(k, float('nan')):.1f}"
                           for k in ("pcc", "amp_err_beat_pct", "qrs_ms", "pr_ms", "qt_ms")))
    Console().print(mt)
    typer.echo(f"report: {out / 'report.md'}")
    typer.echo(f"plots:  {out / 'plots'}")


@app.command()
def accuracy(out: Annotated[Path, typer.Option(help="Output folder (resumable).")] = Path("out/accuracy"),
             models: Annotated[str, typer.Option(help="Comma-separated models.")] =
             "med2ecg,bilstm,unet,attn-unet,li2021",
             subjects: Annotated[int, typer.Option(min=3)] = 12,
             duration: Annotated[float, typer.Option(min=10.0, help="Seconds per recording.")] = 120.0,
             folds: Annotated[int, typer.Option(min=2, help="Grouped k-fold (LOSO is too slow "
                                                            "on a 2-core CPU).")] = 3,
             epochs: Annotated[int, typer.Option(min=1)] = 20,
             seed: Annotated[int, typer.Option(min=0)] = 0):
    """Every model on the same subject-independent split of a simulated cohort (vibration and
    motion on); writes accuracy.md with overall and per-posture rows. Long: ~1 h on 2 cores."""
    from validation.accuracy import AccuracySpec, accuracy_cohort, accuracy_model, accuracy_report

    spec = AccuracySpec(n_subjects=subjects, duration=duration, seed=seed, folds=folds,
                        epochs=epochs)
    with progress_bar("cohort", subjects * 4) as update:
        accuracy_cohort(out, spec, progress=update)
    for name in [m.strip() for m in models.split(",") if m.strip()]:
        with progress_bar(name, 1) as update:
            accuracy_model(out, spec, name,
                           progress=lambda stage, d, t, info: update(d, t, f"{stage} loss "
                                                                           f"{info.get('loss', 0):.3g}"))
    typer.echo(accuracy_report(out))
