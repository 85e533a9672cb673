"""Edge runtime (hil serve) end to end, loopback only: server, client, CLI subprocess.

Tolerance: the streamed ECG must equal ``med2ecg.inference.reconstruct_windows`` (PyTorch)
on the same float32 BCG within 1e-4 mV — the ONNX-vs-PyTorch tolerance of
``med2ecg.export.ORT_TOLERANCE``; the preprocessing is the same code, so only the model
runtime differs.
"""

from __future__ import annotations

import asyncio
import math
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hil.client import EdgeError, astream_recording, stream_recording
from hil.edge import FLAG_DROPPED, STAGES, EdgeConfig, EdgePipeline, EdgeServer, _Ring
from hil.protocol import FrameType, frame_encode, samples_frame
from med2ecg.config import TrainConfig
from med2ecg.constants import FS, WINDOW
from med2ecg.data import windows_from_recording
from med2ecg.inference import reconstruct_windows
from med2ecg.preprocess import preprocess_bcg
from med2ecg.train import run_load, train
from sim.chain import bcg_simulate

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"
TOL_MV = 1e-4
N_WIN = 3
TAIL = 500  # samples after the last full window: streamed, not reconstructed


@pytest.fixture(scope="module")
def edge_run(tmp_path_factory):
    """A tiny li2021 run (1 epoch) and a 32-s recording: (run dir, float32 BCG, reference ECG)."""
    ds = bcg_simulate(duration=N_WIN * WINDOW / FS + TAIL / FS, fs=FS, rng=3)
    ws = windows_from_recording(ds)
    assert len(ws) == N_WIN
    run = train(ws, config=TrainConfig(model="li2021", epochs=1, batch_size=4, landmark_epochs=0),
                out=tmp_path_factory.mktemp("edge") / "run")
    bcg = ds["bcg"].values.astype(np.float32)
    assert len(bcg) == N_WIN * WINDOW + TAIL
    model, _, norm = run_load(run)
    ref = reconstruct_windows(model, norm, bcg[:N_WIN * WINDOW].astype(np.float64)
                              .reshape(N_WIN, WINDOW))
    EdgePipeline(run)  # exports model.onnx once, so later servers just load it
    assert (run / "model.onnx").exists()
    return run, bcg, ref


def _session(run, bcg, *, config=None, **client_kw):
    """Start an in-process server, stream ``bcg`` with the async client, stop the server."""
    async def main():
        server = EdgeServer(run, config or EdgeConfig())
        await server.start()
        try:
            return await astream_recording(LOOPBACK, server.port, bcg, fs=FS, timeout=30.0,
                                           **client_kw), server.sessions_done
        finally:
            await server.stop()
    return asyncio.run(main())


def _assert_matches(res, ref, windows):
    for k in windows:
        got = res.ecg[k * WINDOW]
        assert got.shape == (WINDOW,)
        np.testing.assert_allclose(got, ref[k], rtol=0, atol=TOL_MV)


# --------------------------------------------------------------------------- pipeline
def test_pipeline_stages_equal_offline(edge_run):
    run, bcg, ref = edge_run
    for backend in ("onnx", "torch"):
        pipe = EdgePipeline(run, backend=backend)
        ecg, ms = pipe.process(bcg[:WINDOW].astype(np.float64))
        assert set(ms) == set(STAGES) and all(v >= 0 for v in ms.values())
        np.testing.assert_allclose(ecg, ref[0], rtol=0, atol=TOL_MV)
    # the split stages compose to exactly preprocess_bcg: a constant window is all zeros
    assert not preprocess_bcg(np.full((1, WINDOW), 0.3), fs=FS).any()
    ecg_const, _ = EdgePipeline(run).process(np.full(WINDOW, 0.3))
    model, _, norm = run_load(run)
    np.testing.assert_allclose(ecg_const, reconstruct_windows(model, norm, np.full((1, WINDOW), 0.3))[0],
                               rtol=0, atol=TOL_MV)


def test_config_rejects_mistakes(edge_run):
    with pytest.raises(ValueError, match="requires a token"):
        EdgeConfig(host="0.0.0.0")  # raises before anything is bound
    with pytest.raises(ValueError, match="backend"):
        EdgeConfig(backend="tflite")
    with pytest.raises(ValueError, match="port"):
        EdgeConfig(port=70000)
    with pytest.raises(ValueError, match="2500"):
        EdgeConfig(window=1000)
    assert EdgeConfig(host="0.0.0.0", token="t").to_json()["token"] == "***"
    with pytest.raises(FileNotFoundError, match="not a finished run"):
        EdgePipeline(edge_run[0].parent / "nope")


def test_ring_buffer_windows_gaps_and_jumps():
    ring = _Ring(10)
    assert ring.write(0, np.arange(7.0)) == []
    (start, win, dropped, bad), = ring.write(12, np.array([1.0, np.nan, 3.0]))
    assert (start, dropped, bad) == (0, 3, 0)  # 7, 8, 9 never arrived: zero-filled
    np.testing.assert_array_equal(win, [0, 1, 2, 3, 4, 5, 6, 0, 0, 0])
    assert ring.write(5, np.ones(3)) == [] and ring.late_samples == 3
    (start, win, dropped, bad), = ring.write(55, np.ones(1))  # jump: windows 2..4 empty
    assert (start, dropped, bad) == (10, 7, 1) and win[3] == 0.0
    assert ring.empty_windows == 3 and ring.base == 50


# --------------------------------------------------------------------------- sessions
def test_loopback_stream_matches_offline(edge_run):
    run, bcg, ref = edge_run
    res, done = _session(run, bcg)
    assert sorted(res.ecg) == [k * WINDOW for k in range(N_WIN)]
    _assert_matches(res, ref, range(N_WIN))
    assert all(f == 0 for f in res.flags.values())
    assert len(res.window_stats) == N_WIN
    for st in res.window_stats:
        assert all(st[f"{s}_ms"] >= 0 for s in STAGES) and "queue_depth" in st
    fin = res.final_stats
    assert fin["samples"]["received"] == res.samples_sent == len(bcg)
    assert fin["samples"]["dropped"] == 0 and fin["samples"]["dropped_ranges"] == []
    assert fin["trailing_samples"] == TAIL and fin["windows"] == N_WIN
    assert fin["rejected_total"] == 0
    for s in (*STAGES, "total"):
        lat = fin["latency_ms"][s]
        assert lat["n"] == N_WIN and 0 <= lat["p50"] <= lat["p95"] <= lat["p99"]
    assert set(res.latency_s) == set(res.ecg) and all(v > 0 for v in res.latency_s.values())
    assert done == [fin]


def test_malformed_and_oversized_frames_are_counted(edge_run):
    run, bcg, ref = edge_run
    good = samples_frame(7, 0, np.zeros(50, np.float32))
    corrupt = good[:30] + bytes([good[30] ^ 0xFF]) + good[31:]
    oversized = frame_encode(FrameType.SAMPLES, seq=9, payload=bytes(70000), max_payload=2**20)
    inject = {10: b"\x00garbage bytes H", 40: corrupt, 70: oversized, 100: b"HB\x09junk"}
    res, _ = _session(run, bcg, inject=inject)
    rej = res.final_stats["rejected"]
    assert rej["bad_crc"] == 1 and rej["oversized"] == 1 and rej["bad_magic"] >= 1
    assert rej.get("bad_version", 0) == 1
    assert res.final_stats["samples"]["received"] == len(bcg)  # nothing lost around them
    assert res.final_stats["samples"]["dropped"] == 0
    _assert_matches(res, ref, range(N_WIN))


def test_too_many_rejects_end_the_session(edge_run):
    run, bcg, _ = edge_run
    inject = {i: b"HB\x09" for i in range(1, 20)}  # one bad_version reject each
    with pytest.raises(EdgeError, match="max_rejects") as err:
        _session(run, bcg, inject=inject, config=EdgeConfig(max_rejects=5))
    assert err.value.code == "bad_frame"


def test_dropped_frame_is_reported_and_flagged(edge_run):
    run, bcg, ref = edge_run
    res, _ = _session(run, bcg, drop_frames={60})  # samples 3000..3049, in window 1
    assert res.frames_skipped == 1
    fin = res.final_stats["samples"]
    assert fin["dropped_ranges"] == [[3000, 3049]] and fin["dropped"] == 50
    assert fin["received"] == len(bcg) - 50
    assert res.flags == {0: 0, WINDOW: FLAG_DROPPED, 2 * WINDOW: 0}
    assert [st["dropped_samples"] for st in res.window_stats] == [0, 50, 0]
    assert res.final_stats["windows_flagged"] == 1
    _assert_matches(res, ref, [0, 2])  # the others are untouched
    assert np.all(np.isfinite(res.ecg[WINDOW]))


def test_wrong_token_and_bad_hello_get_error_frames(edge_run):
    run, bcg, _ = edge_run
    cfg = EdgeConfig(token="s3cret")
    with pytest.raises(EdgeError, match="token") as err:
        _session(run, bcg, config=cfg, token="wrong")
    assert err.value.code == "auth"
    with pytest.raises(EdgeError, match="token"):
        _session(run, bcg, config=cfg)  # no token at all
    res, _ = _session(run, bcg[:WINDOW], config=cfg, token="s3cret")
    assert list(res.ecg) == [0]
    with pytest.raises(EdgeError, match="250") as err:
        async def main():
            server = EdgeServer(run)
            await server.start()
            try:
                await astream_recording(LOOPBACK, server.port, bcg, fs=500.0, timeout=10.0)
            finally:
                await server.stop()
        asyncio.run(main())
    assert err.value.code == "bad_hello"


# --------------------------------------------------------------------------- CLI subprocess
def _read_line(proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            return proc.stdout.readline()
        if proc.poll() is not None:
            break
    return ""


def test_hil_serve_subprocess(edge_run):
    run, bcg, ref = edge_run
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-c", "from cli.hil import app; app()", "serve", "--run", str(run),
           "--port", "0", "--host", LOOPBACK]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)
    try:
        line = _read_line(proc, timeout=60)
        assert "listening on 127.0.0.1:" in line, (line, proc.stderr.read() if proc.poll() else "")
        port = int(line.split("127.0.0.1:")[1].split()[0])
        assert port > 0
        res = stream_recording(LOOPBACK, port, bcg, fs=FS, speed=math.inf, timeout=30.0)
        _assert_matches(res, ref, range(N_WIN))
        assert res.final_stats["samples"]["received"] == len(bcg)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert time.monotonic() - t0 < 5
        assert "stopped" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_hil_serve_cli_help_and_refusal(edge_run):
    from typer.testing import CliRunner

    from cli.hil import app

    runner = CliRunner()
    res = runner.invoke(app, ["serve", "--help"])
    assert res.exit_code == 0 and "--token" in res.output
    # non-loopback without a token is refused by the config check, before any bind
    res = runner.invoke(app, ["serve", "--run", str(edge_run[0]), "--host", "0.0.0.0"])
    assert res.exit_code == 2
    res = runner.invoke(app, ["serve", "--run", str(edge_run[0]), "--backend", "tflite"])
    assert res.exit_code == 2
