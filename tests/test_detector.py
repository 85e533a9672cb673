"""Detector noise, ADC quantisation and the streaming decimator."""

import numpy as np
import pytest

from sim._config import ConfigError
from sim.detector import (K_B, Q_E, DaqConfig, Decimator, DetectorConfig, _check_ratio,
                          adc_quantize, photodetector_voltage)


@pytest.mark.parametrize("q", [1, 2, 4, 5])
def test_decimator_chunk_invariant(q):
    rng = np.random.default_rng(q)
    x = rng.standard_normal((2, 1000 * q + 3 * q))
    d = Decimator(q, channels=2)
    whole = np.concatenate([d.push(x), d.finish()], axis=1)
    assert whole.shape == (2, x.shape[1] // q)
    for sizes in ([7, 333, 1], [q * 50], [1]):
        d = Decimator(q, channels=2)
        outs, i = [], 0
        while i < x.shape[1]:
            s = sizes[len(outs) % len(sizes)]
            outs.append(d.push(x[:, i:i + s]))
            i += s
        outs.append(d.finish())
        np.testing.assert_array_equal(np.concatenate(outs, axis=1), whole)


def test_decimator_zero_delay():
    q = 4
    t = np.arange(8000) / 1000.0
    s = np.sin(2 * np.pi * 3 * t)
    d = Decimator(q)
    y = np.concatenate([d.push(s), d.finish()], axis=1)[0]
    np.testing.assert_allclose(y[50:-50], s[::q][50:-50], atol=1e-4)


def test_noise_matches_theory():
    cfg = DetectorConfig(rin_db_hz=-180)
    p = np.full(200_000, 1e-4)
    v = photodetector_voltage(p, config=cfg, fs=1000.0, rng=np.random.default_rng(0))
    current = cfg.responsivity * 1e-4 + cfg.dark_current
    expect = cfg.tia_gain * np.sqrt((2 * Q_E * current + 4 * K_B * cfg.temperature / cfg.tia_gain
                                     + 1e-18 * (cfg.responsivity * 1e-4) ** 2) * 500.0)
    assert np.std(v) == pytest.approx(expect, rel=0.01)  # 200k samples: SE of SD ≈ 0.16 %
    assert np.mean(v) == pytest.approx(cfg.tia_gain * current, rel=1e-4)


def test_adc_quantisation_and_rails():
    cfg = DaqConfig(adc_bits=8, adc_range=1.0)
    lsb = 2.0 / 256
    v, n = adc_quantize(np.array([0.0, lsb * 0.6, 5.0, -5.0]), config=cfg)
    assert n == 2
    np.testing.assert_allclose(v, [0.0, lsb, 127 * lsb, -128 * lsb])


def test_fs_must_divide_daq_rate():
    assert _check_ratio(250.0, 1000.0) == 4
    with pytest.raises(ValueError, match=r"fs = 487 Hz must divide.*allowed fs: 100, 125, 200, 250, 500, 1000"):
        _check_ratio(487.0, 1000.0)


def test_aa_cutoff_below_nyquist():
    with pytest.raises(ConfigError, match="must be below fs_daq/2"):
        DaqConfig(aa_cutoff=600.0)
