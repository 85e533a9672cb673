"""Model cost per 10-s window: parameters, per-stage latency (filter, artefact removal,
reconstruction) on 1 and 2 threads in eager PyTorch and ONNX Runtime, training throughput.

    .venv/bin/python benchmarks/bench_model.py [--models med2ecg,unet] [--runs 50]

Latency: median and p95 over ``--runs`` calls after 5 warm-ups, batch 1. RTF = (filter +
artefact removal + reconstruction) / 10 s. Target (issue #3): RTF ≤ 0.005 on one core here;
the paper's Raspberry Pi 4 figure is RTF 0.14 (filter 33.25 ms, artefact removal 23.36 ms,
reconstruction 1342.10 ms), printed as the reference ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from med2ecg.constants import FS, WINDOW  # noqa: E402
from med2ecg.models import MODELS, model_build  # noqa: E402
from med2ecg.preprocess import artefact_remove, bcg_filter, bcg_normalise  # noqa: E402

PAPER_PI4_MS = {"filter": 33.25, "artefact": 23.36, "reconstruct": 1342.10}


def _time(fn, runs: int) -> tuple[float, float]:
    for _ in range(5):
        fn()
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts), float(np.percentile(ts, 95))


def _export(model, path: Path) -> None:
    torch.onnx.export(model, (torch.randn(1, WINDOW),), str(path), input_names=["bcg"],
                      output_names=["ecg"], dynamic_axes={"bcg": {0: "batch"}},
                      opset_version=18, dynamo=False)


def _onnx_session(model, threads: int):
    import warnings

    import onnxruntime as ort

    path = Path(tempfile.mkdtemp()) / "m.onnx"
    with warnings.catch_warnings():  # exporter-internal notes; the session below is what we time
        warnings.simplefilter("ignore")
        _export(model, path)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--train-windows", type=int, default=48)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    t = np.arange(WINDOW) / FS
    bcg = (np.sin(2 * np.pi * 1.1 * t) + 0.1 * rng.standard_normal(WINDOW)) * 1e-3 + 3.0
    print(f"window: {WINDOW} samples = 10 s at {FS:g} Hz; batch 1; median (p95) ms over "
          f"{args.runs} runs")
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        f_ms = _time(lambda: bcg_filter(bcg, fs=FS), args.runs)
        filtered = bcg_normalise(bcg_filter(bcg, fs=FS))
        a_ms = _time(lambda: artefact_remove(filtered, fs=FS), args.runs)
        for name in args.models.split(","):
            kwargs = {"moe_dispatch": "dense_masked"} if name == "med2ecg" else {}
            eager = model_build(name).eval()
            export_model = model_build(name, **kwargs).eval()
            export_model.load_state_dict(eager.state_dict())
            x = torch.randn(1, WINDOW)
            with torch.no_grad():
                e_ms = _time(lambda: eager(x), args.runs)
            sess = _onnx_session(export_model, threads)
            xn = x.numpy()
            o_ms = _time(lambda: sess.run(None, {"bcg": xn}), args.runs)
            params = sum(p.numel() for p in eager.parameters())
            rows.append((threads, name, params, f_ms, a_ms, e_ms, o_ms))
    print(f"{'thr':>3} {'model':10s} {'params':>9s} {'filter':>13s} {'artefact':>13s} "
          f"{'torch':>15s} {'ORT':>15s} {'RTF torch':>9s} {'RTF ORT':>8s}")
    for threads, name, params, f_ms, a_ms, e_ms, o_ms in rows:
        rtf_t = (f_ms[0] + a_ms[0] + e_ms[0]) / 10_000
        rtf_o = (f_ms[0] + a_ms[0] + o_ms[0]) / 10_000
        print(f"{threads:3d} {name:10s} {params:9,d} {f_ms[0]:6.2f} ({f_ms[1]:5.2f}) "
              f"{a_ms[0]:6.2f} ({a_ms[1]:5.2f}) {e_ms[0]:7.2f} ({e_ms[1]:6.2f}) "
              f"{o_ms[0]:7.2f} ({o_ms[1]:6.2f}) {rtf_t:9.4f} {rtf_o:8.4f}")
    paper = sum(PAPER_PI4_MS.values()) / 10_000
    one = [r for r in rows if r[0] == 1 and r[1] == "med2ecg"]
    if one:
        _, _, _, f_ms, a_ms, _, o_ms = one[0]
        rtf = (f_ms[0] + a_ms[0] + o_ms[0]) / 10_000
        print(f"Med2ECG, 1 thread, ORT: RTF {rtf:.4f} (target ≤ 0.005: "
              f"{'PASS' if rtf <= 0.005 else 'FAIL'}); paper Pi 4 RTF {paper:.3f} "
              f"→ {paper / rtf:.0f}× faster here")
    # training throughput (windows/s), 2 threads, composite loss for med2ecg
    torch.set_num_threads(2)
    from med2ecg.losses import Med2ECGLoss, baseline_loss

    n = args.train_windows
    xb = torch.randn(n, WINDOW)
    yb = torch.randn(n, WINDOW)
    rb = torch.zeros(n, WINDOW, dtype=torch.long)
    for name in args.models.split(","):
        model = model_build(name)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        crit = Med2ECGLoss(None) if name == "med2ecg" else None
        t0 = time.perf_counter()
        for i in range(0, n, 24):
            pred = model(xb[i:i + 24])
            loss = crit(pred, yb[i:i + 24], rb[i:i + 24])[0] if crit else baseline_loss(pred, yb[i:i + 24])
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f"training throughput {name:10s}: {n / (time.perf_counter() - t0):7.1f} windows/s "
              "(2 threads, batch 24)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
