"""Edge runtime (``hil serve``, DESIGN §6): framed BCG in over TCP, reconstructed ECG out.

One asyncio TCP server; each connection is one session of one BCG stream:

1. The client's first frame must be HELLO (:func:`hil.protocol.hello_frame`). A malformed
   HELLO, ``fs`` other than the model rate (250 Hz), ``channels != 1`` or a wrong token is
   answered with an ERROR frame and the connection is closed; otherwise WELCOME.
2. SAMPLES frames go through :class:`~hil.protocol.FrameParser` (malformed and oversized
   frames are rejected and counted; the session goes on) and
   :class:`~hil.protocol.SeqTracker` (every sample accounted), into a ring buffer.
3. Each full non-overlapping window ``[k·W, (k+1)·W)`` (W = 2500 samples, 10 s) is queued
   and processed in a worker thread (:func:`asyncio.to_thread`), so the event loop keeps
   receiving: filter → artefact removal → reconstruction, each stage timed with
   :func:`time.perf_counter`. The server sends one ECG frame per window (``first_sample`` =
   window start, float32 mV) followed by one STATS frame (per-stage ms, queue depth).
4. On BYE the server reconstructs no partial window, sends a final STATS frame
   (``"final": true``: sample accounting, rejections, per-stage latency p50/p95/p99, the
   trailing samples not reconstructed), a BYE, and closes.

Policies
--------
Dropped samples
    Samples that never arrived are zero-filled in the ring buffer. The window is still
    reconstructed; its ECG frame carries ``flags`` bit 0 (:data:`FLAG_DROPPED`) and its STATS
    the count. Dropped ranges are reported by the SeqTracker in the final STATS. A window
    with no sample at all is not reconstructed (counted as ``empty_windows``).
Late samples
    A window is cut as soon as a later sample arrives; samples for a window already cut (a
    frame reordered across a window boundary) are counted as ``late_samples`` and ignored.
Non-finite samples
    NaN/inf are replaced by 0 before processing (the filter needs finite input), counted as
    ``nonfinite_samples``, and flag the window with bit 1 (:data:`FLAG_NONFINITE`).
Slow edge
    Windows wait in a bounded queue (``queue_windows``). When it is full the server stops
    reading the socket until a slot frees (TCP flow control pauses the sender), so no sample
    is lost; each such stall is counted as ``backpressure_events`` and logged.
Rejected frames
    Counted per reason (:data:`hil.protocol.REJECT_REASONS`, plus ``unexpected`` for frames
    not allowed after HELLO). Above ``max_rejects`` the session ends with an ERROR frame.

The stage composition is identical to :func:`med2ecg.preprocess.preprocess_bcg` with
``causal=False`` applied per window (and so to :func:`med2ecg.inference.reconstruct_windows`);
``tests/test_edge.py`` checks it bit for bit and the ECG within 1e-4 mV.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import logging
import math
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from med2ecg.constants import FS, WINDOW
from med2ecg.preprocess import (
    ROUNDOFF,
    _zscore,
    artefact_remove,
    bcg_filter,
    bcg_normalise,
)
from med2ecg.train import RunFiles

from .protocol import (
    MAX_PAYLOAD,
    FrameParser,
    FrameType,
    SeqTracker,
    auth_check,
    bind_requires_token,
    error_frame,
    frame_encode,
    hello_validate,
    json_frame,
    samples_frame,
    seq_next,
    welcome_frame,
)

__all__ = [
    "BACKENDS",
    "FLAG_DROPPED",
    "FLAG_NONFINITE",
    "STAGES",
    "EdgeConfig",
    "EdgePipeline",
    "EdgeServer",
    "latency_summary",
    "serve",
]

logger = logging.getLogger(__name__)

#: Reconstruction backends: name → what runs the model.
BACKENDS = {"onnx": "ONNX Runtime on <run>/model.onnx (exported if missing or stale)",
            "torch": "PyTorch on <run>/model.pt"}
#: Timed stages of one window, in order (STATS keys are ``<stage>_ms``).
STAGES = ("filter", "artefact", "reconstruct")
#: ECG frame flags.
FLAG_DROPPED = 0x01  #: the window contains dropped (zero-filled) samples
FLAG_NONFINITE = 0x02  #: the window contained NaN/inf samples, replaced by 0


# --------------------------------------------------------------------------- config
@dataclasses.dataclass(frozen=True)
class EdgeConfig:
    """Settings of the edge runtime; every field is checked on construction.

    Parameters
    ----------
    host
        Address to bind. Anything but loopback requires ``token``.
    port
        TCP port, 0..65535 (0: an ephemeral port, read :attr:`EdgeServer.port`).
    token
        Shared secret the client's HELLO must carry; ``None``: no check (loopback only).
    backend
        One of :data:`BACKENDS`.
    threads
        Intra-op threads of the model backend, >= 1.
    max_payload
        Largest accepted frame payload in bytes, 64..2**24.
    window, fs
        Samples per window and rate in Hz; must equal the model's (2500, 250 Hz).
    max_clients
        Concurrent sessions, >= 1; more are refused with an ``overload`` ERROR.
    idle_timeout_s
        A session that sends nothing for this long is closed, > 0 s.
    queue_windows
        Windows that may wait for processing per session before the server applies
        backpressure, >= 1.
    max_rejects
        Rejected + unexpected frames tolerated per session before it is closed, >= 0.
    """

    host: str = "127.0.0.1"
    port: int = 0
    token: str | None = None
    backend: str = "onnx"
    threads: int = 1
    max_payload: int = MAX_PAYLOAD
    window: int = WINDOW
    fs: float = FS
    max_clients: int = 4
    idle_timeout_s: float = 30.0
    queue_windows: int = 8
    max_rejects: int = 100

    def __post_init__(self) -> None:
        def need(ok: bool, msg: str) -> None:
            if not ok:
                raise ValueError(msg)

        need(isinstance(self.host, str), f"host must be a string, got {self.host!r}")
        need(_is_int(self.port) and 0 <= self.port <= 65535,
             f"port = {self.port!r} is out of range; allowed 0..65535")
        need(self.token is None or (isinstance(self.token, str) and self.token != ""),
             "token must be a non-empty string or None")
        need(self.backend in BACKENDS,
             f"unknown backend {self.backend!r}; allowed: {', '.join(BACKENDS)}")
        need(_is_int(self.threads) and self.threads >= 1,
             f"threads = {self.threads!r} is out of range; allowed >= 1")
        need(_is_int(self.max_payload) and 64 <= self.max_payload <= 2**24,
             f"max_payload = {self.max_payload!r} is out of range; allowed 64..{2**24}")
        need(self.window == WINDOW,
             f"window = {self.window!r} samples; the model takes exactly {WINDOW}")
        need(isinstance(self.fs, int | float) and math.isclose(self.fs, FS),
             f"fs = {self.fs!r} Hz; the model runs at exactly {FS:g} Hz")
        need(_is_int(self.max_clients) and self.max_clients >= 1,
             f"max_clients = {self.max_clients!r} is out of range; allowed >= 1")
        need(isinstance(self.idle_timeout_s, int | float) and 0 < self.idle_timeout_s < math.inf,
             f"idle_timeout_s = {self.idle_timeout_s!r} is out of range; allowed > 0")
        need(_is_int(self.queue_windows) and self.queue_windows >= 1,
             f"queue_windows = {self.queue_windows!r} is out of range; allowed >= 1")
        need(_is_int(self.max_rejects) and self.max_rejects >= 0,
             f"max_rejects = {self.max_rejects!r} is out of range; allowed >= 0")
        if self.token is None and bind_requires_token(self.host):
            raise ValueError(f"binding {self.host!r} (not loopback) requires a token; pass "
                             "token=... or bind 127.0.0.1")

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict, the token masked."""
        d = dataclasses.asdict(self)
        d["token"] = None if self.token is None else "***"
        return d


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


# --------------------------------------------------------------------------- pipeline
class EdgePipeline:
    """filter → artefact removal → reconstruction of one window, timed per stage.

    Parameters
    ----------
    run_dir
        A finished ``med2ecg train`` run (``config.json``, ``normalisation.json``,
        ``model.pt``).
    backend
        One of :data:`BACKENDS`. ``"onnx"`` exports ``<run>/model.onnx`` with the
        TorchScript exporter when it is missing or older than ``model.pt``.
    threads
        ONNX Runtime intra-op threads (the torch backend uses the process-wide torch
        setting; :func:`serve` sets it).
    """

    def __init__(self, run_dir: str | Path, *, backend: str = "onnx", threads: int = 1) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; allowed: {', '.join(BACKENDS)}")
        files = RunFiles(run_dir)
        for p in (files.config, files.norm, files.model):
            if not p.exists():
                raise FileNotFoundError(f"{files.root} is not a finished run: {p.name} is missing")
        self.run_dir = files.root
        self.backend = backend
        norm = json.loads(files.norm.read_text())
        self.ecg_mean_mv = float(norm["ecg_mean_mv"])
        self.ecg_std_mv = float(norm["ecg_std_mv"])
        if backend == "onnx":
            self._run = self._onnx_runner(files, threads)
        else:
            self._run = self._torch_runner(files)

    @staticmethod
    def _onnx_runner(files: RunFiles, threads: int) -> Callable[[np.ndarray], np.ndarray]:
        import onnxruntime as ort

        path = files.root / "model.onnx"
        if not path.exists() or path.stat().st_mtime < files.model.stat().st_mtime:
            from med2ecg.export import onnx_export

            logger.info("exporting %s (missing or older than %s)", path, files.model.name)
            onnx_export(files.root, path, exporter="torchscript")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        name_in = sess.get_inputs()[0].name
        name_out = sess.get_outputs()[0].name

        def run(x: np.ndarray) -> np.ndarray:
            return sess.run([name_out], {name_in: x})[0]

        return run

    @staticmethod
    def _torch_runner(files: RunFiles) -> Callable[[np.ndarray], np.ndarray]:
        import torch

        from med2ecg.train import run_load

        model, _, _ = run_load(files.root)

        def run(x: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return model(torch.from_numpy(x)).numpy()

        return run

    def process(self, window: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        """One raw BCG window (V), shape ``(WINDOW,)`` → (ECG in mV float64, stage ms).

        The composition is exactly :func:`med2ecg.preprocess.preprocess_stages`
        (``causal=False``), split into the timed stages: *filter* = band-pass, round-off
        guard and unit-peak scaling; *artefact* = artefact removal and masked z-score;
        *reconstruct* = the model and ``× ecg_std + ecg_mean``.
        """
        x = np.asarray(window, dtype=np.float64)[np.newaxis]
        t0 = time.perf_counter()
        filtered = bcg_filter(x, fs=FS, causal=False)
        raw_peak = np.max(np.abs(x), axis=-1, keepdims=True)
        flat = np.max(np.abs(filtered), axis=-1, keepdims=True) <= ROUNDOFF * raw_peak
        unit = bcg_normalise(np.where(flat, 0.0, filtered))
        t1 = time.perf_counter()
        clean, mask = artefact_remove(unit, fs=FS)
        z = _zscore(clean, mask).astype(np.float32)
        t2 = time.perf_counter()
        y = self._run(z)
        ecg = y[0].astype(np.float64) * self.ecg_std_mv + self.ecg_mean_mv
        t3 = time.perf_counter()
        ms = {"filter": 1e3 * (t1 - t0), "artefact": 1e3 * (t2 - t1),
              "reconstruct": 1e3 * (t3 - t2)}
        return ecg, ms


def latency_summary(values_ms) -> dict[str, float | int | None]:
    """``{"n", "mean", "p50", "p95", "p99", "max"}`` of a list of milliseconds (None if empty)."""
    v = np.asarray(list(values_ms), dtype=float)
    if v.size == 0:
        return {"n": 0, "mean": None, "p50": None, "p95": None, "p99": None, "max": None}
    p50, p95, p99 = np.percentile(v, [50, 95, 99])
    return {"n": int(v.size), "mean": float(v.mean()), "p50": float(p50), "p95": float(p95),
            "p99": float(p99), "max": float(v.max())}


# --------------------------------------------------------------------------- ring buffer
class _Ring:
    """Samples by absolute index in a ``2·W`` ring; cuts windows ``[k·W, (k+1)·W)``.

    Invariant after every :meth:`write`: all data lies in the current window
    (``high < base + W``), so a jump ahead past whole empty windows skips them in O(1).
    """

    def __init__(self, window: int) -> None:
        self.w = window
        self.cap = 2 * window
        self.buf = np.zeros(self.cap)
        self.valid = np.zeros(self.cap, dtype=bool)
        self.bad = np.zeros(self.cap, dtype=bool)
        self.base = 0  # start of the current (uncut) window
        self.high = 0  # one past the highest sample written
        self.late_samples = 0
        self.empty_windows = 0

    def _idx(self, a: int, b: int) -> np.ndarray:
        return np.arange(a, b) % self.cap

    def write(self, first: int, x: np.ndarray) -> list[tuple[int, np.ndarray, int, int]]:
        """Store samples ``x`` (1-D) starting at ``first``; return the windows completed as
        ``(start, samples, n_dropped, n_nonfinite)``."""
        out = []
        a, b = first, first + len(x)
        if a < self.base:
            late = min(b, self.base) - a
            self.late_samples += late
            logger.debug("late samples [%d, %d) for a window already cut", a, a + late)
            x, a = x[late:], a + late
        while a < b:
            if a >= self.base + self.w:  # jump: the current window holds all data so far
                if self.valid[self._idx(self.base, self.base + self.w)].any():
                    out.append(self._cut())
                skip = (a - self.base) // self.w
                self.empty_windows += skip
                self.base += skip * self.w
                continue
            stop = min(b, self.base + self.cap)
            idx = self._idx(a, stop)
            chunk = x[:stop - a]
            finite = np.isfinite(chunk)
            self.buf[idx] = np.where(finite, chunk, 0.0)
            self.bad[idx] = ~finite
            self.valid[idx] = True
            self.high = max(self.high, stop)
            x, a = x[stop - a:], stop
            while self.high >= self.base + self.w:
                out.append(self._cut())
        return out

    def _cut(self) -> tuple[int, np.ndarray, int, int]:
        idx = self._idx(self.base, self.base + self.w)
        win = self.buf[idx].copy()
        dropped = int((~self.valid[idx]).sum())
        nonfinite = int(self.bad[idx].sum())
        self.buf[idx] = 0.0  # zero-fill: what is not written before the next cut stays 0
        self.valid[idx] = False
        self.bad[idx] = False
        start = self.base
        self.base += self.w
        return start, win, dropped, nonfinite


# --------------------------------------------------------------------------- session
class _Close(Exception):
    """End the session (after an ERROR frame, a timeout or BYE)."""


class _Session:
    def __init__(self, server: EdgeServer, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.cfg = server.config
        self.reader = reader
        self.writer = writer
        self.seq = 0
        self.parser = FrameParser(max_payload=self.cfg.max_payload)
        self.tracker = SeqTracker()
        self.ring = _Ring(self.cfg.window)
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=self.cfg.queue_windows)
        self.session_id = uuid.uuid4().hex[:12]
        self.unexpected = 0
        self.backpressure_events = 0
        self.queue_max = 0
        self.windows = 0
        self.windows_flagged = 0
        self.nonfinite_samples = 0
        self.stage_ms: dict[str, list[float]] = {s: [] for s in (*STAGES, "total")}
        self.worker: asyncio.Task | None = None
        self.last_ecg_end = 0

    # ------------------------------------------------------------ output
    def _next_seq(self) -> int:
        s = self.seq
        self.seq = seq_next(s)
        return s

    async def _send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def _error(self, code: str, message: str) -> None:
        logger.info("session %s: ERROR %s: %s", self.session_id, code, message)
        try:
            await self._send(error_frame(self._next_seq(), code=code, message=message))
        except ConnectionError:
            pass
        raise _Close(code)

    async def _read(self) -> bytes:
        try:
            data = await asyncio.wait_for(self.reader.read(65536), self.cfg.idle_timeout_s)
        except TimeoutError:
            await self._error("bad_frame", f"no data for {self.cfg.idle_timeout_s:g} s "
                                           "(idle timeout); closing")
        if not data:
            raise _Close("eof")
        return data

    def _rejects(self) -> int:
        return sum(self.parser.rejected.values()) + self.unexpected

    async def _check_rejects(self) -> None:
        if self._rejects() > self.cfg.max_rejects:
            await self._error("bad_frame", f"{self._rejects()} frames rejected (more than "
                                           f"max_rejects = {self.cfg.max_rejects}): "
                                           f"{dict(self.parser.rejected)}; closing")

    # ------------------------------------------------------------ protocol
    async def run(self) -> None:
        pending: collections.deque = collections.deque()
        while not pending:  # HELLO: the first frame
            pending.extend(self.parser.feed(await self._read()))
            await self._check_rejects()
        await self._hello(pending.popleft())
        self.worker = asyncio.create_task(self._work())
        try:
            while True:
                while pending:
                    frame = pending.popleft()
                    if frame.type == FrameType.BYE:
                        await self._bye(frame)
                        return
                    await self._frame(frame)
                await self._check_rejects()
                if self.worker.done():  # a failed worker ends the session
                    await self._error("internal", f"processing failed: {self.worker.exception()!r}")
                pending.extend(self.parser.feed(await self._read()))
        finally:
            if not self.worker.done():
                self.worker.cancel()
                await asyncio.gather(self.worker, return_exceptions=True)

    async def _hello(self, frame) -> None:
        if frame.type != FrameType.HELLO:
            await self._error("bad_hello", f"the first frame must be HELLO, got {frame.type.name}")
        try:
            hello = hello_validate(frame.json())
        except ValueError as err:
            await self._error("bad_hello", str(err))
        if self.cfg.token is not None and not auth_check(self.cfg.token, hello["token"]):
            await self._error("auth", "authentication failed: missing or wrong token")
        if not math.isclose(hello["fs"], self.cfg.fs):
            await self._error("bad_hello", f"HELLO fs = {hello['fs']:g} Hz; this edge runtime "
                                           f"takes {self.cfg.fs:g} Hz (resample first)")
        if hello["channels"] != 1:
            await self._error("bad_hello", f"HELLO channels = {hello['channels']}; this edge "
                                           "runtime takes 1 BCG channel")
        self.tracker.push(frame)
        await self._send(welcome_frame(self._next_seq(), session_id=self.session_id,
                                       window_samples=self.cfg.window))
        logger.info("session %s: welcome", self.session_id)

    async def _frame(self, frame) -> None:
        if frame.type != FrameType.SAMPLES or frame.channels != 1:
            self.unexpected += 1
            logger.debug("session %s: unexpected %s frame", self.session_id, frame.type.name)
            return
        for first, piece in self.tracker.push(frame):
            for start, win, dropped, nonfinite in self.ring.write(first, piece[0]):
                await self._enqueue(start, win, dropped, nonfinite)

    async def _enqueue(self, start: int, win: np.ndarray, dropped: int, nonfinite: int) -> None:
        if self.queue.full():
            self.backpressure_events += 1
            logger.warning("session %s: window queue full (%d); pausing reads",
                           self.session_id, self.queue.maxsize)
        await self.queue.put((start, win, dropped, nonfinite))
        self.queue_max = max(self.queue_max, self.queue.qsize())

    async def _work(self) -> None:
        while True:
            item = await self.queue.get()
            try:
                if item is None:
                    return
                await self._process(*item)
            finally:
                self.queue.task_done()

    async def _process(self, start: int, win: np.ndarray, dropped: int, nonfinite: int) -> None:
        t0 = time.perf_counter()
        ecg, ms = await asyncio.to_thread(self.server.pipeline.process, win)
        total = 1e3 * (time.perf_counter() - t0)
        flags = (FLAG_DROPPED if dropped else 0) | (FLAG_NONFINITE if nonfinite else 0)
        self.windows += 1
        self.windows_flagged += bool(flags)
        self.nonfinite_samples += nonfinite
        for s in STAGES:
            self.stage_ms[s].append(ms[s])
        self.stage_ms["total"].append(total)
        await self._send(samples_frame(self._next_seq(), start, ecg.astype(np.float32),
                                       type=FrameType.ECG, flags=flags))
        self.last_ecg_end = start + len(ecg)
        stats = {"window": start // self.cfg.window, "first_sample": start, "flags": flags,
                 "dropped_samples": dropped, "nonfinite_samples": nonfinite,
                 **{f"{s}_ms": ms[s] for s in STAGES}, "total_ms": total,
                 "queue_depth": self.queue.qsize()}
        await self._send(json_frame(FrameType.STATS, self._next_seq(), stats))

    async def _bye(self, frame) -> None:
        self.tracker.push(frame)
        await self.queue.put(None)  # after every window already queued
        await self.worker
        trailing = max(0, self.tracker.end - self.ring.base)
        final = {
            "final": True,
            "session_id": self.session_id,
            "samples": self.tracker.report(),
            "rejected": dict(self.parser.rejected),
            "rejected_total": self._rejects(),
            "unexpected_frames": self.unexpected,
            "bytes_discarded": self.parser.bytes_discarded,
            "windows": self.windows,
            "windows_flagged": self.windows_flagged,
            "empty_windows": self.ring.empty_windows,
            "late_samples": self.ring.late_samples,
            "nonfinite_samples": self.nonfinite_samples,
            "trailing_samples": trailing,
            "trailing_note": "samples after the last full window are not reconstructed",
            "backpressure_events": self.backpressure_events,
            "queue_max": self.queue_max,
            "latency_ms": {s: latency_summary(v) for s, v in self.stage_ms.items()},
            "backend": self.server.pipeline.backend,
        }
        await self._send(json_frame(FrameType.STATS, self._next_seq(), final))
        await self._send(frame_encode(FrameType.BYE, seq=self._next_seq(),
                                      first_sample=self.last_ecg_end))
        self.server.sessions_done.append(final)
        logger.info("session %s: done, %d windows, %d samples received, %d dropped",
                    self.session_id, self.windows, self.tracker.received, self.tracker.dropped)


# --------------------------------------------------------------------------- server
class EdgeServer:
    """The edge runtime's asyncio TCP server.

    Parameters
    ----------
    run_dir
        A finished ``med2ecg train`` run.
    config
        :class:`EdgeConfig` (default: loopback, ephemeral port, ONNX Runtime).

    Raises
    ------
    ValueError
        A non-loopback ``host`` without a token (checked before anything is bound).

    Examples
    --------
    >>> async def main(run):                                         # doctest: +SKIP
    ...     server = EdgeServer(run)
    ...     await server.start()
    ...     result = await astream_recording("127.0.0.1", server.port, bcg, fs=250.0)
    ...     await server.stop()
    """

    def __init__(self, run_dir: str | Path, config: EdgeConfig | None = None) -> None:
        self.config = EdgeConfig() if config is None else config
        if not isinstance(self.config, EdgeConfig):
            raise TypeError(f"config must be an EdgeConfig, got {type(self.config).__name__}")
        if self.config.token is None and bind_requires_token(self.config.host):
            raise ValueError(f"binding {self.config.host!r} (not loopback) requires a token")
        self.pipeline = EdgePipeline(run_dir, backend=self.config.backend,
                                     threads=self.config.threads)
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        #: final STATS of every finished session, in order
        self.sessions_done: list[dict[str, Any]] = []

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("server not started")
        return self._server.sockets[0].getsockname()[1]

    @property
    def host(self) -> str:
        return self.config.host

    async def start(self) -> None:
        """Bind and start accepting connections."""
        self._server = await asyncio.start_server(self._handle, self.config.host,
                                                  self.config.port)
        logger.info("edge runtime listening on %s:%d (%s)", self.config.host, self.port,
                    self.config.backend)

    async def stop(self) -> None:
        """Stop accepting, end open sessions, close the listening socket."""
        if self._server is None:
            return
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None
        logger.info("edge runtime stopped")

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        session = _Session(self, reader, writer)
        try:
            if len(self._tasks) > self.config.max_clients:
                await session._error("overload", f"server is at max_clients = "
                                                 f"{self.config.max_clients} sessions")
            await session.run()
        except _Close:
            pass
        except (ConnectionError, asyncio.IncompleteReadError) as err:
            logger.info("session %s: connection lost: %r", session.session_id, err)
        except asyncio.CancelledError:
            logger.info("session %s: cancelled (server stopping)", session.session_id)
        except Exception:
            logger.exception("session %s: internal error", session.session_id)
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, asyncio.CancelledError):
                pass
            self._tasks.discard(task)


async def _serve_until_signal(server: EdgeServer,
                              ready: Callable[[str, int], None] | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await server.start()
        if ready is not None:
            ready(server.host, server.port)
        await stop.wait()
        logger.info("signal received; shutting down")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await server.stop()


def serve(run_dir: str | Path, config: EdgeConfig | None = None, *,
          ready: Callable[[str, int], None] | None = None) -> None:
    """Run the edge runtime until SIGINT/SIGTERM (blocking; main thread only).

    ``ready(host, port)`` is called once the socket is bound (the CLI prints the address).
    Sets torch's intra-op threads to ``config.threads`` for the torch backend.
    """
    config = EdgeConfig() if config is None else config
    if config.backend == "torch":
        import torch

        torch.set_num_threads(config.threads)
    server = EdgeServer(run_dir, config)
    asyncio.run(_serve_until_signal(server, ready))
