"""ECG source: McSharry's ecgsyn (via neurokit2) and an equivalent fast path, with exact fiducials.

ecgsyn (McSharry et al. 2003, IEEE TBME 50:289) moves a point round the unit circle at angular
speed ω = 2π/RR and pushes ``z`` with Gaussian kicks at the P, Q, R, S, T angles:

    dz/dt = −Σ_i a_i Δθ_i exp(−Δθ_i² / 2b_i²) − (z − z_base(t)),   Δθ_i = wrap(θ − θ_i)

neurokit2 integrates this with ``solve_ivp`` (RK45) at the output rate, which runs about 130×
real time. The fast path (``method="fast"``) solves the *same* ODE faster, exactly as follows:

* the RR series is the same McSharry spectral process, drawn from the same generator in the same
  order, re-sampled with the same cubic spline (``scipy.ndimage.zoom``) and turned into
  piecewise-constant ω on the same sample grid as neurokit2 (so R peaks fall on the same samples);
* θ(t) is then piecewise linear, so the Gaussian forcing has a closed-form time integral per
  sample: ``∫g dt = ΔG/ω`` with ``G(θ) = Σ a_i b_i² exp(−Δθ_i²/2b_i²)``;
* the linear relaxation ``−(z − z_base)`` (time constant 1 s) is integrated exactly with the
  exponential factor e^{−h}, the forcing weighted at the interval midpoint (error O(h²/8) of the
  forcing, < 1e-5 relative at 250 Hz), so no oversampling is needed.

Fiducials come from the wave angles, not from a detector: the phase θ(t) is known exactly, so a
wave centred at angle θ_i with width b_i has its centre where θ = 2πk + θ_i. Onsets and offsets
are taken at two Gaussian widths (Δθ = ∓2b, where the wave is at 13.5 % of its peak):
P onset = θ_P − 2b_P, QRS onset = θ_Q − 2b_Q, QRS offset = θ_S + 2b_S, T offset = θ_T + 2b_T.
"""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import scipy.ndimage
import scipy.signal

from ._signal import check_fs
from .subject import SubjectProfile

__all__ = ["EcgResult", "ecg_simulate", "ecg_rr_process", "ECG_METHODS", "FIDUCIALS",
           "ONSET_WIDTHS"]

ECG_METHODS = ("fast", "ecgsyn")
FIDUCIALS = ("r_peak", "p_onset", "qrs_onset", "qrs_offset", "t_offset")
#: Gaussian widths from a wave's centre to its onset/offset fiducial.
ONSET_WIDTHS = 2.0
#: Highest ECG content we promise (Hz); fs must exceed twice this.
ECG_BAND_HZ = 40.0
_FRESP = 0.25      # ecgsyn's built-in baseline wander frequency (Hz)
_ZBASE_AMP = 0.005  # ecgsyn's baseline wander amplitude (model units)


@dataclasses.dataclass(frozen=True)
class EcgResult:
    """ECG samples, per-beat fiducials and the exact phase timeline.

    Attributes
    ----------
    ecg : ndarray, shape (n,)
        ECG in mV (ecgsyn's −0.4…1.2 mV min-max scaling).
    fs : float
        Sampling rate in Hz.
    fiducials : dict of str → ndarray, shape (beat,)
        Times in s of ``r_peak``, ``p_onset``, ``qrs_onset``, ``qrs_offset``, ``t_offset``;
        NaN where the wave falls outside the record.
    knot_time, knot_phase : ndarray
        Breakpoints of the piecewise-linear phase θ(t) (rad, cumulative); θ = 2πk at R peak k.
    angles, widths : ndarray, shape (5,)
        Effective (heart-rate-scaled) wave angles and widths in rad, P, Q, R, S, T.
    """

    ecg: np.ndarray
    fs: float
    fiducials: dict
    knot_time: np.ndarray
    knot_phase: np.ndarray
    angles: np.ndarray
    widths: np.ndarray

    def phase_time(self, phase: np.ndarray) -> np.ndarray:
        """Times (s) at which the cumulative phase reaches ``phase`` (rad); may lie outside
        the record (extrapolated with the first/last beat's rate)."""
        phase = np.asarray(phase, dtype=float)
        kt, kp = self.knot_time, self.knot_phase
        t = np.interp(phase, kp, kt)
        slope0 = (kt[1] - kt[0]) / (kp[1] - kp[0])
        slope1 = (kt[-1] - kt[-2]) / (kp[-1] - kp[-2])
        t = np.where(phase < kp[0], kt[0] + (phase - kp[0]) * slope0, t)
        return np.where(phase > kp[-1], kt[-1] + (phase - kp[-1]) * slope1, t)

    def wave_times(self, wave: str, *, clip: bool = False) -> np.ndarray:
        """Unclipped per-beat times (s) of a fiducial for every R peak in the record.

        ``wave`` is one of :data:`FIDUCIALS`. With ``clip=True``, times outside the record are NaN
        (that is what :attr:`fiducials` holds).
        """
        if wave not in FIDUCIALS:
            raise ValueError(f"unknown fiducial {wave!r}; choose one of: {', '.join(FIDUCIALS)}")
        k = np.arange(len(self.fiducials["r_peak"]))
        th, bw = self.angles, self.widths
        offset = {
            "r_peak": th[2],
            "p_onset": th[0] - ONSET_WIDTHS * bw[0],
            "qrs_onset": th[1] - ONSET_WIDTHS * bw[1],
            "qrs_offset": th[3] + ONSET_WIDTHS * bw[3],
            "t_offset": th[4] + ONSET_WIDTHS * bw[4],
        }[wave]
        t = self.phase_time(2.0 * np.pi * k + offset)
        if clip:
            duration = len(self.ecg) / self.fs
            t = np.where((t >= 0.0) & (t < duration), t, np.nan)
        return t


def ecg_rr_process(*, n: int, hr_mean: float, hr_std: float, lf_hf_ratio: float,
                   rng: np.random.Generator | np.random.RandomState) -> np.ndarray:
    """McSharry's RR tachogram at 1 Hz: bimodal LF (0.1 Hz) / HF (0.25 Hz) spectrum, random phases.

    Returns ``n`` RR intervals in s with mean ``60/hr_mean`` and SD ``60·hr_std/hr_mean²``.
    Consumes exactly ``n/2 − 1`` uniforms from ``rng`` (as neurokit2 0.2.13 does).
    """
    n = int(n)
    w1, w2 = 2 * np.pi * 0.1, 2 * np.pi * 0.25
    c1 = c2 = 2 * np.pi * 0.01
    w = np.arange(n) * 2 * np.pi / n
    spec = (lf_hf_ratio * np.exp(-0.5 * ((w - w1) / c1) ** 2) / np.sqrt(2 * np.pi * c1**2)
            + np.exp(-0.5 * ((w - w2) / c2) ** 2) / np.sqrt(2 * np.pi * c2**2))
    half = n // 2
    spec = np.concatenate((spec[:half], spec[half - 1::-1]))
    amp = 0.5 * np.sqrt(spec)
    ph0 = 2 * np.pi * rng.uniform(size=half - 1)
    ph = np.concatenate([[0.0], ph0, [0.0], -ph0[::-1]])
    x = np.fft.ifft(amp * np.exp(1j * ph)).real / n
    rr_mean = 60.0 / hr_mean
    rr_std = 60.0 * hr_std / hr_mean**2
    return rr_mean + x * (rr_std / np.std(x))


def _scaled_waves(subject: SubjectProfile) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ecgsyn's heart-rate scaling of angles (√ and ⁴√ of HR/60) and widths."""
    hrfact = math.sqrt(subject.heart_rate / 60.0)
    hrfact2 = math.sqrt(hrfact)
    ti = np.deg2rad(np.asarray(subject.ecg_ti, dtype=float))
    ti = ti * np.array([hrfact2, hrfact, 1.0, hrfact, hrfact2])
    return ti, np.asarray(subject.ecg_ai, dtype=float), np.asarray(subject.ecg_bi) * hrfact


def _beat_schedule(subject: SubjectProfile, *, duration: float, fs: float,
                   rng) -> tuple[np.ndarray, np.ndarray]:
    """Beat start samples and RR (s) exactly as neurokit2's ecgsyn builds ``rrn``.

    Returns ``starts`` (int, beat k occupies samples [starts[k], starts[k+1])) and ``rr`` per
    beat. Irregular RR (``subject.rr_irregularity``) multiplies each beat's RR by a lognormal
    factor drawn after the RR process (so regular subjects match neurokit2 draw for draw).
    """
    n_beats = int(np.round(duration * subject.heart_rate / 60.0))
    rr_mean = 60.0 / subject.heart_rate
    n = 2 ** math.ceil(math.log2(max(n_beats, 1) * rr_mean))
    while n < duration:  # neurokit2 returns a short record here; we draw a longer RR series
        n *= 2
    rr0 = ecg_rr_process(n=n, hr_mean=subject.heart_rate, hr_std=subject.hr_std,
                         lf_hf_ratio=subject.lf_hf_ratio, rng=rng)
    n_int = int(np.round(len(rr0) * fs))
    rr_int = scipy.ndimage.zoom(rr0, n_int / len(rr0))
    dt = 1.0 / fs
    irregular = subject.rr_irregularity > 0
    if irregular:
        sigma = math.sqrt(math.log1p(subject.rr_irregularity**2))
        factors = np.exp(rng.normal(-0.5 * sigma**2, sigma, size=4 * n_beats + 64))
    starts, rrs = [], []
    tecg, i, k = 0.0, 0, 0
    length = len(rr_int)
    while i < length:
        rr = float(rr_int[i])
        if irregular:
            rr = min(max(rr * factors[k % len(factors)], 0.25), 2.5)
        tecg += rr
        ip = int(np.round(tecg / dt))
        starts.append(i)
        rrs.append(rr)
        i, k = ip, k + 1
    starts.append(i)
    return np.asarray(starts, dtype=np.int64), np.asarray(rrs)


def _ecg_fast(subject: SubjectProfile, *, duration: float, fs: float, rng,
              chunk: int = 1 << 20) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    starts, rr = _beat_schedule(subject, duration=duration, fs=fs, rng=rng)
    length = int(math.ceil(duration * fs))
    dt = 1.0 / fs
    omega = 2.0 * np.pi / rr
    knot_time = starts * dt
    knot_phase = np.concatenate([[0.0], np.cumsum(np.diff(starts) * dt * omega)])
    ti, ai, bi = _scaled_waves(subject)
    coef = ai * bi**2
    inv2b2 = 0.5 / bi**2
    decay = math.exp(-dt)
    mid = math.exp(-0.5 * dt)
    z = np.empty(length)
    zi = np.array([0.0])
    z_prev = 0.04  # ecgsyn's initial state x0 = (1, 0, 0.04)
    w_base = 2 * np.pi * _FRESP
    for n0 in range(0, length, chunk):
        n1 = min(n0 + chunk, length)
        idx = np.arange(n0, n1 + 1)  # grid points n0..n1 (one past, for the interval ends)
        k = np.searchsorted(starts, idx, side="right") - 1
        k = np.minimum(k, len(rr) - 1)
        theta = knot_phase[k] + (idx - starts[k]) * dt * omega[k]
        g = np.zeros(len(idx))
        for c, t0, s in zip(coef, ti, inv2b2):
            d = np.remainder(theta - t0 + np.pi, 2 * np.pi) - np.pi
            g += c * np.exp(-(d * d) * s)
        t = idx * dt
        base = (_ZBASE_AMP / w_base) * -np.diff(np.cos(w_base * t))  # ∫ z_base dt per interval
        forcing = np.diff(g) / omega[k[:-1]] + base
        # z[n+1] = e^{-h} z[n] + e^{-h/2} I_n; output sample n is z[n]
        if n0 == 0:
            zi = np.array([decay * z_prev])
            seg, zi = scipy.signal.lfilter([mid], [1.0, -decay], forcing, zi=zi)
            z[0] = z_prev
            z[1:n1] = seg[: n1 - 1]
            carry = seg[n1 - 1] if n1 - 1 < len(seg) else None
        else:
            z[n0] = carry
            seg, zi = scipy.signal.lfilter([mid], [1.0, -decay], forcing, zi=zi)
            z[n0 + 1:n1] = seg[: n1 - n0 - 1]
            carry = seg[n1 - n0 - 1]
    zmin, zmax = z.min(), z.max()
    z -= zmin
    z *= 1.6 / (zmax - zmin)
    z -= 0.4
    return z, knot_time, knot_phase


def ecg_simulate(subject: SubjectProfile | None = None, *, duration: float, fs: float,
                 rng: np.random.Generator | int | None = None, method: str = "fast",
                 noise: float = 0.0) -> EcgResult:
    """Simulate a single-lead ECG with per-beat ground-truth fiducials.

    Parameters
    ----------
    subject
        Heart rate, HRV and ecgsyn morphology; a default :class:`SubjectProfile` if None.
    duration
        Seconds, > 0.
    fs
        Sampling rate in Hz (keyword-only, no default), > 2·40 Hz.
    rng
        Generator or seed. ``method="ecgsyn"`` hands neurokit2 a copy of the same generator, so
        both methods draw the same RR series from the same seed.
    method
        ``"fast"`` (this module's exact solver) or ``"ecgsyn"`` (neurokit2's ``solve_ivp``).
    noise
        SD of additive white Gaussian measurement noise in mV (0 for a clean reference).

    Returns
    -------
    EcgResult

    Examples
    --------
    >>> from sim.ecg import ecg_simulate
    >>> res = ecg_simulate(duration=10.0, fs=250.0, rng=1)
    >>> res.ecg.shape, round(float(res.ecg.max()), 3)
    ((2500,), 1.2)
    """
    subject = subject or SubjectProfile()
    if method not in ECG_METHODS:
        raise ValueError(f"unknown ECG method {method!r}; choose one of: {', '.join(ECG_METHODS)}")
    if not (isinstance(duration, (int, float)) and math.isfinite(duration) and duration > 0):
        raise ValueError(f"duration = {duration!r} s is out of range; allowed (0, inf) s")
    fs = check_fs(fs)
    if fs <= 2 * ECG_BAND_HZ:
        raise ValueError(f"fs = {fs:g} Hz is too low for the ECG band (0–{ECG_BAND_HZ:g} Hz); "
                         f"allowed fs > {2 * ECG_BAND_HZ:g} Hz")
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise = {noise!r} mV is out of range; allowed [0, inf) mV")
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.RandomState) else rng
    if method == "ecgsyn":
        if subject.rr_irregularity > 0:
            raise ValueError("method='ecgsyn' cannot do irregular RR (rr_irregularity > 0); "
                             "use method='fast'")
        import neurokit2 as nk  # heavy import, only for the reference path

        nk_rng = copy.deepcopy(rng)
        ti, ai, bi = subject.ecg_ti, subject.ecg_ai, subject.ecg_bi
        ecg = np.asarray(nk.ecg_simulate(
            duration=duration, sampling_rate=int(round(fs)) if float(fs).is_integer() else fs,
            noise=0.0, heart_rate=subject.heart_rate, heart_rate_std=subject.hr_std,
            method="ecgsyn", random_state=nk_rng, lfhfratio=subject.lf_hf_ratio,
            ti=np.array(ti), ai=np.array(ai), bi=np.array(bi)), dtype=float)
        starts, rr = _beat_schedule(subject, duration=duration, fs=fs, rng=rng)
        dt = 1.0 / fs
        knot_time = starts * dt
        knot_phase = np.concatenate([[0.0], np.cumsum(np.diff(starts) * dt * 2 * np.pi / rr)])
    else:
        ecg, knot_time, knot_phase = _ecg_fast(subject, duration=duration, fs=fs, rng=rng)
    angles, _, widths = _scaled_waves(subject)
    n_r = int(np.floor(np.interp(len(ecg) / fs, knot_time, knot_phase) / (2 * np.pi) - 1e-12)) + 1
    proto = EcgResult(ecg=ecg, fs=fs, fiducials={"r_peak": np.zeros(n_r)}, knot_time=knot_time,
                      knot_phase=knot_phase, angles=angles, widths=widths)
    fid = {name: proto.wave_times(name, clip=True) for name in FIDUCIALS}
    if noise > 0:
        ecg = ecg + noise * rng.standard_normal(len(ecg))
    return dataclasses.replace(proto, ecg=ecg, fiducials=fid)
