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
         subjects: Annotated[int, typer.Option(min=1, help="Subjects (× 4 postures).")] = 3,
         duration: Annotated[float, typer.Option(min=5.0, help="Seconds per recording.")] = 30.0,
         seed: Annotated[int, typer.Option(min=0)] = 0):
    """Generate a small multi-posture cohort, plot it and print a per-posture summary."""
    from rich.console import Console
    from rich.table import Table

    from validation.demo import DemoSpec, demo_run

    spec = DemoSpec(n_subjects=subjects, duration=duration, seed=seed)
    with progress_bar("simulating", subjects * 4) as update:
        s = demo_run(out, spec, progress=update)
    table = Table(title=f"{s['n_recordings']} recordings, {s['simulated_seconds']:.0f} s simulated "
                        f"in {s['generation_seconds']:.1f} s")
    for col in ("posture", "BCG std mV", "cardiac SNR dB", "load N", "R→J s"):
        table.add_column(col, justify="right")
    for p, v in s["per_posture"].items():
        table.add_row(p, f"{v['bcg_std_mv']:.2f}", f"{v['snr_db']:.1f}", f"{v['load_mean_n']:.1f}",
                      f"{v['rj_median_s']:.3f}")
    Console().print(table)
    typer.echo(f"report: {out / 'report.md'}")
    typer.echo(f"plots:  {out / 'plots'}")
