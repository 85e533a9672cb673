"""Timing model of the edge pipeline: target profiles and a simpy model of the window queue.

The edge computer runs three stages on every 10-s window of BCG, in order
(:data:`STAGES`): ``filter`` → ``artefact`` (artefact removal) → ``reconstruct``
(Med2ECG). This module answers two questions without the target device at hand.

1. **What does a stage cost on the target?** A :class:`TargetProfile` is a per-stage cost
   model of one device, loaded from TOML (:func:`profile_load`; ``"rpi4"`` and ``"host"``
   ship in ``hil/profiles``). Each stage has either a multiplicative ``slowdown`` relative
   to a host measurement or an absolute ``ms_per_window``, plus a per-call ``overhead_ms``
   and a lognormal jitter ``cv``. :func:`predict_costs` maps host measurements to target
   costs; :func:`profile_calibrate` derives slowdowns as ``paper_ms / host_ms``.

2. **Does the pipeline keep up?** :func:`pipeline_simulate` queues windows from one or more
   beds on a shared pool of ``cores`` (a :class:`simpy.Resource`; a window holds one core
   for all its stages) and reports latency percentiles, real-time factor (RTF), load,
   utilisation, the longest queue and whether the backlog stays bounded.
   :func:`beds_supported` turns that into a bed count, analytically and checked by
   simulation.

Calibration, honestly
---------------------
The Raspberry Pi 4 profile is calibrated to the paper's per-window figures (filter
33.25 ms, artefact removal 23.36 ms, reconstruction 1342.10 ms, RTF 0.14; Med2ECG,
SenSys 2026). We cannot run the paper's code on the paper's Pi, so the slowdowns are
relative to **our** host measurements of **our** stages: ``slowdown = paper_ms / host_ms``.
The shipped ``rpi4.toml`` stores the paper's figures, the host numbers used (one host core,
ONNX Runtime, ``benchmarks/bench_model.py``) and the slowdowns derived from them; loading
checks that the three agree, so none of them can go stale alone. Fed those host numbers,
the profile reproduces the paper's figures by construction; fed new host numbers (a
changed model), it predicts Pi 4 cost under the assumption that each stage slows down by
the same factor.

Processes and clocks
--------------------
:func:`pipeline_bed` and :func:`pipeline_window` are plain simpy generator functions;
they run unchanged under :class:`simpy.Environment` and
:class:`simpy.rt.RealtimeEnvironment` (STYLE §15). All random draws are made before the
run, one child generator per stage (STYLE §6), so the result does not depend on the clock.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Generator, Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np
import simpy

__all__ = [
    "PAPER_SOURCE",
    "PROFILE_DIR",
    "STAGES",
    "BedCapacity",
    "Calibration",
    "StageCost",
    "TargetProfile",
    "TimingResult",
    "beds_supported",
    "pipeline_bed",
    "pipeline_simulate",
    "pipeline_window",
    "predict_costs",
    "profile_calibrate",
    "profile_from_dict",
    "profile_load",
]

#: The pipeline's stages, in processing order (one registry for profiles and reports).
STAGES: Final = ("filter", "artefact", "reconstruct")

#: Where the named profiles live (``profile_load("rpi4")`` reads ``PROFILE_DIR/rpi4.toml``).
PROFILE_DIR: Final = Path(__file__).resolve().parent / "profiles"

#: Source of the Raspberry Pi 4 figures the ``rpi4`` profile is calibrated to.
PAPER_SOURCE: Final = "Med2ECG, SenSys 2026, Raspberry Pi 4"

_MAX_CORES: Final = 256
_MAX_CV: Final = 2.0


# ----------------------------------------------------------------------- checks
def _number(where: str, value: Any, *, lo: float, hi: float = math.inf,
            lo_open: bool = False, integer: bool = False, units: str = "") -> float | int:
    left = "(" if lo_open else "["
    right = ")" if math.isinf(hi) else "]"
    allowed = (f"{'integer ' if integer else ''}{left}{lo:g}, {hi:g}{right}"
               f"{' ' + units if units else ''}")
    ok = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, ok):
        raise ValueError(f"{where} must be {'an integer' if integer else 'a number'}, got "
                         f"{type(value).__name__} {value!r}; allowed {allowed}")
    value = int(value) if integer else float(value)
    bad = not math.isfinite(value) or (value <= lo if lo_open else value < lo) or value > hi
    if bad:
        raise ValueError(f"{where} = {value!r} is out of range; allowed {allowed}")
    return value


def _keys(where: str, data: Mapping[str, Any], allowed: tuple[str, ...],
          required: tuple[str, ...] = ()) -> None:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where} must be a table, got {type(data).__name__}")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValueError(f"unknown key(s) in {where}: {', '.join(unknown)}; "
                         f"allowed keys: {', '.join(allowed)}")
    missing = [k for k in required if k not in data]
    if missing:
        raise ValueError(f"missing key(s) in {where}: {', '.join(missing)}")


def _stage_ms(where: str, values: Mapping[str, Any], *, lo_open: bool) -> dict[str, float]:
    _keys(where, values, STAGES, STAGES)
    return {s: _number(f"{where}.{s}", values[s], lo=0.0, lo_open=lo_open, units="ms")
            for s in STAGES}


# ---------------------------------------------------------------------- profile
@dataclasses.dataclass(frozen=True, kw_only=True)
class StageCost:
    """Cost model of one stage on a target.

    Exactly one of ``slowdown`` (target ms = ``slowdown * host ms``) and ``ms_per_window``
    (absolute target ms per window) is set. ``overhead_ms`` is added per call (per window).
    ``cv`` is the coefficient of variation of the lognormal per-window jitter (0 = none).

    Examples
    --------
    >>> StageCost(slowdown=40.0, overhead_ms=1.0).predict_ms(0.5)
    21.0
    >>> StageCost(slowdown=40.0, ms_per_window=3.0)
    Traceback (most recent call last):
    ...
    ValueError: StageCost: set exactly one of slowdown and ms_per_window
    """

    slowdown: float | None = None
    ms_per_window: float | None = None
    overhead_ms: float = 0.0
    cv: float = 0.0

    def __post_init__(self) -> None:
        if (self.slowdown is None) == (self.ms_per_window is None):
            raise ValueError("StageCost: set exactly one of slowdown and ms_per_window")
        if self.slowdown is not None:
            object.__setattr__(self, "slowdown", _number(
                "StageCost.slowdown", self.slowdown, lo=0.0, lo_open=True, units="x host"))
        if self.ms_per_window is not None:
            object.__setattr__(self, "ms_per_window", _number(
                "StageCost.ms_per_window", self.ms_per_window, lo=0.0, units="ms"))
        object.__setattr__(self, "overhead_ms", _number(
            "StageCost.overhead_ms", self.overhead_ms, lo=0.0, units="ms"))
        object.__setattr__(self, "cv", _number("StageCost.cv", self.cv, lo=0.0, hi=_MAX_CV))

    def predict_ms(self, host_ms: float | None) -> float:
        """Target ms per window given the host's ms (ignored for ``ms_per_window``)."""
        if self.ms_per_window is not None:
            return self.ms_per_window + self.overhead_ms
        if host_ms is None:
            raise ValueError("a slowdown stage needs a host measurement (ms per window)")
        return self.slowdown * _number("host_ms", host_ms, lo=0.0, units="ms") \
            + self.overhead_ms

    def to_dict(self) -> dict[str, float]:
        """Plain dict with the unset one of ``slowdown``/``ms_per_window`` left out."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Calibration:
    """What a profile was calibrated to, and from what.

    ``paper_ms`` are the target's per-stage ms per window as published (``paper_source``),
    ``paper_rtf`` its published RTF (checked against ``sum(paper_ms) / window_s`` to the
    two decimals papers round to). ``host_ms`` are the host measurements the slowdowns were
    derived from (``host_source`` says how and when they were taken).
    """

    paper_ms: dict[str, float]
    paper_rtf: float
    window_s: float
    paper_source: str
    host_ms: dict[str, float]
    host_source: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "paper_ms",
                           _stage_ms("calibration.paper_ms", self.paper_ms, lo_open=False))
        object.__setattr__(self, "host_ms",
                           _stage_ms("calibration.host_ms", self.host_ms, lo_open=True))
        object.__setattr__(self, "window_s", _number(
            "calibration.window_s", self.window_s, lo=0.0, lo_open=True, units="s"))
        object.__setattr__(self, "paper_rtf", _number(
            "calibration.paper_rtf", self.paper_rtf, lo=0.0))
        rtf = sum(self.paper_ms.values()) / 1e3 / self.window_s
        if abs(rtf - self.paper_rtf) > 0.005 + 1e-12:
            raise ValueError(f"calibration.paper_rtf = {self.paper_rtf} disagrees with "
                             f"sum(paper_ms) / window_s = {rtf:.4f}; allowed |diff| <= 0.005")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TargetProfile:
    """Per-stage cost model of one target device.

    ``cores`` is how many windows the target processes at once at the per-window costs
    given (not necessarily its core count: see the profiles' comments). ``calibration``,
    when present, must be reproduced by the stages: predicting from ``calibration.host_ms``
    gives ``calibration.paper_ms`` to rtol 1e-9, else ``ValueError``.
    """

    name: str
    description: str
    cores: int
    filter: StageCost
    artefact: StageCost
    reconstruct: StageCost
    calibration: Calibration | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "cores", _number(
            "TargetProfile.cores", self.cores, lo=1, hi=_MAX_CORES, integer=True,
            units="windows in parallel"))
        for s in STAGES:
            if not isinstance(getattr(self, s), StageCost):
                raise ValueError(f"TargetProfile.{s} must be a StageCost")
        cal = self.calibration
        if cal is not None:
            got = predict_costs(cal.host_ms, self)
            for s in STAGES:
                if not math.isclose(got[s], cal.paper_ms[s], rel_tol=1e-9, abs_tol=1e-12):
                    raise ValueError(
                        f"profile {self.name!r}: stage {s!r} predicts {got[s]!r} ms from "
                        f"calibration.host_ms but calibration.paper_ms is "
                        f"{cal.paper_ms[s]!r} ms (stale slowdown? recompute with "
                        f"profile_calibrate); allowed rtol 1e-9")

    @property
    def stages(self) -> dict[str, StageCost]:
        """Stage name → :class:`StageCost`, in :data:`STAGES` order."""
        return {s: getattr(self, s) for s in STAGES}

    @property
    def cv(self) -> dict[str, float]:
        """Stage name → jitter cv, ready for :func:`pipeline_simulate`."""
        return {s: c.cv for s, c in self.stages.items()}

    def to_dict(self) -> dict[str, Any]:
        """Plain dict in the TOML layout (inverse of :func:`profile_from_dict`)."""
        out: dict[str, Any] = {"name": self.name, "description": self.description,
                               "cores": self.cores,
                               "stages": {s: c.to_dict() for s, c in self.stages.items()}}
        if self.calibration is not None:
            out["calibration"] = self.calibration.to_dict()
        return out


_TOP_KEYS: Final = ("name", "description", "cores", "stages", "calibration")
_STAGE_KEYS: Final = ("slowdown", "ms_per_window", "overhead_ms", "cv")
_CAL_KEYS: Final = ("paper_ms", "paper_rtf", "window_s", "paper_source", "host_ms",
                    "host_source")


def profile_from_dict(data: Mapping[str, Any]) -> TargetProfile:
    """Build a :class:`TargetProfile` from the TOML layout; unknown keys raise ``ValueError``.

    Examples
    --------
    >>> p = profile_from_dict({"name": "x", "description": "d", "cores": 2, "stages": {
    ...     s: {"slowdown": 2.0} for s in STAGES}})
    >>> predict_costs({"filter": 1.0, "artefact": 1.0, "reconstruct": 5.0}, p)["reconstruct"]
    10.0
    >>> profile_from_dict({**p.to_dict(), "cpus": 4})
    Traceback (most recent call last):
    ...
    ValueError: unknown key(s) in profile: cpus; allowed keys: name, description, cores, \
stages, calibration
    """
    _keys("profile", data, _TOP_KEYS, ("name", "description", "cores", "stages"))
    _keys("profile.stages", data["stages"], STAGES, STAGES)
    stages = {}
    for s in STAGES:
        _keys(f"profile.stages.{s}", data["stages"][s], _STAGE_KEYS)
        stages[s] = StageCost(**data["stages"][s])
    cal = data.get("calibration")
    if cal is not None:
        _keys("profile.calibration", cal, _CAL_KEYS, _CAL_KEYS)
        cal = Calibration(**cal)
    for key in ("name", "description"):
        if not isinstance(data[key], str) or not data[key]:
            raise ValueError(f"profile.{key} must be a non-empty string")
    return TargetProfile(name=data["name"], description=data["description"],
                         cores=data["cores"], calibration=cal, **stages)


def profile_load(path_or_name: str | Path) -> TargetProfile:
    """Load a profile from a TOML file, or by name (``"rpi4"``, ``"host"``) from
    :data:`PROFILE_DIR`.

    Examples
    --------
    >>> p = profile_load("rpi4")
    >>> p.calibration.paper_source
    'Med2ECG, SenSys 2026, Raspberry Pi 4'
    """
    p = Path(path_or_name)
    if isinstance(path_or_name, str) and p.suffix != ".toml" and len(p.parts) == 1:
        known = sorted(f.stem for f in PROFILE_DIR.glob("*.toml"))
        if path_or_name not in known:
            raise ValueError(f"unknown profile name {path_or_name!r}; allowed names: "
                             f"{', '.join(known)} (or a path to a .toml file)")
        p = PROFILE_DIR / f"{path_or_name}.toml"
    with p.open("rb") as f:
        data = tomllib.load(f)
    return profile_from_dict(data)


def predict_costs(host_ms: Mapping[str, float], profile: TargetProfile) -> dict[str, float]:
    """Predicted per-stage ms per window on the profile's target.

    ``host_ms`` maps stage → host ms per window; stages with an absolute ``ms_per_window``
    may be left out. Unknown stage names raise ``ValueError``.
    """
    _keys("host_ms", host_ms, STAGES)
    out = {}
    for s, cost in profile.stages.items():
        if cost.slowdown is not None and s not in host_ms:
            raise ValueError(f"host_ms lacks stage {s!r}, which the profile {profile.name!r} "
                             f"scales by slowdown {cost.slowdown:g}")
        out[s] = cost.predict_ms(host_ms.get(s))
    return out


def profile_calibrate(host_costs_ms: Mapping[str, float], paper_ms: Mapping[str, float], *,
                      base: TargetProfile | None = None, paper_rtf: float | None = None,
                      window_s: float = 10.0, paper_source: str = PAPER_SOURCE,
                      host_source: str = "host measurement") -> TargetProfile:
    """Profile whose per-stage slowdowns reproduce ``paper_ms`` from ``host_costs_ms``.

    ``slowdown_s = paper_ms_s / host_costs_ms_s`` with zero overhead: a statement about
    **our** stages measured on **our** host, scaled to the paper's target figures. Name,
    description, cores and jitter cv come from ``base`` (default: 1 core, no jitter);
    ``paper_rtf`` defaults to ``sum(paper_ms) / window_s``.

    Examples
    --------
    >>> p = profile_calibrate({"filter": 1.0, "artefact": 2.0, "reconstruct": 10.0},
    ...                       {"filter": 30.0, "artefact": 20.0, "reconstruct": 1000.0})
    >>> p.filter.slowdown, p.artefact.slowdown, p.reconstruct.slowdown
    (30.0, 10.0, 100.0)
    """
    host = _stage_ms("host_costs_ms", host_costs_ms, lo_open=True)
    paper = _stage_ms("paper_ms", paper_ms, lo_open=False)
    rtf = sum(paper.values()) / 1e3 / window_s if paper_rtf is None else paper_rtf
    cal = Calibration(paper_ms=paper, paper_rtf=rtf, window_s=window_s,
                      paper_source=paper_source, host_ms=host, host_source=host_source)
    cvs = base.cv if base is not None else dict.fromkeys(STAGES, 0.0)
    stages = {s: StageCost(slowdown=paper[s] / host[s], cv=cvs[s]) for s in STAGES}
    return TargetProfile(
        name=base.name if base is not None else "calibrated",
        description=base.description if base is not None else
        f"slowdowns = paper_ms / host_ms ({paper_source}; host: {host_source})",
        cores=base.cores if base is not None else 1, calibration=cal, **stages)


# ------------------------------------------------------------------- simulation
@dataclasses.dataclass(frozen=True, eq=False)
class TimingResult:
    """Outcome of :func:`pipeline_simulate`, one row per window in order of readiness.

    Times are simulated seconds from the start of the run. ``stage_s`` has shape
    ``(n_windows, n_stages)`` with columns in ``stages`` order. A window is *ready* when its
    last sample has arrived (``t_ready``), *starts* when it gets a core and is *done* when
    its last stage ends.
    """

    stages: tuple[str, ...]
    window_s: float
    beds: int
    cores: int
    bed: np.ndarray
    t_ready: np.ndarray
    t_start: np.ndarray
    t_done: np.ndarray
    stage_s: np.ndarray
    max_queue: int

    @property
    def n_windows(self) -> int:
        return len(self.t_ready)

    @property
    def latency_s(self) -> np.ndarray:
        """Completion time minus window end time, shape ``(n_windows,)``."""
        return self.t_done - self.t_ready

    @property
    def wait_s(self) -> np.ndarray:
        """Time queued for a core, shape ``(n_windows,)``."""
        return self.t_start - self.t_ready

    @property
    def proc_s(self) -> np.ndarray:
        """Processing time (sum over stages), shape ``(n_windows,)``."""
        return self.stage_s.sum(axis=1)

    def latency_percentile_s(self, q: float) -> float:
        return float(np.percentile(self.latency_s, q))

    @property
    def latency_p50_s(self) -> float:
        return self.latency_percentile_s(50)

    @property
    def latency_p95_s(self) -> float:
        return self.latency_percentile_s(95)

    @property
    def latency_p99_s(self) -> float:
        return self.latency_percentile_s(99)

    @property
    def rtf(self) -> float:
        """Real-time factor: mean processing time per window / ``window_s``."""
        return float(self.proc_s.mean() / self.window_s)

    @property
    def load(self) -> float:
        """Offered load per core, ``rtf * beds / cores``; at or above 1 no queue is stable."""
        return self.rtf * self.beds / self.cores

    @property
    def utilisation(self) -> float:
        """Busy core-time / (``cores`` × time from the start to the last completion)."""
        return float(self.proc_s.sum() / (self.cores * self.t_done.max()))

    @property
    def keeps_up(self) -> bool:
        """No growing backlog: ``load < 1`` and the mean latency of the last quarter of the
        windows exceeds that of the first quarter by less than one mean processing time."""
        q = max(1, self.n_windows // 4)
        lat = self.latency_s
        growth = lat[-q:].mean() - lat[:q].mean()
        return bool(self.load < 1.0 and growth < self.proc_s.mean())

    def summary(self) -> dict[str, Any]:
        """Plain-number report (JSON-ready); per-stage means in ms."""
        return {
            "windows": self.n_windows, "beds": self.beds, "cores": self.cores,
            "window_s": self.window_s,
            "latency_p50_s": self.latency_p50_s, "latency_p95_s": self.latency_p95_s,
            "latency_p99_s": self.latency_p99_s, "rtf": self.rtf, "load": self.load,
            "utilisation": self.utilisation, "max_queue": self.max_queue,
            "keeps_up": self.keeps_up,
            "stage_mean_ms": {s: float(m) * 1e3
                              for s, m in zip(self.stages, self.stage_s.mean(axis=0))},
        }


def _lognormal(rng: np.random.Generator, mean: float, cv: float,
               size: tuple[int, ...]) -> np.ndarray:
    """Lognormal draws with the given mean and coefficient of variation (cv=0: constant)."""
    if cv == 0.0 or mean == 0.0:
        return np.full(size, mean)
    sigma2 = math.log1p(cv * cv)
    return rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2), size)


def pipeline_window(env: simpy.Environment, cores: simpy.Resource, stage_s: np.ndarray,
                    record: dict[str, float], queue: dict[str, int],
                    ) -> Generator[simpy.Event, Any, None]:
    """Process one ready window: wait for a core, run the stages, release the core.

    ``stage_s`` has shape ``(n_stages,)`` (seconds, drawn beforehand). Writes ``t_start``
    and ``t_done`` into ``record``; raises ``queue["max"]`` to the number of windows
    waiting for a core when this one asks for it.
    """
    with cores.request() as req:
        queue["max"] = max(queue["max"], len(cores.queue))
        yield req
        record["t_start"] = env.now
        for dt in stage_s:
            yield env.timeout(float(dt))
        record["t_done"] = env.now


def pipeline_bed(env: simpy.Environment, cores: simpy.Resource, *, offset_s: float,
                 window_s: float, stage_s: np.ndarray, records: list[dict[str, float]],
                 queue: dict[str, int]) -> Generator[simpy.Event, Any, None]:
    """One bed: the k-th window ends at ``offset_s + (k + 1) * window_s`` after the start
    and goes to :func:`pipeline_window` then. ``stage_s`` has shape
    ``(n_windows, n_stages)``; one record per window is appended to ``records``. The
    process ends when all its windows are done."""
    t0 = env.now
    jobs = []
    for k, costs in enumerate(stage_s):
        yield env.timeout(max(0.0, t0 + offset_s + (k + 1) * window_s - env.now))
        rec = {"t_ready": env.now}
        records.append(rec)
        jobs.append(env.process(pipeline_window(env, cores, costs, rec, queue)))
    yield env.all_of(jobs)


def _cv_map(cv: float | Mapping[str, float], stages: tuple[str, ...]) -> dict[str, float]:
    if isinstance(cv, Mapping):
        _keys("cv", cv, stages, stages)
        return {s: _number(f"cv.{s}", cv[s], lo=0.0, hi=_MAX_CV) for s in stages}
    v = _number("cv", cv, lo=0.0, hi=_MAX_CV)
    return dict.fromkeys(stages, v)


def pipeline_simulate(*, fs: float, window_s: float, duration_s: float,
                      stage_ms: Mapping[str, float], cv: float | Mapping[str, float],
                      beds: int = 1, cores: int = 1,
                      rng: np.random.Generator | int | None,
                      env: simpy.Environment | None = None) -> TimingResult:
    """Simulate windows from ``beds`` beds flowing through the stages on ``cores`` cores.

    Each bed records for ``duration_s`` and cuts windows of ``window_s``
    (``round(window_s * fs)`` samples; ``window_s * fs`` must be a whole number); bed ``b``
    starts ``b * window_s / beds`` after bed 0, so the beds are staggered uniformly. Every
    window takes one core from a shared :class:`simpy.Resource` and runs the stages in
    order on it. A stage's cost per window is lognormal with mean ``stage_ms`` and
    coefficient of variation ``cv`` (one number or one per stage; 0 = deterministic),
    drawn before the run from one child of ``rng`` per stage.

    ``env`` defaults to a new :class:`simpy.Environment`; pass a
    :class:`simpy.rt.RealtimeEnvironment` to pace the run by the wall clock (the results
    are the same). Recording starts at ``env.now``; the run stops when the last window is
    done, so other processes in ``env`` may keep running.

    Examples
    --------
    >>> r = pipeline_simulate(fs=250.0, window_s=10.0, duration_s=60.0, cv=0.0, rng=0,
    ...                       stage_ms={"filter": 33.25, "artefact": 23.36,
    ...                                 "reconstruct": 1342.10})
    >>> r.n_windows, round(r.rtf, 6), round(r.latency_p50_s, 5), r.keeps_up
    (6, 0.139871, 1.39871, True)
    """
    fs = _number("fs", fs, lo=0.0, lo_open=True, units="Hz")
    window_s = _number("window_s", window_s, lo=0.0, lo_open=True, units="s")
    duration_s = _number("duration_s", duration_s, lo=window_s, units="s (at least window_s)")
    beds = _number("beds", beds, lo=1, integer=True)
    cores = _number("cores", cores, lo=1, integer=True)
    n_samples = window_s * fs
    if abs(n_samples - round(n_samples)) > 1e-9 * max(1.0, n_samples):
        raise ValueError(f"window_s * fs = {window_s} * {fs} = {n_samples} samples is not a "
                         f"whole number; allowed: window_s a multiple of 1/fs")
    if not isinstance(stage_ms, Mapping) or not stage_ms:
        raise ValueError("stage_ms must map at least one stage name to ms per window")
    stages = tuple(stage_ms)
    mean_s = {s: _number(f"stage_ms.{s}", stage_ms[s], lo=0.0, units="ms") / 1e3
              for s in stages}
    cvs = _cv_map(cv, stages)
    n_win = math.floor(duration_s / window_s * (1 + 1e-12))

    children = np.random.default_rng(rng).spawn(len(stages))
    draws = np.stack([_lognormal(g, mean_s[s], cvs[s], (beds, n_win))
                      for g, s in zip(children, stages)], axis=-1)  # (beds, n_win, stages)

    env = simpy.Environment() if env is None else env
    t0 = env.now
    pool = simpy.Resource(env, capacity=cores)
    queue = {"max": 0}
    per_bed: list[list[dict[str, float]]] = [[] for _ in range(beds)]
    procs = [env.process(pipeline_bed(env, pool, offset_s=b * window_s / beds,
                                      window_s=window_s, stage_s=draws[b],
                                      records=per_bed[b], queue=queue))
             for b in range(beds)]
    env.run(until=env.all_of(procs))

    rows = [(rec["t_ready"] - t0, b, k, rec["t_start"] - t0, rec["t_done"] - t0)
            for b in range(beds) for k, rec in enumerate(per_bed[b])]
    rows.sort()
    bed = np.array([r[1] for r in rows], dtype=np.int64)
    win = np.array([r[2] for r in rows], dtype=np.int64)
    return TimingResult(
        stages=stages, window_s=window_s, beds=beds, cores=cores, bed=bed,
        t_ready=np.array([r[0] for r in rows]), t_start=np.array([r[3] for r in rows]),
        t_done=np.array([r[4] for r in rows]), stage_s=draws[bed, win],
        max_queue=int(queue["max"]))


# ----------------------------------------------------------------- bed capacity
@dataclasses.dataclass(frozen=True, eq=False)
class BedCapacity:
    """How many beds one target serves (see :func:`beds_supported`).

    ``beds``: analytic count at the target utilisation, ``floor(target_util * cores *
    window_s / sum(stage_s))``. ``beds_max``: analytic count with load strictly below 1.
    ``at_beds`` and ``beyond`` are simulations at ``beds`` and at ``beds_max + 1`` (None
    when ``beds`` is 0). ``consistent``: the simulation keeps up at ``beds`` and does not
    at ``beds_max + 1``.
    """

    beds: int
    beds_max: int
    target_util: float
    at_beds: TimingResult | None
    beyond: TimingResult

    @property
    def consistent(self) -> bool:
        ok_at = self.at_beds is None or self.at_beds.keeps_up
        return bool(ok_at and not self.beyond.keeps_up)


def beds_supported(stage_ms: Mapping[str, float], *, fs: float, window_s: float, cores: int,
                   target_util: float = 0.8, cv: float | Mapping[str, float] = 0.0,
                   duration_s: float | None = None,
                   rng: np.random.Generator | int | None = None) -> BedCapacity:
    """Beds one target serves with per-window stage costs ``stage_ms``, and a simulation check.

    ``duration_s`` defaults to 60 windows per bed. With ``cv > 0`` the check uses one
    random draw (``rng``).

    Examples
    --------
    >>> cap = beds_supported({"filter": 33.25, "artefact": 23.36, "reconstruct": 1342.10},
    ...                      fs=250.0, window_s=10.0, cores=1)
    >>> cap.beds, cap.beds_max, cap.consistent
    (5, 7, True)
    """
    target_util = _number("target_util", target_util, lo=0.0, hi=1.0, lo_open=True)
    cores = _number("cores", cores, lo=1, integer=True)
    window_s = _number("window_s", window_s, lo=0.0, lo_open=True, units="s")
    total_s = sum(_number(f"stage_ms.{s}", v, lo=0.0, units="ms")
                  for s, v in stage_ms.items()) / 1e3
    if total_s <= 0.0:
        raise ValueError("stage_ms sums to 0 ms: any number of beds is supported")
    capacity = cores * window_s / total_s  # beds at load 1
    beds = math.floor(target_util * capacity * (1 + 1e-12))
    beds_max = int(math.ceil(capacity) - 1)
    duration_s = 60 * window_s if duration_s is None else duration_s
    children = np.random.default_rng(rng).spawn(2)

    def sim(n: int, g: np.random.Generator) -> TimingResult:
        return pipeline_simulate(fs=fs, window_s=window_s, duration_s=duration_s,
                                 stage_ms=stage_ms, cv=cv, beds=n, cores=cores, rng=g)

    return BedCapacity(beds=beds, beds_max=beds_max, target_util=target_util,
                       at_beds=sim(beds, children[0]) if beds >= 1 else None,
                       beyond=sim(beds_max + 1, children[1]))
