"""Shared CLI plumbing: version callback, error reporting, progress bars."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

console = Console(stderr=True)


def version_callback(name: str, version: str):
    def _cb(value: bool) -> None:
        if value:
            typer.echo(f"{name} {version}")
            raise typer.Exit()
    return _cb


def fail(message: str, code: int = 2) -> None:
    """Print a clear error (no traceback) and exit non-zero."""
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


@contextlib.contextmanager
def progress_bar(description: str, total: int, *, enabled: bool = True) -> Iterator:
    """Yield ``update(done, total, name)`` drawing a rich progress bar on stderr."""
    if not enabled:
        yield lambda done, total, name: None
        return
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[name]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                  console=console, transient=False) as prog:
        task = prog.add_task(description, total=total, name="")

        def update(done: int, total: int, name: str) -> None:
            prog.update(task, completed=done, total=total, name=name)

        yield update


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
