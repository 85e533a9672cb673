"""Physics invariants of the Windkessel pressures and the Kim force."""

import numpy as np
import pytest

from sim.force import kim_force
from sim.hemodynamics import MMHG, HemoConfig, aortic_pressures, ejection_flow


def _beats(hr=60.0, n=30):
    rr = 60.0 / hr
    return np.arange(n) * rr + 0.1, rr


def test_zero_gradient_gives_zero_force():
    p = np.full(100, 93.0)
    np.testing.assert_array_equal(kim_force(p, p, p, area_asc=5.6e-4, area_desc=3.3e-4), 0.0)


def test_force_sign_and_units():
    # P1 > P2 only (descending gradient) pulls footward: positive; P0 > P1 only: negative
    f_desc = kim_force(np.array(90.0), np.array(90.0), np.array(80.0), area_asc=5.6e-4,
                       area_desc=3.3e-4)
    f_asc = kim_force(np.array(90.0), np.array(80.0), np.array(80.0), area_asc=5.6e-4,
                      area_desc=3.3e-4)
    assert f_desc == pytest.approx(3.3e-4 * 10 * MMHG)  # 0.44 N
    assert f_asc == pytest.approx(-(5.6e-4 + 3.3e-4 * 0) * 10 * MMHG + 3.3e-4 * 0)
    assert f_desc > 0 > f_asc
    # linear in the pressure differences
    assert kim_force(np.array(2 * 90.0), np.array(2 * 90.0), np.array(2 * 80.0),
                     area_asc=5.6e-4, area_desc=3.3e-4) == pytest.approx(2 * f_desc)


def test_ejection_flow_integrates_to_stroke_volume():
    fs = 1000.0
    t = np.arange(int(10 * fs)) / fs
    on, _ = _beats(n=8)
    q = ejection_flow(t, onsets=on, stroke_volume=np.full(8, 70e-6), ejection_time=np.full(8, 0.3))
    assert np.sum(q) / fs == pytest.approx(8 * 70e-6, rel=1e-3)
    assert np.all(q >= 0)


def test_ejection_overlap_rejected():
    with pytest.raises(ValueError, match="ejections overlap"):
        ejection_flow(np.linspace(0, 2, 2000), onsets=np.array([0.0, 0.2]),
                      stroke_volume=np.full(2, 70e-6), ejection_time=np.full(2, 0.3))


def _pressures(fs=1000.0, dur=20.0, chunk=None):
    cfg = HemoConfig()
    on, rr = _beats(n=int(dur))
    sv = np.full(len(on), 70e-6)
    t = np.arange(int(dur * fs)) / fs
    mean_flow = 70e-6 / rr
    kw = dict(onsets=on, stroke_volume=sv, ejection_time=np.full(len(on), 0.3), pwv=5.5, fs=fs,
              config=cfg, mean_flow=mean_flow)
    if chunk is None:
        return aortic_pressures(t, **kw)[:3]
    state, parts = None, []
    for i in range(0, len(t), chunk):
        p0, p1, p2, state = aortic_pressures(t[i:i + chunk], state=state, **kw)
        parts.append(np.stack([p0, p1, p2]))
    return tuple(np.concatenate(parts, axis=1))


def test_pressure_physiological_and_amplified():
    p0, p1, p2 = _pressures()
    s = slice(10000, None)  # after the start-up transient
    assert 60 < p0[s].min() < 90 and 100 < p0[s].max() < 150  # diastolic / systolic, mmHg
    pp = [np.ptp(p[s]) for p in (p0, p1, p2)]
    assert pp[0] < pp[1] < pp[2]  # distal pulse-pressure amplification
    means = [np.mean(p[s]) for p in (p0, p1, p2)]
    assert np.ptp(means) < 0.5  # mean pressure nearly unchanged along the aorta


def test_transit_delay_matches_pwv():
    p0, _, p2 = _pressures()
    fs = 1000.0
    up0 = np.argmax(np.diff(p0[10000:11000]))
    up2 = np.argmax(np.diff(p2[10000:11000]))
    assert (up2 - up0) / fs == pytest.approx(0.46 / 5.5, abs=0.002)


def test_chunked_equals_whole():
    whole = _pressures()
    chunked = _pressures(chunk=777)
    for a, b in zip(whole, chunked):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)


def test_force_magnitude_order():
    """DESIGN §4: a plain Windkessel + delays gives peak-to-peak of order 0.3–3 N."""
    p0, p1, p2 = _pressures()
    f = kim_force(p0, p1, p2, area_asc=5.6e-4, area_desc=3.3e-4)[10000:]
    assert 0.3 < np.ptp(f) < 3.0


def test_bad_area_and_nan():
    with pytest.raises(ValueError, match="area_asc"):
        kim_force(np.zeros(2), np.zeros(2), np.zeros(2), area_asc=0.0, area_desc=3e-4)
    with pytest.raises(ValueError, match="NaN"):
        kim_force(np.array([np.nan]), np.zeros(1), np.zeros(1), area_asc=5e-4, area_desc=3e-4)
