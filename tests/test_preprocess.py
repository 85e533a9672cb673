"""BCG preprocessing: band-pass response and phase, unit peak, artefact removal, the chain."""

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from med2ecg.preprocess import (TAPER_S, artefact_remove, bcg_filter, bcg_filter_group_delay,
                                bcg_normalise, frame_energy, heartbeat_peak, preprocess_bcg,
                                preprocess_stages)

FS = 250.0


# --------------------------------------------------------------------------- test signals
def _beat(t):
    """A ringing BCG-like beat (Gabor, 6 Hz, σ 80 ms) centred on its J wave at t = 0."""
    return np.exp(-0.5 * (t / 0.08) ** 2) * np.cos(2 * np.pi * 6 * t)


def _bcg(j_times, *, n=2500, fs=FS, noise=0.05, rng=0, resp=0.5):
    """J-waves at ``j_times`` (s), white sensor noise (fraction of the J amplitude), and a
    0.25-Hz respiration baseline (mostly removed by the 0.5-Hz high-pass)."""
    rng = np.random.default_rng(rng)
    t = np.arange(n) / fs
    x = np.zeros(n)
    for i, tj in enumerate(j_times):
        x += (1 + 0.15 * np.sin(2 * np.pi * 0.25 * tj)) * _beat(t - tj)
    return x + noise * rng.standard_normal(n) + resp * np.sin(2 * np.pi * 0.25 * t)


def _regular(hr, *, start=0.3, dur=10.0):
    return np.arange(start, dur + 0.5, 60.0 / hr)


def _unit(x, fs=FS):
    return bcg_normalise(bcg_filter(x, fs=fs))


# --------------------------------------------------------------------------- filter
def _gain_db(y, f, fs):
    spec = np.abs(np.fft.rfft(y))
    k = int(round(f * len(y) / fs))
    return 20 * np.log10(spec[k])


def test_frequency_response_edges_and_stopbands():
    """Impulse response through our function, FFT on a 200-s record (0.005-Hz bins, the band
    edges fall on bins). Butterworth edges are −3.01 dB per pass; zero-phase is two passes,
    so −6.02 dB. Tolerance 0.05 dB (the causal tail is fully decayed: checked below)."""
    n = int(200 * FS)
    imp = np.zeros(n)
    imp[0] = 1.0
    h_c = bcg_filter(imp, fs=FS, causal=True)
    assert np.max(np.abs(h_c[-int(20 * FS):])) < 1e-9
    imp_mid = np.zeros(n)
    imp_mid[n // 2] = 1.0
    h_z = bcg_filter(imp_mid, fs=FS)
    for f in (0.5, 20.0):
        assert _gain_db(h_c, f, FS) == pytest.approx(-3.01, abs=0.05)
        assert _gain_db(h_z, f, FS) == pytest.approx(-6.02, abs=0.05)
    assert _gain_db(h_z, 5.0, FS) == pytest.approx(0.0, abs=0.1)  # passband flat
    # 3rd order: 18 dB/octave per pass; zero-phase 36 dB/octave
    assert _gain_db(h_z, 0.1, FS) < -80
    assert _gain_db(h_z, 50.0, FS) < -45
    assert _gain_db(h_c, 50.0, FS) < -22


def test_zero_phase_keeps_symmetric_pulse_symmetric_causal_does_not():
    """A centred Gaussian pulse stays symmetric about its centre. Checked on the central
    20 s of an 80-s record: the 0.5-Hz high-pass rings for seconds, and the start-up of
    the padded edges (which are not mirror images of each other) must have died out;
    tolerance 1e-9 of the peak (measured 3e-15)."""
    n = 20001  # odd: an exact centre sample
    t = (np.arange(n) - n // 2) / FS
    pulse = np.exp(-0.5 * (t / 0.03) ** 2)
    y = bcg_filter(pulse, fs=FS)
    assert int(np.argmax(y)) == n // 2
    c = slice(n // 2 - 2500, n // 2 + 2501)
    np.testing.assert_allclose(y[c], y[c][::-1], atol=1e-9 * np.abs(y).max())
    yc = bcg_filter(pulse, fs=FS, causal=True)
    assert int(np.argmax(yc)) > n // 2  # delayed
    assert np.max(np.abs(yc - yc[::-1])) > 0.1 * np.abs(yc).max()
    assert np.max(np.abs(yc - y)) > 0.1 * np.abs(y).max()


def test_causal_group_delay_documented_and_measured():
    """The docstring's 20.3 ms at 10 Hz, and a measured envelope delay of a 10-Hz tone burst
    (Gaussian envelope σ 0.3 s, narrowband) within 1 ms of it."""
    gd = bcg_filter_group_delay(10.0, fs=FS)
    assert gd * 1000 == pytest.approx(20.3, abs=0.05)
    fs = 2000.0  # fine time grid for the delay measurement
    t = np.arange(int(8 * fs)) / fs
    env = np.exp(-0.5 * ((t - 4.0) / 0.3) ** 2)
    y = bcg_filter(env * np.sin(2 * np.pi * 10 * t), fs=fs, causal=True)
    from scipy.signal import hilbert
    delay = (np.argmax(np.abs(hilbert(y))) - np.argmax(env)) / fs
    assert delay == pytest.approx(bcg_filter_group_delay(10.0, fs=fs), abs=1e-3)
    np.testing.assert_allclose(bcg_filter_group_delay(np.array([5.0, 10.0]), fs=FS)[1], gd)


@pytest.mark.parametrize("fs,h_freq", [(30.0, 20.0), (40.0, 20.0), (250.0, 125.0)])
def test_cutoff_at_or_above_nyquist_raises_with_numbers(fs, h_freq):
    with pytest.raises(ValueError, match=rf"h_freq = {h_freq:g} Hz.*fs/2 = {fs / 2:g} Hz"):
        bcg_filter(np.zeros(1000), fs=fs, h_freq=h_freq)


@pytest.mark.parametrize("kw,match", [
    ({"fs": 0.0}, r"fs = 0 Hz is out of range; allowed \(0, inf\)"),
    ({"fs": -250.0}, "out of range"),
    ({"fs": float("nan")}, "out of range"),
    ({"fs": 250.0, "l_freq": 0.0}, "allowed 0 < l_freq < h_freq"),
    ({"fs": 250.0, "l_freq": 30.0, "h_freq": 20.0}, "allowed 0 < l_freq < h_freq"),
    ({"fs": 250.0, "order": 0}, "allowed integers >= 1"),
])
def test_bad_filter_parameters_raise(kw, match):
    with pytest.raises(ValueError, match=match):
        bcg_filter(np.zeros(1000), **kw)


def test_fs_must_be_a_number():
    with pytest.raises(TypeError, match="fs must be a number"):
        bcg_filter(np.zeros(100), fs="250")


def test_zero_phase_minimum_length_named():
    """sosfiltfilt's default odd padding for order 3 is 21 samples: 22 is the minimum."""
    with pytest.raises(ValueError, match="needs at least 22 samples"):
        bcg_filter(np.ones(21), fs=FS)
    assert bcg_filter(np.ones(22), fs=FS).shape == (22,)
    assert bcg_filter(np.ones(5), fs=FS, causal=True).shape == (5,)  # causal: no padding


@pytest.mark.parametrize("bad,match", [
    (np.zeros(0), "empty"),
    (np.zeros((3, 0)), "empty"),
    (np.array(1.0), "scalar"),
    (np.array([0.0, np.nan, 1.0] * 20), "non-finite"),
    (np.array([0.0, np.inf] * 20), "non-finite"),
])
def test_empty_and_nan_inputs_raise(bad, match):
    for fn in (lambda a: bcg_filter(a, fs=FS), bcg_normalise,
               lambda a: artefact_remove(a, fs=FS), lambda a: preprocess_bcg(a, fs=FS)):
        with pytest.raises(ValueError, match=match):
            fn(bad)


def test_odd_lengths_unusual_rate_and_batch_dims():
    """fs = 487 Hz, odd length, (2, 3, T) batch: every row equals the 1-D result."""
    fs = 487.0
    n = 4871
    rng = np.random.default_rng(5)
    x = np.stack([[_bcg(_regular(60 + 10 * i + 3 * j), n=n, fs=fs, rng=10 * i + j)
                   for j in range(3)] for i in range(2)])
    y = preprocess_bcg(x, fs=fs)
    assert y.shape == (2, 3, n) and y.dtype == np.float32
    for i in range(2):
        for j in range(3):
            np.testing.assert_array_equal(y[i, j], preprocess_bcg(x[i, j], fs=fs))
    f = bcg_filter(x, fs=fs, causal=True)
    np.testing.assert_allclose(f[1, 2], bcg_filter(x[1, 2], fs=fs, causal=True))
    assert bcg_filter(rng.standard_normal(2501), fs=FS).shape == (2501,)


# --------------------------------------------------------------------------- scale
def test_normalise_unit_peak_and_zero_window():
    x = np.array([[0.0, 2.0, -4.0, 1.0], [0.0, 0.0, 0.0, 0.0], [0.5, 0.25, 0.0, 0.0]])
    y = bcg_normalise(x)
    np.testing.assert_allclose(y[0], [0.0, 0.5, -1.0, 0.25])
    np.testing.assert_array_equal(y[1], 0.0)  # no division by zero, no warning
    np.testing.assert_allclose(np.abs(y[2]).max(), 1.0)


@settings(max_examples=50, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=20),
                  elements=st.floats(-1e6, 1e6, allow_nan=False)))
def test_normalise_property_peak_is_one_or_zero(x):
    y = bcg_normalise(x)
    peak = np.abs(y).max(axis=-1)
    zero = np.abs(x).max(axis=-1) == 0
    np.testing.assert_allclose(peak[~zero], 1.0)
    assert np.all(peak[zero] == 0)


# --------------------------------------------------------------------------- artefacts
def test_frame_energy_matches_direct_loop():
    """Reference comparison: cumulative-sum energy vs a direct mean over each frame (edges
    truncated), float64 round-off only."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 257))
    e = frame_energy(x, fs=100.0, frame_s=0.1)  # L = 10 samples, frame [n-5, n+5)
    n = x.shape[-1]
    ref = np.array([[np.mean(row[max(0, i - 5):min(n, i + 5)] ** 2) for i in range(n)]
                    for row in x])
    np.testing.assert_allclose(e, ref, rtol=1e-12)


@pytest.mark.parametrize("hr", [50, 75, 110, 140])
@pytest.mark.parametrize("noise", [0.02, 0.15])
def test_clean_bcg_is_not_masked(hr, noise):
    x = _unit(_bcg(_regular(hr), noise=noise, rng=hr))
    clean, mask = artefact_remove(x, fs=FS)
    assert mask.mean() == 0.0
    np.testing.assert_array_equal(clean, x)


def _with_burst(k, *, start=4.0, dur=1.5, rng=0):
    """Clean BCG plus a Hann-enveloped burst whose amplitude is k × the filtered heartbeat
    peak (a 1–4 Hz sway plus broadband jerk). Returns the unit-peak window and the burst's
    sample range."""
    raw = _bcg(_regular(70), rng=rng)
    a = np.abs(bcg_filter(raw, fs=FS)).max()
    g = np.random.default_rng(rng + 100)
    i0, n = int(start * FS), int(dur * FS)
    b = np.zeros_like(raw)
    tt = np.arange(n) / FS
    b[i0:i0 + n] = k * a * np.hanning(n) * (0.6 * np.sin(2 * np.pi * 2.5 * tt)
                                            + 0.4 * g.standard_normal(n))
    return _unit(raw + b), (i0, i0 + n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_motion_burst_masked_heartbeat_elsewhere_kept(seed):
    """A burst 10× the heartbeat sets the unit peak and shrinks the heartbeat ~10×; the
    robust heartbeat reference still masks the burst (≥ 90 % of its central two thirds,
    measured 98–99 %) and nothing ≥ 0.2 s away from it."""
    x, (a, b) = _with_burst(10.0, rng=seed)
    clean, mask = artefact_remove(x, fs=FS)
    third = (b - a) // 6
    assert mask[a + third:b - third].mean() >= 0.9
    far = np.ones_like(mask)
    far[a - 50:b + 50] = False
    assert not mask[far].any()
    assert np.all(clean[mask] == 0)
    assert 0.05 < mask.mean() < 0.25


def test_small_burst_is_kept():
    """Below the motion margin (frame RMS > 3.9× the heartbeat peak) nothing is removed."""
    x, _ = _with_burst(2.0)
    _, mask = artefact_remove(x, fs=FS)
    assert not mask.any()


def test_mask_does_not_depend_on_scale():
    x, _ = _with_burst(10.0)
    _, m1 = artefact_remove(x, fs=FS)
    _, m2 = artefact_remove(1e-3 * x, fs=FS)
    _, m3 = artefact_remove(250.0 * x, fs=FS)
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(m1, m3)


def _with_gap(gap):
    """Heartbeats at 75 bpm with one longer pause of ``gap`` s between two J-waves; 0.5 %
    sensor noise, no respiration (no contact: nothing but the detector)."""
    j = list(np.arange(0.3, 4.0, 0.8))
    j += list(np.arange(j[-1] + gap, 10.5, 0.8))
    return _unit(_bcg(j, noise=0.005, resp=0.0)), (j[len(np.arange(0.3, 4.0, 0.8)) - 1],
                                                    j[len(np.arange(0.3, 4.0, 0.8))])


def test_quiet_stretch_longer_than_t_t_is_masked():
    """J-waves 3 s apart: the ringing beat lasts ±0.25 s, so ~2.5 s of detector noise
    (frame RMS ≪ 1 % of the heartbeat peak) — masked in its middle 1.5 s, heartbeats kept."""
    x, (j0, j1) = _with_gap(3.0)
    _, mask = artefact_remove(x, fs=FS)
    mid = slice(int((j0 + 0.75) * FS), int((j1 - 0.75) * FS))
    assert mask[mid].all()
    for tj in (j0, j1):
        i = int(tj * FS)
        assert not mask[i - 5:i + 6].any()  # the J-waves either side stay
    assert mask[: int((j0 - 0.3) * FS)].sum() == 0


def test_quiet_stretch_shorter_than_t_t_is_kept():
    """J-waves 1.2 s apart: ~0.7 s under E_t, less than T_t = 1 s."""
    x, _ = _with_gap(1.2)
    _, mask = artefact_remove(x, fs=FS)
    assert not mask.any()
    _, mask_short_tt = artefact_remove(x, fs=FS, t_t=0.4)  # T_t is what decides
    assert mask_short_tt.any()


def test_all_zero_window_is_quiet():
    clean, mask = artefact_remove(np.zeros((2, 500)), fs=FS)
    assert mask.all() and np.all(clean == 0)


def test_taper_is_a_raised_cosine_outside_the_mask():
    x, _ = _with_burst(10.0)
    clean, mask = artefact_remove(x, fs=FS)
    taper = int(round(TAPER_S * FS))
    idx = np.flatnonzero(mask)
    first = idx[0]
    for d in range(1, taper):
        w = 0.5 * (1 - np.cos(np.pi * d / taper))
        assert clean[first - d] == pytest.approx(w * x[first - d], abs=1e-12)
    far = np.ones_like(mask)
    for i in idx:
        far[max(0, i - taper + 1):i + taper] = False
    np.testing.assert_array_equal(clean[far], x[far])
    assert np.all(np.abs(clean) <= np.abs(x) + 1e-15)


def test_artefact_parameters_validated():
    x = np.zeros(500)
    with pytest.raises(ValueError, match="need e_t < e_m"):
        artefact_remove(x, fs=FS, e_m=1e-4, e_t=1e-3)
    with pytest.raises(ValueError, match="t_t = 0 is out of range"):
        artefact_remove(x, fs=FS, t_t=0)


def test_heartbeat_peak_ignores_a_burst():
    x, _ = _with_burst(10.0)
    clean_peak = heartbeat_peak(_unit(_bcg(_regular(70))), fs=FS)
    assert heartbeat_peak(x, fs=FS) < 0.2  # burst = unit peak; heartbeat ≈ 0.1 of it
    assert clean_peak > 0.69  # clean: the heartbeat is (nearly) the unit peak


# --------------------------------------------------------------------------- chain
def test_preprocess_chain_stages_and_zscore(caplog):
    x, _ = _with_burst(10.0)
    raw = x * 0.02 + 1.5  # volts with an offset: the filter removes it
    with caplog.at_level(logging.DEBUG, logger="med2ecg.preprocess"):
        st = preprocess_stages(raw, fs=FS)
    assert "masked" in caplog.text
    assert set(st) == {"filtered", "unit_peak", "clean", "mask", "output"}
    y = st["output"]
    np.testing.assert_array_equal(y, preprocess_bcg(raw, fs=FS))
    assert y.dtype == np.float32
    m = st["mask"]
    assert m.any() and np.all(y[m] == 0)
    assert np.mean(y[~m]) == pytest.approx(0.0, abs=1e-5)
    assert np.std(y[~m]) == pytest.approx(1.0, abs=1e-4)
    assert np.abs(st["unit_peak"]).max() == pytest.approx(1.0)


def test_preprocess_flat_window_gives_zeros():
    y = preprocess_bcg(np.full((2, 300), 3.3), fs=FS)
    assert np.all(y == 0) and np.all(np.isfinite(y))


def test_causal_chain_runs_and_differs():
    x = _bcg(_regular(70))
    y0 = preprocess_bcg(x, fs=FS)
    y1 = preprocess_bcg(x, fs=FS, causal=True)
    assert y1.shape == y0.shape
    assert np.max(np.abs(y1 - y0)) > 0.1
