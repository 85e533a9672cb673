"""`hil`: hardware-in-the-loop harness (serve, replay, regress arrive with the HIL issue)."""

from __future__ import annotations

from typing import Annotated

import typer

from hil import __version__

from ._common import version_callback

app = typer.Typer(help="Hardware-in-the-loop: DAQ replay into the edge runtime (commands "
                       "arrive with the HIL issue).", add_completion=False)


@app.callback(invoke_without_command=True)
def main(ctx: typer.Context,
         version: Annotated[bool, typer.Option("--version", callback=version_callback("hil", __version__),
                                               is_eager=True, help="Show the version and exit.")] = False):
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
