"""Simulated DAQ (hil.daq): clock drift, jitter, faults, accounting, clock independence.

Every run is small (seconds to minutes of simulated time at 250 Hz, under a millisecond of
simpy work per block); the realtime test runs 3 s of simulated time at factor 0.01.
"""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
import simpy
import simpy.rt
from hypothesis import given, settings
from hypothesis import strategies as st

from hil.daq import (
    DROP_CAUSES,
    END_OF_STREAM,
    DaqBlock,
    DaqSimConfig,
    DaqStats,
    account,
    daq_producer,
    daq_simulate,
    daq_transport,
)

FS = 250.0
BLOCK_S = 50 / FS  # default block: 0.2 s at 250 Hz


def _source(n: int, seed: int = 0) -> np.ndarray:
    """A recognisable ramp plus noise, so a misplaced sample changes the values."""
    return np.arange(n) + np.random.default_rng(seed).standard_normal(n)


def _seqs(run) -> list[int]:
    return [b.seq for b in run.blocks]


def _trace(run) -> list[tuple[int, int, float]]:
    return [(b.seq, b.first_sample, b.t_delivered) for b in run.blocks]


def _check_invariants(run, x: np.ndarray) -> None:
    """Conservation and content checks shared by the fault tests."""
    s = run.stats
    acc = run.account()
    assert acc["ok"], acc
    assert acc["unaccounted"].size == 0
    unique = {b.seq for b in run.blocks}
    assert s.blocks_sent == len(unique) + s.blocks_dropped
    assert s.blocks_delivered == len(run.blocks) == len(unique) + s.duplicated
    assert acc["duplicate_blocks"] == s.duplicated
    assert s.blocks_dropped == sum(sum(d.cause == c for d in s.drops) for c in DROP_CAUSES)
    assert s.blocks_dropped == s.link_dropped + s.overflowed + s.disconnect_dropped
    assert acc["delivered"] + acc["dropped"] == len(x) == s.samples_sent
    assert s.samples_delivered == acc["delivered"]
    x32 = x.astype(np.float32)
    for b in run.blocks:
        np.testing.assert_array_equal(b.samples, x32[b.first_sample:b.last_sample + 1])
        assert b.t_delivered >= b.t_sampled  # causality
        assert b.t_sampled == pytest.approx(b.last_sample * run.config.sample_period_s,
                                            rel=1e-12, abs=1e-12)
    assert len(s.latencies_s) == s.blocks_delivered


# ------------------------------------------------------------------ no faults
@pytest.mark.parametrize(("fs", "n", "block"), [(FS, 1237, 50), (487.0, 1000, 7), (FS, 1, 50)])
def test_no_faults_delivers_every_sample_in_order(fs, n, block):
    x = _source(n)
    cfg = DaqSimConfig(fs=fs, block_samples=block, transfer_latency_s=0.004)
    run = daq_simulate(x, cfg, rng=0)
    s = run.stats
    n_blocks = math.ceil(n / block)
    assert _seqs(run) == list(range(n_blocks))
    np.testing.assert_array_equal(np.concatenate([b.samples for b in run.blocks]),
                                  x.astype(np.float32))
    assert all(b.samples.dtype == np.float32 and b.samples.ndim == 1 for b in run.blocks)
    assert s.blocks_dropped == s.duplicated == s.reordered == 0 and s.dropped_ranges == []
    assert len(run.blocks[-1].samples) == n - (n_blocks - 1) * block  # short last block
    # latency is exactly the transfer latency (float tolerance only: times are sums)
    np.testing.assert_allclose(s.latencies_s, 0.004, rtol=0, atol=1e-9)
    for p in s.latency_percentiles().values():
        assert p == pytest.approx(0.004, abs=1e-9)
    assert s.effective_fs == pytest.approx(fs, rel=1e-12)
    _check_invariants(run, x)


def test_jitter_latency_statistics():
    """Latency = L + jitter*N(0,1) (clipping at 0 is 5 SD away, negligible): over 3000
    blocks the percentiles are within ~5 standard errors of the normal quantiles."""
    lat, sd = 0.010, 0.002
    x = _source(150_000)  # 10 min
    run = daq_simulate(x, DaqSimConfig(fs=FS, transfer_latency_s=lat, jitter_s=sd), rng=3)
    s = run.stats
    assert _seqs(run) == list(range(3000))  # jitter << block period: order is kept
    lats = np.asarray(s.latencies_s)
    assert lats.min() >= 0
    assert np.std(lats) == pytest.approx(sd, rel=0.07)  # SE of an SD: 1.3 %
    p = s.latency_percentiles()
    assert p["p50"] == pytest.approx(lat, abs=0.15 * sd)
    assert p["p95"] == pytest.approx(lat + 1.6449 * sd, abs=0.2 * sd)
    assert p["p99"] == pytest.approx(lat + 2.3263 * sd, abs=0.35 * sd)
    assert s.blocks_dropped == 0


# ---------------------------------------------------------------------- drift
@pytest.mark.parametrize("drift_ppm", [100.0, -100.0])
def test_drift_shifts_effective_rate_and_timestamps(drift_ppm):
    """10 min at 250 Hz with 1 ms transfer jitter. The DAQ's rate in true time is
    fs/(1 + d); a host timestamping blocks on arrival measures it within 5 ppm (slope of a
    line through 3000 jittered arrival times: SE ~0.1 ppm)."""
    x = _source(150_000)
    cfg = DaqSimConfig(fs=FS, drift_ppm=drift_ppm, transfer_latency_s=0.003, jitter_s=0.001)
    run = daq_simulate(x, cfg, rng=11)
    s = run.stats
    assert s.blocks_dropped == 0
    ppm = (s.effective_fs / FS - 1.0) * 1e6
    assert ppm == pytest.approx(-drift_ppm, abs=5.0)
    last = np.array([b.last_sample for b in run.blocks], dtype=float)
    arrival = np.array([b.t_delivered for b in run.blocks])
    slope = np.polyfit(last, arrival, 1)[0]  # s per sample, from arrival times
    assert (1.0 / slope / FS - 1.0) * 1e6 == pytest.approx(-drift_ppm, abs=5.0)
    # sample timestamps drift linearly: after 10 min, +-100 ppm is +-60 ms
    nominal = run.blocks[-1].last_sample / FS
    assert run.blocks[-1].t_sampled - nominal == pytest.approx(drift_ppm * 1e-6 * nominal,
                                                               abs=1e-9)
    assert abs(run.blocks[-1].t_sampled - nominal) == pytest.approx(0.06, abs=1e-4)


# --------------------------------------------------------------------- faults
SEEDS = st.integers(0, 2**32 - 1)


@settings(max_examples=8, deadline=None, database=None)
@given(seed=SEEDS, p=st.floats(0.05, 0.5))
def test_drop_detected_with_ranges(seed, p):
    x = _source(2000)  # 40 blocks
    run = daq_simulate(x, DaqSimConfig(fs=FS, drop_prob=p, transfer_latency_s=0.002), rng=seed)
    s = run.stats
    missing = sorted(set(range(40)) - set(_seqs(run)))
    assert sorted(d.seq for d in s.drops) == missing
    assert s.link_dropped == s.blocks_dropped == len(missing)
    assert sorted(s.dropped_ranges) == [(50 * k, 50 * k + 49) for k in missing]
    assert _seqs(run) == sorted(_seqs(run))  # drops alone never reorder
    _check_invariants(run, x)


@settings(max_examples=8, deadline=None, database=None)
@given(seed=SEEDS, p=st.floats(0.05, 0.5))
def test_duplicate_detected(seed, p):
    x = _source(2000)
    run = daq_simulate(x, DaqSimConfig(fs=FS, duplicate_prob=p), rng=seed)
    s = run.stats
    seqs = _seqs(run)
    extra = len(seqs) - len(set(seqs))
    assert s.duplicated == extra
    assert sorted(set(seqs)) == list(range(40)) and s.blocks_dropped == 0
    for a, b in zip(run.blocks, run.blocks[1:], strict=False):  # copies arrive back to back
        if a.seq == b.seq:
            np.testing.assert_array_equal(a.samples, b.samples)
    assert sum(a.seq == b.seq for a, b in zip(run.blocks, run.blocks[1:], strict=False)) == extra
    _check_invariants(run, x)


@settings(max_examples=8, deadline=None, database=None)
@given(seed=SEEDS, p=st.floats(0.05, 0.9))
def test_reorder_detected(seed, p):
    x = _source(2000)
    run = daq_simulate(x, DaqSimConfig(fs=FS, reorder_prob=p), rng=seed)
    seqs = _seqs(run)
    assert sorted(seqs) == list(range(40))
    late = [i for i in range(1, len(seqs)) if seqs[i] < max(seqs[:i])]
    assert run.stats.reordered == len(late)
    for i in late:  # a swap with the next: one position late, right behind its successor
        assert seqs[i - 1] == seqs[i] + 1
    _check_invariants(run, x)


@pytest.mark.parametrize(("n_blocks", "reordered"), [(10, 5), (11, 5)])
def test_reorder_always_swaps_pairs(n_blocks, reordered):
    """reorder_prob = 1: 1,0,3,2,...; an odd last block has nothing to swap with."""
    x = _source(50 * n_blocks)
    run = daq_simulate(x, DaqSimConfig(fs=FS, reorder_prob=1.0), rng=0)
    expected = [k ^ 1 for k in range(2 * reordered)] + list(range(2 * reordered, n_blocks))
    assert _seqs(run) == expected
    assert run.stats.reordered == reordered


def test_disconnect_buffers_drops_newest_and_flushes():
    """Outage [2, 5) s, FIFO 4 deep, zero latency. Blocks end at 0.196 + 0.2 k s, so
    blocks 10..24 (15) are sampled during the outage: 10..13 wait in the FIFO, 14..24 (11)
    are refused, and the four buffered blocks flush at the instant the link returns."""
    x = _source(7500)  # 30 s, 150 blocks
    cfg = DaqSimConfig(fs=FS, buffer_blocks=4, disconnects=((2.0, 3.0),))
    run = daq_simulate(x, cfg, rng=0)
    s = run.stats
    assert s.disconnect_dropped == s.blocks_dropped == 11 and s.overflowed == 0
    assert s.dropped_ranges == [(50 * k, 50 * k + 49) for k in range(14, 25)]
    assert not any(2.0 <= b.t_delivered < 5.0 for b in run.blocks)
    flushed = [b.seq for b in run.blocks if b.t_delivered == pytest.approx(5.0)]
    assert flushed == [10, 11, 12, 13]
    assert _seqs(run) == [k for k in range(150) if not 14 <= k <= 24]
    assert max(s.latencies_s) == pytest.approx(5.0 - (0.196 + 0.2 * 10))
    _check_invariants(run, x)


def test_disconnect_loses_transfer_in_flight():
    """With 50 ms transfers, block 9 (read at 1.996 s) is in flight when the link drops at
    2.0 s and is lost too; reconnect flushes the FIFO at link speed, 50 ms a block."""
    x = _source(7500)
    cfg = DaqSimConfig(fs=FS, buffer_blocks=4, transfer_latency_s=0.05,
                       disconnects=((2.0, 3.0),))
    run = daq_simulate(x, cfg, rng=0)
    s = run.stats
    assert s.disconnect_dropped == 12
    assert s.drops[0].seq == 9 and s.drops[0].t == pytest.approx(2.046)
    t_flush = [b.t_delivered for b in run.blocks if b.seq in (10, 11, 12, 13)]
    np.testing.assert_allclose(t_flush, [5.05, 5.10, 5.15, 5.20], atol=1e-9)
    _check_invariants(run, x)


def test_slow_consumer_overflows_newest():
    """Consumer needs 0.25 s per 0.2-s block: in steady state 1 − 0.2/0.25 = 20 % of the
    blocks are refused; over 300 blocks that is 60 minus what the pipeline absorbs
    (FIFO 4 + inbox 1 + transport 1 + consumer 1), measured 54."""
    x = _source(15_000)  # 60 s
    env = simpy.Environment()
    taken: list[float] = []
    cfg = DaqSimConfig(fs=FS, buffer_blocks=4, consumer_delay_s=0.25)
    run = daq_simulate(x, cfg, rng=0, env=env, consumer=lambda b: taken.append(env.now))
    s = run.stats
    assert 50 <= s.overflowed <= 60 and s.overflowed == s.blocks_dropped
    assert np.diff(taken).min() >= 0.25 - 1e-9  # the consumer really is that slow
    assert _seqs(run) == sorted(_seqs(run))
    for d in s.drops:  # the newest block is refused: older ones still queued are delivered
        assert any(b.seq < d.seq and b.t_delivered > d.t for b in run.blocks)
    assert s.latency_percentiles()["p99"] > 0.5  # blocks wait in the FIFO
    _check_invariants(run, x)
    fast = daq_simulate(x, cfg.__class__.from_dict({**cfg.to_dict(), "consumer_delay_s": 0.19}),
                        rng=0)
    assert fast.stats.blocks_dropped == 0


@settings(max_examples=12, deadline=None, database=None)
@given(
    seed=SEEDS,
    drop=st.floats(0, 0.4), dup=st.floats(0, 0.4), reorder=st.floats(0, 0.4),
    buffer=st.integers(1, 6), consumer_delay=st.sampled_from([0.0, 0.15, 0.3]),
    jitter=st.sampled_from([0.0, 0.01]), latency=st.sampled_from([0.0, 0.03]),
    outage=st.one_of(st.just(()), st.tuples(st.tuples(st.floats(0, 5), st.floats(0.1, 3)))),
)
def test_every_sample_accounted_for_under_all_faults(seed, drop, dup, reorder, buffer,
                                                     consumer_delay, jitter, latency, outage):
    x = _source(1500)  # 6 s, 30 blocks
    cfg = DaqSimConfig(fs=FS, drop_prob=drop, duplicate_prob=dup, reorder_prob=reorder,
                       buffer_blocks=buffer, consumer_delay_s=consumer_delay,
                       jitter_s=jitter, transfer_latency_s=latency, disconnects=outage)
    run = daq_simulate(x, cfg, rng=seed)
    _check_invariants(run, x)
    for start, dur in outage:
        assert not any(start <= b.t_delivered < start + dur for b in run.blocks)


def test_account_reports_unaccounted_samples():
    x = _source(200)
    run = daq_simulate(x, DaqSimConfig(fs=FS, drop_prob=0.5), rng=1)
    assert run.stats.blocks_dropped > 0
    acc = account(run.blocks, 200)  # dropped ranges withheld: their samples are missing
    assert not acc["ok"]
    expected = np.concatenate([np.arange(a, b + 1) for a, b in run.stats.dropped_ranges])
    np.testing.assert_array_equal(acc["unaccounted"], np.sort(expected))
    bad = account(run.blocks, 200, dropped_ranges=[(0, 199)])  # reported lost AND delivered
    assert not bad["ok"] and bad["both"] == acc["delivered"]


# ---------------------------------------------------------------- determinism
FAULTY = DaqSimConfig(fs=FS, jitter_s=0.01, transfer_latency_s=0.02, drop_prob=0.2,
                      duplicate_prob=0.2, reorder_prob=0.2, buffer_blocks=3,
                      consumer_delay_s=0.18, disconnects=((3.0, 1.0),))


def test_same_seed_same_delivery_different_seed_differs():
    x = _source(5000)
    a = daq_simulate(x, FAULTY, rng=123)
    b = daq_simulate(x, FAULTY, rng=np.random.default_rng(123))
    c = daq_simulate(x, FAULTY, rng=124)
    assert _trace(a) == _trace(b)
    assert json.dumps(a.stats.summary()) == json.dumps(b.stats.summary())
    assert _trace(a) != _trace(c)


def test_each_random_source_has_its_own_stream():
    """Adding jitter (another child generator) leaves the drop pattern unchanged."""
    x = _source(5000)
    base = DaqSimConfig(fs=FS, drop_prob=0.3, transfer_latency_s=0.02)
    a = daq_simulate(x, base, rng=5)
    b = daq_simulate(x, DaqSimConfig(**{**base.to_dict(), "jitter_s": 0.005}), rng=5)
    assert [d.seq for d in a.stats.drops] == [d.seq for d in b.stats.drops]
    assert a.stats.latencies_s != b.stats.latencies_s


# ------------------------------------------------------------ clock independence
@pytest.mark.parametrize("cfg", [
    DaqSimConfig(fs=FS, transfer_latency_s=0.01),
    DaqSimConfig(fs=FS, transfer_latency_s=0.01, drop_prob=0.2, duplicate_prob=0.2,
                 reorder_prob=0.2, buffer_blocks=2, consumer_delay_s=0.22,
                 disconnects=((1.0, 0.7),)),
], ids=["clean", "faults"])
def test_same_processes_under_realtime_environment(cfg):
    """3 s of simulated time at factor 0.01 (≈0.03 s wall) gives the same deliveries and
    counts as the as-fast-as-possible Environment (no jitter, same seed)."""
    x = _source(750)
    fast = daq_simulate(x, cfg, rng=9)
    rt_env = simpy.rt.RealtimeEnvironment(factor=0.01, strict=False)
    t = time.monotonic()
    slow = daq_simulate(x, cfg, rng=9, env=rt_env)
    wall = time.monotonic() - t
    assert json.dumps(slow.stats.summary()) == json.dumps(fast.stats.summary())
    assert _trace(slow) == _trace(fast)
    assert 0.8 * 0.01 * rt_env.now <= wall < 2.0  # paced by the wall clock, not free-running
    assert rt_env.now >= 3.0 - 1.0 / FS


def test_processes_compose_with_a_callable_sink():
    """daq_producer + daq_transport wired by hand, delivering into a callable."""
    env = simpy.Environment(initial_time=10.0)
    cfg = DaqSimConfig(fs=FS, transfer_latency_s=0.01, duplicate_prob=1.0,
                       disconnects=((0.5, 0.5),))
    stats = DaqStats(t_start=env.now)
    fifo = simpy.Store(env, capacity=cfg.buffer_blocks)
    got: list[DaqBlock] = []
    env.process(daq_producer(env, _source(500), cfg, fifo, stats))
    env.process(daq_transport(env, fifo, got.append, cfg, stats, rng=0))
    env.run()
    assert [b.seq for b in got] == [k for k in range(10) for _ in range(2)]
    assert got[0].t_sampled == pytest.approx(10.0 + 49 / FS)  # times start at t_start
    assert not any(10.5 <= b.t_delivered < 11.0 for b in got)  # outage relative to start
    assert END_OF_STREAM not in got
    assert account(got, 500, stats.dropped_ranges)["ok"]


def test_empty_source():
    run = daq_simulate(np.zeros(0), DaqSimConfig(fs=FS), rng=0)
    assert run.blocks == [] and run.stats.blocks_sent == 0
    assert math.isnan(run.stats.effective_fs)
    assert math.isnan(run.stats.latency_percentiles()["p50"])
    assert run.account()["ok"]


def test_source_must_be_one_dimensional():
    with pytest.raises(ValueError, match=r"1-D"):
        daq_simulate(np.zeros((2, 10)), DaqSimConfig(fs=FS), rng=0)


# --------------------------------------------------------------------- config
@pytest.mark.parametrize(("kwargs", "match"), [
    ({"fs": -250.0}, r"fs = -250\.0 is out of range; allowed \(0, inf\) Hz"),
    ({"fs": 0}, r"allowed \(0, inf\) Hz"),
    ({"fs": math.nan}, r"allowed \(0, inf\) Hz"),
    ({"fs": FS, "drift_ppm": 5000}, r"drift_ppm = 5000\.0 .*allowed \[-1000, 1000\] ppm"),
    ({"fs": FS, "buffer_blocks": 0}, r"buffer_blocks = 0 .*allowed integer \[1, inf\) blocks"),
    ({"fs": FS, "buffer_blocks": 2.5}, r"buffer_blocks must be an integer.*\[1, inf\)"),
    ({"fs": FS, "block_samples": 0}, r"allowed integer \[1, inf\) samples"),
    ({"fs": FS, "jitter_s": -1e-3}, r"jitter_s .*allowed \[0, inf\) s"),
    ({"fs": FS, "transfer_latency_s": -1.0}, r"allowed \[0, inf\) s"),
    ({"fs": FS, "drop_prob": 1.5}, r"drop_prob = 1\.5 .*allowed \[0, 1\]"),
    ({"fs": FS, "reorder_prob": -0.1}, r"allowed \[0, 1\]"),
    ({"fs": FS, "consumer_delay_s": -0.1}, r"allowed \[0, inf\) s"),
    ({"fs": FS, "disconnects": ((1.0, 0.0),)}, r"duration_s in \(0, inf\) s"),
    ({"fs": FS, "disconnects": ((-1.0, 1.0),)}, r"start_s in \[0, inf\) s"),
    ({"fs": FS, "disconnects": ((1.0, 2.0), (2.5, 1.0))}, r"must not overlap"),
    ({"fs": FS, "disconnects": ((1.0,),)}, r"not a pair"),
])
def test_bad_config_names_allowed_range(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DaqSimConfig(**kwargs)


def test_config_round_trip_and_unknown_key():
    cfg = FAULTY
    assert DaqSimConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ValueError, match=r"unknown key\(s\) for DaqSimConfig: drift"):
        DaqSimConfig.from_dict({"fs": FS, "drift": 10})
    with pytest.raises(TypeError):
        DaqSimConfig(250.0)  # fs is keyword-only, no default
