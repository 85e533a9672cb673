"""`sim`: generate and inspect simulated BCG + ECG recordings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim import __version__
from sim._config import ConfigError

from ._common import console, fail, progress_bar, setup_logging, version_callback

app = typer.Typer(help="Physical BCG simulator: subject → ECG → aorta → body/bed → fibre → DAQ.",
                  no_args_is_help=True, add_completion=False)


@app.callback()
def main(version: Annotated[bool, typer.Option("--version", callback=version_callback("sim", __version__),
                                               is_eager=True, help="Show the version and exit.")] = False,
         verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False):
    setup_logging(verbose)


def _postures(text: str) -> tuple[str, ...]:
    from sim.body import POSTURES

    if text.strip().lower() == "all":
        return POSTURES
    items = tuple(p.strip().lower() for p in text.split(",") if p.strip())
    for p in items:
        if p not in POSTURES:
            raise ConfigError(f"unknown posture {p!r}; choose from {', '.join(POSTURES)} or 'all'")
    return items


@app.command()
def generate(
    posture: Annotated[str, typer.Option(help="Posture(s): supine, prone, left, right; "
                                              "comma-separated, or 'all'.")] = "supine",
    subjects: Annotated[int, typer.Option(min=1, help="Number of subjects.")] = 1,
    duration: Annotated[float, typer.Option(help="Seconds per recording.")] = 60.0,
    fs: Annotated[float, typer.Option(help="Output sampling rate in Hz (must divide the "
                                           "1000 Hz DAQ rate).")] = 250.0,
    seed: Annotated[int, typer.Option(min=0, help="Cohort seed (same seed, same bytes).")] = 0,
    vibration: Annotated[bool, typer.Option("--vibration/--no-vibration",
                                            help="Footstep vibration near the bed.")] = True,
    motion: Annotated[bool, typer.Option("--motion/--no-motion", help="Body-motion bursts.")] = True,
    posture_changes: Annotated[bool, typer.Option("--posture-changes/--no-posture-changes",
                                                  help="Posture changes within a record.")] = False,
    weight: Annotated[float | None, typer.Option(help="Body mass in kg for every subject "
                                                         "(default: drawn).")] = None,
    fiber_config: Annotated[Path | None, typer.Option("--fiber-config", exists=False,
                                                         help="Fibre/mat/detector TOML or JSON "
                                                              "(SimConfig keys).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output file (one recording) or "
                                                     "folder (cohort).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="netcdf or zarr.")] = "netcdf",
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bar.")] = True,
):
    """Generate simulated recordings (one file per subject × posture, plus cohort.json)."""
    from sim.chain import SimConfig
    from sim.cohort import FORMATS, CohortSpec, cohort_generate, recording_generate, subject_prefix

    try:
        postures = _postures(posture)
        config = SimConfig.from_file(fiber_config) if fiber_config else SimConfig()
        config = config.replace(disturbances=config.disturbances.replace(
            vibration=vibration, motion=motion, posture_change=posture_changes).to_dict())
        spec = CohortSpec(n_subjects=subjects, postures=postures, duration=duration, fs=fs,
                          seed=seed, format=fmt, weight=weight)
        single = subjects == 1 and len(postures) == 1
        if out is None:
            first = f"{subject_prefix(seed)}000_{postures[0]}{FORMATS[fmt]}"
            out = Path("out") / (first if single else "cohort")
        if single and out.suffix in (".nc", ".zarr"):
            typer.echo(str(recording_generate(out, spec, config=config)))
            return
        with progress_bar("simulating", subjects * len(postures),
                          enabled=progress and subjects * len(postures) > 1) as update:
            paths = cohort_generate(out, spec, config=config, progress=update)
        console.print(f"wrote {len(paths)} recording(s) and {out / 'cohort.json'}")
        typer.echo(str(out))
    except (ConfigError, ValueError, TypeError) as exc:
        fail(str(exc))


@app.command()
def plot(
    file: Annotated[Path, typer.Argument(help="Recording (.nc or .zarr).")],
    out: Annotated[Path | None, typer.Option(help="PNG path (default: FILE with .png).")] = None,
    start: Annotated[float | None, typer.Option(help="Window start in s.")] = None,
    duration: Annotated[float, typer.Option(help="Window length in s.")] = 10.0,
):
    """Plot ECG with fiducials, the Kim force with H-I-J-K, and the recorded BCG."""
    from sim.io import recording_read
    from sim.plot import recording_plot

    try:
        ds = recording_read(file)
        out = out or file.with_suffix(".png")
        recording_plot(ds, out, start=start, duration=duration)
    except (ValueError, FileNotFoundError, OSError) as exc:
        fail(str(exc))
    typer.echo(str(out))
