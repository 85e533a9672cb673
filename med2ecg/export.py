"""ONNX export of a trained run, checked against PyTorch with ONNX Runtime.

The MoE dispatches only the chosen experts in eager mode; its data-dependent shapes do not
trace, so export uses the mathematically identical ``dense_masked`` dispatch (tested equal).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import torch

from .constants import WINDOW
from .models import model_build
from .train import RunFiles, run_load

__all__ = ["onnx_export", "ORT_TOLERANCE", "EXPORTERS"]

#: ``dynamo``: torch.export + onnxscript (the supported path; ~90 s for the recurrent models on
#: this CPU); ``torchscript``: the legacy tracer (deprecated by PyTorch, ~3 s). Both are checked
#: against PyTorch with ONNX Runtime after export.
EXPORTERS = ("dynamo", "torchscript")

log = logging.getLogger(__name__)
#: max |ORT − PyTorch| on standardised output (float32 kernels differ in summation order)
ORT_TOLERANCE = 1e-4


def onnx_export(run: str | Path, path: str | Path, *, opset: int = 18, check: bool = True,
                exporter: str = "dynamo") -> dict:
    """Export ``run``'s model to ``path`` with a dynamic batch axis; returns check results.

    Exporters emit warnings about their own internals (deprecations, tracer notes); they are
    silenced for the export call only, because correctness is established by comparing ONNX
    Runtime with PyTorch on fresh inputs of another batch size right after.
    """
    import onnxruntime as ort

    if exporter not in EXPORTERS:
        raise ValueError(f"unknown exporter {exporter!r}; choose one of: {', '.join(EXPORTERS)}")
    model, config, _ = run_load(run)
    if config.model == "med2ecg":
        exportable = model_build(config.model, moe_dispatch="dense_masked")
        exportable.load_state_dict(model.state_dict())
        model = exportable.eval()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = torch.randn(2, WINDOW, generator=torch.Generator().manual_seed(0))
    tmp = path.with_name(f".{path.name}.partial")
    with warnings.catch_warnings():
        # deprecation notes, TracerWarning (a Warning, not a UserWarning), dynamo internals
        warnings.simplefilter("ignore")
        if exporter == "dynamo":
            batch = torch.export.Dim("batch", min=1, max=1024)
            program = torch.onnx.export(model, (x,), input_names=["bcg"], output_names=["ecg"],
                                        dynamic_shapes={"x": {0: batch}}, opset_version=opset,
                                        dynamo=True, verbose=False)
            program.save(str(tmp))
        else:
            torch.onnx.export(model, (x,), str(tmp), input_names=["bcg"], output_names=["ecg"],
                              dynamic_axes={"bcg": {0: "batch"}, "ecg": {0: "batch"}},
                              opset_version=opset, dynamo=False)
    tmp.replace(path)
    result = {"path": str(path), "opset": opset, "model": config.model, "exporter": exporter,
              "run": str(RunFiles(run).root)}
    if check:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        xs = torch.randn(3, WINDOW, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            ref = model(xs).numpy()
        got = sess.run(["ecg"], {"bcg": xs.numpy()})[0]
        diff = float(np.max(np.abs(got - ref)))
        result["max_abs_diff"] = diff
        if diff > ORT_TOLERANCE:
            raise RuntimeError(f"ONNX output differs from PyTorch by {diff:.2e} "
                               f"(tolerance {ORT_TOLERANCE:g})")
    return result
