"""Symbolic (sympy) derivations of the fibre bend-loss model, used to check the numeric code.

* :func:`marcuse_symbolic` — Marcuse's (1976) curvature power-loss coefficient ``2α`` in 1/m
  as a sympy expression of ``(R, U, W, a, V, β, ν)`` and a lambdified (scipy) function.
* :func:`sensitivity_symbolic` — transmission of a single mode group through the mat,
  ``T(F) = exp(−L · 2α(R(F)))`` with ``R(F)`` from :func:`sim.fiber.mat_bend_radius`, and
  its first and second derivatives with respect to the load ``F`` (N), derived by sympy.
* :func:`best_operating_point_symbolic` — the load maximising ``|dT/dF|`` for one mode
  group: the root of ``d²T/dF² = 0`` found with ``sympy.nsolve`` from a grid start.

The numeric modules never import this one (sympy is slow to import); tests compare the two.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable

import numpy as np
import sympy as sp

from .fiber import FiberConfig, MatConfig, fiber_modes

__all__ = [
    "MarcuseSymbolic",
    "SensitivitySymbolic",
    "marcuse_symbolic",
    "sensitivity_symbolic",
    "sensitivity_parameters",
    "best_operating_point_symbolic",
]

_MODULES = ["scipy", "numpy"]


@dataclasses.dataclass(frozen=True)
class MarcuseSymbolic:
    """Marcuse's loss: ``expr`` in ``symbols = (R, U, W, a, V, beta, nu)``; ``func(*values)``."""

    expr: sp.Expr
    symbols: tuple[sp.Symbol, ...]
    func: Callable[..., np.ndarray]


@dataclasses.dataclass(frozen=True)
class SensitivitySymbolic:
    """Single-mode-group transmission ``T(F)`` and its load derivatives.

    ``symbols = (F, L, Lam, E, h, d0, A_c, U, W, a, V, beta, nu)``: load (N), bent length (m),
    crossing pitch Λ (m), foam modulus (Pa), foam thickness (m), preload deflection (m),
    contact area (m²) and the mode's ``U, W``, core radius ``a`` (m), ``V``, ``β`` (rad/m),
    azimuthal order ``ν``. The ``*_func`` callables take the values in that order.
    """

    symbols: tuple[sp.Symbol, ...]
    radius: sp.Expr
    transmission: sp.Expr
    dtdf: sp.Expr
    d2tdf2: sp.Expr
    transmission_func: Callable[..., np.ndarray]
    dtdf_func: Callable[..., np.ndarray]
    d2tdf2_func: Callable[..., np.ndarray]


def _marcuse_expr(R, U, W, a, V, beta, nu) -> sp.Expr:
    kappa = U / a
    gamma = W / a
    e_nu = sp.Piecewise((2, sp.Eq(nu, 0)), (1, True))
    return (sp.sqrt(sp.pi) * kappa**2 * sp.exp(-2 * gamma**3 * R / (3 * beta**2))
            / (e_nu * gamma**sp.Rational(3, 2) * V**2 * sp.sqrt(R)
               * sp.besselk(nu - 1, W) * sp.besselk(nu + 1, W)))


@functools.lru_cache(maxsize=1)
def marcuse_symbolic() -> MarcuseSymbolic:
    """Marcuse (1976, JOSA 66:216) curvature power-loss coefficient ``2α`` (1/m), symbolically.

    ``2α = √π κ² exp(−2γ³R/(3β²)) / (e_ν γ^{3/2} V² √R K_{ν−1}(γa) K_{ν+1}(γa))`` with
    ``κ = U/a``, ``γ = W/a`` and ``e_ν = 2`` for ``ν = 0``, else 1. The lambdified function
    evaluates the formula directly (scipy ``kv``), so it under/overflows where the log-space
    numeric code in :func:`sim.fiber.marcuse_loss` does not; compare where both are finite.

    Examples
    --------
    >>> ms = marcuse_symbolic()
    >>> [str(s) for s in ms.symbols]
    ['R', 'U', 'W', 'a', 'V', 'beta', 'nu']
    """
    R, a, V, beta = sp.symbols("R a V beta", positive=True)
    U, W = sp.symbols("U W", positive=True)
    nu = sp.Symbol("nu", integer=True, nonnegative=True)
    symbols = (R, U, W, a, V, beta, nu)
    expr = _marcuse_expr(*symbols)
    return MarcuseSymbolic(expr, symbols, sp.lambdify(symbols, expr, modules=_MODULES))


@functools.lru_cache(maxsize=1)
def sensitivity_symbolic() -> SensitivitySymbolic:
    """Derive ``T(F)``, ``dT/dF`` and ``d²T/dF²`` for one mode group under the mat model.

    ``p = F/A_c``, ``d = d0 + h p/(p + E)``, ``R = Λ²/(2π² d)`` (see
    :func:`sim.fiber.mat_bend_radius`) and ``T = exp(−L · 2α(R))`` with Marcuse's ``2α``.
    ``dT/dF`` is in 1/N, ``d²T/dF²`` in 1/N².

    Examples
    --------
    >>> s = sensitivity_symbolic()
    >>> str(s.symbols[0])
    'F'
    """
    F, L, Lam, E, h, d0, A_c = sp.symbols("F L Lambda E h d0 A_c", positive=True)
    ms = marcuse_symbolic()
    R_s, U, W, a, V, beta, nu = ms.symbols
    p = F / A_c
    radius = Lam**2 / (2 * sp.pi**2 * (d0 + h * p / (p + E)))
    t = sp.exp(-L * ms.expr.subs(R_s, radius))
    dt = sp.diff(t, F)
    d2t = sp.diff(dt, F)
    symbols = (F, L, Lam, E, h, d0, A_c, U, W, a, V, beta, nu)
    return SensitivitySymbolic(
        symbols, radius, t, dt, d2t,
        sp.lambdify(symbols, t, modules=_MODULES),
        sp.lambdify(symbols, dt, modules=_MODULES),
        sp.lambdify(symbols, d2t, modules=_MODULES),
    )


def sensitivity_parameters(*, fiber: FiberConfig, mat: MatConfig, bent_length: float,
                           mode: int) -> tuple[float, ...]:
    """Values for ``SensitivitySymbolic.symbols[1:]`` (everything but the load F).

    ``mode`` indexes :func:`sim.fiber.fiber_modes` of ``fiber``.

    Examples
    --------
    >>> from sim.fiber import mat_bent_length
    >>> fiber, mat = FiberConfig(), MatConfig()
    >>> args = sensitivity_parameters(fiber=fiber, mat=mat, mode=0,
    ...                               bent_length=mat_bent_length(fiber=fiber, mat=mat))
    >>> len(args)
    12
    """
    modes = fiber_modes(fiber)
    if not 0 <= int(mode) < len(modes):
        raise ValueError(f"mode index {mode!r} out of range; allowed [0, {len(modes) - 1}]")
    i = int(mode)
    return (float(bent_length), mat.crossing_pitch, mat.foam_modulus, mat.foam_thickness,
            mat.preload_deflection, mat.contact_area, float(modes.u[i]), float(modes.w[i]),
            fiber.core_radius, fiber.v_number, float(modes.beta[i]), int(modes.l[i]))


def best_operating_point_symbolic(*, fiber: FiberConfig, mat: MatConfig, bent_length: float,
                                  mode: int, load_range: tuple[float, float] = (0.01, 5000.0),
                                  n_grid: int = 2000) -> float:
    """Load in N that maximises ``|dT/dF|`` for one mode group (inflection of ``T(F)``).

    A single mode's ``T(F)`` switches from ≈ 1 to ≈ 0 over a few per cent of the load, so
    the search is staged: the largest ``|dT/dF|`` on ``n_grid`` log-spaced loads in
    ``load_range``, then on a 201-point grid between that point's neighbours, whose
    neighbours must bracket a sign change of ``d²T/dF²``; ``sympy.nsolve`` (mpmath,
    Anderson–Björck bracketing) then solves ``d²T/dF² = 0`` on the symbolic derivative inside
    that bracket. Raises ``ValueError`` when the maximum sits at an end of ``load_range``.

    Examples
    --------
    >>> from sim.fiber import mat_bent_length
    >>> fiber, mat = FiberConfig(), MatConfig()
    >>> f = best_operating_point_symbolic(fiber=fiber, mat=mat, mode=935,
    ...                                   bent_length=mat_bent_length(fiber=fiber, mat=mat))
    >>> round(f)
    45
    """
    lo, hi = (float(x) for x in load_range)
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
        raise ValueError(f"load_range must be finite with 0 < lo < hi N; got {load_range!r}")
    s = sensitivity_symbolic()
    args = sensitivity_parameters(fiber=fiber, mat=mat, bent_length=bent_length, mode=mode)

    def slope(f: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):  # kv/exp may under/overflow far from the transition
            v = np.abs(np.asarray(s.dtdf_func(f, *args), dtype=float))
        return np.where(np.isfinite(v), v, 0.0)

    grid = np.geomspace(lo, hi, int(n_grid))
    sl = slope(grid)
    k = int(np.argmax(sl))
    if k in (0, grid.size - 1) or sl[k] == 0:
        raise ValueError(
            f"|dT/dF| of mode {mode} has no interior maximum in loads [{lo:g}, {hi:g}] N "
            f"(largest at {grid[k]:g} N); widen load_range or pick another mode"
        )
    fine = np.linspace(grid[k - 1], grid[k + 1], 201)
    kk = int(np.clip(np.argmax(slope(fine)), 1, fine.size - 2))
    a, b = float(fine[kk - 1]), float(fine[kk + 1])
    with np.errstate(all="ignore"):
        da, db = (float(s.d2tdf2_func(x, *args)) for x in (a, b))
    if not da * db < 0:
        raise ValueError(f"d²T/dF² does not change sign in [{a:g}, {b:g}] N for mode {mode}")
    F = s.symbols[0]
    eq = s.d2tdf2.subs(dict(zip(s.symbols[1:], args)))
    root = float(sp.nsolve(eq, F, (a, b), solver="anderson"))
    if not a <= root <= b:  # pragma: no cover - the bracketing solver stays inside
        raise RuntimeError(f"nsolve left the bracket [{a:g}, {b:g}] N: {root:g}")
    return root
