"""`med2ecg`: BCG → ECG reconstruction (training, evaluation, export arrive with the model issue)."""

from __future__ import annotations

from typing import Annotated

import typer

from med2ecg import __version__

from ._common import version_callback

app = typer.Typer(help="Med2ECG: reconstruct a single-lead ECG from a BCG (model commands "
                       "arrive with the model issue).", add_completion=False)


@app.callback(invoke_without_command=True)
def main(ctx: typer.Context,
         version: Annotated[bool, typer.Option("--version", callback=version_callback("med2ecg", __version__),
                                               is_eager=True, help="Show the version and exit.")] = False):
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
