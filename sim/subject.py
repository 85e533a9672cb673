"""Subject profiles: anthropometry, cardiac and respiratory parameters, aortic geometry, pathology.

A :class:`SubjectProfile` is a frozen, validated config; :func:`subject_draw` draws one from the
cohort distribution with an explicit ``rng``. Every number that later stages use lives here, so
a recording's ``sim_config`` attr is enough to regenerate it.

Defaults and ranges (see DESIGN §4 and NOTES §1):

* PWV rises with age: 4.5 m/s at 25 y to ≈6.8 m/s at 65 y (Doppler aortic PWV by decade).
* Aortic areas from CMR normals (Davis 2014): ascending 5.6 cm² (men) / 5.1 cm² (women),
  proximal descending 3.3 / 2.8 cm², scaled by body surface area.
* Left-ventricular ejection time from Weissler's regression LVET ≈ 0.413 − 0.0017·HR s.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from ._config import Config, ConfigError, param

__all__ = ["SubjectProfile", "PATHOLOGIES", "SEXES", "subject_draw", "cohort_draw", "ECGSYN_DEFAULT"]

SEXES = ("female", "male")

#: ecgsyn default extrema (McSharry 2003): angles in degrees, amplitudes, widths in radians,
#: for the P, Q, R, S and T waves.
ECGSYN_DEFAULT = {
    "ti": (-70.0, -15.0, 0.0, 15.0, 100.0),
    "ai": (1.2, -5.0, 30.0, -7.5, 0.75),
    "bi": (0.25, 0.1, 0.1, 0.1, 0.4),
}

#: Registry of pathologies: the heart-rate range they imply and how they alter ecgsyn's
#: extrema. One registry feeds both the draw and the error message.
PATHOLOGIES: dict[str, dict[str, Any]] = {
    "normal": {"hr": (50.0, 95.0), "doc": "sinus rhythm"},
    "tachycardia": {"hr": (100.0, 150.0), "doc": "sinus tachycardia, HR 100–150 bpm"},
    "bradycardia": {"hr": (38.0, 55.0), "doc": "sinus bradycardia, HR 38–55 bpm"},
    "widened_qrs": {"hr": (50.0, 95.0), "qrs_width": (1.6, 2.2),
                    "doc": "widened QRS (bundle-branch-block-like): Q/R/S widths ×1.6–2.2"},
    "elevated_t": {"hr": (50.0, 95.0), "t_amp": (2.0, 3.0), "doc": "peaked/elevated T: ×2–3"},
    "inverted_t": {"hr": (50.0, 95.0), "t_amp": (-1.5, -0.6), "doc": "inverted T: ×−0.6…−1.5"},
    "irregular_rr": {"hr": (60.0, 110.0), "rr_irregularity": (0.12, 0.25),
                     "doc": "irregular RR (AF-like): beat-to-beat RR CV 12–25 %"},
}


@dataclasses.dataclass(frozen=True)
class SubjectProfile(Config):
    """One simulated subject. All quantities SI except the customary bpm and breaths/min."""

    subject_id: str = param("S000", units="", doc="subject identifier")
    age: float = param(40.0, units="y", lo=18, hi=95, doc="age")
    sex: str = param("male", choices=SEXES, doc="sex")
    weight: float = param(75.0, units="kg", lo=30, hi=250, doc="body mass")
    height: float = param(1.75, units="m", lo=1.2, hi=2.3, doc="body height")
    heart_rate: float = param(65.0, units="bpm", lo=30, hi=220, doc="mean heart rate")
    hr_std: float = param(1.5, units="bpm", lo=0, hi=20, doc="heart-rate standard deviation (HRV)")
    lf_hf_ratio: float = param(0.5, units="1", lo=0.05, hi=10, doc="LF/HF ratio of the RR process")
    rr_irregularity: float = param(0.0, units="1", lo=0, hi=0.5,
                                   doc="extra beat-to-beat RR coefficient of variation (irregular RR)")
    resp_rate: float = param(14.0, units="1/min", lo=4, hi=60, doc="respiration rate")
    pwv: float = param(5.5, units="m/s", lo=2.5, hi=20, doc="aortic pulse-wave velocity")
    area_asc: float = param(5.6e-4, units="m^2", lo=1e-4, hi=2e-3, doc="ascending aorta area A_A")
    area_desc: float = param(3.3e-4, units="m^2", lo=0.5e-4, hi=1.5e-3,
                             doc="descending aorta area A_D")
    stroke_volume: float = param(70e-6, units="m^3", lo=20e-6, hi=150e-6, doc="stroke volume")
    pep: float = param(0.10, units="s", lo=0.03, hi=0.2,
                       doc="pre-ejection period: QRS onset → aortic valve opening")
    ejection_time: float = param(0.30, units="s", lo=0.12, hi=0.5, doc="LV ejection time")
    pathology: str = param("normal", choices=tuple(PATHOLOGIES), doc="pathology")
    ecg_ti: tuple = param(ECGSYN_DEFAULT["ti"], units="deg", lo=-180, hi=180,
                          doc="ecgsyn P,Q,R,S,T angles")
    ecg_ai: tuple = param(ECGSYN_DEFAULT["ai"], units="1", lo=-100, hi=100,
                          doc="ecgsyn P,Q,R,S,T amplitudes")
    ecg_bi: tuple = param(ECGSYN_DEFAULT["bi"], units="rad", lo=0.01, hi=1.5, lo_open=False,
                          doc="ecgsyn P,Q,R,S,T Gaussian widths")

    def validate(self) -> None:
        for name in ("ecg_ti", "ecg_ai", "ecg_bi"):
            if len(getattr(self, name)) != 5:
                raise ConfigError(f"SubjectProfile.{name} needs 5 values (P, Q, R, S, T), "
                                  f"got {len(getattr(self, name))}")
        cycle = 60.0 / self.heart_rate
        if self.pep + self.ejection_time >= 0.9 * cycle:
            raise ConfigError(
                f"PEP + ejection time = {self.pep + self.ejection_time:.3f} s does not fit in the "
                f"cardiac cycle at {self.heart_rate:g} bpm ({cycle:.3f} s); allowed < 90 % of it")
        if self.area_desc >= self.area_asc:
            raise ConfigError(f"area_desc ({self.area_desc:g} m^2) must be smaller than "
                              f"area_asc ({self.area_asc:g} m^2): the aorta tapers")

    @property
    def body_surface_area(self) -> float:
        """Mosteller BSA in m²."""
        return math.sqrt(self.height * 100.0 * self.weight / 3600.0)


def _truncnorm(rng: np.random.Generator, mean: float, sd: float, lo: float, hi: float) -> float:
    """One draw from a normal truncated to [lo, hi] by rejection (a distribution, not a clip)."""
    for _ in range(1000):
        x = rng.normal(mean, sd)
        if lo <= x <= hi:
            return float(x)
    raise RuntimeError(f"truncated normal N({mean}, {sd}) in [{lo}, {hi}] did not converge")


def subject_draw(rng: np.random.Generator | int | None = None, *, subject_id: str = "S000",
                 pathology: str = "normal", **overrides: Any) -> SubjectProfile:
    """Draw one subject from the cohort distribution.

    Parameters
    ----------
    rng
        Random generator or seed (normalised with ``np.random.default_rng``).
    subject_id
        Identifier stored in the profile.
    pathology
        One of :data:`PATHOLOGIES`.
    **overrides
        Named :class:`SubjectProfile` fields to fix instead of drawing (e.g. ``weight=90``);
        validated like any other field.

    Examples
    --------
    >>> from sim.subject import subject_draw
    >>> s = subject_draw(7, subject_id="S007", weight=90.0)
    >>> s.weight
    90.0
    """
    if pathology not in PATHOLOGIES:
        raise ConfigError(f"unknown pathology {pathology!r}; choose one of: "
                          f"{', '.join(PATHOLOGIES)}")
    known = {f.name for f in dataclasses.fields(SubjectProfile)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(f"unknown subject field(s): {', '.join(unknown)}")
    rng = np.random.default_rng(rng)
    spec = PATHOLOGIES[pathology]
    sex = SEXES[int(rng.integers(2))]
    age = float(rng.uniform(20.0, 75.0))
    h_mean, h_sd = (1.77, 0.07) if sex == "male" else (1.63, 0.065)
    height = _truncnorm(rng, h_mean, h_sd, 1.45, 2.05)
    bmi = _truncnorm(rng, 25.0, 4.0, 17.0, 40.0)
    weight = bmi * height**2
    hr_lo, hr_hi = spec["hr"]
    hr = _truncnorm(rng, 0.5 * (hr_lo + hr_hi), (hr_hi - hr_lo) / 4.0, hr_lo, hr_hi)
    hr_std = float(rng.uniform(0.5, 3.0))
    lf_hf = float(np.exp(rng.normal(np.log(0.8), 0.4)))
    resp_rate = _truncnorm(rng, 14.0, 2.5, 8.0, 22.0)
    pwv = _truncnorm(rng, 4.5 + 0.0575 * (age - 25.0), 0.4, 3.5, 12.0)
    bsa = math.sqrt(height * 100.0 * weight / 3600.0)
    base_a, base_d = (5.6e-4, 3.3e-4) if sex == "male" else (5.1e-4, 2.8e-4)
    scale = (bsa / 1.9) * (1.0 + 0.004 * (age - 45.0))  # aorta widens ~4 %/decade
    area_asc = base_a * scale * float(np.exp(rng.normal(0.0, 0.08)))
    area_desc = base_d * scale * float(np.exp(rng.normal(0.0, 0.08)))
    sv = _truncnorm(rng, 70e-6 * bsa / 1.9, 10e-6, 40e-6, 120e-6)
    pep = _truncnorm(rng, 0.105, 0.012, 0.08, 0.14)  # Q onset → aortic opening
    lvet = max(0.413 - 0.0017 * hr + rng.normal(0.0, 0.01), 0.16)
    ti = list(ECGSYN_DEFAULT["ti"])
    ai = list(ECGSYN_DEFAULT["ai"])
    bi = list(ECGSYN_DEFAULT["bi"])
    # small per-subject morphology variation (±5–10 %)
    ai = [a * float(np.exp(rng.normal(0.0, 0.07))) for a in ai]
    bi = [b * float(np.exp(rng.normal(0.0, 0.05))) for b in bi]
    rr_irr = 0.0
    if "qrs_width" in spec:
        f = float(rng.uniform(*spec["qrs_width"]))
        bi[1:4] = [b * f for b in bi[1:4]]
        ti[1], ti[3] = ti[1] * f, ti[3] * f
    if "t_amp" in spec:
        ai[4] *= float(rng.uniform(*spec["t_amp"]))
    if "rr_irregularity" in spec:
        rr_irr = float(rng.uniform(*spec["rr_irregularity"]))
    values = dict(
        subject_id=subject_id, age=age, sex=sex, weight=weight, height=height, heart_rate=hr,
        hr_std=hr_std, lf_hf_ratio=lf_hf, rr_irregularity=rr_irr, resp_rate=resp_rate, pwv=pwv,
        area_asc=area_asc, area_desc=area_desc, stroke_volume=sv, pep=pep, ejection_time=lvet,
        pathology=pathology, ecg_ti=tuple(ti), ecg_ai=tuple(ai), ecg_bi=tuple(bi))
    values.update(overrides)
    if "heart_rate" in overrides and "ejection_time" not in overrides:
        values["ejection_time"] = max(0.413 - 0.0017 * float(overrides["heart_rate"]), 0.16)
    return SubjectProfile.from_dict(values)


def cohort_draw(n: int, rng: np.random.Generator | int | None = None, *,
                pathologies: dict[str, float] | None = None, id_prefix: str = "S",
                **overrides: Any) -> list[SubjectProfile]:
    """Draw ``n`` independent subjects; each gets its own spawned child generator.

    ``pathologies`` maps pathology name → probability (default: all normal).
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"number of subjects must be an integer >= 1, got {n!r}")
    pathologies = pathologies or {"normal": 1.0}
    for name in pathologies:
        if name not in PATHOLOGIES:
            raise ConfigError(f"unknown pathology {name!r}; choose one of: {', '.join(PATHOLOGIES)}")
    probs = np.array(list(pathologies.values()), dtype=float)
    if np.any(probs < 0) or probs.sum() <= 0:
        raise ValueError("pathology probabilities must be >= 0 and sum to > 0")
    probs = probs / probs.sum()
    root = np.random.default_rng(rng)
    children = root.spawn(int(n))
    names = list(pathologies)
    out = []
    for i, child in enumerate(children):
        path = names[int(child.choice(len(names), p=probs))]
        out.append(subject_draw(child, subject_id=f"{id_prefix}{i:03d}", pathology=path,
                                **overrides))
    return out
