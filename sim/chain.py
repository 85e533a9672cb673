"""The full physical chain: subject → ECG → aortic pressures → Kim force → body/bed → mat → fibre
→ photodetector → ADC → recorded BCG, returned as a Dataset in the schema of DESIGN §3.

The sensor path runs at the DAQ rate (``daq.fs_daq``, 1000 Hz) in chunks (``chunk_duration``)
with every filter's state carried across chunk boundaries, so memory stays flat for 8-hour
records and the result does not depend on the chunk size (tested). The ECG is computed at the
output rate; everything from the DAQ is decimated to it by an integer factor.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math

import numpy as np
import scipy.signal
import xarray as xr

from . import __version__
from ._config import Config, ConfigError, param
from ._signal import check_fs, seconds_to_samples, time_coord
from .body import POSTURES, BodyConfig, body_filter_coefficients, resp_simulate, resp_waveform, static_load
from .detector import (DaqConfig, Decimator, DetectorConfig, _check_ratio, aa_filter_sos,
                       adc_quantize, photodetector_voltage)
from .disturbances import DisturbanceConfig, disturbance_events, disturbance_load, posture_schedule
from .ecg import ECG_METHODS, ecg_simulate
from .fiber import FiberConfig, MatConfig, mat_bend_radius, mat_bent_length, transmission_table
from .force import kim_force
from .hemodynamics import HemoConfig, aortic_pressures
from .subject import SubjectProfile

__all__ = ["SimConfig", "bcg_simulate", "MAX_DURATION"]

log = logging.getLogger(__name__)
MAX_DURATION = 48 * 3600.0  # s; longer records should be split


@dataclasses.dataclass(frozen=True)
class SimConfig(Config):
    """Everything except the subject that determines a simulated recording."""

    ecg_method: str = param("fast", choices=ECG_METHODS, doc="ECG solver")
    ecg_noise: float = param(0.0, units="mV", lo=0, hi=1, doc="reference-ECG measurement noise SD")
    sv_variability: float = param(0.03, units="1", lo=0, hi=0.3,
                                  doc="beat-to-beat stroke-volume CV")
    chunk_duration: float = param(300.0, units="s", lo=1, hi=3600,
                                  doc="processing chunk (memory vs speed; results do not depend on it)")
    hemo: HemoConfig = param(HemoConfig(), units="")
    body: BodyConfig = param(BodyConfig(), units="")
    disturbances: DisturbanceConfig = param(DisturbanceConfig(), units="")
    fiber: FiberConfig = param(FiberConfig(), units="")
    mat: MatConfig = param(MatConfig(), units="")
    detector: DetectorConfig = param(DetectorConfig(), units="")
    daq: DaqConfig = param(DaqConfig(), units="")


_VARS = {  # name: (units, long_name)
    "ecg": ("mV", "reference ECG (lead II-like)"),
    "bcg": ("V", "recorded sensor output after the DAQ"),
    "force": ("N", "Kim BCG force (head-to-foot)"),
    "load": ("N", "total load on the sensor"),
    "p0": ("mmHg", "aortic root pressure"),
    "p1": ("mmHg", "aortic arch pressure"),
    "p2": ("mmHg", "descending aorta outlet pressure"),
    "resp": ("1", "respiration (normalised chest excursion)"),
}


def _j_peaks(force: np.ndarray, r_peak: np.ndarray, *, fs: float) -> np.ndarray:
    """J wave: the force maximum 0.10–0.45 s after each R peak (parabolic sub-sample)."""
    out = np.full(len(r_peak), np.nan)
    n = len(force)
    ok = np.isfinite(r_peak)
    lo = np.full(len(r_peak), -1, dtype=np.int64)
    hi = np.full(len(r_peak), -1, dtype=np.int64)
    lo[ok] = seconds_to_samples(r_peak[ok] + 0.10, fs=fs, rounding="ceil")
    hi[ok] = seconds_to_samples(r_peak[ok] + 0.45, fs=fs, rounding="floor")
    for k in range(len(r_peak)):
        if lo[k] < 1 or hi[k] >= n - 1 or hi[k] <= lo[k]:
            continue
        i = lo[k] + int(np.argmax(force[lo[k]:hi[k] + 1]))
        if i in (lo[k], hi[k]):  # a maximum on the window edge is not a J wave
            continue
        y0, y1, y2 = force[i - 1], force[i], force[i + 1]
        den = y0 - 2 * y1 + y2
        frac = 0.5 * (y0 - y2) / den if den != 0 else 0.0
        out[k] = (i + frac) / fs
    return out


def bcg_simulate(subject: SubjectProfile | None = None, *, duration: float, fs: float,
                 posture: str = "supine", config: SimConfig | None = None,
                 rng: np.random.Generator | int | None = None) -> xr.Dataset:
    """Simulate one synchronised ECG + fibre-optic BCG recording.

    Parameters
    ----------
    subject
        The sleeper (default: :class:`~sim.subject.SubjectProfile` defaults).
    duration
        Seconds, in (0, 48 h].
    fs
        Output sampling rate in Hz (keyword-only, no default); must divide ``daq.fs_daq``
        (1000 Hz by default: 100, 125, 200, 250, 500 or 1000 Hz).
    posture
        Initial posture: ``supine``, ``prone``, ``left`` or ``right``.
    config
        :class:`SimConfig`; defaults throughout.
    rng
        Seed or generator. An int seed is stored in the ``seed`` attr (−1 otherwise); each
        noise source draws from its own spawned child, so the same seed gives the same bytes.

    Returns
    -------
    xarray.Dataset
        ``ecg``, ``bcg``, ``force``, ``load``, ``p0``, ``p1``, ``p2``, ``resp`` on ``time``;
        fiducials on ``beat``; attrs ``fs``, ``subject_id``, ``posture``, ``seed``, ``source``,
        ``sim_config``, ``package_version``, ``events``.

    Examples
    --------
    >>> from sim.chain import bcg_simulate
    >>> ds = bcg_simulate(duration=10.0, fs=250.0, posture="prone", rng=0)
    >>> ds["bcg"].attrs["units"], ds.sizes["time"]
    ('V', 2500)
    """
    subject = subject if subject is not None else SubjectProfile()
    config = config if config is not None else SimConfig()
    if not isinstance(subject, SubjectProfile):
        raise TypeError(f"subject must be a SubjectProfile, got {type(subject).__name__}")
    if not isinstance(duration, (int, float)) or not (0 < duration <= MAX_DURATION) or \
            not math.isfinite(duration):
        raise ValueError(f"duration = {duration!r} s is out of range; allowed (0, {MAX_DURATION:g}] s")
    fs = check_fs(fs)
    if fs < 100:
        raise ValueError(f"fs = {fs:g} Hz is too low for the ECG/BCG band (0–40 Hz with "
                         f"margin); allowed [100, {config.daq.fs_daq:g}] Hz")
    if fs > config.daq.fs_daq:
        raise ValueError(f"fs = {fs:g} Hz exceeds the DAQ rate; allowed [100, "
                         f"{config.daq.fs_daq:g}] Hz (the simulator never upsamples)")
    if posture not in POSTURES:
        raise ConfigError(f"unknown posture {posture!r}; choose one of: {', '.join(POSTURES)}")
    q = _check_ratio(fs, config.daq.fs_daq)
    seed = int(rng) if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) else -1
    root = np.random.default_rng(rng)
    r_ecg, r_resp, r_events, r_noise, r_sv = root.spawn(5)

    # 1. ECG and cardiac timing at the output rate
    ecg_res = ecg_simulate(subject, duration=float(duration), fs=fs, rng=r_ecg,
                           method=config.ecg_method, noise=config.ecg_noise)
    n_out = len(ecg_res.ecg)
    fs_daq = config.daq.fs_daq
    n_daq = n_out * q
    r_all = ecg_res.wave_times("r_peak")
    qrs_on = ecg_res.wave_times("qrs_onset")
    rr = np.diff(np.append(r_all, ecg_res.phase_time(np.array([2 * np.pi * len(r_all)]))))
    rr_mean = 60.0 / subject.heart_rate
    sv = subject.stroke_volume * (rr / rr_mean) ** 0.3
    sv = sv * np.exp(r_sv.normal(0.0, config.sv_variability, size=len(sv)))
    onsets = qrs_on + subject.pep
    et = np.minimum(subject.ejection_time, 0.7 * rr)
    mean_flow = float(np.sum(sv) / max(r_all[-1] + rr[-1], 1e-9))

    # 2. respiration and disturbance events (whole record, cheap)
    breath_on, breath_amp = resp_simulate(duration=float(duration), rate=subject.resp_rate,
                                          rng=r_resp)
    events = disturbance_events(duration=float(duration), posture=posture,
                                config=config.disturbances, rng=r_events)
    schedule = posture_schedule(events, posture)

    # 3. sensor: mat and fibre lookup table over every radius the mat can produce
    mat, fiber = config.mat, config.fiber
    r_hi = float(mat_bend_radius(np.array(0.0), mat=mat)) * 1.01
    r_lo = float(mat_bend_radius(np.array(1e9), mat=mat)) * 0.99
    bent_length = mat_bent_length(fiber=fiber, mat=mat)
    table = transmission_table(fiber=fiber, bent_length=bent_length, r_min=r_lo, r_max=r_hi)

    # filters and their states
    sos_aa = aa_filter_sos(config.daq)
    zi_aa = None
    body_state: dict[str, np.ndarray] = {}
    hemo_state = None
    decim = Decimator(q, half_taps=config.daq.decimation_taps, channels=7)
    data = np.empty((7, n_out), dtype=np.float32)  # bcg, force, load, p0, p1, p2, resp
    n_done = 0

    def store(block: np.ndarray) -> None:
        nonlocal n_done
        data[:, n_done:n_done + block.shape[1]] = block
        n_done += block.shape[1]

    n_clip = 0
    n_liftoff = 0
    chunk = max(int(round(config.chunk_duration * fs_daq)) // q * q, q)
    current_posture = posture
    for i0 in range(0, n_daq, chunk):
        i1 = min(i0 + chunk, n_daq)
        t = np.arange(i0, i1, dtype=np.float64) / fs_daq
        p0, p1, p2, hemo_state = aortic_pressures(
            t, onsets=onsets, stroke_volume=sv, ejection_time=et, pwv=subject.pwv, fs=fs_daq,
            config=config.hemo, mean_flow=mean_flow, state=hemo_state)
        force = kim_force(p0, p1, p2, area_asc=subject.area_asc, area_desc=subject.area_desc)
        resp = resp_waveform(t, onsets=breath_on, amps=breath_amp)
        driven = force * (1.0 + config.body.resp_am_depth * resp)
        # posture segments inside this chunk
        dyn = np.empty_like(t)
        stat = np.empty_like(t)
        bounds = [i0] + [int(math.ceil(ts * fs_daq)) for ts, _ in schedule[1:]
                         if i0 < ts * fs_daq < i1] + [i1]
        for a, b in zip(bounds[:-1], bounds[1:]):
            for ts, name in schedule:
                if ts * fs_daq <= a:
                    current_posture = name
            spec = config.body.posture(current_posture)
            bb, ab = body_filter_coefficients(spec, fs=fs_daq)
            zi = body_state.get(current_posture)
            if zi is None:
                zi = scipy.signal.lfilter_zi(bb, ab) * 0.0
            seg = slice(a - i0, b - i0)
            dyn[seg], body_state[current_posture] = scipy.signal.lfilter(
                bb, ab, spec.coupling * driven[seg], zi=zi)
            stat[seg] = static_load(weight=subject.weight, posture=current_posture,
                                    config=config.body)
        load = stat * (1.0 + config.body.resp_load_fraction * resp) + dyn
        load = load + disturbance_load(t, events=events, config=config.disturbances)
        # the sensor only feels compression: a body lifted off it loads it with 0 N
        n_liftoff += int(np.count_nonzero(load < 0))
        contact = np.maximum(load, 0.0)
        radius = mat_bend_radius(contact, mat=mat)
        power = table.output_power(radius)
        v = photodetector_voltage(power, config=config.detector, fs=fs_daq, rng=r_noise)
        if zi_aa is None:
            zi_aa = scipy.signal.sosfilt_zi(sos_aa) * v[0]
        v, zi_aa = scipy.signal.sosfilt(sos_aa, v, zi=zi_aa)
        v, clipped = adc_quantize(v, config=config.daq)
        n_clip += clipped
        store(decim.push(np.stack([v, force, load, p0, p1, p2, resp])))
    store(decim.finish())
    if n_done != n_out:
        raise RuntimeError(f"internal: decimator produced {n_done} samples, expected {n_out}")
    if n_clip:
        log.warning("ADC saturated on %d of %d samples (%.2f %%); check detector gain",
                    n_clip, n_daq, 100.0 * n_clip / n_daq)
    bcg, force_o, load_o, p0_o, p1_o, p2_o, resp_o = data

    fid = dict(ecg_res.fiducials)
    fid["j_peak"] = _j_peaks(force_o, fid["r_peak"], fs=fs)
    time = time_coord(n_out, fs=fs)
    ds = xr.Dataset(coords={"time": ("time", time, {"units": "s", "long_name": "time"})})
    arrays = {"ecg": ecg_res.ecg, "bcg": bcg, "force": force_o, "load": load_o, "p0": p0_o,
              "p1": p1_o, "p2": p2_o, "resp": resp_o}
    for name, arr in arrays.items():
        units, long_name = _VARS[name]
        ds[name] = xr.DataArray(arr.astype(np.float32, copy=False), dims=("time",),
                                attrs={"units": units, "long_name": long_name})
    for name in ("r_peak", "p_onset", "qrs_onset", "qrs_offset", "t_offset", "j_peak"):
        ds[name] = xr.DataArray(np.asarray(fid[name], dtype=np.float64), dims=("beat",),
                                attrs={"units": "s", "long_name": f"{name.replace('_', ' ')} time"})
    ds.attrs = {
        "fs": float(fs),
        "subject_id": subject.subject_id,
        "posture": posture,
        "seed": seed,
        "source": "sim",
        "sim_config": json.dumps({"subject": subject.to_dict(), "sim": config.to_dict(),
                                  "duration": float(duration), "fs": float(fs)}, sort_keys=True),
        "package_version": __version__,
        "events": json.dumps(events, sort_keys=True),
        "adc_clipped_samples": int(n_clip),
        "liftoff_samples": int(n_liftoff),
    }
    return ds
