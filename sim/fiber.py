"""Multimode fibre under a mat: LP modes, Marcuse curvature loss, transmission and mat bending.

The sensing chain modelled here (DESIGN §4 "Fibre", NOTES §2), all in SI units:

1. A load ``F`` (N) presses a foam mat; the foam deflects by ``d`` (m) and the fibre,
   held at crossings a pitch ``Λ`` (m) apart, takes a sinusoidal shape whose peak curvature
   gives a bend radius ``R`` (m) (:func:`mat_deflection`, :func:`mat_bend_radius`).
2. The step-index multimode fibre guides LP_lm modes (weakly-guiding approximation), found by
   solving the LP characteristic equation (:func:`fiber_modes`).
3. Each mode loses power in the bend at Marcuse's rate ``2α_m(R)`` in 1/m
   (:func:`marcuse_loss`, Marcuse 1976, JOSA 66:216). This is a loss *per unit length*.
4. The optical transmission of the bent section of arc length ``L_bent`` (m) is the launch-
   weighted modal sum ``T(R) = Σ_m w_m exp(−2α_m(R) L_bent)`` (:func:`fiber_transmission`);
   weights include mode degeneracy and sum to 1. Without mode coupling (an assumption: modes
   are treated as independent over the bent section) ``T`` is non-decreasing in ``R``.
5. For long records, :func:`transmission_table` tabulates the exact sum on a log-radius grid
   and evaluates it with ``np.interp`` only.

Validity. Marcuse's formula is asymptotic: it assumes the radiation caustic
``x_c = R W² / (2 (n_clad k a)²)`` (distance from the fibre axis beyond which the bent
cladding's local index exceeds the mode index) lies far outside the core, ``x_c ≫ a``.
For low-order azimuthal modes it then *over*-estimates the loss where ``x_c`` nears ``a``,
because it linearises the tunnelling exponent ``(4/3)γ x_c (1 − a/x_c)^{3/2}`` to
``(4/3)γ x_c − 2γa``. For high azimuthal order ``l`` the factor ``1/(K_{l−1}K_{l+1})`` is
tiny, so with ``x_c < a`` (no tunnelling barrier at all) the formula keeps modes that a bend
that tight radiates away. In a thick multimode fibre this matters: at the default operating
point (R ≈ 31 mm) about 28 % of the launched power sits in modes with ``x_c < a``, and
below R ≈ 9 mm the pure formula leaves a spurious ≈ 9 % transmission floor. The config's
``bend_model`` chooses between the formula as published (``"marcuse1976"``, the default)
and the same formula with Gloge's (1972) geometric bend cutoff, which drops modes with
``x_c <= a`` (``"marcuse1976_gloge1972"``; see :data:`BEND_MODELS`). Either way, calibrate
against a measured curve (paper Fig. 6) before trusting absolute numbers.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import time
from collections.abc import Callable

import numpy as np
from scipy import special

from ._config import Config, ConfigError, param

__all__ = [
    "FiberConfig",
    "FiberModes",
    "MatConfig",
    "TransmissionTable",
    "BEND_MODELS",
    "LAUNCHES",
    "PROFILES",
    "V_MAX",
    "fiber_modes",
    "marcuse_loss",
    "gloge_cutoff_radius",
    "fiber_transmission",
    "fiber_output_power",
    "transmission_table",
    "mat_deflection",
    "mat_bend_radius",
    "mat_bent_length",
]

logger = logging.getLogger(__name__)

#: Refractive-index profiles understood by :func:`fiber_modes` (one registry: error + docs).
PROFILES = {"step": "step index: uniform core n_core, uniform cladding n_clad"}

#: Launch conditions: how the coupled power is shared between guided modes.
LAUNCHES = {
    "uniform": "equal power in every guided mode (overfilled launch); weight ∝ degeneracy",
    "gaussian": "low-order favoured: weight ∝ degeneracy · exp(−(U/V)² / (2·0.35²))",
}

#: Bend-loss models: how each guided mode's transmission through the bend is computed.
BEND_MODELS = {
    "marcuse1976": "Marcuse (1976) loss exp(−2α_m(R) L) for every guided mode, as published",
    "marcuse1976_gloge1972": (
        "Marcuse (1976) loss, and a mode is lost outright once its radiation caustic lies "
        "inside the core, R <= 2 (n_clad k a)² a / W² (Gloge 1972 bend cutoff)"),
}

#: Width of the ``"gaussian"`` launch in normalised transverse wavenumber U/V.
GAUSSIAN_LAUNCH_WIDTH = 0.35

#: Largest V number accepted: the mode count grows as V²/2 (V = 400 is ≈ 80 000 modes).
V_MAX = 400.0

#: log T floor used by the table: T below ≈ 1e-304 is stored as 1e-304 (zero to any use).
_LOG_T_FLOOR = -700.0


# ---------------------------------------------------------------------------------- configs
@dataclasses.dataclass(frozen=True)
class FiberConfig(Config):
    """Step-index multimode fibre, laser and launch. SI units throughout.

    Defaults describe a PDMS/polymer-like multimode fibre (250 µm core, NA ≈ 0.24, V ≈ 120
    at 1550 nm, ≈ 7 000 guided modes counting degeneracy), 7 m long, 1 mW laser.
    """

    core_diameter: float = param(250e-6, units="m", lo=1e-6, hi=5e-3, doc="core diameter 2a")
    cladding_diameter: float = param(500e-6, units="m", lo=1e-6, hi=1e-2,
                                     doc="cladding diameter")
    n_core: float = param(1.41, units="1", lo=1.0, hi=4.0, doc="core refractive index n1")
    n_clad: float = param(1.39, units="1", lo=1.0, hi=4.0, doc="cladding refractive index n2")
    profile: str = param("step", choices=tuple(PROFILES), doc="refractive-index profile")
    wavelength: float = param(1550e-9, units="m", lo=200e-9, hi=20e-6, doc="vacuum wavelength")
    length: float = param(7.0, units="m", lo=0.0, lo_open=True, hi=1e4, doc="fibre length")
    attenuation_db_per_m: float = param(0.5, units="dB/m", lo=0.0, hi=1e3,
                                        doc="material (straight-fibre) loss")
    launch: str = param("uniform", choices=tuple(LAUNCHES), doc="launch condition")
    laser_power: float = param(1e-3, units="W", lo=0.0, lo_open=True, hi=10.0,
                               doc="laser output power")
    coupling_efficiency: float = param(0.5, units="1", lo=0.0, lo_open=True, hi=1.0,
                                       doc="fraction of laser power coupled into guided modes")
    bend_model: str = param("marcuse1976", choices=tuple(BEND_MODELS),
                            doc="per-mode bend transmission model")

    def validate(self) -> None:
        if self.core_diameter >= self.cladding_diameter:
            raise ConfigError(
                f"FiberConfig: core diameter {self.core_diameter:g} m must be smaller than "
                f"cladding diameter {self.cladding_diameter:g} m"
            )
        if self.n_core <= self.n_clad:
            raise ConfigError(
                f"FiberConfig: n_core = {self.n_core:g} must exceed n_clad = {self.n_clad:g} "
                "for a guiding step-index fibre"
            )
        na2 = self.n_core**2 - self.n_clad**2
        if na2 >= 1.0:
            raise ConfigError(
                f"FiberConfig: numerical aperture sqrt(n_core² − n_clad²) = {math.sqrt(na2):g} "
                "must be < 1 (launch from air); lower n_core or raise n_clad"
            )
        v = self.v_number
        if v > V_MAX:
            raise ConfigError(
                f"FiberConfig: V number {v:.1f} is above {V_MAX:g} (≈ V²/2 = {v * v / 2:.0f} "
                f"modes to solve); allowed V in (0, {V_MAX:g}] — reduce core diameter or NA"
            )

    @property
    def numerical_aperture(self) -> float:
        """NA = sqrt(n_core² − n_clad²) (dimensionless)."""
        return math.sqrt(self.n_core**2 - self.n_clad**2)

    @property
    def core_radius(self) -> float:
        """Core radius a in m."""
        return 0.5 * self.core_diameter

    @property
    def wavenumber(self) -> float:
        """Vacuum wavenumber k = 2π/λ in rad/m."""
        return 2.0 * math.pi / self.wavelength

    @property
    def v_number(self) -> float:
        """Normalised frequency V = k a NA (dimensionless)."""
        return self.wavenumber * self.core_radius * self.numerical_aperture


@dataclasses.dataclass(frozen=True)
class MatConfig(Config):
    """Foam mat with the fibre pressed between crossings (microbend-style deformer).

    A load ``F`` spread over ``contact_area`` gives a pressure ``p = F / contact_area`` (Pa)
    that compresses a foam of thickness ``h`` and modulus ``E``; the fibre, held at crossings
    ``crossing_pitch`` apart, follows the deflection and bends.
    """

    area: float = param(0.15, units="m^2", lo=0.0, lo_open=True, hi=10.0,
                        doc="mat area (paper: 50 × 30 cm)")
    crossing_pitch: float = param(0.015, units="m", lo=0.0, lo_open=True, hi=1.0,
                                  doc="spacing Λ of fibre crossings (deformer period)")
    foam_modulus: float = param(20e3, units="Pa", lo=0.0, lo_open=True, hi=1e9,
                                doc="foam compressive modulus E")
    foam_thickness: float = param(5e-3, units="m", lo=0.0, lo_open=True, hi=0.5,
                                  doc="foam thickness h (deflection saturates at h)")
    preload_deflection: float = param(2e-5, units="m", lo=0.0, lo_open=True, hi=0.5,
                                      doc="deflection d0 at zero load (assembly preload)")
    contact_area: float = param(0.03, units="m^2", lo=0.0, lo_open=True, hi=10.0,
                                doc="area the load presses on")
    bend_duty: float = param(0.3, units="1", lo=0.0, lo_open=True, hi=1.0,
                             doc="fraction of loaded fibre length at peak curvature")

    def validate(self) -> None:
        if self.preload_deflection >= self.foam_thickness:
            raise ConfigError(
                f"MatConfig: preload_deflection {self.preload_deflection:g} m must be smaller "
                f"than foam_thickness {self.foam_thickness:g} m"
            )


# ------------------------------------------------------------------------------- LP modes
@dataclasses.dataclass(frozen=True, eq=False)
class FiberModes:
    """Guided LP_lm modes of a fibre; each field is a read-only array of shape ``(n_modes,)``.

    Attributes
    ----------
    l, m
        Azimuthal and radial mode numbers (int).
    u, w
        Normalised core/cladding transverse wavenumbers U = a κ, W = a γ, U² + W² = V².
    beta
        Propagation constant β in rad/m (n_clad k < β < n_core k).
    degeneracy
        2 for l = 0 (two polarisations), 4 otherwise (two orientations × two polarisations).
    weight
        Launch power fraction of the mode *including* its degeneracy; sums to 1.
    """

    l: np.ndarray
    m: np.ndarray
    u: np.ndarray
    w: np.ndarray
    beta: np.ndarray
    degeneracy: np.ndarray
    weight: np.ndarray

    def __len__(self) -> int:
        return int(self.l.size)

    @property
    def count(self) -> int:
        """Number of guided modes counting degeneracy (≈ V²/2 for a step-index fibre)."""
        return int(self.degeneracy.sum())


def _k_ratios(l: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Modified-Bessel ratios for per-element integer orders, without overflow.

    Returns ``(r_l, r_{l+1}, log K_l(w))`` with ``r_n = K_{n−1}(w) / K_n(w)`` and
    ``K_{−1} = K_1``. Uses the upward recurrence ``K_{n+1} = K_{n−1} + (2n/w) K_n``, i.e.
    ``r_{n+1} = 1 / (r_n + 2n/w)``, which is stable (K is the dominant solution upwards) and
    never forms ``K_n`` itself, so high orders at small ``w`` (where ``K_n`` overflows) work.
    """
    order = np.argsort(l, kind="stable")
    ls = l[order]
    ws = w[order]
    k0 = special.kve(0, ws)
    k1 = special.kve(1, ws)
    cur_r = k0 / k1  # r_1 for every element
    cur_log = np.log(k1) - ws  # log K_1
    lmax = int(ls[-1]) if ls.size else 0
    starts = np.searchsorted(ls, np.arange(lmax + 2), side="left")
    r_l = np.empty_like(ws)
    r_lp1 = np.empty_like(ws)
    log_k = np.empty_like(ws)
    n0 = starts[1]  # l == 0 elements: r_0 = K_1/K_0 = 1/r_1, r_1, log K_0
    r_l[:n0] = 1.0 / cur_r[:n0]
    r_lp1[:n0] = cur_r[:n0]
    log_k[:n0] = np.log(k0[:n0]) - ws[:n0]
    for k in range(1, lmax + 1):
        s, e = starts[k], starts[k + 1]  # cur_* hold r_k, log K_k for the suffix l >= k
        nxt = 1.0 / (cur_r[s:] + (2.0 * k) / ws[s:])  # r_{k+1}
        r_l[s:e] = cur_r[s:e]
        r_lp1[s:e] = nxt[: e - s]
        log_k[s:e] = cur_log[s:e]
        cur_log[s:] = cur_log[s:] - np.log(nxt)
        cur_r[s:] = nxt
    out = [np.empty_like(ws) for _ in range(3)]
    for dst, src in zip(out, (r_l, r_lp1, log_k)):
        dst[order] = src
    return out[0], out[1], out[2]


def _char_eq(u: np.ndarray, l: np.ndarray, v: float) -> np.ndarray:
    """Pole-free LP characteristic function ``U J_{l−1}(U) + W (K_{l−1}/K_l)(W) J_l(U)``.

    Its zeros are those of ``U J_{l−1}/J_l + W K_{l−1}/K_l`` (the LP eigenvalue equation
    multiplied by ``J_l``, which keeps one sign inside each bracket). At ``U = V`` (W = 0) the
    second term vanishes in the limit and is dropped.
    """
    w2 = v * v - u * u
    out = u * special.jv(l - 1, u)
    pos = w2 > 0
    if np.any(pos):
        w = np.sqrt(w2[pos])
        r_l, _, _ = _k_ratios(l[pos], w)
        out[pos] += w * r_l * special.jv(l[pos], u[pos])
    return out


def _bracket_solve(f: Callable[[np.ndarray, np.ndarray], np.ndarray], lo: np.ndarray,
                   hi: np.ndarray, *, xrtol: float = 4 * np.finfo(float).eps,
                   maxiter: int = 200) -> np.ndarray:
    """Vectorised Chandrupatla root finder (bisection / inverse quadratic interpolation).

    ``f(x, idx)`` evaluates the function for the elements ``idx``; each bracket ``[lo, hi]``
    must hold a sign change. Chandrupatla (1997, Adv. Eng. Softw. 28:145) picks inverse
    quadratic interpolation only where it is safe and bisection otherwise, so it converges
    for any continuous function and typically in ≈ 6–12 evaluations; converged elements
    drop out of later evaluations. Stops when the bracket is narrower than ``xrtol·|x|``.
    """
    x1 = np.array(lo, dtype=float)
    x2 = np.array(hi, dtype=float)
    n = x1.size
    all_idx = np.arange(n)
    f1 = f(x1, all_idx)
    f2 = f(x2, all_idx)
    if np.any(np.sign(f1) * np.sign(f2) > 0):
        bad = np.flatnonzero(np.sign(f1) * np.sign(f2) > 0)
        raise RuntimeError(f"internal: {bad.size} brackets without a sign change, e.g. "
                           f"[{x1[bad[0]]}, {x2[bad[0]]}]")
    root = np.where(f1 == 0, x1, x2)
    done = (f1 == 0) | (f2 == 0)
    x3 = x2.copy()
    f3 = f2.copy()
    t = np.full(n, 0.5)
    xatol = 4 * np.finfo(float).tiny
    for _ in range(maxiter):
        idx = np.flatnonzero(~done)
        if idx.size == 0:
            break
        a1, a2, b1, b2 = x1[idx], x2[idx], f1[idx], f2[idx]
        xt = a1 + t[idx] * (a2 - a1)
        ft = f(xt, idx)
        same = np.sign(ft) == np.sign(b1)  # keep (a2, b2) as the opposite-sign end
        a3 = np.where(same, a1, a2)
        b3 = np.where(same, b1, b2)
        a2 = np.where(same, a2, a1)
        b2 = np.where(same, b2, b1)
        a1, b1 = xt, ft
        small = np.abs(b1) < np.abs(b2)
        xm = np.where(small, a1, a2)
        fm = np.where(small, b1, b2)
        dx = np.abs(a2 - a1)
        tol = np.abs(xm) * xrtol + xatol
        stop = (fm == 0) | (dx < tol)
        with np.errstate(divide="ignore", invalid="ignore"):
            xi = (a1 - a2) / (a3 - a2)
            phi = (b1 - b2) / (b3 - b2)
            alpha = (a3 - a1) / (a2 - a1)
            iqi = ((1 - np.sqrt(1 - xi)) < phi) & (phi < np.sqrt(xi))
            tn = np.where(iqi, b1 / (b1 - b2) * b3 / (b3 - b2)
                          - alpha * b1 / (b3 - b1) * b2 / (b2 - b3), 0.5)
            tl = 0.5 * tol / dx
        tn = np.clip(np.where(np.isfinite(tn), tn, 0.5), tl, 1 - tl)
        x1[idx], x2[idx], x3[idx] = a1, a2, a3
        f1[idx], f2[idx], f3[idx] = b1, b2, b3
        t[idx] = tn
        root[idx[stop]] = xm[stop]
        done[idx[stop]] = True
    else:
        raise RuntimeError(f"internal: root finder did not converge in {maxiter} steps")
    return root


def _bessel_zeros_below(order_max: int, x_max: float) -> list[np.ndarray]:
    """Positive zeros of J_n below ``x_max`` for n = 0..order_max (empty arrays when none).

    J_0's zeros start from McMahon's expansion and are polished by Newton; each higher order
    uses interlacing, ``j_{n−1,m} < j_{n,m} < j_{n−1,m+1}``, bracketing J_n's zeros between
    consecutive zeros of J_{n−1} (and the last one between ``j_{n−1,K}`` and ``x_max``).
    """
    m = np.arange(1, int(x_max / math.pi) + 3, dtype=float)
    b = (m - 0.25) * math.pi
    z = b + 1.0 / (8 * b) - 124.0 / (3 * (8 * b) ** 3)  # McMahon, μ = 0
    for _ in range(8):
        z = z + special.j0(z) / special.j1(z)  # Newton: J_0' = −J_1
    zeros = [z[z < x_max]]
    for n in range(1, order_max + 1):
        prev = zeros[-1]
        lo = prev
        hi = np.append(prev[1:], x_max)
        if prev.size == 0:
            zeros.append(prev)
            continue
        # The last bracket (j_{n-1,K}, x_max) holds a zero only if J_n changes sign in it.
        keep = np.ones(prev.size, dtype=bool)
        keep[-1] = np.sign(special.jv(n, lo[-1])) * np.sign(special.jv(n, x_max)) < 0
        lo, hi = lo[keep], hi[keep]
        if lo.size == 0:
            zeros.append(lo)
            continue
        zn = _bracket_solve(lambda x, idx, n=n: special.jv(n, x), lo, hi)
        zeros.append(zn)
    return zeros


@functools.lru_cache(maxsize=16)
def _lp_solve(a: float, n1: float, n2: float, wavelength: float):
    """All guided LP modes of a step-index fibre: (l, m, U, W, β) arrays. Cached."""
    t0 = time.perf_counter()
    k = 2.0 * math.pi / wavelength
    v = k * a * math.sqrt(n1 * n1 - n2 * n2)
    # LP_l1 is guided iff V > j_{l-1,1}; j_{n,1} > n, so l <= V + 1 bounds the search.
    zeros = _bessel_zeros_below(int(v) + 2, v)
    ls, ms, los, his = [], [], [], []
    for l in range(int(v) + 2):
        if l == 0:
            cut = np.concatenate(([0.0], zeros[1]))  # LP_0m cutoff j_{1,m-1}, j_{1,0} = 0
        else:
            cut = zeros[l - 1]
        nm = cut.size  # all below V: guided
        if nm == 0:
            break
        upper = np.full(nm, v)
        jl = zeros[l]
        nu = min(nm, jl.size)
        upper[:nu] = np.minimum(jl[:nu], v)
        ls.append(np.full(nm, l))
        ms.append(np.arange(1, nm + 1))
        los.append(cut)
        his.append(upper)
    l_arr = np.concatenate(ls)
    m_arr = np.concatenate(ms)
    lo = np.concatenate(los)
    hi = np.concatenate(his)
    lf = l_arr.astype(float)
    u = _bracket_solve(lambda x, idx: _char_eq(x, lf[idx], v), lo, hi)
    w = np.sqrt(np.maximum(v * v - u * u, 0.0))
    beta = np.sqrt((k * n1) ** 2 - (u / a) ** 2)
    logger.debug("LP solve: V=%.3f, %d LP modes (%d with degeneracy) in %.3f s", v,
                 l_arr.size, int(np.where(l_arr == 0, 2, 4).sum()), time.perf_counter() - t0)
    return l_arr, m_arr, u, w, beta


@functools.lru_cache(maxsize=16)
def fiber_modes(fiber: FiberConfig) -> FiberModes:
    """Solve for every guided LP_lm mode of a step-index fibre (weakly-guiding approximation).

    Solves ``U J_{l−1}(U)/J_l(U) = −W K_{l−1}(W)/K_l(W)`` with ``W = sqrt(V² − U²)`` for each
    (l, m) inside its bracket ``(j_{l−1,m}, min(j_{l,m}, V))`` (for l = 0:
    ``(j_{1,m−1}, min(j_{0,m}, V))`` with ``j_{1,0} = 0``); mode LP_lm is guided iff its cutoff
    ``j_{l−1,m}`` is below V. The result is cached per config and its arrays are read-only.

    Parameters
    ----------
    fiber
        Fibre config (``profile="step"``).

    Returns
    -------
    FiberModes
        Arrays of shape ``(n_modes,)``; ``weight`` holds the launch power fractions
        (degeneracy included, summing to 1).

    Examples
    --------
    >>> modes = fiber_modes(FiberConfig())
    >>> bool(abs(modes.count / (FiberConfig().v_number ** 2 / 2) - 1) < 0.1)
    True
    """
    if fiber.profile != "step":  # pragma: no cover - guarded by the config's choices
        raise ValueError(f"profile {fiber.profile!r} not supported; choose one of {tuple(PROFILES)}")
    l, m, u, w, beta = _lp_solve(fiber.core_radius, fiber.n_core, fiber.n_clad, fiber.wavelength)
    deg = np.where(l == 0, 2, 4)
    if fiber.launch == "uniform":
        wt = deg.astype(float)
    else:  # "gaussian"
        x = u / fiber.v_number
        wt = deg * np.exp(-(x**2) / (2 * GAUSSIAN_LAUNCH_WIDTH**2))
    wt = wt / wt.sum()
    arrays = [np.array(x) for x in (l, m, u, w, beta, deg, wt)]
    for x in arrays:
        x.flags.writeable = False
    return FiberModes(*arrays)


# ---------------------------------------------------------------------------- bend loss
def _as_radius(radius, name: str = "radius") -> np.ndarray:
    r = np.asarray(radius, dtype=float)
    if r.size and (not np.all(np.isfinite(r)) or np.any(r <= 0)):
        bad = r[~(np.isfinite(r) & (r > 0))].ravel()[0]
        raise ValueError(f"{name} must be finite and > 0 m; got {bad!r}")
    return r


def _as_length(value, name: str) -> float:
    x = float(value)
    if not math.isfinite(x) or x < 0:
        raise ValueError(f"{name} must be finite and >= 0 m; got {x!r}")
    return x


def _marcuse_terms(modes: FiberModes, fiber: FiberConfig) -> tuple[np.ndarray, np.ndarray]:
    """R-independent parts of Marcuse's loss: ``log 2α = P − c R − ½ log R``; returns (P, c)."""
    a = fiber.core_radius
    v = fiber.v_number
    l = modes.l.astype(float)
    r_l, r_lp1, log_kl = _k_ratios(l, modes.w)
    # log K_{l-1} + log K_{l+1} = 2 log K_l + log r_l − log r_{l+1}  (K_{-1} = K_1 for l = 0)
    log_kk = 2.0 * log_kl + np.log(r_l) - np.log(r_lp1)
    kappa = modes.u / a
    gamma = modes.w / a
    e_nu = np.where(modes.l == 0, 2.0, 1.0)
    p = (0.5 * math.log(math.pi) + 2.0 * np.log(kappa) - np.log(e_nu) - 1.5 * np.log(gamma)
         - 2.0 * math.log(v) - log_kk)
    c = 2.0 * gamma**3 / (3.0 * modes.beta**2)
    return p, c


def marcuse_loss(modes: FiberModes, radius, *, fiber: FiberConfig) -> np.ndarray:
    """Marcuse (1976) curvature power-loss coefficient ``2α`` of each mode, in 1/m.

    ``2α = √π κ² exp(−2γ³R/(3β²)) / (e_ν γ^{3/2} V² √R K_{ν−1}(γa) K_{ν+1}(γa))`` with
    ``κ = U/a``, ``γ = W/a``, ``ν = l``, ``e_ν = 2`` for ν = 0 and 1 otherwise (Marcuse,
    JOSA 66:216, 1976). A loss per unit length: power in mode m falls as ``exp(−2α_m s)``
    along the bent arc length ``s``. Evaluated in log space (``log K = log kve − W`` with a
    stable order recurrence), so nothing underflows; a coefficient too large for a double
    (far outside the formula's validity, see the module notes) is returned as ``inf``.

    Parameters
    ----------
    modes
        Modes of ``fiber`` from :func:`fiber_modes`.
    radius
        Bend radius R in m, any shape, finite and > 0.
    fiber
        The fibre the modes belong to (gives a, V).

    Returns
    -------
    ndarray
        ``2α`` in 1/m, shape ``radius.shape + (n_modes,)``.

    Examples
    --------
    >>> fiber = FiberConfig()
    >>> loss = marcuse_loss(fiber_modes(fiber), [0.02, 0.05], fiber=fiber)
    >>> loss.shape[0]
    2
    """
    r = _as_radius(radius)
    p, c = _marcuse_terms(modes, fiber)
    rr = r[..., None]
    with np.errstate(over="ignore"):
        return np.exp(p - c * rr - 0.5 * np.log(rr))


def gloge_cutoff_radius(modes: FiberModes, *, fiber: FiberConfig) -> np.ndarray:
    """Bend radius in m at which each mode's radiation caustic reaches the core boundary.

    In a fibre bent at radius ``R`` the cladding's equivalent index grows across the fibre as
    ``n_clad² (1 + 2x/R)``; it reaches the mode index ``β/k`` at ``x_c = R W² / (2 (n_clad k
    a)²)``. For ``R <= 2 (n_clad k a)² a / W²`` that point lies inside the core: the mode has
    no tunnelling barrier left and radiates (Gloge 1972, Appl. Opt. 11:2506). Used by
    ``bend_model="marcuse1976_gloge1972"``; also marks where Marcuse's formula is invalid.

    Returns
    -------
    ndarray
        Cutoff radius in m, shape ``(n_modes,)``.

    Examples
    --------
    >>> fiber = FiberConfig()
    >>> bool(np.all(gloge_cutoff_radius(fiber_modes(fiber), fiber=fiber) > 0))
    True
    """
    s = fiber.n_clad * fiber.wavenumber * fiber.core_radius
    return 2.0 * s * s * fiber.core_radius / modes.w**2


def _modal_sum(r: np.ndarray, p: np.ndarray, c: np.ndarray, log_w: np.ndarray,
               bent_length: float, r_cut: np.ndarray | None, *, log: bool) -> np.ndarray:
    """Σ_m w_m exp(−2α_m(R) L) (or its log, floored at ``_LOG_T_FLOOR``), chunked over R.

    Modes with ``R <= r_cut`` contribute nothing (Gloge cutoff); ``r_cut=None`` keeps all.
    """
    flat = r.ravel()
    out = np.empty(flat.size)
    chunk = max(1, 4_000_000 // max(1, p.size))
    log_l = math.log(bent_length) if bent_length > 0 else -math.inf
    for s in range(0, flat.size, chunk):
        rr = flat[s:s + chunk, None]
        with np.errstate(over="ignore"):
            att = np.exp(p + log_l - c * rr - 0.5 * np.log(rr))  # 2α L ≥ 0, may be inf
        e = log_w - att
        if r_cut is not None:
            e = np.where(rr > r_cut, e, -np.inf)
        if log:
            mx = np.max(e, axis=1)
            ok = np.isfinite(mx)
            val = np.full(rr.shape[0], _LOG_T_FLOOR)
            if np.any(ok):
                val[ok] = mx[ok] + np.log(np.sum(np.exp(e[ok] - mx[ok, None]), axis=1))
            out[s:s + chunk] = np.maximum(val, _LOG_T_FLOOR)
        else:
            out[s:s + chunk] = np.sum(np.exp(e), axis=1)
    return out.reshape(r.shape)


def _bend_terms(fiber: FiberConfig):
    modes = fiber_modes(fiber)
    p, c = _marcuse_terms(modes, fiber)
    r_cut = (gloge_cutoff_radius(modes, fiber=fiber)
             if fiber.bend_model == "marcuse1976_gloge1972" else None)
    return p, c, np.log(modes.weight), r_cut


def fiber_transmission(radius, *, fiber: FiberConfig, bent_length: float) -> np.ndarray:
    """Optical transmission (dimensionless, in [0, 1]) of a fibre section bent at radius R.

    ``T(R) = Σ_m w_m exp(−2α_m(R) L_bent)`` over all guided modes, with launch weights
    ``w_m`` (degeneracy included, Σ w_m = 1) and Marcuse loss ``2α_m`` (:func:`marcuse_loss`).
    With ``fiber.bend_model = "marcuse1976_gloge1972"`` a mode's term is 0 for
    ``R <= gloge_cutoff_radius``. Modes are assumed uncoupled over the bent section, so ``T``
    is non-decreasing in ``R``. Exact modal sum; for long records use
    :func:`transmission_table`.

    Parameters
    ----------
    radius
        Bend radius in m, any shape, finite and > 0.
    fiber
        Fibre config.
    bent_length
        Arc length of fibre at that radius in m (>= 0), e.g. from :func:`mat_bent_length`.

    Returns
    -------
    ndarray
        Transmission, same shape as ``radius``.

    Examples
    --------
    >>> fiber, mat = FiberConfig(), MatConfig()
    >>> r = mat_bend_radius(45.0, mat=mat)
    >>> t = fiber_transmission(r, fiber=fiber, bent_length=mat_bent_length(fiber=fiber, mat=mat))
    >>> bool(0 < t < 1)
    True
    """
    r = _as_radius(radius)
    length = _as_length(bent_length, "bent_length")
    p, c, log_w, r_cut = _bend_terms(fiber)
    if length == 0 and r_cut is None:
        return np.ones(r.shape)
    t = _modal_sum(r, p, c, log_w, length, r_cut, log=False)
    return np.clip(t, 0.0, 1.0)  # rounding only: Σ w = 1 and each factor is in [0, 1]


def _straight_factor(fiber: FiberConfig) -> float:
    return fiber.laser_power * fiber.coupling_efficiency * 10.0 ** (
        -fiber.attenuation_db_per_m * fiber.length / 10.0)


def fiber_output_power(radius, *, fiber: FiberConfig, bent_length: float) -> np.ndarray:
    """Optical power in W reaching the photodiode.

    ``P = laser_power · coupling_efficiency · 10^(−attenuation_db_per_m · length / 10) · T(R)``
    with ``T`` from :func:`fiber_transmission`.

    Examples
    --------
    >>> fiber = FiberConfig()
    >>> p = fiber_output_power(0.05, fiber=fiber, bent_length=0.42)
    >>> bool(0 < p < fiber.laser_power)
    True
    """
    return _straight_factor(fiber) * fiber_transmission(radius, fiber=fiber,
                                                        bent_length=bent_length)


# ------------------------------------------------------------------------ fast-path table
@dataclasses.dataclass(frozen=True, eq=False)
class TransmissionTable:
    """Transmission ``T(R)`` tabulated on a log-spaced radius grid; call it with radii in m.

    Evaluation is ``exp(np.interp(log R, log R_grid, log T_grid))`` — piecewise-linear in
    log–log, so monotone where the tabulated values are. Radii outside ``[r_min, r_max]``
    raise ``ValueError`` (never clipped). Build with :func:`transmission_table`.
    """

    log_radius: np.ndarray
    log_transmission: np.ndarray
    r_min: float
    r_max: float
    bent_length: float
    fiber: FiberConfig

    def __call__(self, radius) -> np.ndarray:
        r = np.asarray(radius, dtype=float)
        if r.size:
            lo, hi = np.min(r), np.max(r)  # NaN propagates to both and fails the test below
            if not (lo >= self.r_min and hi <= self.r_max):
                bad = lo if not lo >= self.r_min else hi
                raise ValueError(
                    f"radius {bad!r} m is outside the table range "
                    f"[{self.r_min:g}, {self.r_max:g}] m; rebuild with transmission_table("
                    "r_min=..., r_max=...) to cover it"
                )
        return np.exp(np.interp(np.log(r), self.log_radius, self.log_transmission))

    def output_power(self, radius) -> np.ndarray:
        """Photodiode power in W (see :func:`fiber_output_power`) via the table."""
        return _straight_factor(self.fiber) * self(radius)


@functools.lru_cache(maxsize=32)
def transmission_table(*, fiber: FiberConfig, bent_length: float, r_min: float = 1e-3,
                       r_max: float = 1.0, n: int = 2048) -> TransmissionTable:
    """Tabulate the exact modal sum ``T(R)`` on ``n`` log-spaced radii in ``[r_min, r_max]`` m.

    The default grid (2048 points over 1 mm–1 m, spacing 0.34 % in R) reproduces the exact
    sum of the default fibre to ≈ 5e-5 absolute (tested < 1e-4; the error is second order in
    the spacing, 1024 points give ≈ 2e-4). With ``bend_model="marcuse1976_gloge1972"`` T(R)
    is a staircase (each mode drops out at its cutoff radius), so the table error is bounded
    by the largest single-mode weight instead. ``log T`` is floored at −700 (T ≈ 1e-304).

    Examples
    --------
    >>> fiber = FiberConfig()
    >>> table = transmission_table(fiber=fiber, bent_length=0.42)
    >>> t = table(np.array([0.02, 0.03]))
    >>> bool(np.all(np.diff(t) >= 0))
    True
    """
    length = _as_length(bent_length, "bent_length")
    if not (math.isfinite(r_min) and math.isfinite(r_max) and 0 < r_min < r_max):
        raise ValueError(f"need finite 0 < r_min < r_max, got r_min={r_min!r} m, r_max={r_max!r} m")
    if int(n) < 2:
        raise ValueError(f"n must be >= 2 grid points, got {n!r}")
    log_r = np.linspace(math.log(r_min), math.log(r_max), int(n))
    p, c, log_w, r_cut = _bend_terms(fiber)
    log_t = np.minimum(_modal_sum(np.exp(log_r), p, c, log_w, length, r_cut, log=True), 0.0)
    for x in (log_r, log_t):
        x.flags.writeable = False
    return TransmissionTable(log_r, log_t, float(r_min), float(r_max), length, fiber)


# ------------------------------------------------------------------------- mat mechanics
def _as_load(load) -> np.ndarray:
    f = np.asarray(load, dtype=float)
    if f.size and not np.all(np.isfinite(f)):
        raise ValueError(f"load must be finite (N); got {f[~np.isfinite(f)].ravel()[0]!r}")
    if f.size and np.any(f < 0):
        raise ValueError(f"load must be >= 0 N; got {f[f < 0].ravel()[0]!r}")
    return f


def mat_deflection(load, *, mat: MatConfig):
    """Fibre deflection ``d`` in m under a load in N (foam with densification).

    ``d = d0 + h · p / (p + E)`` with pressure ``p = load / contact_area`` (Pa), foam modulus
    ``E`` (Pa), thickness ``h`` (m) and preload deflection ``d0`` (m). Linear (``h p / E``) at
    small pressure; saturates at ``d0 + h`` as the foam densifies.

    Parameters
    ----------
    load
        Force in N, any shape, finite and >= 0.
    mat
        Mat config.

    Returns
    -------
    ndarray or float
        Deflection in m, same shape as ``load``.

    Examples
    --------
    >>> mat = MatConfig()
    >>> bool(mat_deflection(45.0, mat=mat) < mat.preload_deflection + mat.foam_thickness)
    True
    """
    f = _as_load(load)
    p = f / mat.contact_area
    d = mat.preload_deflection + mat.foam_thickness * p / (p + mat.foam_modulus)
    return d[()]


def mat_bend_radius(load, *, mat: MatConfig):
    """Bend radius ``R`` in m at the fibre's peak curvature under a load in N.

    The fibre between crossings a pitch ``Λ`` apart follows ``y = (d/2) cos(2π x / Λ)``
    (peak-to-peak deflection ``d`` from :func:`mat_deflection`); its peak curvature is
    ``2π² d / Λ²``, so ``R = Λ² / (2π² d)``. Decreases with load, from ``Λ²/(2π² d0)`` at zero
    load to ``Λ²/(2π² (d0 + h))`` at full compression.

    Examples
    --------
    >>> mat = MatConfig()
    >>> bool(mat_bend_radius(90.0, mat=mat) < mat_bend_radius(45.0, mat=mat))
    True
    """
    d = np.asarray(mat_deflection(load, mat=mat))
    return (mat.crossing_pitch**2 / (2.0 * math.pi**2 * d))[()]


def mat_bent_length(*, fiber: FiberConfig, mat: MatConfig) -> float:
    """Arc length in m of fibre at peak curvature: ``length · min(1, contact/area) · duty``.

    The load covers ``contact_area / area`` of the (uniformly laid) fibre, and within it a
    fraction ``bend_duty`` sits near the curvature peaks.

    Examples
    --------
    >>> round(mat_bent_length(fiber=FiberConfig(), mat=MatConfig()), 6)
    0.42
    """
    return fiber.length * min(1.0, mat.contact_area / mat.area) * mat.bend_duty
