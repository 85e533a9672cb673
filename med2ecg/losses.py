"""Training losses (DESIGN §5): L = L_sim + λ1·L_wav + λ2·L_dal for Med2ECG, L1 for baselines.

All functions take signals of shape ``(..., T)`` (time last, any leading dims), return a scalar
tensor averaged over the windows, and are differentiable (tested with ``gradcheck`` in float64).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .constants import REGIONS

__all__ = ["shift_cosine_loss", "wave_mae_loss", "tversky_loss", "Med2ECGLoss", "baseline_loss"]

_N_REGIONS = len(REGIONS)


def _same_shape(**tensors: Tensor) -> None:
    shapes = {k: tuple(v.shape) for k, v in tensors.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError("shapes must match: " + ", ".join(f"{k} {s}" for k, s in shapes.items()))
    if next(iter(shapes.values())) == () or next(iter(shapes.values()))[-1] == 0:
        raise ValueError(f"expected non-empty signals of shape (..., T), got {shapes}")


def shift_cosine_loss(pred: Tensor, target: Tensor, *, max_shift: int,
                      eps: float = 1e-8) -> Tensor:
    """Shift-tolerant similarity loss ``1 − max_{|τ|≤Δ} cos(target, shift(pred, τ))``.

    ``shift(pred, τ)[t] = pred[t − τ]`` with ZERO padding (samples shifted out of the window are
    dropped, vacated samples are 0; no wrap-around, so a shift never moves the end of a window
    onto its start). The cosine uses the norm of the shifted signal, so a shifted copy of the
    target whose content stays inside the window scores exactly 1. The maximum is taken per
    window and the loss averaged over windows; its gradient is the gradient at each window's best
    shift (a sub-gradient where two shifts tie).

    Parameters
    ----------
    pred, target : ``(..., T)``.
    max_shift : Δ in samples, integer in ``[0, T − 1]`` (10 samples = 40 ms at 250 Hz).
    eps : floor on ``‖target‖`` and ``‖shift(pred)‖`` (an all-zero window scores cosine 0,
        loss 1, with a finite gradient).
    """
    _same_shape(pred=pred, target=target)
    t = pred.shape[-1]
    if isinstance(max_shift, bool) or not isinstance(max_shift, int) or not 0 <= max_shift < t:
        raise ValueError(f"max_shift={max_shift!r} must be an integer in [0, {t - 1}] (T={t})")
    # windows[..., j, :] = pred[t + j − Δ] = shift(pred, τ = Δ − j)
    windows = F.pad(pred, (max_shift, max_shift)).unfold(-1, t, 1)   # (..., 2Δ+1, T)
    dot = (windows * target.unsqueeze(-2)).sum(dim=-1)
    # norms floored inside the sqrt so an all-zero window has a finite gradient
    norm_pred = torch.sqrt((windows * windows).sum(dim=-1).clamp_min(eps * eps))
    norm_target = torch.sqrt((target * target).sum(dim=-1, keepdim=True).clamp_min(eps * eps))
    cos = dot / (norm_pred * norm_target)
    return (1 - cos.max(dim=-1).values).mean()


def wave_mae_loss(pred: Tensor, target: Tensor, regions: Tensor, *, eps: float = 1e-8) -> Tensor:
    """Wave-aware MAE: ``mean_t w_t·|pred_t − target_t|``, averaged over windows.

    Per window, for each wave region ``i`` ∈ {P = 1, QRS = 2, T = 3} (``constants.REGIONS``):
    ``w_i = 2 − Σ_{t∈i}|target_t| / Σ_t|target_t|`` (the paper's formula, on the TARGET);
    samples of region 0 ("other") weigh 1. Waves carrying little of the window's absolute
    amplitude (P, T) are therefore weighted close to 2. The mean is over all T samples (the
    weights are not renormalised). A region with no samples contributes nothing. Where
    ``Σ_t|target_t| = 0`` the ratio is taken as 0 (``eps`` floor), i.e. wave weights are 2.
    The weights are part of the graph (differentiable in ``target`` away from
    ``target_t = 0``); with a constant target they are constants.

    Parameters
    ----------
    pred, target : ``(..., T)`` float.
    regions : ``(..., T)`` integer labels in {0, 1, 2, 3}.
    """
    _same_shape(pred=pred, target=target, regions=regions)
    if regions.is_floating_point() or regions.is_complex() or regions.dtype == torch.bool:
        raise ValueError(f"regions must be an integer tensor, got {regions.dtype}")
    lo, hi = int(regions.min()), int(regions.max())
    if lo < 0 or hi >= _N_REGIONS:
        raise ValueError(f"regions must lie in [0, {_N_REGIONS - 1}] ({REGIONS}), got values "
                         f"in [{lo}, {hi}]")
    onehot = F.one_hot(regions.long(), _N_REGIONS).to(target.dtype)    # (..., T, 4)
    amp = target.abs()
    share = (amp.unsqueeze(-1) * onehot).sum(dim=-2) / amp.sum(dim=-1, keepdim=True).clamp_min(eps)
    w = 2 - share                                                       # (..., 4)
    w = torch.cat([torch.ones_like(w[..., :1]), w[..., 1:]], dim=-1)    # region 0 weighs 1
    per_sample = (onehot * w.unsqueeze(-2)).sum(dim=-1)                 # (..., T)
    return (per_sample * (pred - target).abs()).mean()


def tversky_loss(prob_pred: Tensor, prob_target: Tensor, *, alpha: float = 0.5,
                 beta: float = 0.5, eps: float = 1e-6) -> Tensor:
    """Tversky loss ``1 − (TP + eps) / (TP + α·FP + β·FN + eps)``, averaged over channels and
    windows.

    ``TP = Σ_t p·g``, ``FP = Σ_t p·(1 − g)``, ``FN = Σ_t (1 − p)·g`` along the last axis, with
    ``p`` = ``prob_pred`` and ``g`` = ``prob_target`` (soft masks in [0, 1]) of shape
    ``(..., T)`` (e.g. ``(N, 4, T)``). α weighs false positives, β false negatives; α = β = 0.5
    is the Dice loss. ``eps`` smooths both sides, so two empty masks score 0 (perfect) and
    identical masks score exactly 0.
    """
    _same_shape(prob_pred=prob_pred, prob_target=prob_target)
    for name, v in (("alpha", alpha), ("beta", beta)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
            raise ValueError(f"{name}={v!r} must be a finite number ≥ 0")
    if not eps > 0:
        raise ValueError(f"eps={eps!r} must be > 0")
    p, g = prob_pred, prob_target
    tp = (p * g).sum(dim=-1)
    fp = (p * (1 - g)).sum(dim=-1)
    fn = ((1 - p) * g).sum(dim=-1)
    index = (tp + eps) / (tp + alpha * fp + beta * fn + eps)
    return 1 - index.mean()


def baseline_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Loss for the baselines: plain L1 (mean absolute error) on the normalised ECG.

    One loss for every baseline, so comparisons isolate architecture; the baselines' own papers
    used L1/Huber-type losses (Zhang 2024: Huber), and the wave/anchor terms are Med2ECG's
    contribution, switched on for baselines only with ``loss="composite"`` in the training
    config.
    """
    _same_shape(pred=pred, target=target)
    return F.l1_loss(pred, target)


class Med2ECGLoss:
    """``L = L_sim + λ1·L_wav + λ2·L_dal`` (paper §4; λ1 = 1, λ2 = 0.1).

    ``L_sim`` = :func:`shift_cosine_loss` (Δ = ``max_shift``), ``L_wav`` = :func:`wave_mae_loss`,
    ``L_dal`` = :func:`tversky_loss` between ``sigmoid(landmark_net(pred))`` and
    ``sigmoid(landmark_net(target))`` (the latter detached). ``landmark_net`` maps ``(..., T)``
    to ``(..., 4, T)`` logits; it is frozen here (``requires_grad=False``, ``eval()``) but
    gradients flow through it to ``pred``. With ``landmark_net=None`` the anchor term is 0
    (ablation "no L_dal", or a run without landmark training).

    Calling it with ``(pred, target, regions)`` returns ``(total, {"sim", "wav", "dal"})``, the
    parts detached. A plain callable, not an ``nn.Module``: it owns no trainable state and a
    ``.train()`` on a parent must not flip the frozen detector back to training mode.
    """

    def __init__(self, landmark_net: nn.Module | None, *, lambda1: float = 1.0,
                 lambda2: float = 0.1, max_shift: int = 10):
        for name, v in (("lambda1", lambda1), ("lambda2", lambda2)):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{name}={v!r} must be a finite number ≥ 0")
        if isinstance(max_shift, bool) or not isinstance(max_shift, int) or max_shift < 0:
            raise ValueError(f"max_shift={max_shift!r} must be an integer ≥ 0")
        self.lambda1 = float(lambda1)
        self.lambda2 = float(lambda2)
        self.max_shift = max_shift
        self.landmark_net = landmark_net
        if landmark_net is not None:
            for p in landmark_net.parameters():
                p.requires_grad_(False)
            landmark_net.eval()

    def __call__(self, pred: Tensor, target: Tensor,
                 regions: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        sim = shift_cosine_loss(pred, target, max_shift=self.max_shift)
        wav = wave_mae_loss(pred, target, regions)
        if self.landmark_net is not None:
            with torch.no_grad():
                ref = torch.sigmoid(self.landmark_net(target))
            dal = tversky_loss(torch.sigmoid(self.landmark_net(pred)), ref)
        else:
            dal = pred.new_zeros(())
        total = sim + self.lambda1 * wav + self.lambda2 * dal
        return total, {"sim": sim.detach(), "wav": wav.detach(), "dal": dal.detach()}
