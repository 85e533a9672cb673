"""Body and bed: posture, respiration, static load and the body–mattress/pillow mechanics.

The Kim force acts on the body; the body rests on a compliant bed or pillow that carries the
sensor. Modelled as a mass on a spring–damper (the bed), the force transmitted to the sensor is

    F_s(s)/F(s) = (2ζω₀ s + ω₀²) / (s² + 2ζω₀ s + ω₀²)

(unity at DC, a resonance of a few Hz, damping ratio 0.2–0.5). Posture sets how much of the
head-to-foot force projects onto the sensor (``coupling``), the resonance and damping, and the
share of body weight resting on the sensor. Respiration adds a slow load change and modulates
the BCG amplitude (stroke volume and coupling change with the breathing cycle).

Posture defaults follow the paper's ordering of reconstruction quality (supine 0.92 > lateral
0.87 > prone 0.84 PCC): prone couples worst.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import scipy.signal

from ._config import Config, ConfigError, param

__all__ = ["POSTURES", "PLACEMENTS", "PostureSpec", "BodyConfig", "resp_simulate",
           "body_filter_coefficients", "static_load", "G_ACCEL"]

G_ACCEL = 9.80665  # m/s²
POSTURES = ("supine", "prone", "left", "right")
PLACEMENTS = ("pillow", "mattress")


@dataclasses.dataclass(frozen=True)
class PostureSpec(Config):
    """How one posture couples the body to the sensor."""

    coupling: float = param(0.6, units="1", lo=0, hi=1.5,
                            doc="fraction of the head-to-foot force seen as sensor load")
    resonance: float = param(5.0, units="Hz", lo=0.5, hi=30, doc="body–bed resonance")
    damping: float = param(0.3, units="1", lo=0.05, hi=2.0, doc="body–bed damping ratio")
    share_pillow: float = param(0.06, units="1", lo=0, hi=1,
                                doc="share of body weight on a pillow sensor")
    share_mattress: float = param(0.45, units="1", lo=0, hi=1,
                                  doc="share of body weight on a mattress (torso) sensor")


_POSTURE_DEFAULTS = {
    "supine": PostureSpec(),
    "prone": PostureSpec(coupling=0.32, resonance=4.0, damping=0.45, share_pillow=0.05,
                         share_mattress=0.45),
    "left": PostureSpec(coupling=0.45, resonance=4.5, damping=0.35, share_pillow=0.07,
                        share_mattress=0.40),
    "right": PostureSpec(coupling=0.45, resonance=4.5, damping=0.35, share_pillow=0.07,
                         share_mattress=0.40),
}


@dataclasses.dataclass(frozen=True)
class BodyConfig(Config):
    """Body–bed path, placement of the sensor and respiration effects."""

    placement: str = param("pillow", choices=PLACEMENTS, doc="where the sensor lies")
    resp_load_fraction: float = param(0.03, units="1", lo=0, hi=0.3,
                                      doc="respiratory load swing as a fraction of static load")
    resp_am_depth: float = param(0.15, units="1", lo=0, hi=0.5,
                                 doc="respiratory amplitude modulation of the BCG (10–20 %)")
    supine: PostureSpec = param(_POSTURE_DEFAULTS["supine"], units="")
    prone: PostureSpec = param(_POSTURE_DEFAULTS["prone"], units="")
    left: PostureSpec = param(_POSTURE_DEFAULTS["left"], units="")
    right: PostureSpec = param(_POSTURE_DEFAULTS["right"], units="")

    def posture(self, name: str) -> PostureSpec:
        if name not in POSTURES:
            raise ConfigError(f"unknown posture {name!r}; choose one of: {', '.join(POSTURES)}")
        return getattr(self, name)


def static_load(*, weight: float, posture: str, config: BodyConfig) -> float:
    """Static load on the sensor in N: posture's share of body weight (kg) × g."""
    spec = config.posture(posture)
    share = spec.share_pillow if config.placement == "pillow" else spec.share_mattress
    return weight * G_ACCEL * share


def body_filter_coefficients(spec: PostureSpec, *, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear (pre-warped at the resonance) discretisation of the body–bed transfer."""
    if spec.resonance >= 0.45 * fs:
        raise ValueError(f"body resonance {spec.resonance:g} Hz is too close to fs/2 "
                         f"({fs / 2:g} Hz); allowed < {0.45 * fs:g} Hz")
    w0 = 2 * np.pi * spec.resonance
    num = [2 * spec.damping * w0, w0**2]
    den = [1.0, 2 * spec.damping * w0, w0**2]
    return scipy.signal.bilinear(num, den, fs=fs)


def resp_simulate(*, duration: float, rate: float, rng: np.random.Generator,
                  variability: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Breath timeline: onset times (s) and amplitudes of each breath covering ``duration``.

    Breath durations are lognormal around 60/``rate`` s with coefficient of variation
    ``variability``; amplitudes vary by the same CV. Evaluate with :func:`resp_waveform`.
    """
    if not (rate > 0 and math.isfinite(rate)):
        raise ValueError(f"respiration rate {rate!r} /min is out of range; allowed (0, inf)")
    period = 60.0 / rate
    n = int(math.ceil(duration / period * 1.5)) + 4
    sigma = math.sqrt(math.log1p(variability**2))
    periods = period * np.exp(rng.normal(-0.5 * sigma**2, sigma, size=n))
    onsets = np.concatenate([[-float(rng.uniform(0, period))], np.cumsum(periods)])
    onsets[1:] += onsets[0]
    while onsets[-1] < duration + period:  # extremely unlikely; extend deterministically
        onsets = np.append(onsets, onsets[-1] + period)
    amps = np.exp(rng.normal(0.0, sigma, size=len(onsets)))
    return onsets, amps


def resp_waveform(t: np.ndarray, *, onsets: np.ndarray, amps: np.ndarray,
                  inspiration: float = 0.4) -> np.ndarray:
    """Normalised chest excursion (1) at ``t``: smooth rise over the inspiratory fraction of
    each breath, slower fall over expiration; zero-mean per breath shape, peak-to-peak ≈ amp."""
    # fractional breath index by linear interpolation of the onset times (one pass, no gather
    # of onsets): k = breath number, frac = phase within the breath in [0, 1)
    pos = np.interp(t, onsets, np.arange(len(onsets), dtype=np.float64))
    k = np.minimum(pos.astype(np.int64), len(onsets) - 2)
    phase = pos - k
    # rise 0.5(1 − cos(πφ/insp)) then fall 0.5(1 + cos(π(φ − insp)/(1 − insp))) = one cosine of a
    # piecewise-linear argument running 0 → π (inspiration) → 2π (expiration)
    arg = np.where(phase < inspiration, (np.pi / inspiration) * phase,
                   np.pi + (np.pi / (1 - inspiration)) * (phase - inspiration))
    return amps[k] * (-0.5 * np.cos(arg))
