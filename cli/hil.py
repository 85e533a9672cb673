"""`hil`: hardware-in-the-loop harness (serve now; replay and regress arrive with the HIL issue)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from hil import __version__

from ._common import fail, version_callback

app = typer.Typer(help="Hardware-in-the-loop: the edge runtime (serve); DAQ replay and "
                       "regression suites arrive with the HIL issue.", add_completion=False)


@app.callback(invoke_without_command=True)
def main(ctx: typer.Context,
         version: Annotated[bool, typer.Option("--version", callback=version_callback("hil", __version__),
                                               is_eager=True, help="Show the version and exit.")] = False):
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())


@app.command()
def serve(run: Annotated[Path, typer.Option("--run", help="Trained run folder (runs/NAME).")],
          port: Annotated[int, typer.Option(help="TCP port; 0 picks a free one (printed).")] = 8765,
          host: Annotated[str, typer.Option(help="Bind address; not loopback needs --token.")] = "127.0.0.1",
          token: Annotated[str | None, typer.Option(help="Shared secret clients must send.")] = None,
          backend: Annotated[str, typer.Option(help="Reconstruction backend: onnx or torch.")] = "onnx",
          threads: Annotated[int, typer.Option(help="Model intra-op threads.")] = 1,
          verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log sessions.")] = False):
    """Run the edge runtime: BCG frames in over TCP, reconstructed ECG out, until Ctrl-C."""
    from hil.edge import EdgeConfig
    from hil.edge import serve as edge_serve

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    try:
        config = EdgeConfig(host=host, port=port, token=token, backend=backend, threads=threads)
    except ValueError as err:
        fail(str(err))

    def ready(bound_host: str, bound_port: int) -> None:
        typer.echo(f"hil serve: listening on {bound_host}:{bound_port} "
                   f"(backend {backend}, run {run})")

    try:
        edge_serve(run, config, ready=ready)
    except (FileNotFoundError, ValueError, OSError) as err:
        fail(str(err))
    typer.echo("hil serve: stopped")
