"""Client of the edge runtime: stream a BCG recording, collect ECG, latencies and STATS.

:func:`astream_recording` (asyncio) and :func:`stream_recording` (blocking) connect, send
HELLO, stream SAMPLES frames paced by ``speed``, read ECG and STATS frames concurrently,
send BYE after the last sample and wait for the server's final STATS.

End-to-end latency of a window = arrival time of its ECG frame − send time of the frame
holding the window's last sample (both :func:`time.perf_counter` on the client).
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import logging
import math
import time
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

from .protocol import (
    MAX_PAYLOAD,
    FrameParser,
    FrameType,
    frame_encode,
    hello_frame,
    samples_frame,
    seq_next,
)

__all__ = ["ClientResult", "EdgeError", "astream_recording", "stream_recording"]

logger = logging.getLogger(__name__)


class EdgeError(RuntimeError):
    """The edge runtime answered with an ERROR frame (``code`` from
    :data:`hil.protocol.ERROR_CODES`) or broke the session."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclasses.dataclass
class ClientResult:
    """What one streaming session brought back.

    Attributes
    ----------
    ecg
        Reconstructed ECG windows in mV: window start sample → float32 array ``(window,)``.
    flags
        ECG frame flags per window start (bit 0: contains dropped samples).
    latency_s
        End-to-end latency per window start, seconds.
    window_stats
        The per-window STATS objects, in arrival order.
    final_stats
        The server's final STATS (``"final": true``).
    welcome
        The WELCOME object.
    samples_sent, frames_sent, frames_skipped
        What the client put on the wire (skipped = deliberately not sent).
    duration_s
        Wall time from HELLO to the final STATS.
    """

    ecg: dict[int, np.ndarray]
    flags: dict[int, int]
    latency_s: dict[int, float]
    window_stats: list[dict[str, Any]]
    final_stats: dict[str, Any]
    welcome: dict[str, Any]
    samples_sent: int
    frames_sent: int
    frames_skipped: int
    duration_s: float

    def latency_percentiles(self) -> dict[str, float | None]:
        """p50/p95/p99/max of the end-to-end latency in ms (None without windows)."""
        v = np.array(list(self.latency_s.values())) * 1e3
        if v.size == 0:
            return {"p50": None, "p95": None, "p99": None, "max": None}
        p50, p95, p99 = np.percentile(v, [50, 95, 99])
        return {"p50": float(p50), "p95": float(p95), "p99": float(p99), "max": float(v.max())}


async def astream_recording(host: str, port: int, bcg: np.ndarray, *, fs: float,
                            token: str | None = None, frame_samples: int = 50,
                            speed: float = math.inf, timeout: float = 60.0,
                            drop_frames: Collection[int] = (),
                            inject: Mapping[int, bytes] | None = None,
                            max_payload: int = MAX_PAYLOAD) -> ClientResult:
    """Stream ``bcg`` to the edge runtime at ``host:port`` (asyncio version).

    Parameters
    ----------
    bcg
        One channel of raw BCG, shape ``(time,)``, in V.
    fs
        Its sampling rate, Hz (sent in HELLO; the server refuses rates it cannot take).
    token
        Shared secret (empty string when None).
    frame_samples
        Samples per SAMPLES frame, >= 1.
    speed
        Pace: ``math.inf`` sends as fast as possible; ``x > 0`` sends x× real time (frame
        ``[a, b)`` leaves ``b / fs / x`` s after the start).
    timeout
        Seconds to wait for WELCOME and, after BYE, for the final STATS.
    drop_frames
        Fault injection: indices of SAMPLES frames that are not sent (their sequence
        numbers are still used, as a lost frame's would be).
    inject
        Fault injection: raw bytes written just before SAMPLES frame ``i``.

    Raises
    ------
    EdgeError
        The server sent ERROR, or closed the session before its final STATS.
    TimeoutError
        No WELCOME or final STATS within ``timeout``.
    """
    x = np.asarray(bcg)
    if x.ndim != 1 or not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"bcg must be a 1-D float array, got dtype {x.dtype}, shape {x.shape}")
    if isinstance(frame_samples, bool) or not isinstance(frame_samples, int) or frame_samples < 1:
        raise ValueError(f"frame_samples = {frame_samples!r}; allowed an integer >= 1")
    if not speed > 0:
        raise ValueError(f"speed = {speed!r}; allowed > 0 (math.inf: as fast as possible)")
    inject = dict(inject or {})
    drop = frozenset(drop_frames)

    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    parser = FrameParser(max_payload=max_payload)
    ecg: dict[int, np.ndarray] = {}
    flags: dict[int, int] = {}
    arrival: dict[int, float] = {}
    window_stats: list[dict[str, Any]] = []
    welcome_fut: asyncio.Future = asyncio.get_running_loop().create_future()
    final_fut: asyncio.Future = asyncio.get_running_loop().create_future()

    def fail(err: BaseException) -> None:
        for fut in (welcome_fut, final_fut):
            if not fut.done():
                fut.set_exception(err)

    async def receive() -> None:
        try:
            while not final_fut.done():
                data = await reader.read(65536)
                if not data:
                    fail(EdgeError("closed", "server closed the connection before its final "
                                             "STATS"))
                    return
                now = time.perf_counter()
                for f in parser.feed(data):
                    if f.type == FrameType.WELCOME and not welcome_fut.done():
                        welcome_fut.set_result(f.json())
                    elif f.type == FrameType.ECG:
                        ecg[f.first_sample] = f.samples()[0]
                        flags[f.first_sample] = f.flags
                        arrival[f.first_sample] = now
                    elif f.type == FrameType.STATS:
                        obj = f.json()
                        if obj.get("final"):
                            final_fut.set_result(obj)
                        else:
                            window_stats.append(obj)
                    elif f.type == FrameType.ERROR:
                        obj = f.json()
                        fail(EdgeError(str(obj.get("code")), str(obj.get("message"))))
                        return
        except ConnectionError as err:
            fail(EdgeError("closed", f"connection lost: {err!r}"))

    seq = 0
    sent_end: list[int] = []  # one past the last sample of each SAMPLES frame slot
    sent_at: list[float] = []
    frames_sent = skipped = samples_sent = 0
    t_start = time.perf_counter()
    recv_task = asyncio.create_task(receive())
    try:
        writer.write(hello_frame(seq, fs=float(fs), channels=1, token=token or ""))
        seq = seq_next(seq)
        await writer.drain()
        welcome = await asyncio.wait_for(asyncio.shield(welcome_fut), timeout)
        t0 = time.perf_counter()
        n = len(x)
        for i, a in enumerate(range(0, n, frame_samples)):
            b = min(n, a + frame_samples)
            if math.isfinite(speed):
                delay = t0 + b / float(fs) / speed - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            if final_fut.done():  # an ERROR ended the session
                break
            if i in inject:
                writer.write(inject[i])
            frame = samples_frame(seq, a, x[a:b], max_payload=max_payload)
            seq = seq_next(seq)
            sent_end.append(b)
            sent_at.append(time.perf_counter())
            if i in drop:
                skipped += 1
            else:
                writer.write(frame)
                frames_sent += 1
                samples_sent += b - a
            await writer.drain()
            await asyncio.sleep(0)  # let the receiver timestamp arrivals promptly
        if not final_fut.done():
            writer.write(frame_encode(FrameType.BYE, seq=seq, first_sample=n))
            await writer.drain()
        final = await asyncio.wait_for(asyncio.shield(final_fut), timeout)
    finally:
        recv_task.cancel()
        await asyncio.gather(recv_task, return_exceptions=True)
        for fut in (welcome_fut, final_fut):
            if fut.done() and not fut.cancelled():
                fut.exception()  # retrieved: no "exception never retrieved" noise
        writer.close()
        try:
            await writer.wait_closed()
        except ConnectionError:
            pass
    duration = time.perf_counter() - t_start

    window = int(welcome.get("window_samples", 0))
    latency = {}
    for start, t_arr in arrival.items():
        k = bisect.bisect_left(sent_end, start + window)  # frame holding the last sample
        if k < len(sent_at):
            latency[start] = t_arr - sent_at[k]
    return ClientResult(ecg=ecg, flags=flags, latency_s=latency, window_stats=window_stats,
                        final_stats=final, welcome=welcome, samples_sent=samples_sent,
                        frames_sent=frames_sent, frames_skipped=skipped, duration_s=duration)


def stream_recording(host: str, port: int, bcg: np.ndarray, *, fs: float,
                     token: str | None = None, frame_samples: int = 50,
                     speed: float = math.inf, timeout: float = 60.0,
                     drop_frames: Collection[int] = (),
                     inject: Mapping[int, bytes] | None = None,
                     max_payload: int = MAX_PAYLOAD) -> ClientResult:
    """Blocking :func:`astream_recording` (runs its own event loop); same parameters."""
    return asyncio.run(astream_recording(host, port, bcg, fs=fs, token=token,
                                         frame_samples=frame_samples, speed=speed,
                                         timeout=timeout, drop_frames=drop_frames,
                                         inject=inject, max_payload=max_payload))
