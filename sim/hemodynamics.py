"""Aortic pressures P0 (root), P1 (arch), P2 (descending outlet) in mmHg.

A three-element Windkessel (characteristic impedance Zc in series with peripheral resistance R
parallel to compliance C) is driven by a half-sine ejection of one stroke volume that starts one
pre-ejection period (PEP) after each QRS onset. P1 and P2 are the same pulse arriving after the
transit delays L/PWV along the aorta, with distal pulse-pressure amplification (mean pressure is
unchanged along the aorta, the pulsatile part grows). Because the Windkessel is linear and time
invariant, delaying its *input* is exact, so each site is its own filter over a delayed ejection
(no look-back buffers, and records can be processed in chunks with carried filter state).

Units: flows in m³/s internally, Windkessel parameters in SI (Pa·s/m³, m³/Pa), outputs in mmHg.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.signal

from ._config import Config, ConfigError, param

__all__ = ["HemoConfig", "MMHG", "ejection_flow", "HemoState", "aortic_pressures",
           "windkessel_coefficients"]

MMHG = 133.322  # Pa per mmHg
_ML = 1e-6      # m³ per mL


@dataclasses.dataclass(frozen=True)
class HemoConfig(Config):
    """Windkessel and aortic-transit parameters (defaults: DESIGN §4, NOTES §1)."""

    r_periph: float = param(1.05 * MMHG / _ML, units="Pa s/m^3", lo=1e7, hi=1e9,
                            doc="peripheral resistance (≈1.05 mmHg·s/mL)")
    compliance: float = param(1.5 * _ML / MMHG, units="m^3/Pa", lo=1e-9, hi=1e-7,
                              doc="arterial compliance (≈1.5 mL/mmHg)")
    z_char: float = param(0.05 * MMHG / _ML, units="Pa s/m^3", lo=0.0, hi=1e8,
                          doc="aortic characteristic impedance (≈0.05 mmHg·s/mL)")
    p_venous: float = param(5.0, units="mmHg", lo=0, hi=30, doc="outflow (venous) pressure")
    len_root_arch: float = param(0.10, units="m", lo=0.03, hi=0.2, doc="root→arch top length")
    len_arch_outlet: float = param(0.36, units="m", lo=0.15, hi=0.6,
                                   doc="arch→descending outlet (iliac) length")
    amp_arch: float = param(1.05, units="1", lo=0.8, hi=1.6, doc="pulse-pressure gain at the arch")
    amp_outlet: float = param(1.25, units="1", lo=0.8, hi=2.0,
                              doc="pulse-pressure gain at the outlet (distal amplification)")

    def validate(self) -> None:
        if self.amp_outlet < self.amp_arch:
            raise ConfigError(f"amp_outlet ({self.amp_outlet:g}) must be >= amp_arch "
                              f"({self.amp_arch:g}): pulse pressure amplifies distally")


def windkessel_coefficients(config: HemoConfig, *, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Discrete (bilinear) filter Q [m³/s] → P [Pa] of Z(s) = Zc + R/(1 + sRC)."""
    r, c, zc = config.r_periph, config.compliance, config.z_char
    num = [zc * r * c, zc + r]
    den = [r * c, 1.0]
    b, a = scipy.signal.bilinear(num, den, fs=fs)
    return b, a


def ejection_flow(t: np.ndarray, *, onsets: np.ndarray, stroke_volume: np.ndarray,
                  ejection_time: np.ndarray) -> np.ndarray:
    """Half-sine ejection flow in m³/s at times ``t`` (s, uniform) for ejections at ``onsets``.

    Beat k ejects ``stroke_volume[k]`` (m³) over ``ejection_time[k]`` (s):
    Q(t) = (π SV / 2T) sin(π (t − t0)/T) for t0 ≤ t < t0 + T. Ejections must not overlap.
    """
    t = np.asarray(t, dtype=float)
    q = np.zeros_like(t)
    onsets = np.asarray(onsets, dtype=float)
    if len(onsets) == 0 or len(t) == 0:
        return q
    et = np.broadcast_to(np.asarray(ejection_time, dtype=float), onsets.shape)
    if len(onsets) > 1 and np.any(np.diff(onsets) < et[:-1]):
        k = int(np.argmax(np.diff(onsets) < et[:-1]))
        raise ValueError(f"ejections overlap at beat {k}: beat lasts {np.diff(onsets)[k]:.3f} s, "
                         f"ejection {et[k]:.3f} s")
    dt = (t[-1] - t[0]) / max(len(t) - 1, 1) if len(t) > 1 else 1.0
    sel = (onsets + et > t[0]) & (onsets <= t[-1])
    on = onsets[sel]
    sv = np.broadcast_to(stroke_volume, onsets.shape)[sel]
    et = et[sel]
    if len(on) == 0:
        return q
    n_pulse = int(np.ceil(et.max() / dt)) + 2
    first = np.ceil((on - t[0]) / dt - 1e-9).astype(np.int64)
    idx = first[:, None] + np.arange(n_pulse)[None, :]
    valid = (idx >= 0) & (idx < len(t))
    idxc = np.clip(idx, 0, len(t) - 1)
    phase = (t[idxc] - on[:, None]) / et[:, None]
    valid &= (phase >= 0) & (phase < 1)
    vals = (np.pi * sv[:, None] / (2 * et[:, None])) * np.sin(np.pi * phase)
    np.add.at(q, idxc[valid], vals[valid])
    return q


@dataclasses.dataclass
class HemoState:
    """Filter state carried between chunks (one Windkessel per site)."""

    zi: list


def aortic_pressures(t: np.ndarray, *, onsets: np.ndarray, stroke_volume: np.ndarray,
                     ejection_time: np.ndarray, pwv: float, fs: float, config: HemoConfig,
                     mean_flow: float, state: HemoState | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, HemoState]:
    """P0, P1, P2 in mmHg at sample times ``t`` (one chunk of a record sampled at ``fs``).

    Parameters
    ----------
    t : ndarray, shape (n,)
        Sample times in s (uniform at ``fs``).
    onsets : ndarray, shape (beat,)
        Ejection start times at the aortic root (QRS onset + PEP), s.
    stroke_volume : ndarray, shape (beat,)
        Per-beat stroke volume, m³.
    ejection_time : ndarray, shape (beat,)
        Per-beat ejection time, s.
    pwv
        Aortic pulse-wave velocity, m/s.
    mean_flow
        Record-mean flow (m³/s) that sets the steady state the filters start from.
    state
        Filter state from the previous chunk (None at the start of a record).
    """
    b, a = windkessel_coefficients(config, fs=fs)
    delays = (0.0, config.len_root_arch / pwv,
              (config.len_root_arch + config.len_arch_outlet) / pwv)
    gains = (1.0, config.amp_arch, config.amp_outlet)
    p_mean_pa = mean_flow * (config.r_periph + config.z_char) + config.p_venous * MMHG
    if state is None:
        zi0 = scipy.signal.lfilter_zi(b, a) * mean_flow
        state = HemoState(zi=[zi0.copy() for _ in delays])
    out = []
    for j, (delay, gain) in enumerate(zip(delays, gains)):
        q = ejection_flow(t, onsets=onsets + delay, stroke_volume=stroke_volume,
                          ejection_time=ejection_time)
        p, state.zi[j] = scipy.signal.lfilter(b, a, q, zi=state.zi[j])
        p = p + config.p_venous * MMHG
        out.append((p_mean_pa + gain * (p - p_mean_pa)) / MMHG)
    return out[0], out[1], out[2], state
