"""Training losses (med2ecg.losses): references by hand in numpy, gradcheck, invariances."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.autograd import gradcheck

from med2ecg.constants import REGIONS
from med2ecg.losses import (
    Med2ECGLoss,
    baseline_loss,
    shift_cosine_loss,
    tversky_loss,
    wave_mae_loss,
)
from med2ecg.models import LandmarkUNet


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _shift_np(x: np.ndarray, tau: int) -> np.ndarray:
    """x shifted right by tau (x[t − tau]) with zero fill."""
    out = np.zeros_like(x)
    if tau >= 0:
        out[tau:] = x[:len(x) - tau]
    else:
        out[:len(x) + tau] = x[-tau:]
    return out


def _shift_cos_np(pred: np.ndarray, target: np.ndarray, max_shift: int) -> np.ndarray:
    """Cosine similarity per shift, (windows, 2Δ+1), reference loop."""
    out = np.zeros((len(pred), 2 * max_shift + 1))
    for i in range(len(pred)):
        for j, tau in enumerate(range(-max_shift, max_shift + 1)):
            s = _shift_np(pred[i], tau)
            out[i, j] = s @ target[i] / (np.linalg.norm(s) * np.linalg.norm(target[i]))
    return out


# --------------------------------------------------------------------------------------------
# shift-tolerant cosine


def test_shift_cosine_matches_reference_loop():
    rng = np.random.default_rng(0)
    pred, target = rng.standard_normal((2, 5, 80))
    for max_shift in (0, 1, 7):
        expected = np.mean(1 - _shift_cos_np(pred, target, max_shift).max(axis=1))
        got = shift_cosine_loss(torch.from_numpy(pred), torch.from_numpy(target),
                                max_shift=max_shift)
        assert got.item() == pytest.approx(expected, abs=1e-12)
    # Δ = 0 is plain 1 − cosine similarity
    p, t = torch.from_numpy(pred), torch.from_numpy(target)
    plain = (1 - torch.nn.functional.cosine_similarity(p, t, dim=-1)).mean()
    assert shift_cosine_loss(p, t, max_shift=0).item() == pytest.approx(plain.item(), abs=1e-12)


def test_shift_cosine_leading_dims():
    x = torch.randn(2, 3, 64, generator=_gen(1))
    y = torch.randn(2, 3, 64, generator=_gen(2))
    flat = shift_cosine_loss(x.reshape(6, 64), y.reshape(6, 64), max_shift=4)
    assert shift_cosine_loss(x, y, max_shift=4).item() == pytest.approx(flat.item(), abs=1e-6)


def test_shift_cosine_invariant_within_delta_not_beyond():
    delta, t = 10, 200
    rng = np.random.default_rng(3)
    target = np.zeros(t)
    target[30:170] = rng.standard_normal(140)        # padding keeps shifted content inside
    tt = torch.from_numpy(target)[None]
    for tau in range(-delta, delta + 1):
        pred = torch.from_numpy(_shift_np(target, tau))[None]
        assert shift_cosine_loss(pred, tt, max_shift=delta).item() <= 1e-6, tau
    for tau in (delta + 1, -(delta + 1), delta + 5):
        pred = torch.from_numpy(_shift_np(target, tau))[None]
        assert shift_cosine_loss(pred, tt, max_shift=delta).item() > 0.1, tau
    # with smooth ECG-like content the loss beyond Δ is small but still not zero
    smooth = np.exp(-0.5 * ((np.arange(t) - 100) / 6.0) ** 2)
    pred = torch.from_numpy(_shift_np(smooth, delta + 1))[None]
    assert shift_cosine_loss(pred, torch.from_numpy(smooth)[None], max_shift=delta).item() > 1e-3


def test_shift_cosine_scale_invariant_and_zero_safe():
    x = torch.randn(3, 50, generator=_gen(4))
    y = torch.randn(3, 50, generator=_gen(5))
    a = shift_cosine_loss(x, y, max_shift=3)
    assert shift_cosine_loss(7.5 * x, y, max_shift=3).item() == pytest.approx(a.item(), abs=1e-6)
    z = torch.zeros(1, 50, requires_grad=True)
    loss = shift_cosine_loss(z, y[:1], max_shift=3)
    loss.backward()
    assert loss.item() == pytest.approx(1.0) and torch.isfinite(z.grad).all()


def test_shift_cosine_gradcheck():
    rng = np.random.default_rng(6)
    target = rng.standard_normal((2, 24))
    pred = np.stack([_shift_np(target[0], 2), _shift_np(target[1], -1)])
    pred += 0.05 * rng.standard_normal(pred.shape)
    cos = np.sort(_shift_cos_np(pred, target, 3), axis=1)
    assert (cos[:, -1] - cos[:, -2] > 0.05).all(), "best shift must be unique (no kink)"
    p = torch.from_numpy(pred).requires_grad_(True)
    t = torch.from_numpy(target).requires_grad_(True)
    assert gradcheck(lambda a, b: shift_cosine_loss(a, b, max_shift=3), (p, t))


def test_shift_cosine_validates():
    x = torch.zeros(2, 16)
    with pytest.raises(ValueError, match=r"max_shift=16 must be an integer in \[0, 15\]"):
        shift_cosine_loss(x, x, max_shift=16)
    with pytest.raises(ValueError, match=r"max_shift=-1"):
        shift_cosine_loss(x, x, max_shift=-1)
    with pytest.raises(ValueError, match="shapes must match"):
        shift_cosine_loss(x, torch.zeros(2, 17), max_shift=1)


# --------------------------------------------------------------------------------------------
# wave-aware MAE


def _wave_mae_np(pred, target, regions):
    """Reference by hand: per window, w_i = 2 − Σ_{t∈i}|y| / Σ|y| (i = P, QRS, T), 1 else."""
    losses = []
    for p, y, r in zip(pred, target, regions, strict=True):
        total = np.abs(y).sum()
        w = np.ones(len(y))
        for i in (REGIONS["p"], REGIONS["qrs"], REGIONS["t"]):
            in_i = r == i
            if in_i.any():
                w[in_i] = 2 - np.abs(y[in_i]).sum() / total
        losses.append(np.mean(w * np.abs(p - y)))
    return float(np.mean(losses))


def _hand_built_ecg():
    """Two 20-sample windows: a full beat (P, QRS, T) and one with no T wave."""
    y1 = np.array([0.0, 0.0, 0.1, 0.2, 0.1, 0.0, -0.2, 1.0, 1.2, -0.3,
                   0.0, 0.0, 0.2, 0.35, 0.3, 0.1, 0.0, 0.0, 0.05, 0.0])
    r1 = np.array([0, 0, 1, 1, 1, 0, 2, 2, 2, 2, 0, 0, 3, 3, 3, 3, 0, 0, 0, 0])
    y2 = np.array([0.02, 0.1, 0.15, 0.1, 0.0, -0.1, 0.9, -0.2, 0.0, 0.0,
                   0.0, 0.01, 0.0, 0.0, 0.0, 0.0, 0.02, 0.0, 0.0, 0.0])
    r2 = np.array([0, 1, 1, 1, 0, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    return np.stack([y1, y2]), np.stack([r1, r2])


def test_wave_mae_matches_formula_by_hand():
    target, regions = _hand_built_ecg()
    # window 1: Σ|y| = 4.1 (P 0.4, QRS 2.7, T 0.95, other 0.05) → w_P = 2 − 0.4/4.1, ...
    total = np.abs(target[0]).sum()
    assert total == pytest.approx(4.1)
    rng = np.random.default_rng(7)
    pred = target + rng.standard_normal(target.shape) * 0.1
    got = wave_mae_loss(torch.from_numpy(pred), torch.from_numpy(target),
                        torch.from_numpy(regions))
    assert got.item() == pytest.approx(_wave_mae_np(pred, target, regions), abs=1e-12)
    # one wrong sample in the QRS of window 1: loss = w_QRS · |err| / T / 2 windows
    pred = target.copy()
    pred[0, 7] += 0.5
    got = wave_mae_loss(torch.from_numpy(pred), torch.from_numpy(target),
                        torch.from_numpy(regions))
    w_qrs = 2 - (0.2 + 1.0 + 1.2 + 0.3) / 4.1
    assert got.item() == pytest.approx(w_qrs * 0.5 / 20 / 2, abs=1e-12)
    # ... and in region "other": weight 1
    pred = target.copy()
    pred[1, 10] -= 0.5
    got = wave_mae_loss(torch.from_numpy(pred), torch.from_numpy(target),
                        torch.from_numpy(regions))
    assert got.item() == pytest.approx(0.5 / 20 / 2, abs=1e-12)


def test_wave_mae_all_other_is_plain_mae():
    pred = torch.randn(3, 40, generator=_gen(8))
    target = torch.randn(3, 40, generator=_gen(9))
    regions = torch.zeros(3, 40, dtype=torch.int8)
    got = wave_mae_loss(pred, target, regions)
    assert got.item() == pytest.approx((pred - target).abs().mean().item(), abs=1e-7)


def test_wave_mae_gradcheck():
    rng = np.random.default_rng(10)
    sign = lambda shape: np.where(rng.random(shape) < 0.5, -1.0, 1.0)  # noqa: E731
    target = sign((2, 16)) * (0.5 + rng.random((2, 16)))      # |target| ≥ 0.5: no |·| kink
    pred = target + sign((2, 16)) * (0.2 + 0.3 * rng.random((2, 16)))  # |error| ≥ 0.2
    regions = torch.from_numpy(rng.integers(0, 4, (2, 16)))
    p = torch.from_numpy(pred).requires_grad_(True)
    t = torch.from_numpy(target).requires_grad_(True)
    assert gradcheck(lambda a, b: wave_mae_loss(a, b, regions), (p, t))


def test_wave_mae_validates():
    x = torch.zeros(2, 8)
    with pytest.raises(ValueError, match=r"regions must lie in \[0, 3\]"):
        wave_mae_loss(x, x, torch.full((2, 8), 4))
    with pytest.raises(ValueError, match="integer tensor"):
        wave_mae_loss(x, x, torch.zeros(2, 8))
    with pytest.raises(ValueError, match="shapes must match"):
        wave_mae_loss(x, x, torch.zeros(2, 9, dtype=torch.long))


# --------------------------------------------------------------------------------------------
# Tversky


def _box(t: int, start: int, stop: int) -> torch.Tensor:
    m = torch.zeros(t, dtype=torch.float64)
    m[start:stop] = 1
    return m


def test_tversky_known_masks():
    a, b = _box(40, 0, 10), _box(40, 5, 15)
    assert tversky_loss(a, a).item() == 0.0                                  # identical
    assert tversky_loss(a, _box(40, 20, 30)).item() == pytest.approx(1.0, abs=1e-6)  # disjoint
    # TP = 5, FP = 5, FN = 5 → index 5 / (5 + 2.5 + 2.5) = 0.5
    assert tversky_loss(a, b).item() == pytest.approx(0.5, abs=1e-6)
    # averaged over channels: one perfect, one disjoint
    pred = torch.stack([a, a])
    tgt = torch.stack([a, _box(40, 20, 30)])
    assert tversky_loss(pred, tgt).item() == pytest.approx(0.5, abs=1e-6)
    # soft masks: TP = 0.5·10, FP = 0, FN = 0.5·10 → 5 / (5 + 0.5·5) = 2/3
    assert tversky_loss(0.5 * a, a).item() == pytest.approx(1 / 3, abs=1e-6)
    # two empty masks agree perfectly
    assert tversky_loss(torch.zeros(40), torch.zeros(40)).item() == pytest.approx(0.0)


def test_tversky_alpha_beta_asymmetry():
    pred, target = _box(30, 0, 10), _box(30, 0, 6)   # over-segmentation: TP 6, FP 4, FN 0
    fp_heavy = tversky_loss(pred, target, alpha=0.7, beta=0.3).item()
    fn_heavy = tversky_loss(pred, target, alpha=0.3, beta=0.7).item()
    assert fp_heavy == pytest.approx(1 - 6 / (6 + 0.7 * 4), abs=1e-6)
    assert fn_heavy == pytest.approx(1 - 6 / (6 + 0.3 * 4), abs=1e-6)
    assert fp_heavy > fn_heavy
    # swapping the roles of prediction and target swaps α and β
    assert tversky_loss(target, pred, alpha=0.3, beta=0.7).item() == pytest.approx(fp_heavy,
                                                                                    abs=1e-6)


def test_tversky_gradcheck():
    p = (0.1 + 0.8 * torch.rand(2, 3, 16, generator=_gen(11), dtype=torch.float64))
    g = (0.1 + 0.8 * torch.rand(2, 3, 16, generator=_gen(12), dtype=torch.float64))
    p.requires_grad_(True)
    g.requires_grad_(True)
    assert gradcheck(lambda a, b: tversky_loss(a, b, alpha=0.7, beta=0.3), (p, g))


def test_tversky_validates():
    x = torch.zeros(4, 8)
    with pytest.raises(ValueError, match="alpha=-0.1 must be a finite number ≥ 0"):
        tversky_loss(x, x, alpha=-0.1)
    with pytest.raises(ValueError, match="shapes must match"):
        tversky_loss(x, torch.zeros(4, 9))


# --------------------------------------------------------------------------------------------
# composite and baseline losses


def _batch(seed: int = 13, n: int = 3, t: int = 256):
    g = _gen(seed)
    target = torch.randn(n, t, generator=g)
    pred = (target + 0.3 * torch.randn(n, t, generator=g)).requires_grad_(True)
    regions = torch.randint(0, 4, (n, t), generator=g)
    return pred, target, regions


def test_composite_without_landmark_net():
    pred, target, regions = _batch()
    crit = Med2ECGLoss(None, lambda1=1.0, lambda2=0.1, max_shift=10)
    total, parts = crit(pred, target, regions)
    assert set(parts) == {"sim", "wav", "dal"} and parts["dal"].item() == 0.0
    sim = shift_cosine_loss(pred, target, max_shift=10)
    wav = wave_mae_loss(pred, target, regions)
    assert total.item() == pytest.approx((sim + wav).item(), abs=1e-6)
    assert not any(v.requires_grad for v in parts.values())
    total.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0


def test_composite_with_frozen_landmark_net():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = LandmarkUNet().train()
    crit = Med2ECGLoss(net, lambda1=0.5, lambda2=2.0, max_shift=5)
    assert not net.training and not any(p.requires_grad for p in net.parameters())
    pred, target, regions = _batch()
    total, parts = crit(pred, target, regions)
    assert 0 < parts["dal"].item() < 1
    expected = parts["sim"] + 0.5 * parts["wav"] + 2.0 * parts["dal"]
    assert total.item() == pytest.approx(expected.item(), abs=1e-6)
    with torch.no_grad():
        ref = torch.sigmoid(net(target))
    assert parts["dal"].item() == pytest.approx(
        tversky_loss(torch.sigmoid(net(pred)), ref).item(), abs=1e-6)
    # L_dal alone sends a gradient to pred through the frozen detector, none to its weights
    pred.grad = None
    dal = tversky_loss(torch.sigmoid(net(pred)), ref)
    dal.backward()
    assert pred.grad.abs().sum() > 0
    assert all(p.grad is None for p in net.parameters())


def test_composite_validates():
    with pytest.raises(ValueError, match="lambda2=-1 must be a finite number ≥ 0"):
        Med2ECGLoss(None, lambda2=-1)
    with pytest.raises(ValueError, match="max_shift=1.5"):
        Med2ECGLoss(None, max_shift=1.5)


def test_baseline_loss_is_l1():
    pred, target, _ = _batch()
    assert baseline_loss(pred, target).item() == pytest.approx(
        (pred - target).abs().mean().item(), abs=1e-7)
