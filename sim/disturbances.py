"""Environmental and behavioural disturbances, each switchable and parameterised.

* **Footsteps** near the bed: walking episodes (Poisson, ``footstep_episode_rate`` per hour) with
  steps at ``step_rate`` (≈2 Hz); each step excites the floor mode (10–30 Hz, light damping) whose
  force at the sensor falls as 1/distance.
* **Motion bursts**: body movements (Poisson, ``motion_rate`` per hour) lasting seconds: a smooth
  random load change of ``motion_amplitude`` N (0.3–4 Hz content, Hann-windowed).
* **Posture changes** within a record (Poisson, ``posture_change_rate`` per hour): a new posture
  (new coupling, resonance and static load) from the change on, with a motion burst around it.

Events are drawn once per record from their own generator and stored (``events`` attr), and
every waveform is rendered from the event list alone, so chunked rendering is exact.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ._config import Config, param
from .body import POSTURES

__all__ = ["DisturbanceConfig", "disturbance_events", "disturbance_load", "posture_schedule"]


@dataclasses.dataclass(frozen=True)
class DisturbanceConfig(Config):
    vibration: bool = param(True, units="", doc="footstep vibration on/off")
    footstep_episode_rate: float = param(20.0, units="1/h", lo=0, hi=3600,
                                         doc="walking episodes per hour")
    footstep_episode_duration: float = param(8.0, units="s", lo=0.5, hi=600,
                                             doc="mean walking-episode duration")
    step_rate: float = param(1.9, units="Hz", lo=0.5, hi=4, doc="step cadence")
    floor_mode: float = param(18.0, units="Hz", lo=5, hi=60, doc="floor vibration mode")
    floor_damping: float = param(0.06, units="1", lo=0.005, hi=0.7, doc="floor mode damping ratio")
    footstep_distance: float = param(1.5, units="m", lo=0.2, hi=20, doc="walker's distance")
    footstep_force_1m: float = param(0.6, units="N", lo=0, hi=100,
                                     doc="step force at the sensor for a walker 1 m away")
    motion: bool = param(True, units="", doc="motion bursts on/off")
    motion_rate: float = param(12.0, units="1/h", lo=0, hi=3600, doc="motion bursts per hour")
    motion_duration: float = param(3.0, units="s", lo=0.2, hi=120, doc="mean burst duration")
    motion_amplitude: float = param(10.0, units="N", lo=0, hi=1000, doc="burst load amplitude")
    posture_change: bool = param(False, units="", doc="posture changes within a record on/off")
    posture_change_rate: float = param(2.0, units="1/h", lo=0, hi=600,
                                       doc="posture changes per hour")


def _poisson_times(rng: np.random.Generator, rate_per_h: float, duration: float) -> np.ndarray:
    if rate_per_h <= 0:
        return np.zeros(0)
    n = rng.poisson(rate_per_h * duration / 3600.0)
    return np.sort(rng.uniform(0.0, duration, size=n))


def disturbance_events(*, duration: float, posture: str, config: DisturbanceConfig,
                       rng: np.random.Generator) -> list[dict]:
    """Draw the record's disturbance events (JSON-serialisable dicts, sorted by start)."""
    events: list[dict] = []
    r_walk, r_motion, r_post = rng.spawn(3)
    if config.vibration:
        for t0 in _poisson_times(r_walk, config.footstep_episode_rate, duration):
            dur = float(r_walk.exponential(config.footstep_episode_duration))
            n_steps = max(1, int(dur * config.step_rate))
            jitter = r_walk.normal(0.0, 0.03, size=n_steps)
            steps = t0 + np.arange(n_steps) / config.step_rate + jitter
            steps = steps[(steps >= 0) & (steps < duration)]
            events.append({"type": "footsteps", "start": float(t0), "end": float(t0 + dur),
                           "steps": [round(float(s), 6) for s in steps],
                           "amplitude": config.footstep_force_1m / config.footstep_distance})
    current = posture
    if config.posture_change:
        for t0 in _poisson_times(r_post, config.posture_change_rate, duration):
            choices = [p for p in POSTURES if p != current]
            new = choices[int(r_post.integers(len(choices)))]
            events.append({"type": "posture_change", "start": float(t0), "end": float(t0),
                           "from": current, "to": new})
            events.append(_motion_event(r_post, t0 - 1.0, 2.0 + float(r_post.uniform(0, 2)),
                                        config))
            current = new
    if config.motion:
        for t0 in _poisson_times(r_motion, config.motion_rate, duration):
            dur = float(np.clip(r_motion.exponential(config.motion_duration), 0.3,
                                10 * config.motion_duration))
            events.append(_motion_event(r_motion, float(t0), dur, config))
    return sorted(events, key=lambda e: (e["start"], e["type"]))


def _motion_event(rng: np.random.Generator, t0: float, dur: float,
                  config: DisturbanceConfig) -> dict:
    n = 6
    return {"type": "motion", "start": float(t0), "end": float(t0 + dur),
            "freqs": [float(f) for f in rng.uniform(0.3, 4.0, size=n)],
            "phases": [float(p) for p in rng.uniform(0, 2 * np.pi, size=n)],
            "weights": [float(w) for w in rng.normal(0.0, 1.0, size=n)],
            "offset": float(rng.normal(0.0, 0.3)),
            "amplitude": float(config.motion_amplitude)}


def posture_schedule(events: list[dict], posture: str) -> list[tuple[float, str]]:
    """[(start time, posture), ...] from the initial posture and posture-change events."""
    sched = [(-math.inf, posture)]
    for e in events:
        if e["type"] == "posture_change":
            sched.append((e["start"], e["to"]))
    return sched


def disturbance_load(t: np.ndarray, *, events: list[dict], config: DisturbanceConfig) -> np.ndarray:
    """Disturbance load at the sensor in N at times ``t`` (s), rendered from ``events``."""
    t = np.asarray(t, dtype=float)
    out = np.zeros_like(t)
    if len(t) == 0:
        return out
    t_lo, t_hi = t[0], t[-1]
    w = 2 * np.pi * config.floor_mode
    zeta = config.floor_damping
    wd = w * math.sqrt(1 - zeta**2)
    ring = 6.0 / (zeta * w)  # decay to e^-6 of the initial amplitude
    for e in events:
        if e["type"] == "footsteps":
            for s in e["steps"]:
                if s > t_hi or s + ring < t_lo:
                    continue
                i0, i1 = np.searchsorted(t, [s, s + ring])
                tau = t[i0:i1] - s
                out[i0:i1] += e["amplitude"] * np.exp(-zeta * w * tau) * np.sin(wd * tau)
        elif e["type"] == "motion":
            if e["start"] > t_hi or e["end"] < t_lo:
                continue
            i0, i1 = np.searchsorted(t, [e["start"], e["end"]])
            tau = t[i0:i1] - e["start"]
            dur = e["end"] - e["start"]
            window = np.sin(np.pi * tau / dur) ** 2
            wave = np.zeros_like(tau)
            for f, p, a in zip(e["freqs"], e["phases"], e["weights"]):
                wave += a * np.sin(2 * np.pi * f * tau + p)
            wave = wave / math.sqrt(len(e["freqs"])) + e["offset"]
            out[i0:i1] += e["amplitude"] * window * wave
    return out
