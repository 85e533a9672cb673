"""Tests for sim.fiber (LP modes, Marcuse loss, transmission, table, mat) and sim.symbolic.

Tolerances are stated next to each check with the reason for them.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from sim._config import ConfigError
from sim.fiber import (
    FiberConfig,
    MatConfig,
    fiber_modes,
    fiber_output_power,
    fiber_transmission,
    gloge_cutoff_radius,
    marcuse_loss,
    mat_bend_radius,
    mat_bent_length,
    mat_deflection,
    transmission_table,
)
from sim.symbolic import (
    best_operating_point_symbolic,
    marcuse_symbolic,
    sensitivity_parameters,
    sensitivity_symbolic,
)

DB_PER_NEPER = 10.0 / math.log(10.0)  # 4.343: power loss coefficient (1/m) -> dB/m

FIBER = FiberConfig()
MAT = MatConfig()
BENT = mat_bent_length(fiber=FIBER, mat=MAT)


def _smf() -> FiberConfig:
    """SMF-28-like fibre of NOTES §2: a = 4.1 µm, NA 0.14, n_clad 1.444, 1550 nm."""
    n2 = 1.444
    return FiberConfig(core_diameter=8.2e-6, cladding_diameter=125e-6,
                       n_core=math.sqrt(n2**2 + 0.14**2), n_clad=n2)


def _transition_mode(fiber: FiberConfig, mat: MatConfig, load: float) -> int:
    """Index of a mode whose 2α L is ≈ 1 at ``load`` with its caustic outside the core."""
    modes = fiber_modes(fiber)
    r = mat_bend_radius(load, mat=mat)
    att = marcuse_loss(modes, r, fiber=fiber) * mat_bent_length(fiber=fiber, mat=mat)
    valid = r > 1.5 * gloge_cutoff_radius(modes, fiber=fiber)
    return int(np.argmin(np.where(valid, np.abs(np.log(att)), np.inf)))


# ------------------------------------------------------------------------------ modes
@pytest.mark.parametrize("core_diameter", [250e-6, 62.5e-6])  # V ≈ 120 and V ≈ 30
def test_mode_count_matches_v_squared_over_two(core_diameter):
    # Step-index asymptotics: N ≈ V²/2 counting both polarisations and orientations; the
    # correction is O(V), i.e. a few per cent at V = 30, so 10 % is a real check.
    fiber = FIBER.replace(core_diameter=core_diameter)
    modes = fiber_modes(fiber)
    v = fiber.v_number
    assert modes.count == pytest.approx(v * v / 2, rel=0.10)
    assert np.all(modes.degeneracy == np.where(modes.l == 0, 2, 4))
    assert modes.weight.sum() == pytest.approx(1.0, abs=1e-12)  # rounding of a sum of ≈ 2000
    assert np.all((modes.u > 0) & (modes.u < v) & (modes.w > 0))
    np.testing.assert_allclose(modes.u**2 + modes.w**2, v * v, rtol=1e-12)
    k = fiber.wavenumber
    assert np.all((modes.beta > fiber.n_clad * k) & (modes.beta < fiber.n_core * k))
    # Every LP_lm with cutoff j_{l-1,m} < V is present: LP_l1 exists up to the largest l.
    lmax = modes.l.max()
    assert special.jn_zeros(lmax - 1, 1)[0] < v < special.jn_zeros(lmax, 1)[0]


def test_modes_satisfy_characteristic_equation():
    # Residual of U J_{l-1} K_l + W K_{l-1} J_l (the LP equation times J_l K_l, scaled by
    # e^W), relative to the size of its two terms, evaluated with scipy's kve directly
    # (independent of the solver's recurrence). The root is solved to ~4 eps in U; 1e-9
    # leaves room for the condition number of the near-pole Bessel ratios.
    modes = fiber_modes(FIBER)
    l, u, w = modes.l.astype(float), modes.u, modes.w
    t1 = u * special.jv(l - 1, u) * special.kve(l, w)
    t2 = w * special.kve(l - 1, w) * special.jv(l, u)
    ok = np.isfinite(t1) & np.isfinite(t2)
    assert ok.mean() > 0.99  # kve overflows only for a few high-l modes near cutoff
    rel = np.abs(t1 + t2)[ok] / (np.abs(t1) + np.abs(t2))[ok]
    assert rel.max() < 1e-9


def test_modes_match_mpmath_roots():
    # Independent reference: mpmath at 25 digits solves the LP equation (ratio form) in a
    # ±1e-6 bracket around our U; agreement to 1e-10 relative (and J_l(U) not ≈ 0, so it is
    # a root rather than the pole at j_{l,m}) checks the root, including high-l modes near
    # cutoff where scipy's kve would overflow.
    modes = fiber_modes(FIBER)
    v = mpmath.mpf(FIBER.v_number)
    idx = np.unique(np.concatenate([
        np.flatnonzero(modes.l == 0)[:2],
        np.argsort(modes.w)[:3],  # closest to cutoff
        np.flatnonzero(modes.l == modes.l.max()),
        np.random.default_rng(0).choice(len(modes), 4, replace=False),
    ]))
    with mpmath.workdps(25):
        for i in idx:
            n = int(modes.l[i])

            def f(u, n=n):
                w = mpmath.sqrt(v**2 - u**2)
                return (u * mpmath.besselj(n - 1, u) / mpmath.besselj(n, u)
                        + w * mpmath.besselk(n - 1, w) / mpmath.besselk(n, w))

            u0 = mpmath.mpf(modes.u[i])
            bracket = (u0 * (1 - mpmath.mpf("1e-6")), min(u0 * (1 + mpmath.mpf("1e-6")),
                                                          v * (1 - mpmath.mpf("1e-25"))))
            ref = mpmath.findroot(f, bracket, solver="anderson")
            assert float(ref) == pytest.approx(modes.u[i], rel=1e-10), (n, int(modes.m[i]))
            assert abs(mpmath.besselj(n, ref)) > 1e-6


def test_gaussian_launch_favours_low_order():
    modes = fiber_modes(FIBER.replace(launch="gaussian"))
    per_mode = modes.weight / modes.degeneracy
    order = np.argsort(modes.u)
    assert np.all(np.diff(per_mode[order]) <= 0)  # exp(−(U/V)²/…) is decreasing in U
    assert modes.weight.sum() == pytest.approx(1.0, abs=1e-12)


# ------------------------------------------------------------------------ Marcuse loss
def test_marcuse_loss_matches_sympy():
    # The numeric code works in log space with a Bessel-ratio recurrence; sympy's
    # lambdified formula uses scipy kv and exp directly. Both are double-precision
    # evaluations of the same formula, so rtol 1e-9 (values kept where the direct form
    # neither under- nor overflows).
    modes = fiber_modes(FIBER)
    pick = [0, 1, int(np.flatnonzero(modes.l == 1)[0]), int(np.flatnonzero(modes.l == 5)[2]),
            _transition_mode(FIBER, MAT, 45.0), int(np.flatnonzero(modes.l == 40)[0]),
            int(np.argmin(modes.w))]
    radius = np.array([0.01, 0.02, 0.031, 0.05, 0.1, 0.3])
    num = marcuse_loss(modes, radius, fiber=FIBER)[:, pick]
    ms = marcuse_symbolic()
    rr = radius[:, None]
    ref = ms.func(rr, modes.u[pick], modes.w[pick], FIBER.core_radius, FIBER.v_number,
                  modes.beta[pick], modes.l[pick])
    keep = np.isfinite(ref) & (ref > 1e-290) & (ref < 1e290)
    assert keep.sum() >= 25  # the comparison is not vacuous (42 pairs, the rest underflow)
    np.testing.assert_allclose(num[keep], ref[keep], rtol=1e-9)


def test_lp01_single_mode_limit():
    # NOTES §2: SMF-28-like fibre, U = 1.63, W = 1.66 (3 significant figures quoted, so
    # 0.01), Marcuse(ν=0) 0.21 dB/m at R = 10 mm; Ghatak/ofiber's LP01 closed form (n1 k
    # in place of β in the exponent) gives 0.23 dB/m. The two forms differ by ≈ 6 %, so
    # each is checked within 15 % as the brief asks, and the closed form is recomputed here.
    fiber = _smf()
    modes = fiber_modes(fiber)
    assert len(modes) == 1 and modes.l[0] == 0 and modes.count == 2
    assert modes.u[0] == pytest.approx(1.63, abs=0.01)
    assert modes.w[0] == pytest.approx(1.66, abs=0.01)
    r = 0.010
    db = DB_PER_NEPER * marcuse_loss(modes, r, fiber=fiber)[0]
    u, w, v, a = modes.u[0], modes.w[0], fiber.v_number, fiber.core_radius
    k, n1 = fiber.wavenumber, fiber.n_core
    ghatak = DB_PER_NEPER * (math.sqrt(math.pi / (4 * a * r)) * (u / (v * special.k1(w))) ** 2
                             * w**-1.5 * math.exp(-2 * w**3 * r / (3 * k**2 * a**3 * n1**2)))
    assert db == pytest.approx(0.21, rel=0.15)
    assert db == pytest.approx(ghatak, rel=0.15)
    # Each mm of radius changes the loss ≈ 3.6× (NOTES: e-fold length 0.78 mm); 20 %.
    ratio = marcuse_loss(modes, 0.009, fiber=fiber)[0] / marcuse_loss(modes, r, fiber=fiber)[0]
    assert ratio == pytest.approx(3.6, rel=0.2)


def test_marcuse_loss_shape_and_bad_radius():
    modes = fiber_modes(FIBER)
    assert marcuse_loss(modes, np.full((3, 2), 0.05), fiber=FIBER).shape == (3, 2, len(modes))
    assert marcuse_loss(modes, 0.05, fiber=FIBER).shape == (len(modes),)
    for bad in (0.0, -0.01, np.nan, np.inf):
        with pytest.raises(ValueError, match="radius must be finite and > 0 m"):
            marcuse_loss(modes, [0.05, bad], fiber=FIBER)


# ---------------------------------------------------------------------- transmission
@pytest.mark.parametrize("model", ["marcuse1976", "marcuse1976_gloge1972"])
@settings(max_examples=60, deadline=None)
@given(r1=st.floats(1e-3, 1.0), r2=st.floats(1e-3, 1.0))
def test_transmission_bounded_and_monotone(model, r1, r2):
    # Each mode's 2α ∝ R^{-1/2} exp(−cR) falls with R and the Gloge cutoff only admits
    # modes as R grows, so T is non-decreasing; 1e-12 absorbs summation rounding.
    fiber = FIBER.replace(bend_model=model)
    lo, hi = sorted((r1, r2))
    t = fiber_transmission(np.array([lo, hi]), fiber=fiber, bent_length=BENT)
    assert np.all((t >= 0) & (t <= 1))
    assert t[0] <= t[1] + 1e-12


def test_transmission_limits_and_shapes():
    r = np.geomspace(1e-3, 1.0, 50).reshape(5, 10)
    t = fiber_transmission(r, fiber=FIBER, bent_length=BENT)
    assert t.shape == r.shape
    assert fiber_transmission(np.empty(0), fiber=FIBER, bent_length=BENT).shape == (0,)
    np.testing.assert_array_equal(fiber_transmission(r, fiber=FIBER, bent_length=0.0), 1.0)
    # Longer bent length can only lose more (each factor exp(−2αL) falls with L).
    assert np.all(fiber_transmission(r, fiber=FIBER, bent_length=2 * BENT) <= t + 1e-15)
    # The Gloge cutoff only removes power.
    tg = fiber_transmission(r, fiber=FIBER.replace(bend_model="marcuse1976_gloge1972"),
                            bent_length=BENT)
    assert np.all(tg <= t + 1e-15)
    assert t[-1, -1] > 0.99 and tg[0, 0] == 0.0  # 1 m: nearly lossless; 1 mm: all lost
    with pytest.raises(ValueError, match="bent_length"):
        fiber_transmission(0.05, fiber=FIBER, bent_length=-1.0)
    with pytest.raises(ValueError, match="radius"):
        fiber_transmission(np.nan, fiber=FIBER, bent_length=BENT)


def test_output_power_chain():
    # Straight-fibre factors are exact products; rtol at double rounding.
    r = np.array([0.02, 0.05])
    expect = (FIBER.laser_power * FIBER.coupling_efficiency
              * 10 ** (-FIBER.attenuation_db_per_m * FIBER.length / 10)
              * fiber_transmission(r, fiber=FIBER, bent_length=BENT))
    np.testing.assert_allclose(fiber_output_power(r, fiber=FIBER, bent_length=BENT), expect,
                               rtol=1e-14)


# ----------------------------------------------------------------------------- table
def test_table_matches_exact_sum():
    # Linear interpolation of log T in log R on 2048 points: second-order error ≈ 5e-5 at
    # the steepest part of T(R) (R ≈ 13 mm); the brief's bound is 1e-4 absolute.
    table = transmission_table(fiber=FIBER, bent_length=BENT)
    rng = np.random.default_rng(1)
    r = np.exp(rng.uniform(math.log(table.r_min), math.log(table.r_max), 3000))
    r = np.concatenate([r, [table.r_min, table.r_max]])
    exact = fiber_transmission(r, fiber=FIBER, bent_length=BENT)
    assert np.max(np.abs(table(r) - exact)) < 1e-4
    np.testing.assert_allclose(table.output_power(r),
                               fiber_output_power(r, fiber=FIBER, bent_length=BENT), atol=1e-7)
    s = np.sort(r)
    assert np.all(np.diff(table(s)) >= 0)  # piecewise-linear in log-log keeps monotone data


def test_table_out_of_range_raises():
    table = transmission_table(fiber=FIBER, bent_length=BENT, r_min=5e-3, r_max=0.5, n=256)
    for bad in (4.9e-3, 0.51, np.nan):
        with pytest.raises(ValueError, match=r"outside the table range \[0.005, 0.5\] m"):
            table(np.array([0.05, bad]))
    assert table(np.empty(0)).shape == (0,)
    with pytest.raises(ValueError, match="r_min < r_max"):
        transmission_table(fiber=FIBER, bent_length=BENT, r_min=0.5, r_max=0.1)


def test_table_gloge_error_bounded_by_steps():
    # With the Gloge cutoff T(R) drops by a mode's share at each cutoff radius, so within a
    # grid cell the interpolation error is at most the weight of the modes cut off inside
    # that cell (the exp(−2αL) factors are <= 1), plus the smooth-part error (< 1e-4).
    fiber = FIBER.replace(bend_model="marcuse1976_gloge1972")
    modes = fiber_modes(fiber)
    table = transmission_table(fiber=fiber, bent_length=BENT)
    cell = np.searchsorted(table.log_radius, np.log(gloge_cutoff_radius(modes, fiber=fiber)))
    step = np.bincount(cell, weights=modes.weight).max()
    assert step < 0.01  # steps are small: the staircase is fine-grained
    r = np.exp(np.random.default_rng(2).uniform(math.log(1e-3), 0.0, 2000))
    err = np.abs(table(r) - fiber_transmission(r, fiber=fiber, bent_length=BENT))
    assert err.max() < step + 1e-4


# ------------------------------------------------------------------------- symbolic
def _numeric_single_group(load, mode: int) -> np.ndarray:
    modes = fiber_modes(FIBER)
    r = mat_bend_radius(load, mat=MAT)
    return np.exp(-marcuse_loss(modes, r, fiber=FIBER)[..., mode] * BENT)


def test_sympy_sensitivity_matches_finite_difference():
    # A single mode switches from T ≈ 1 to ≈ 0 within ≈ 1 N, so the step is h = 4.5e-3 N
    # (1e-4 F, ≈ 1e-2 of the switch width): central differences with Richardson
    # extrapolation leave truncation ≈ (1e-2)⁴ ≈ 1e-8 relative and rounding ≈ 1e-15 / h ≈
    # 1e-13, inside rtol 1e-6.
    s = sensitivity_symbolic()
    mode = _transition_mode(FIBER, MAT, 45.0)
    args = sensitivity_parameters(fiber=FIBER, mat=MAT, bent_length=BENT, mode=mode)
    for load in (44.5, 45.0, 45.3):  # across the mode's switch (T: 0.85 → 0.1)
        np.testing.assert_allclose(s.transmission_func(load, *args),
                                   _numeric_single_group(load, mode), rtol=1e-9)
        h = 1e-4 * load

        def d(step, load=load):
            return (_numeric_single_group(load + step, mode)
                    - _numeric_single_group(load - step, mode)) / (2 * step)

        fd = (4 * d(h / 2) - d(h)) / 3
        assert abs(fd) > 1e-2
        np.testing.assert_allclose(s.dtdf_func(load, *args), fd, rtol=1e-6)
    assert abs(s.dtdf_func(45.0, *args)) > 0.1  # a steep, non-trivial slope (1/N)


def test_best_operating_point_is_max_slope():
    s = sensitivity_symbolic()
    mode = _transition_mode(FIBER, MAT, 45.0)
    args = sensitivity_parameters(fiber=FIBER, mat=MAT, bent_length=BENT, mode=mode)
    f_best = best_operating_point_symbolic(fiber=FIBER, mat=MAT, bent_length=BENT, mode=mode)
    assert 30.0 < f_best < 60.0  # the mode was picked to switch near 45 N
    slope = abs(s.dtdf_func(f_best, *args))
    # d²T/dF² vanishes there: relative to slope / (1 N) it is at rounding level (1e-8).
    assert abs(s.d2tdf2_func(f_best, *args)) < 1e-8 * slope
    grid = np.linspace(0.9 * f_best, 1.1 * f_best, 401)
    assert slope >= np.max(np.abs(s.dtdf_func(grid, *args))) * (1 - 1e-12)
    with pytest.raises(ValueError, match="no interior maximum"):
        best_operating_point_symbolic(fiber=FIBER, mat=MAT, bent_length=BENT, mode=mode,
                                      load_range=(0.01, 1.0))


# ---------------------------------------------------------------------------- configs
@pytest.mark.parametrize("changes, message", [
    ({"core_diameter": 500e-6}, r"core diameter 0.0005 m must be smaller than cladding"),
    ({"core_diameter": 600e-6}, r"must be smaller than cladding diameter 0.0005 m"),
    ({"n_core": 1.39}, r"n_core = 1.39 must exceed n_clad = 1.39"),
    ({"n_core": 1.38}, r"must exceed n_clad"),
    ({"n_core": 1.8, "n_clad": 1.2}, r"numerical aperture .* must be < 1"),
    ({"core_diameter": 1e-3, "cladding_diameter": 2e-3}, r"V number .* allowed V in \(0, 400\]"),
    ({"length": -1.0}, r"FiberConfig.length = -1.0 is out of range; allowed \(0, 10000\] m"),
    ({"length": 0.0}, r"FiberConfig.length = 0.0 is out of range"),
    ({"n_core": float("nan")}, r"FiberConfig.n_core is NaN"),
    ({"wavelength": float("nan")}, r"FiberConfig.wavelength is NaN"),
    ({"launch": "overfilled"}, r"launch = 'overfilled' is not allowed; choose one of"),
    ({"profile": "graded"}, r"choose one of: 'step'"),
    ({"bend_model": "gloge"}, r"bend_model = 'gloge' is not allowed"),
    ({"coupling_efficiency": 1.5}, r"coupling_efficiency = 1.5 is out of range"),
])
def test_bad_fiber_configs_rejected(changes, message):
    with pytest.raises(ConfigError, match=message):
        FIBER.replace(**changes)


def test_fiber_properties_and_round_trip():
    assert FIBER.numerical_aperture == pytest.approx(math.sqrt(1.41**2 - 1.39**2), rel=1e-15)
    assert FIBER.core_radius == 125e-6
    assert FIBER.v_number == pytest.approx(119.9, abs=0.05)  # "V ≈ 120" of the brief
    assert FiberConfig.from_json(FIBER.to_json()) == FIBER
    assert MatConfig.from_toml(MAT.to_toml()) == MAT


@pytest.mark.parametrize("changes, message", [
    ({"preload_deflection": 6e-3}, r"preload_deflection 0.006 m must be smaller than foam"),
    ({"foam_modulus": 0.0}, r"MatConfig.foam_modulus = 0.0 is out of range"),
    ({"bend_duty": float("nan")}, r"MatConfig.bend_duty is NaN"),
])
def test_bad_mat_configs_rejected(changes, message):
    with pytest.raises(ConfigError, match=message):
        MAT.replace(**changes)


# -------------------------------------------------------------------------------- mat
def test_mat_mechanics():
    loads = np.array([0.0, 1.0, 10.0, 45.0, 100.0, 1e3, 1e5])
    d = mat_deflection(loads, mat=MAT)
    r = mat_bend_radius(loads, mat=MAT)
    assert d[0] == MAT.preload_deflection
    assert np.all(np.diff(d) > 0) and np.all(np.diff(r) < 0)
    assert np.all(d < MAT.preload_deflection + MAT.foam_thickness)  # densification bound
    # Small-load slope is linear foam, h/(E·A): exact derivative at 0, rtol from the
    # 1e-6 N step (second-order term relative 1e-6·(1/(E·A)) ≈ 1e-9).
    slope = (mat_deflection(1e-6, mat=MAT) - MAT.preload_deflection) / 1e-6
    assert slope == pytest.approx(MAT.foam_thickness / (MAT.foam_modulus * MAT.contact_area),
                                  rel=1e-6)
    # Peak curvature of (d/2) cos(2πx/Λ) is 2π² d / Λ².
    np.testing.assert_allclose(1 / r, 2 * math.pi**2 * d / MAT.crossing_pitch**2, rtol=1e-14)
    assert isinstance(mat_bend_radius(45.0, mat=MAT), float)
    assert mat_bent_length(fiber=FIBER, mat=MAT) == pytest.approx(7.0 * 0.2 * 0.3, rel=1e-15)
    assert mat_bent_length(fiber=FIBER, mat=MAT.replace(contact_area=1.0)) == pytest.approx(2.1)


@pytest.mark.parametrize("bad, message", [(-1.0, "load must be >= 0 N"),
                                          (np.nan, "load must be finite"),
                                          (np.inf, "load must be finite")])
def test_mat_bad_load_raises(bad, message):
    with pytest.raises(ValueError, match=message):
        mat_deflection(np.array([1.0, bad]), mat=MAT)
    with pytest.raises(ValueError, match=message):
        mat_bend_radius(bad, mat=MAT)
