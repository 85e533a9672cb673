"""Simulated DAQ backend: a simpy model of a block-transferring acquisition board.

The DAQ replays a source array. Its sampling clock runs fast or slow by ``drift_ppm``:
sample ``k`` is taken at true time ``t_start + k * (1 + drift_ppm * 1e-6) / fs``. Samples
are grouped into blocks of ``block_samples``. A block enters the device FIFO
(``buffer_blocks`` deep) the moment its last sample is taken, crosses the link to the host
(``transfer_latency_s`` plus Gaussian ``jitter_s``), and is handed to the consumer.

Three simpy generator functions do the work and do not care which clock drives them
(STYLE §15): they run unchanged under :class:`simpy.Environment` (tests, as fast as
possible) and :class:`simpy.rt.RealtimeEnvironment` (bench)::

    source --daq_producer--> device FIFO --daq_transport--> inbox --daq_consumer--> sink

:func:`daq_simulate` wires them together, runs to the end of the source and returns the
delivered blocks with a :class:`DaqStats`. :func:`account` checks the invariant that every
source sample was either delivered or is listed in a dropped range.

Faults and where they happen
----------------------------
overflow (device FIFO full)
    The FIFO refuses the **newest** block: the block being written is discarded and the
    blocks already queued are kept. This is what a hardware FIFO that rejects writes when
    full does, and it keeps the queued data contiguous. Cause ``"overflow"``, or
    ``"disconnect"`` when the link is down at that instant.
disconnect ``(start_s, duration_s)``, times from the start of acquisition
    The link is down on ``[start, start + duration)``: nothing is read from the FIFO and
    nothing is delivered. Blocks sampled during the outage queue up to ``buffer_blocks``;
    later ones are refused (cause ``"disconnect"``). A transfer in flight when the link
    goes down (including one starting at that instant) is lost (cause ``"disconnect"``).
    On reconnect the FIFO flushes at link speed.
drop (``drop_prob`` per block)
    The block is lost on the link (cause ``"link"``).
duplicate (``duplicate_prob`` per delivered block)
    The block is delivered twice, back to back (a retransmission after a lost ack).
reorder (``reorder_prob`` per block)
    The block is held on the host side and delivered right after the next delivered
    block (a swap with the next). A held block still waiting at the end of the stream is
    delivered then and is not counted as reordered.
slow consumer (``consumer_delay_s`` per block)
    The consumer spends this long on each block. The host has one hand-off slot (the
    inbox, capacity 1), so a slow consumer stalls the transport, the device FIFO fills,
    and blocks overflow.

Each random source (transfer jitter, drop, duplicate, reorder) draws exactly one number
per block from its own child generator spawned from ``rng``, so turning one fault on or
off never changes the pattern of another, and the same seed gives the same delivery
sequence under any environment.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, Self

import numpy as np
import simpy

__all__ = [
    "DAQ_SIM_FIELDS",
    "DROP_CAUSES",
    "END_OF_STREAM",
    "DaqBlock",
    "DaqRun",
    "DaqSimConfig",
    "DaqStats",
    "DropRecord",
    "account",
    "daq_consumer",
    "daq_producer",
    "daq_simulate",
    "daq_transport",
]

logger = logging.getLogger(__name__)

#: Why a block was lost; one registry for the stats, the docs and the checks.
DROP_CAUSES: Final = ("link", "overflow", "disconnect")


class _EndOfStream:
    """Type of the one :data:`END_OF_STREAM` marker (compare with ``is``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "END_OF_STREAM"


#: Put into the FIFO by :func:`daq_producer` after the last block and forwarded by
#: :func:`daq_transport` into a Store ``out``; consumers stop when they get it.
END_OF_STREAM: Final = _EndOfStream()


# --------------------------------------------------------------------------- data
@dataclasses.dataclass
class DaqBlock:
    """One transfer from the DAQ.

    Attributes
    ----------
    seq
        Block sequence number, 0, 1, 2, ... in sampling order.
    first_sample
        Index of ``samples[0]`` in the source.
    samples
        Shape ``(n,)`` float32, read-only (a view of the source; duplicates share it).
    t_sampled
        Simulated time (s, the DAQ's true time base) at which the block's last sample
        was taken.
    t_delivered
        Simulated time (s) at which the transfer carrying the block reached the host (never
        inside an outage); NaN until delivered.
    """

    seq: int
    first_sample: int
    samples: np.ndarray
    t_sampled: float
    t_delivered: float = math.nan

    @property
    def last_sample(self) -> int:
        """Index of the block's last sample in the source (inclusive)."""
        return self.first_sample + len(self.samples) - 1


@dataclasses.dataclass(frozen=True)
class DropRecord:
    """A lost block: inclusive sample range, cause (one of :data:`DROP_CAUSES`), time (s)."""

    seq: int
    first_sample: int
    last_sample: int
    cause: str
    t: float


# ------------------------------------------------------------------------- config
@dataclasses.dataclass(frozen=True)
class _Range:
    lo: float | None
    hi: float | None
    lo_open: bool = False
    units: str = "1"
    integer: bool = False
    doc: str = ""

    def text(self) -> str:
        left = "(" if self.lo_open else "["
        lo = "-inf" if self.lo is None else f"{self.lo:g}"
        hi = "inf" if self.hi is None else f"{self.hi:g}"
        kind = "integer " if self.integer else ""
        return f"{kind}{left}{lo}, {hi}{')' if self.hi is None else ']'} {self.units}"


#: Allowed range and unit of every scalar :class:`DaqSimConfig` field (the one registry the
#: error messages and the docs come from). ``disconnects`` is checked separately.
DAQ_SIM_FIELDS: Final[dict[str, _Range]] = {
    "fs": _Range(0.0, None, lo_open=True, units="Hz", doc="nominal sampling rate"),
    "block_samples": _Range(1, None, units="samples", integer=True,
                            doc="samples per transfer"),
    "drift_ppm": _Range(-1000.0, 1000.0, units="ppm",
                        doc="clock drift; the sample period is (1 + drift*1e-6)/fs"),
    "jitter_s": _Range(0.0, None, units="s", doc="SD of the per-block transfer-time jitter"),
    "transfer_latency_s": _Range(0.0, None, units="s", doc="mean link transfer time"),
    "buffer_blocks": _Range(1, None, units="blocks", integer=True,
                            doc="device FIFO depth"),
    "drop_prob": _Range(0.0, 1.0, doc="probability a block is lost on the link"),
    "duplicate_prob": _Range(0.0, 1.0, doc="probability a delivered block arrives twice"),
    "reorder_prob": _Range(0.0, 1.0, doc="probability a block swaps with the next"),
    "consumer_delay_s": _Range(0.0, None, units="s", doc="consumer time per block"),
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class DaqSimConfig:
    """Settings of the simulated DAQ; out-of-range values raise ``ValueError``.

    Ranges are listed in :data:`DAQ_SIM_FIELDS`. ``fs`` has no default (STYLE §3).
    ``disconnects`` holds ``(start_s, duration_s)`` pairs, times from the start of the
    acquisition, ``start_s >= 0``, ``duration_s > 0``, sorted and not overlapping.

    Examples
    --------
    >>> cfg = DaqSimConfig(fs=250.0, drift_ppm=100.0)
    >>> round(cfg.sample_period_s * 250.0, 6)
    1.0001
    >>> DaqSimConfig(fs=250.0, buffer_blocks=0)
    Traceback (most recent call last):
    ...
    ValueError: DaqSimConfig.buffer_blocks = 0 is out of range; allowed integer [1, inf) blocks
    """

    fs: float
    block_samples: int = 50
    drift_ppm: float = 0.0
    jitter_s: float = 0.0
    transfer_latency_s: float = 0.0
    buffer_blocks: int = 8
    drop_prob: float = 0.0
    duplicate_prob: float = 0.0
    reorder_prob: float = 0.0
    disconnects: tuple[tuple[float, float], ...] = ()
    consumer_delay_s: float = 0.0

    def __post_init__(self) -> None:
        for name, rng_ in DAQ_SIM_FIELDS.items():
            object.__setattr__(self, name, _check_scalar(name, getattr(self, name), rng_))
        object.__setattr__(self, "disconnects", _check_disconnects(self.disconnects))

    @property
    def sample_period_s(self) -> float:
        """True time between two samples: ``(1 + drift_ppm * 1e-6) / fs``."""
        return (1.0 + self.drift_ppm * 1e-6) / self.fs

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON/TOML-ready: ``disconnects`` as a list of lists)."""
        out = dataclasses.asdict(self)
        out["disconnects"] = [list(d) for d in self.disconnects]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown key(s) for DaqSimConfig: {', '.join(unknown)}; "
                             f"allowed keys: {', '.join(sorted(known))}")
        return cls(**data)


def _check_scalar(name: str, value: Any, r: _Range) -> float | int:
    where = f"DaqSimConfig.{name}"
    ok_types = (int, np.integer) if r.integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, ok_types):
        raise ValueError(f"{where} must be {'an integer' if r.integer else 'a number'}, got "
                         f"{type(value).__name__} {value!r}; allowed {r.text()}")
    value = int(value) if r.integer else float(value)
    bad = not math.isfinite(value)
    if r.lo is not None:
        bad |= value <= r.lo if r.lo_open else value < r.lo
    if r.hi is not None:
        bad |= value > r.hi
    if bad:
        raise ValueError(f"{where} = {value!r} is out of range; allowed {r.text()}")
    return value


def _check_disconnects(value: Any) -> tuple[tuple[float, float], ...]:
    where = "DaqSimConfig.disconnects"
    allowed = "(start_s, duration_s) pairs with start_s in [0, inf) s, duration_s in (0, inf) s"
    try:
        pairs = [tuple(p) for p in value]
    except TypeError:
        raise ValueError(f"{where} must be a sequence of {allowed}; got {value!r}") from None
    out: list[tuple[float, float]] = []
    for p in pairs:
        if len(p) != 2 or not all(isinstance(v, (int, float, np.integer, np.floating))
                                  and not isinstance(v, bool) for v in p):
            raise ValueError(f"{where}: {p!r} is not a pair of numbers; allowed {allowed}")
        start, dur = float(p[0]), float(p[1])
        if not (math.isfinite(start) and start >= 0 and math.isfinite(dur) and dur > 0):
            raise ValueError(f"{where}: ({start:g}, {dur:g}) is out of range; allowed {allowed}")
        if out and start < out[-1][0] + out[-1][1]:
            raise ValueError(f"{where}: ({start:g}, {dur:g}) starts before the previous "
                             f"outage ends at {out[-1][0] + out[-1][1]:g} s; outages must be "
                             "sorted by start and must not overlap")
        out.append((start, dur))
    return tuple(out)


# -------------------------------------------------------------------------- stats
@dataclasses.dataclass
class DaqStats:
    """Counters filled in by the processes while they run.

    Counts of lost blocks are derived from :attr:`drops` (one record per lost block), so the
    total and the per-cause counts cannot disagree.

    Attributes
    ----------
    t_start
        Simulated time (s) at which acquisition started; sample 0 is taken then and outage
        times are measured from it.
    blocks_sent, samples_sent
        Blocks/samples the DAQ produced (every sampled block, lost or not).
    blocks_delivered
        Deliveries to the host, duplicates included.
    samples_delivered
        Distinct source samples delivered (duplicates counted once).
    duplicated, reordered
        Extra deliveries; swaps performed (blocks delivered after a later block).
    drops
        One :class:`DropRecord` per lost block.
    latencies_s
        ``t_delivered - t_sampled`` of every delivery, in delivery order.
    acquisition_s
        True time the acquisition spanned: ``n_samples * sample_period_s`` (set at the end).
    """

    t_start: float = 0.0
    blocks_sent: int = 0
    samples_sent: int = 0
    blocks_delivered: int = 0
    samples_delivered: int = 0
    duplicated: int = 0
    reordered: int = 0
    drops: list[DropRecord] = dataclasses.field(default_factory=list)
    latencies_s: list[float] = dataclasses.field(default_factory=list)
    acquisition_s: float = math.nan
    _delivered_seqs: set[int] = dataclasses.field(default_factory=set, repr=False)

    # ---- recording (called by the processes)
    def record_drop(self, block: DaqBlock, cause: str, t: float) -> None:
        if cause not in DROP_CAUSES:
            raise ValueError(f"drop cause {cause!r} is not one of {DROP_CAUSES}")
        self.drops.append(DropRecord(block.seq, block.first_sample, block.last_sample,
                                     cause, float(t)))
        logger.debug("DAQ block %d (samples %d..%d) lost at t=%.6f s: %s", block.seq,
                     block.first_sample, block.last_sample, t, cause)

    def record_delivery(self, block: DaqBlock) -> None:
        self.blocks_delivered += 1
        self.latencies_s.append(block.t_delivered - block.t_sampled)
        if block.seq not in self._delivered_seqs:
            self._delivered_seqs.add(block.seq)
            self.samples_delivered += len(block.samples)

    # ---- derived
    def _count(self, cause: str) -> int:
        return sum(1 for d in self.drops if d.cause == cause)

    @property
    def blocks_dropped(self) -> int:
        """Every lost block, whatever the cause."""
        return len(self.drops)

    @property
    def dropped_ranges(self) -> list[tuple[int, int]]:
        """Inclusive ``(first_sample, last_sample)`` of every lost block, in loss order."""
        return [(d.first_sample, d.last_sample) for d in self.drops]

    @property
    def link_dropped(self) -> int:
        return self._count("link")

    @property
    def overflowed(self) -> int:
        """Blocks refused by a full FIFO while the link was up (slow consumer/transport)."""
        return self._count("overflow")

    @property
    def disconnect_dropped(self) -> int:
        """Blocks refused by a full FIFO during an outage, or lost in flight at its start."""
        return self._count("disconnect")

    @property
    def effective_fs(self) -> float:
        """Distinct delivered samples per second of true acquisition time (Hz).

        Equals ``fs / (1 + drift_ppm * 1e-6)`` when nothing is lost; NaN for an empty source.
        """
        if not self.acquisition_s > 0:
            return math.nan
        return self.samples_delivered / self.acquisition_s

    def latency_percentiles(self) -> dict[str, float]:
        """``{"p50", "p95", "p99"}`` of the per-delivery latency in seconds (NaN if none)."""
        if not self.latencies_s:
            return {"p50": math.nan, "p95": math.nan, "p99": math.nan}
        p = np.percentile(np.asarray(self.latencies_s), [50.0, 95.0, 99.0])
        return {"p50": float(p[0]), "p95": float(p[1]), "p99": float(p[2])}

    def summary(self) -> dict[str, Any]:
        """JSON-ready report of the counts, ranges, effective rate and latency."""
        return {
            "blocks_sent": self.blocks_sent,
            "samples_sent": self.samples_sent,
            "blocks_delivered": self.blocks_delivered,
            "samples_delivered": self.samples_delivered,
            "blocks_dropped": self.blocks_dropped,
            "link_dropped": self.link_dropped,
            "overflowed": self.overflowed,
            "disconnect_dropped": self.disconnect_dropped,
            "duplicated": self.duplicated,
            "reordered": self.reordered,
            "dropped_ranges": [list(r) for r in self.dropped_ranges],
            "effective_fs": self.effective_fs,
            "latency_s": self.latency_percentiles(),
        }


@dataclasses.dataclass
class DaqRun:
    """Result of :func:`daq_simulate`: delivered blocks in delivery order, stats, config."""

    blocks: list[DaqBlock]
    stats: DaqStats
    config: DaqSimConfig
    n_samples: int

    def account(self) -> dict[str, Any]:
        """:func:`account` of this run's blocks against its dropped ranges."""
        return account(self.blocks, self.n_samples, dropped_ranges=self.stats.dropped_ranges)


# ---------------------------------------------------------------------- helpers
def _outages(config: DaqSimConfig, t0: float) -> list[tuple[float, float]]:
    """Outages as absolute ``[down, up)`` simulated times for an acquisition starting at t0."""
    return [(t0 + start, t0 + start + dur) for start, dur in config.disconnects]


def _link_up_at(outages: list[tuple[float, float]], t: float) -> float | None:
    """If the link is down at ``t``, the time it comes back; None if it is up."""
    for down, up in outages:
        if down <= t < up:
            return up
    return None


def _as_source(source: np.ndarray) -> np.ndarray:
    x = np.asarray(source)
    if x.ndim != 1:
        raise ValueError(f"source must be 1-D (time,), got shape {x.shape}")
    x = np.array(x, dtype=np.float32, copy=True)
    x.setflags(write=False)
    return x


def _spawn(rng: np.random.Generator | int | None, n: int) -> list[np.random.Generator]:
    return np.random.default_rng(rng).spawn(n)


# -------------------------------------------------------------------- processes
def daq_producer(env: simpy.Environment, source: np.ndarray, config: DaqSimConfig,
                 fifo: simpy.Store, stats: DaqStats):
    """simpy process: sample ``source`` on the drifting clock and fill the device FIFO.

    Sample ``k`` is taken at ``stats.t_start + k * config.sample_period_s``. A block is
    written to ``fifo`` when its last sample is taken; a full FIFO refuses it (the newest
    block is lost, see the module notes). The producer never waits on the FIFO while
    sampling; after the last block it puts :data:`END_OF_STREAM` (waiting for room).
    Deterministic: the sampling clock has no random part.

    Parameters
    ----------
    source
        Shape ``(time,)``; samples already at ``config.fs``. Copied to float32.
    fifo
        The device FIFO; its ``capacity`` is the depth (``config.buffer_blocks`` in
        :func:`daq_simulate`).
    """
    x = _as_source(source)
    n, size, period, t0 = len(x), config.block_samples, config.sample_period_s, stats.t_start
    outages = _outages(config, t0)
    for seq, first in enumerate(range(0, n, size)):
        stop = min(first + size, n)
        t_sampled = t0 + (stop - 1) * period
        if t_sampled > env.now:
            yield env.timeout(t_sampled - env.now)
        block = DaqBlock(seq=seq, first_sample=first, samples=x[first:stop],
                         t_sampled=t_sampled)
        stats.blocks_sent += 1
        stats.samples_sent += stop - first
        if len(fifo.items) >= fifo.capacity:
            down = _link_up_at(outages, t_sampled) is not None
            stats.record_drop(block, "disconnect" if down else "overflow", t_sampled)
        else:
            yield fifo.put(block)
    stats.acquisition_s = n * period
    yield fifo.put(END_OF_STREAM)


def daq_transport(env: simpy.Environment, fifo: simpy.Store,
                  out: simpy.Store | Callable[[DaqBlock], Any], config: DaqSimConfig,
                  stats: DaqStats, rng: np.random.Generator | int | None):
    """simpy process: move blocks from the device FIFO over the link to the host.

    One transfer at a time, in FIFO order: read a block (only while the link is up), wait
    ``max(0, transfer_latency_s + jitter_s * N(0, 1))``, then apply the link faults (drop,
    duplicate, reorder; see the module notes) and deliver. ``t_delivered`` is the time the
    transfer reached the host; a duplicate, and a held block released by it, carry the
    same time. Handing a block to a Store ``out`` may then wait (a full inbox); that wait
    is not part of ``t_delivered`` but delays the next read from the FIFO, so it shows in
    the latency of later blocks.

    Parameters
    ----------
    out
        A ``simpy.Store`` (delivery is ``yield out.put(block)``, so a bounded store applies
        back-pressure; :data:`END_OF_STREAM` is forwarded at the end) or a callable called
        with each delivered block at delivery time (it must not block; no end marker).
    rng
        Generator, seed or None; four children are spawned (jitter, drop, duplicate,
        reorder), each drawing one number per block.
    """
    r_jitter, r_drop, r_dup, r_reorder = _spawn(rng, 4)
    outages = _outages(config, stats.t_start)
    to_store = isinstance(out, simpy.Store)
    held: DaqBlock | None = None
    link_down: simpy.Event | None = None  # one timer per upcoming outage, reused

    def deliver(block: DaqBlock, t_arrived: float):
        block = dataclasses.replace(block, t_delivered=t_arrived)
        stats.record_delivery(block)
        if to_store:
            yield out.put(block)
        else:
            out(block)

    while True:
        up = _link_up_at(outages, env.now)
        if up is not None:
            yield env.timeout(up - env.now)
            continue
        nxt = min((down for down, _ in outages if down > env.now), default=math.inf)
        get = fifo.get()
        if math.isfinite(nxt):
            if link_down is None or link_down.processed:
                link_down = env.timeout(nxt - env.now)
            yield get | link_down
            if not get.triggered:  # the link went down first: leave the block in the FIFO
                get.cancel()
                continue
        else:
            yield get
        block = get.value
        if block is END_OF_STREAM:
            if held is not None:
                yield from deliver(held, env.now)
            if to_store:
                yield out.put(END_OF_STREAM)
            return
        t_read = env.now
        transfer = max(0.0, config.transfer_latency_s
                       + config.jitter_s * float(r_jitter.standard_normal()))
        lost = float(r_drop.random()) < config.drop_prob
        twice = float(r_dup.random()) < config.duplicate_prob
        swap = float(r_reorder.random()) < config.reorder_prob
        yield env.timeout(transfer)
        if any(t_read <= down <= env.now for down, _ in outages):
            stats.record_drop(block, "disconnect", env.now)
            continue
        if lost:
            stats.record_drop(block, "link", env.now)
            continue
        if held is None and swap:
            held = block
            continue
        t_arrived = env.now  # the link is up: an outage starting in flight was caught above
        yield from deliver(block, t_arrived)
        if twice:
            stats.duplicated += 1
            yield from deliver(block, t_arrived)
        if held is not None:
            stats.reordered += 1
            yield from deliver(held, t_arrived)
            held = None


def daq_consumer(env: simpy.Environment, inbox: simpy.Store, config: DaqSimConfig,
                 sink: Callable[[DaqBlock], Any]):
    """simpy process: take blocks from ``inbox``, pass each to ``sink``, then spend
    ``config.consumer_delay_s`` on it; return at :data:`END_OF_STREAM`."""
    while True:
        block = yield inbox.get()
        if block is END_OF_STREAM:
            return
        sink(block)
        if config.consumer_delay_s > 0:
            yield env.timeout(config.consumer_delay_s)


def daq_simulate(source: np.ndarray, config: DaqSimConfig, *,
                 rng: np.random.Generator | int | None,
                 env: simpy.Environment | None = None,
                 consumer: Callable[[DaqBlock], Any] | None = None) -> DaqRun:
    """Replay ``source`` through the simulated DAQ and return what the host received.

    Builds the device FIFO (``config.buffer_blocks`` deep), a one-slot host inbox and the
    three processes in ``env`` (a new :class:`simpy.Environment` if None; pass a
    :class:`simpy.rt.RealtimeEnvironment` for wall-clock pacing), and runs ``env`` until
    the consumer has taken the last block. Acquisition starts at ``env.now``.

    Parameters
    ----------
    source
        Shape ``(time,)``, samples at ``config.fs`` (e.g. a recording's BCG resampled).
    config
        The DAQ settings.
    rng
        Generator, seed or None (fresh entropy) for the link faults and jitter.
    env
        Environment to run in; other processes in it keep running alongside.
    consumer
        Called with each block when the consumer takes it (simulated time ``env.now``).

    Returns
    -------
    DaqRun
        ``blocks`` in delivery order (duplicates included), ``stats``, ``config``.

    Examples
    --------
    >>> fs = 250.0
    >>> bcg = np.sin(2 * np.pi * 1.2 * np.arange(2500) / fs)  # 10 s, e.g. a simulated BCG
    >>> cfg = DaqSimConfig(fs=fs, transfer_latency_s=0.004, drop_prob=0.1)
    >>> run = daq_simulate(bcg, cfg, rng=7)
    >>> run.stats.blocks_sent, run.stats.blocks_delivered + run.stats.blocks_dropped
    (50, 50)
    >>> run.account()["unaccounted"].size
    0
    """
    env = simpy.Environment() if env is None else env
    x = _as_source(source)
    stats = DaqStats(t_start=env.now)
    fifo = simpy.Store(env, capacity=config.buffer_blocks)
    inbox = simpy.Store(env, capacity=1)
    blocks: list[DaqBlock] = []

    def sink(block: DaqBlock) -> None:
        blocks.append(block)
        if consumer is not None:
            consumer(block)

    env.process(daq_producer(env, x, config, fifo, stats))
    env.process(daq_transport(env, fifo, inbox, config, stats, rng))
    done = env.process(daq_consumer(env, inbox, config, sink))
    env.run(until=done)
    logger.info("DAQ sim: %d blocks sent, %d delivered, %d lost (%d link, %d overflow, "
                "%d disconnect), %d duplicated, %d reordered", stats.blocks_sent,
                stats.blocks_delivered, stats.blocks_dropped, stats.link_dropped,
                stats.overflowed, stats.disconnect_dropped, stats.duplicated, stats.reordered)
    return DaqRun(blocks=blocks, stats=stats, config=config, n_samples=len(x))


# -------------------------------------------------------------------- accounting
def account(blocks: Iterable[DaqBlock], n_total: int,
            dropped_ranges: Sequence[tuple[int, int]] = ()) -> dict[str, Any]:
    """Check that every sample ``0..n_total-1`` was delivered or reported lost.

    Delivered blocks are de-duplicated by ``first_sample``; ``dropped_ranges`` are
    inclusive ``(first_sample, last_sample)`` pairs (:attr:`DaqStats.dropped_ranges`).

    Returns
    -------
    dict
        ``n_total``; ``delivered`` and ``dropped`` (sample counts); ``duplicate_blocks``
        (deliveries beyond the first of a block); ``both`` (samples both delivered and
        reported lost: a bookkeeping error); ``overlap`` (samples delivered by two
        different blocks); ``out_of_range`` (delivered or dropped indices outside
        ``[0, n_total)``); ``unaccounted`` (int64 array of indices neither delivered nor
        dropped; must be empty); ``ok`` (True when ``unaccounted``, ``both``, ``overlap``
        and ``out_of_range`` are all empty/zero).
    """
    n_total = int(n_total)
    if n_total < 0:
        raise ValueError(f"n_total = {n_total} is out of range; allowed [0, inf)")
    hits = np.zeros(n_total, dtype=np.int64)
    dropped = np.zeros(n_total, dtype=bool)
    seen: set[int] = set()
    duplicates = out_of_range = 0
    for b in blocks:
        if b.first_sample in seen:
            duplicates += 1
            continue
        seen.add(b.first_sample)
        lo, hi = b.first_sample, b.first_sample + len(b.samples)
        out_of_range += max(0, -lo) + max(0, hi - n_total)
        hits[max(lo, 0):min(hi, n_total)] += 1
    for first, last in dropped_ranges:
        out_of_range += max(0, -first) + max(0, last + 1 - n_total)
        dropped[max(first, 0):min(last + 1, n_total)] = True
    delivered = hits > 0
    unaccounted = np.flatnonzero(~(delivered | dropped)).astype(np.int64)
    both = int(np.count_nonzero(delivered & dropped))
    overlap = int(np.count_nonzero(hits > 1))
    return {
        "n_total": n_total,
        "delivered": int(np.count_nonzero(delivered)),
        "dropped": int(np.count_nonzero(dropped)),
        "duplicate_blocks": duplicates,
        "both": both,
        "overlap": overlap,
        "out_of_range": out_of_range,
        "unaccounted": unaccounted,
        "ok": unaccounted.size == 0 and both == 0 and overlap == 0 and out_of_range == 0,
    }
