"""Photodetector, transimpedance amplifier and DAQ (anti-alias filter, ADC, decimation).

Optical power P [W] → photocurrent I = ℜ P + I_dark [A] → voltage V = G_TIA · I [V] with
white noise of one-sided density (A²/Hz)
    shot 2 q I,   thermal 4 k T / R_f (R_f = G_TIA),   laser RIN  10^(RIN/10) · (ℜ P)²,
simulated at the DAQ rate fs_daq (noise bandwidth fs_daq/2), then shaped by the analog
anti-alias filter (Butterworth), quantised by the ADC (bits, ±range; NI 9220: 16 bit, ±10 V)
and finally decimated to the output rate with a linear-phase FIR (zero group delay, so the
output stays aligned with the ECG and fiducials).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import scipy.signal

from ._config import Config, ConfigError, param

__all__ = ["DetectorConfig", "DaqConfig", "photodetector_voltage", "adc_quantize", "Decimator",
           "aa_filter_sos", "Q_E", "K_B"]

Q_E = 1.602176634e-19  # C
K_B = 1.380649e-23     # J/K


@dataclasses.dataclass(frozen=True)
class DetectorConfig(Config):
    """InGaAs photodiode + transimpedance amplifier."""

    responsivity: float = param(0.9, units="A/W", lo=0.01, hi=1.3, doc="responsivity at λ")
    tia_gain: float = param(2e4, units="V/A", lo=1.0, hi=1e9, doc="transimpedance gain")
    dark_current: float = param(1e-9, units="A", lo=0, hi=1e-3, doc="dark current")
    temperature: float = param(300.0, units="K", lo=200, hi=400, doc="feedback-resistor temperature")
    rin_db_hz: float = param(-140.0, units="dB/Hz", lo=-180, hi=-90, doc="laser relative intensity noise")
    offset: float = param(0.0, units="V", lo=-10, hi=10, doc="amplifier output offset")


@dataclasses.dataclass(frozen=True)
class DaqConfig(Config):
    """Acquisition: anti-alias filter, ADC and sampling clock."""

    fs_daq: float = param(1000.0, units="Hz", lo=100, hi=100_000, doc="DAQ sampling rate")
    adc_bits: int = param(16, units="bit", lo=8, hi=32, doc="ADC resolution")
    adc_range: float = param(10.0, units="V", lo=0.1, hi=100, doc="ADC input range ±")
    aa_cutoff: float = param(200.0, units="Hz", lo=1, hi=50_000, doc="anti-alias corner")
    aa_order: int = param(4, units="1", lo=1, hi=10, doc="anti-alias Butterworth order")
    decimation_taps: int = param(8, units="1", lo=2, hi=64,
                                 doc="decimation FIR half-length per output sample (taps = 2·n·q + 1)")

    def validate(self) -> None:
        if self.aa_cutoff >= self.fs_daq / 2:
            raise ConfigError(f"aa_cutoff = {self.aa_cutoff:g} Hz must be below fs_daq/2 = "
                              f"{self.fs_daq / 2:g} Hz")


def aa_filter_sos(config: DaqConfig) -> np.ndarray:
    return scipy.signal.butter(config.aa_order, config.aa_cutoff, fs=config.fs_daq, output="sos")


def photodetector_voltage(power: np.ndarray, *, config: DetectorConfig, fs: float,
                          rng: np.random.Generator | None) -> np.ndarray:
    """TIA output voltage (V) for optical power ``power`` (W) sampled at ``fs``.

    With ``rng=None`` the noiseless voltage is returned (used for sensitivity analysis).
    """
    power = np.asarray(power, dtype=float)
    if np.any(power < 0) or not np.all(np.isfinite(power)):
        raise ValueError("optical power must be finite and >= 0 W")
    i_sig = config.responsivity * power
    current = i_sig + config.dark_current
    v = config.offset + config.tia_gain * current
    if rng is None:
        return v
    bandwidth = fs / 2.0
    r_f = config.tia_gain
    psd = (2 * Q_E * current + 4 * K_B * config.temperature / r_f
           + 10 ** (config.rin_db_hz / 10.0) * i_sig**2)
    sigma_v = config.tia_gain * np.sqrt(psd * bandwidth)
    return v + sigma_v * rng.standard_normal(len(v))


def adc_quantize(v: np.ndarray, *, config: DaqConfig) -> tuple[np.ndarray, int]:
    """Quantise to the ADC grid; returns (volts, number of samples at the rails).

    A real ADC saturates at its rails; the count is returned so callers report it.
    """
    lsb = 2 * config.adc_range / 2**config.adc_bits
    code = np.rint(np.asarray(v) / lsb)
    lo, hi = -(2 ** (config.adc_bits - 1)), 2 ** (config.adc_bits - 1) - 1
    n_clip = int(np.count_nonzero((code < lo) | (code > hi)))
    return np.clip(code, lo, hi) * lsb, n_clip


class Decimator:
    """Streaming, zero-delay decimation by an integer factor ``q`` with a linear-phase FIR.

    ``push`` chunks of a ``(channels, time)`` array and collect outputs; ``finish`` flushes the
    end (edge-padded, as is the start). The result equals decimating the whole record at once
    (tested), whatever the chunk sizes.
    """

    def __init__(self, q: int, *, half_taps: int = 8, channels: int = 1):
        if q < 1:
            raise ValueError(f"decimation factor must be >= 1, got {q}")
        self.q = int(q)
        self.channels = channels
        self.n_in = 0
        self.n_out = 0
        if self.q == 1:
            self.h = np.ones(1)
            self.d = 0
        else:
            numtaps = 2 * half_taps * self.q + 1
            self.h = scipy.signal.firwin(numtaps, 0.8 / self.q, window=("kaiser", 6.0))
            self.d = (numtaps - 1) // 2  # multiple of q by construction
        self.buf: np.ndarray | None = None
        self.start = -self.d  # global index of buf[:, 0]

    def push(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(np.asarray(x, dtype=float))
        if self.buf is None:
            pad = np.repeat(x[:, :1], self.d, axis=1)
            self.buf = np.concatenate([pad, x], axis=1)
        else:
            self.buf = np.concatenate([self.buf, x], axis=1)
        self.n_in += x.shape[1]
        return self._emit(limit=self.start + self.buf.shape[1] - self.d)

    def finish(self) -> np.ndarray:
        if self.buf is None:
            return np.zeros((self.channels, 0))
        pad = np.repeat(self.buf[:, -1:], self.d, axis=1)
        self.buf = np.concatenate([self.buf, pad], axis=1)
        return self._emit(limit=self.n_in, final=True)

    def _emit(self, *, limit: int, final: bool = False) -> np.ndarray:
        # outputs m with centre index c = m q + d_available, i.e. m q < limit (and < n_in)
        m_end = -(-min(limit, self.n_in if final else limit) // self.q)
        if not final:
            m_end = min(m_end, (limit - 1) // self.q + 1) if limit > 0 else 0
        count = m_end - self.n_out
        if count <= 0:
            return np.zeros((self.buf.shape[0], 0))
        if self.q == 1:
            lo = self.n_out - self.start
            out = self.buf[:, lo:lo + count].copy()
        else:
            # y[m] = Σ_k h[k] x[m q + d − k]; in buf coordinates x[g] = buf[g − start]
            g0 = self.n_out * self.q + self.d - (len(self.h) - 1)  # first input needed
            lo = g0 - self.start
            hi = (m_end - 1) * self.q + self.d - self.start + 1
            seg = self.buf[:, lo:hi]
            full = scipy.signal.upfirdn(self.h, seg, up=1, down=self.q, axis=1)
            first = (len(self.h) - 1) // self.q
            out = full[:, first:first + count]
        self.n_out = m_end
        keep_from = self.n_out * self.q + self.d - (len(self.h) - 1)  # global index
        drop = max(0, keep_from - self.start)
        drop -= drop % self.q
        self.buf = self.buf[:, drop:]
        self.start += drop
        return out


def _lsb(config: DaqConfig) -> float:
    return 2 * config.adc_range / 2**config.adc_bits


def adc_lsb(config: DaqConfig) -> float:
    """ADC least-significant bit in V."""
    return _lsb(config)


def _check_ratio(fs: float, fs_daq: float) -> int:
    q = fs_daq / fs
    if q < 1 - 1e-9 or not math.isclose(q, round(q), rel_tol=0, abs_tol=1e-9):
        divisors = [fs_daq / k for k in range(1, int(fs_daq) + 1)
                    if (fs_daq / k).is_integer() and fs_daq / k >= 100]
        allowed = ", ".join(f"{d:g}" for d in sorted(divisors))
        raise ValueError(f"fs = {fs:g} Hz must divide the DAQ rate fs_daq = {fs_daq:g} Hz "
                         f"(the sensor path is decimated by an integer factor); allowed fs: "
                         f"{allowed} Hz, or set daq.fs_daq to a multiple of fs")
    return int(round(q))
