"""Notebooks are jupytext scripts that only call the library; running them keeps them honest."""

import runpy
from pathlib import Path

import matplotlib
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.py"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, capsys):
    matplotlib.use("Agg")
    runpy.run_path(str(path))
    out = capsys.readouterr().out
    # the notebook prints one line per posture; all four must have come out with a number
    lines = [ln for ln in out.splitlines() if "R→J" in ln]
    assert {ln.split()[0] for ln in lines} == {"supine", "prone", "left", "right"}
